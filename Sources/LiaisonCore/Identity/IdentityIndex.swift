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

    /// Adds `record`, or replaces the one with its id. A replaced record leaves the blocks of
    /// keys it no longer has and joins each new one once: stale or repeated entries would
    /// grow a block with every change and, past `BlockIndex.rareLimit`, hide a rare key's
    /// true matches.
    public mutating func insert(_ record: IdentityRecord) {
        guard let existing = positions[record.id] else {
            let position = Int32(records.count)
            records.append(record)
            positions[record.id] = Int(position)
            IdentityMatcher.blockKeys(record) { key, _ in
                if blocks[key]?.last != position { blocks[key, default: []].append(position) }
            }
            return
        }
        let position = Int32(existing)
        var before = Set<Int>()
        IdentityMatcher.blockKeys(records[existing]) { key, _ in before.insert(key) }
        var after = Set<Int>()
        IdentityMatcher.blockKeys(record) { key, _ in after.insert(key) }
        records[existing] = record
        for key in before.subtracting(after) {
            blocks[key]?.removeAll { $0 == position }
            if blocks[key]?.isEmpty == true { blocks[key] = nil }
        }
        for key in after.subtracting(before) { blocks[key, default: []].append(position) }
    }

    /// How many entries the blocks hold in all (each record once per distinct key).
    public var blockEntries: Int { blocks.values.reduce(0) { $0 + $1.count } }

    /// The records `record` is worth comparing with (itself excepted), scored and sorted
    /// best first; pairs the matcher calls distinct are left out.
    public func matches(for record: IdentityRecord, using matcher: IdentityMatcher) -> [MatchResult] {
        var found = Set<Int32>()
        IdentityMatcher.blockKeys(record) { key, isRare in
            guard let block = blocks[key], block.count <= BlockIndex.limit(rare: isRare) else { return }
            found.formUnion(block)
        }
        if let own = positions[record.id] { found.remove(Int32(own)) }
        // A placeholder e-mail or phone (more records share it than any person has) says
        // nothing of who this is: compared without it.
        // On either side: a stored record's placeholder would count against a newcomer's
        // real e-mail as much as the newcomer's for a stored one's.
        func common(_ key: Int?) -> Bool { key.map { (blocks[$0]?.count ?? 0) > BlockIndex.commonLimit } ?? false }
        func seen(_ record: IdentityRecord) -> IdentityRecord {
            let email = common(record.email.map(IdentityMatcher.blockKey))
            let phone = common(record.phone.map(IdentityMatcher.blockKey))
            return email || phone ? IdentityRecord(record, droppingEmail: email, droppingPhone: phone) : record
        }
        let probe = seen(record)
        return found.map { matcher.compare(probe, seen(records[Int($0)])) }
            .filter { $0.decision != .distinct }
            .sorted { ($0.score, $1.right) > ($1.score, $0.right) }
    }
}
