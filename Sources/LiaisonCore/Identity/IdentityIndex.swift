/// People kept for matching as they arrive: each record normalised once, found again by
/// its blocking keys (hashed), replaced when its system says something new. What the
/// hub's resolver searches, and what `liaison bench lookup` measures.
public struct IdentityIndex: Sendable {
    private var records: [IdentityRecord] = []
    private var positions: [String: Int] = [:]
    private var blocks: [Int: [Int32]] = [:]
    /// What each record said last, so that seeing it again unchanged costs a lookup.
    public var said: [String: [String?]] = [:]

    public init() {}

    public var count: Int { records.count }

    /// Adds `record`, or replaces the one with its id. Keys it no longer has keep pointing
    /// at it: such a stale candidate costs one comparison, and the comparison decides.
    public mutating func insert(_ record: IdentityRecord) {
        let position: Int
        if let existing = positions[record.id] {
            position = existing
            records[position] = record
        } else {
            position = records.count
            records.append(record)
            positions[record.id] = position
        }
        IdentityMatcher.blockKeys(record) { key, _ in
            if blocks[key]?.last != Int32(position) { blocks[key, default: []].append(Int32(position)) }
        }
    }

    /// The records `record` is worth comparing with (itself excepted), scored and sorted
    /// best first; pairs the matcher calls distinct are left out.
    public func matches(for record: IdentityRecord, using matcher: IdentityMatcher) -> [MatchResult] {
        var found = Set<Int32>()
        IdentityMatcher.blockKeys(record) { key, isRare in
            guard let block = blocks[key], !isRare || block.count <= BlockIndex.rareLimit else { return }
            found.formUnion(block)
        }
        if let own = positions[record.id] { found.remove(Int32(own)) }
        return found.map { matcher.compare(record, records[Int($0)]) }
            .filter { $0.decision != .distinct }
            .sorted { ($0.score, $1.right) > ($1.score, $0.right) }
    }
}
