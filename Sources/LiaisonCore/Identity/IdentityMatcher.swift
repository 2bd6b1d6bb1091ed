import Foundation

/// One record to match: normalized once, on construction.
public struct IdentityRecord: Sendable {
    public let id: String
    public let name: PersonName?
    public let company: CompanyName?
    public let phone: PhoneNumber?
    public let email: EmailAddress?

    public init(id: String, name: String?, company: String?, phone: String?, email: String?, region: String = "CN") {
        self.id = id
        self.name = name.flatMap(PersonName.init)
        self.company = company.flatMap(CompanyName.init)
        self.phone = phone.flatMap { PhoneNumber($0, region: region) }
        self.email = email.flatMap(EmailAddress.init)
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
    /// A similar (typo-tolerant) name.
    public var nameSimilar = Probabilities(m: 0.1, u: 0.01)
    public var company = Probabilities(m: 0.8, u: 0.01)
    public var linkThreshold = 10.0
    public var reviewThreshold = 4.0

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
        if let x = a.name, let y = b.name {
            if x.key == y.key {
                evidence.append(FieldEvidence(field: "name", level: "exact", weight: name.agree))
            } else if x.similarity(to: y) >= 0.93 {
                evidence.append(FieldEvidence(field: "name", level: "similar", weight: nameSimilar.agree))
            } else {
                evidence.append(FieldEvidence(field: "name", level: "different", weight: name.disagree))
            }
        } else {
            evidence.append(FieldEvidence(field: "name", level: "missing", weight: 0))
        }
        exact("company", a.company?.key, b.company?.key, company)
        let score = evidence.reduce(0) { $0 + $1.weight }
        let decision: MatchResult.Decision =
            score >= linkThreshold ? .link : score >= reviewThreshold ? .review : .distinct
        return MatchResult(left: a.id, right: b.id, score: score, decision: decision, evidence: evidence)
    }

    /// Blocking keys: records sharing none are never compared.
    static func blocks(_ record: IdentityRecord) -> [String] {
        var keys: [String] = []
        if let email = record.email { keys.append("e:" + email.normalized) }
        if let phone = record.phone { keys.append("p:" + phone.e164) }
        if let name = record.name { keys.append("n:" + name.key) }
        return keys
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
    private var positions: [String: [Int]] = [:]

    init(_ records: [IdentityRecord]) {
        for (position, record) in records.enumerated() {
            for key in IdentityMatcher.blocks(record) { positions[key, default: []].append(position) }
        }
    }

    func candidates(for record: IdentityRecord) -> Set<Int> {
        var found = Set<Int>()
        for key in IdentityMatcher.blocks(record) { found.formUnion(positions[key] ?? []) }
        return found
    }
}
