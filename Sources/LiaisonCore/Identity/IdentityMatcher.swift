import Foundation

/// One record to match: normalized once, on construction.
public struct IdentityRecord: Sendable {
    public let id: String
    public let name: PersonName?
    public let company: CompanyName?
    public let phone: PhoneNumber?
    public let email: EmailAddress?
    /// The name the e-mail's mailbox spells out (`daniel.haiyan.liu@…`), if it does:
    /// a second way to know the name, often with the English name next to the Chinese one.
    public let emailName: PersonName?

    public init(id: String, name: String?, company: String?, phone: String?, email: String?, region: String = "CN") {
        self.id = id
        self.name = name.flatMap(PersonName.init)
        self.company = company.flatMap(CompanyName.init)
        self.phone = phone.flatMap { PhoneNumber($0, region: region) }
        self.email = email.flatMap(EmailAddress.init)
        self.emailName = self.email == nil ? nil : email.flatMap(EmailAddress.nameHint)
    }
}

/// How much one field said about a pair.
public struct FieldEvidence: Sendable, Equatable, Codable {
    public var field: String
    /// `exact`, `similar`, `different` or `missing`.
    public var level: String
    /// log2(m/u): what this field added to the score.
    public var weight: Double
}

/// A scored pair with its explanation and the decision the thresholds make.
public struct MatchResult: Sendable, Equatable {
    public enum Decision: String, Sendable, Codable { case link, review, distinct }

    public var left: String
    public var right: String
    public var score: Double
    public var decision: Decision
    public var evidence: [FieldEvidence]
}

/// Fellegi–Sunter matching: each field's agreement level adds log2(m/u), where m is the
/// chance of that level for a true match and u for a random pair. Blocking on exact keys
/// (e-mail, phone, name) keeps the comparisons proportional to the data, not its square.
/// A company or a surname alone never reaches the link threshold.
public struct IdentityMatcher: Sendable {
    public struct Probabilities: Sendable, Equatable {
        public var m: Double
        public var u: Double
        public init(m: Double, u: Double) {
            self.m = m
            self.u = u
        }
        var agree: Double { log2(m / u) }
        var disagree: Double { log2((1 - m) / (1 - u)) }
    }

    public var email = Probabilities(m: 0.95, u: 0.0001)
    public var phone = Probabilities(m: 0.9, u: 0.0001)
    public var name = Probabilities(m: 0.85, u: 0.001)
    /// One name's words all among the other's: "Daniel Liu" and "Daniel Haiyan Liu".
    public var nameContained = Probabilities(m: 0.05, u: 0.0002)
    /// A similar (typo-tolerant) name.
    public var nameSimilar = Probabilities(m: 0.1, u: 0.01)
    public var company = Probabilities(m: 0.8, u: 0.01)
    public var linkThreshold = 10.0
    /// Below this a pair is not worth a person's time: a name shared with a different
    /// company or phone is a namesake far more often than not.
    public var reviewThreshold = 7.5

    public init() {}

    public func compare(_ a: IdentityRecord, _ b: IdentityRecord) -> MatchResult {
        var evidence: [FieldEvidence] = []
        func exact<T: Equatable>(_ field: String, _ x: T?, _ y: T?, _ p: Probabilities) {
            guard let x, let y else { return evidence.append(FieldEvidence(field: field, level: "missing", weight: 0)) }
            evidence.append(
                x == y
                    ? FieldEvidence(field: field, level: "exact", weight: p.agree)
                    : FieldEvidence(field: field, level: "different", weight: p.disagree))
        }
        exact("email", a.email, b.email, email)
        exact("phone", a.phone?.e164, b.phone?.e164, phone)
        evidence.append(nameEvidence(a, b))
        exact("company", a.company?.key, b.company?.key, company)
        let score = evidence.reduce(0) { $0 + $1.weight }
        let decision: MatchResult.Decision =
            score >= linkThreshold ? .link : score >= reviewThreshold ? .review : .distinct
        return MatchResult(left: a.id, right: b.id, score: score, decision: decision, evidence: evidence)
    }

    /// The name field: the names written (and spelled by the mailboxes) agree exactly, one
    /// is contained in the other, they are similar, or they differ. A mailbox's name alone
    /// never counts against a pair: many mailboxes name someone else, or a nickname.
    func nameEvidence(_ a: IdentityRecord, _ b: IdentityRecord) -> FieldEvidence {
        let left = [a.name, a.emailName].compactMap { $0 }
        let right = [b.name, b.emailName].compactMap { $0 }
        guard !left.isEmpty, !right.isEmpty else { return FieldEvidence(field: "name", level: "missing", weight: 0) }
        if left.contains(where: { x in right.contains { $0.key == x.key } }) {
            return FieldEvidence(field: "name", level: "exact", weight: name.agree)
        }
        if left.contains(where: { x in right.contains { $0.contains(x) || x.contains($0) } }) {
            return FieldEvidence(field: "name", level: "contained", weight: nameContained.agree)
        }
        guard let x = a.name, let y = b.name else { return FieldEvidence(field: "name", level: "missing", weight: 0) }
        return x.similarity(to: y) >= 0.93
            ? FieldEvidence(field: "name", level: "similar", weight: nameSimilar.agree)
            : FieldEvidence(field: "name", level: "different", weight: name.disagree)
    }

    /// Blocking keys: records sharing none are never compared. Every pair that can reach
    /// the link threshold shares one: an e-mail, a phone, or a name together with a company.
    /// A name alone (`rare` keys) finds pairs for review, and only while few records bear
    /// it: "Wang Wei" alone is every Wang Wei. Names of three or four words also block on
    /// each pair of their words, so "Daniel Haiyan Liu" meets "Haiyan Liu".
    static func blocks(_ record: IdentityRecord) -> (keys: [String], rare: [String]) {
        var keys: [String] = []
        var rare: [String] = []
        if let email = record.email { keys.append("e:" + email.normalized) }
        if let phone = record.phone { keys.append("p:" + phone.e164) }
        for name in [record.name, record.emailName] {
            guard let name else { continue }
            var names = [name.key]
            if (3...4).contains(name.tokens.count) {
                for i in name.tokens.indices {
                    for j in name.tokens.indices where j > i { names.append("\(name.tokens[i]) \(name.tokens[j])") }
                }
            }
            for key in names {
                rare.append("n:" + key)
                if let company = record.company { keys.append("n:\(key)|c:\(company.key)") }
            }
        }
        return (keys, rare)
    }

    /// Links `left` to `right`: per left record, its best link (at most one) and every
    /// pair worth a review. Sorted by left id, then score.
    public func link(_ left: [IdentityRecord], _ right: [IdentityRecord]) -> [MatchResult] {
        let index = BlockIndex(right)
        var results: [MatchResult] = []
        for record in left {
            let candidates = index.candidates(for: record)
            let scored = candidates.map { compare(record, right[$0]) }.filter { $0.decision != .distinct }
                .sorted { ($0.score, $1.right) > ($1.score, $0.right) }
            var linked = false
            for var result in scored {
                if result.decision == .link {
                    if linked { result.decision = .review }
                    linked = true
                }
                results.append(result)
            }
        }
        return results
    }

    /// Groups the records of one file into people: pairs that link are the same person,
    /// and so is everyone linked through a chain. Returns each record's cluster id (the
    /// smallest id in its cluster), in input order.
    public func dedupe(_ records: [IdentityRecord]) -> [(id: String, cluster: String)] {
        var parent = Array(records.indices)
        func root(_ i: Int) -> Int {
            var i = i
            while parent[i] != i {
                parent[i] = parent[parent[i]]
                i = parent[i]
            }
            return i
        }
        let index = BlockIndex(records)
        for (position, record) in records.enumerated() {
            for other in index.candidates(for: record)
            where other > position && compare(record, records[other]).decision == .link {
                let (a, b) = (root(position), root(other))
                if a != b { parent[max(a, b)] = min(a, b) }
            }
        }
        var smallest: [Int: String] = [:]
        for position in records.indices {
            let r = root(position)
            if let current = smallest[r], current <= records[position].id { continue }
            smallest[r] = records[position].id
        }
        return records.indices.map { (records[$0].id, smallest[root($0)]!) }
    }
}

/// Records by blocking key: only records sharing a key are ever compared.
private struct BlockIndex {
    /// How many records a name alone may block together; beyond, only its combinations count.
    static let rareLimit = 32
    private var positions: [String: [Int]] = [:]

    init(_ records: [IdentityRecord]) {
        for (position, record) in records.enumerated() {
            let blocks = IdentityMatcher.blocks(record)
            for key in blocks.keys { positions[key, default: []].append(position) }
            for key in blocks.rare { positions[key, default: []].append(position) }
        }
    }

    func candidates(for record: IdentityRecord) -> Set<Int> {
        var found = Set<Int>()
        let blocks = IdentityMatcher.blocks(record)
        for key in blocks.keys { found.formUnion(positions[key] ?? []) }
        for key in blocks.rare {
            guard let block = positions[key], block.count <= Self.rareLimit else { continue }
            found.formUnion(block)
        }
        return found
    }
}
