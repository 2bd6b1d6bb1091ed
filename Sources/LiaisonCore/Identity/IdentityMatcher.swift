import Foundation
import Synchronization

/// One record to match: normalized once, on construction.
public final class IdentityRecord: Sendable {
    public let id: String
    public let name: PersonName?
    public let company: CompanyName?
    public let phone: PhoneNumber?
    public let email: EmailAddress?
    /// The name the e-mail's mailbox spells out (`daniel.haiyan.liu@…`), if it does:
    /// a second way to know the name, often with the English name next to the Chinese one.
    public let emailName: PersonName?
    /// Fields most CRM contacts lack but registries have (date of birth, a national id,
    /// an address); nil when the record has none, so CRM records pay one pointer.
    public let extra: ExtraFields?

    public init(
        id: String, name: String?, company: String?, phone: String?, email: String?, region: String = "CN",
        extra: ExtraFields? = nil, phones: PhoneNumber.Cache? = nil
    ) {
        self.id = id
        self.name = name.flatMap(PersonName.init)
        self.company = company.flatMap(CompanyName.init)
        self.phone = phone.flatMap { text in
            if let phones { return phones.number(text, region: region) }
            return PhoneNumber(text, region: region)
        }
        self.email = email.flatMap(EmailAddress.init)
        self.emailName = self.email == nil ? nil : email.flatMap(EmailAddress.nameHint)
        self.extra = extra.flatMap { $0.isEmpty ? nil : $0 }
    }

    /// `other` without its e-mail or its phone: what matching sees of a record whose value
    /// is a placeholder.
    init(_ other: IdentityRecord, droppingEmail: Bool, droppingPhone: Bool) {
        id = other.id
        name = other.name
        company = other.company
        phone = droppingPhone ? nil : other.phone
        email = droppingEmail ? nil : other.email
        emailName = droppingEmail ? nil : other.emailName
        extra = other.extra
    }
}

extension IdentityMatcher {
    /// The records as matching should see them: an e-mail or phone that more than
    /// `BlockIndex.commonLimit` of `population` share (`noemail@company.com`, a switchboard)
    /// is a placeholder, not a person's, and left out: it would link every pair of strangers
    /// that meet through another key.
    public static func withoutPlaceholders(_ records: [IdentityRecord], population: [IdentityRecord]) -> [IdentityRecord] {
        var emails: [String: Int] = [:]
        var phones: [String: Int] = [:]
        for record in population {
            if let email = record.email { emails[email.normalized, default: 0] += 1 }
            if let phone = record.phone { phones[phone.e164, default: 0] += 1 }
        }
        let limit = BlockIndex.commonLimit
        guard emails.values.contains(where: { $0 > limit }) || phones.values.contains(where: { $0 > limit }) else {
            return records
        }
        return records.map { record in
            let email = record.email.map { emails[$0.normalized, default: 0] > limit } ?? false
            let phone = record.phone.map { phones[$0.e164, default: 0] > limit } ?? false
            return email || phone ? IdentityRecord(record, droppingEmail: email, droppingPhone: phone) : record
        }
    }
}

/// Date of birth, national id, postcode and address, normalised: digits of the date
/// (`1956-04-09` and `19560409` are one), the id and postcode in upper-case letters and
/// digits, the address as lower-case words.
public final class ExtraFields: Sendable {
    public let birthDate: String?
    public let nationalID: String?
    public let postcode: String?
    public let address: String?

    public init(birthDate: String? = nil, nationalID: String? = nil, postcode: String? = nil, address: String? = nil) {
        func code(_ text: String?) -> String? {
            let kept = (text ?? "").uppercased().unicodeScalars.filter(\.isAlphanumeric)
            return kept.isEmpty ? nil : String(String.UnicodeScalarView(kept))
        }
        let digits = (birthDate ?? "").filter(\.isASCII).filter(\.isNumber)
        self.birthDate = digits.count == 8 ? digits : nil
        self.nationalID = code(nationalID)
        self.postcode = code(postcode)
        let words = (address ?? "").lowercased().unicodeScalars.split { !$0.isAlphanumeric }
        self.address = words.isEmpty ? nil : words.map { String(String.UnicodeScalarView($0)) }.joined(separator: " ")
    }

    var isEmpty: Bool { birthDate == nil && nationalID == nil && postcode == nil && address == nil }
}

/// How much one field said about a pair.
public struct FieldEvidence: Sendable, Equatable, Codable {
    public var field: String
    /// `exact`, `similar`, `different` or `missing`.
    public var level: String
    /// log2(m/u): what this field added to the score.
    public var weight: Double

    public init(field: String, level: String, weight: Double) {
        self.field = field
        self.level = level
        self.weight = weight
    }
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
public struct IdentityMatcher: Sendable, Equatable {
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
    /// The same number with other extensions: a company's line, not yet a person.
    public var phoneSwitchboard = Probabilities(m: 0.02, u: 0.001)
    public var name = Probabilities(m: 0.85, u: 0.001)
    /// One name's words all among the other's: "Daniel Liu" and "Daniel Haiyan Liu".
    public var nameContained = Probabilities(m: 0.05, u: 0.0002)
    /// A similar (typo-tolerant) name.
    public var nameSimilar = Probabilities(m: 0.1, u: 0.01)
    public var company = Probabilities(m: 0.8, u: 0.01)
    public var nationalID = Probabilities(m: 0.9, u: 0.000_001)
    /// One typo away (a digit changed, two swapped).
    public var nationalIDSimilar = Probabilities(m: 0.08, u: 0.000_05)
    /// A date of birth is shared by many: alone it never links (like a company).
    public var birthDate = Probabilities(m: 0.85, u: 0.001)
    public var birthDateSimilar = Probabilities(m: 0.1, u: 0.01)
    /// The same (or a similar) address: a household, not yet a person.
    public var address = Probabilities(m: 0.85, u: 0.003)
    /// Only the postcode agrees.
    public var postcode = Probabilities(m: 0.1, u: 0.01)
    /// The fields whose probabilities configuration may set (`identity.match.fields`).
    public static let fieldPaths: [String: WritableKeyPath<IdentityMatcher, Probabilities> & Sendable] = [
        "email": \.email, "phone": \.phone, "phone_switchboard": \.phoneSwitchboard, "name": \.name,
        "name_contained": \.nameContained,
        "name_similar": \.nameSimilar, "company": \.company, "national_id": \.nationalID,
        "national_id_similar": \.nationalIDSimilar, "birth_date": \.birthDate,
        "birth_date_similar": \.birthDateSimilar, "address": \.address, "postcode": \.postcode,
    ]
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
        if let x = a.phone, let y = b.phone, x.e164 == y.e164, x.extensionNumber != y.extensionNumber {
            // One switchboard, other extensions (or one without): colleagues as often as not.
            evidence.append(FieldEvidence(field: "phone", level: "switchboard", weight: phoneSwitchboard.agree))
        } else {
            exact("phone", a.phone?.e164, b.phone?.e164, phone)
        }
        evidence.append(nameEvidence(a, b))
        exact("company", a.company?.key, b.company?.key, company)
        if a.extra != nil || b.extra != nil {
            func graded(
                _ field: String, _ x: String?, _ y: String?, _ p: Probabilities, similar: Probabilities?,
                _ close: (String, String) -> Bool
            ) {
                guard x != nil || y != nil else { return }
                guard let x, let y else {
                    return evidence.append(FieldEvidence(field: field, level: "missing", weight: 0))
                }
                if x == y { return evidence.append(FieldEvidence(field: field, level: "exact", weight: p.agree)) }
                if let similar, close(x, y) {
                    return evidence.append(FieldEvidence(field: field, level: "similar", weight: similar.agree))
                }
                evidence.append(FieldEvidence(field: field, level: "different", weight: p.disagree))
            }
            let (x, y) = (a.extra, b.extra)
            graded("national_id", x?.nationalID, y?.nationalID, nationalID, similar: nationalIDSimilar, Self.oneTypo)
            graded("birth_date", x?.birthDate, y?.birthDate, birthDate, similar: birthDateSimilar, Self.oneTypo)
            evidence += addressEvidence(x, y).map { [$0] } ?? []
        }
        let score = evidence.reduce(0) { $0 + $1.weight }
        var decision: MatchResult.Decision =
            score >= linkThreshold ? .link : score >= reviewThreshold ? .review : .distinct
        // Names that differ or are only alike ("Zhang Wei" / "Zhang Wen"), and nothing that
        // identifies one person (e-mail, phone, national id) agreeing: however much else
        // agrees (a birth date and an address are a household, or twins), a person decides.
        // And an identifier that disagrees with none agreeing: two 王伟 at one company with
        // two mobiles are two people as often as one with a new number.
        let identifiers = evidence.filter { ["email", "phone", "national_id"].contains($0.field) }
        let identified = identifiers.contains { $0.level == "exact" || $0.level == "similar" }
        if decision == .link, !identified,
            evidence.contains(where: { $0.field == "name" && ($0.level == "different" || $0.level == "similar") })
                || identifiers.contains(where: { $0.level == "different" })
        {
            decision = .review
        }
        return MatchResult(left: a.id, right: b.id, score: score, decision: decision, evidence: evidence)
    }

    /// The address field: the street address alike (and the postcode, where both have one),
    /// else the postcode alone, else different. Nil when neither record has either.
    func addressEvidence(_ x: ExtraFields?, _ y: ExtraFields?) -> FieldEvidence? {
        let (a, b) = (x?.address, y?.address)
        let (p, q) = (x?.postcode, y?.postcode)
        guard a != nil || b != nil || p != nil || q != nil else { return nil }
        let postcodes = p.flatMap { p in q.map { p == $0 } }  // nil: not both known
        if let a, let b, postcodes != false, a == b || JaroWinkler.similarity(a, b) >= 0.9 {
            return FieldEvidence(field: "address", level: a == b ? "exact" : "similar", weight: address.agree)
        }
        if postcodes == true { return FieldEvidence(field: "address", level: "postcode", weight: postcode.agree) }
        if (a != nil && b != nil) || postcodes == false {
            return FieldEvidence(field: "address", level: "different", weight: address.disagree)
        }
        return FieldEvidence(field: "address", level: "missing", weight: 0)
    }

    /// Whether two codes of one length differ by one character, or by two neighbours swapped.
    static func oneTypo(_ a: String, _ b: String) -> Bool {
        let (x, y) = (Array(a.utf8), Array(b.utf8))
        guard x.count == y.count else { return false }
        let differing = x.indices.filter { x[$0] != y[$0] }
        if differing.count == 1 { return true }
        return differing.count == 2 && differing[1] == differing[0] + 1 && x[differing[0]] == y[differing[1]]
            && x[differing[1]] == y[differing[0]]
    }

    /// The name field: the names written (and spelled by the mailboxes) agree exactly, one
    /// is contained in the other, they are similar, or they differ. A mailbox's name alone
    /// never counts against a pair: many mailboxes name someone else, or a nickname.
    func nameEvidence(_ a: IdentityRecord, _ b: IdentityRecord) -> FieldEvidence {
        let left = [a.name, a.emailName].compactMap { $0 }
        let right = [b.name, b.emailName].compactMap { $0 }
        guard !left.isEmpty, !right.isEmpty else { return FieldEvidence(field: "name", level: "missing", weight: 0) }
        if left.contains(where: { x in right.contains { $0.sameName(as: x) } }) {
            return FieldEvidence(field: "name", level: "exact", weight: name.agree)
        }
        // The same reading of other characters (张伟 / 章伟): alike, not the same.
        if left.contains(where: { x in right.contains { $0.key == x.key } }) {
            return FieldEvidence(field: "name", level: "similar", weight: nameSimilar.agree)
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
    /// each pair of their words, so "Daniel Haiyan Liu" meets "Haiyan Liu". Keys are hashes
    /// (a collision costs one more comparison, never a wrong answer), so an index of a
    /// million records holds numbers, not strings.
    public static func blockKeys(_ record: IdentityRecord, _ visit: (_ key: Int, _ rare: Bool) -> Void) {
        if let email = record.email { visit(blockKey(email), false) }
        if let phone = record.phone { visit(blockKey(phone), false) }
        if let extra = record.extra {
            if let id = extra.nationalID { visit(key("i", id), false) }
            if let date = extra.birthDate { visit(key("b", date), true) }
            if let postcode = extra.postcode, let name = record.name, let first = name.tokens.first {
                visit(key("pc", postcode, first), true)
            }
        }
        for name in [record.name, record.emailName] {
            guard let name else { continue }
            func visitName(_ words: String) {
                visit(key("n", words), true)
                if let company = record.company { visit(key("nc", words, company.key), false) }
            }
            visitName(name.key)
            guard (3...4).contains(name.tokens.count) else { continue }
            for i in name.tokens.indices {
                for j in name.tokens.indices where j > i { visitName("\(name.tokens[i]) \(name.tokens[j])") }
            }
        }
    }

    private static func key(_ tag: StaticString, _ first: String, _ second: String? = nil) -> Int {
        var hasher = Hasher()
        hasher.combine(bytes: UnsafeRawBufferPointer(start: tag.utf8Start, count: tag.utf8CodeUnitCount))
        hasher.combine(first)
        if let second { hasher.combine(second) }
        return hasher.finalize()
    }

    /// The block of records with this e-mail.
    static func blockKey(_ email: EmailAddress) -> Int { key("e", email.normalized) }
    /// The block of records with this phone.
    static func blockKey(_ phone: PhoneNumber) -> Int { key("p", phone.e164) }

    /// Links `left` to `right`: per left record, its best link (at most one) and every
    /// pair worth a review. Sorted by left id order, then score. Spread over the cores.
    /// - Parameter progress: told how many left records each finished chunk held.
    public func link(
        _ left: [IdentityRecord], _ right: [IdentityRecord], progress: (@Sendable (Int) -> Void)? = nil
    ) -> [MatchResult] {
        let population = left + right
        let left = Self.withoutPlaceholders(left, population: population)
        let right = Self.withoutPlaceholders(right, population: population)
        let index = BlockIndex(right)
        return Parallel.map(chunksOf: left) { records in
            defer { progress?(records.count) }
            var results: [MatchResult] = []
            for record in records {
                let scored = index.candidates(for: record).map { compare(record, right[$0]) }
                    .filter { $0.decision != .distinct }
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
        }.flatMap { $0 }
    }

    /// The pairs of one file a person should look at: those scored `review`, each pair
    /// once, best first.
    public func reviewPairs(_ records: [IdentityRecord]) -> [MatchResult] {
        let records = Self.withoutPlaceholders(records, population: records)
        let index = BlockIndex(records)
        return Parallel.map(chunksOf: Array(records.indices)) { positions in
            positions.flatMap { position in
                index.candidates(for: records[position]).filter { $0 > position }
                    .map { compare(records[position], records[$0]) }
                    .filter { $0.decision == .review }
            }
        }.flatMap { $0 }.sorted { ($0.score, $1.left, $1.right) > ($1.score, $0.left, $0.right) }
    }

    /// Groups the records of one file into people: pairs that link are the same person,
    /// and so is everyone linked through a chain. Returns each record's cluster id (the
    /// smallest id in its cluster), in input order.
    public func dedupe(
        _ records: [IdentityRecord], progress: (@Sendable (Int) -> Void)? = nil
    ) -> [(id: String, cluster: String)] {
        let records = Self.withoutPlaceholders(records, population: records)
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
        let links = Parallel.map(chunksOf: Array(records.indices)) { positions in
            defer { progress?(positions.count) }
            return positions.flatMap { position in
                index.candidates(for: records[position])
                    .filter { $0 > position && compare(records[position], records[$0]).decision == .link }
                    .map { (position, $0) }
            }
        }
        for (x, y) in links.joined() {
            let (a, b) = (root(x), root(y))
            if a != b { parent[max(a, b)] = min(a, b) }
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

/// Records by blocking key: only records sharing a key are ever compared. A sorted array
/// of (key hash, position): 12 bytes an entry, searched in O(log n).
public struct BlockIndex: Sendable {
    /// How many records a name alone may block together; beyond, only its combinations count.
    public static let rareLimit = 32
    /// How many records an e-mail, a phone or a name with a company may block together: a
    /// value more share is a placeholder (`noemail@company.com`, a switchboard), not a
    /// person's, and comparing all its records pairwise would link strangers, quadratically.
    public static let commonLimit = 1_000

    /// The most records a block of this kind is used for.
    public static func limit(rare: Bool) -> Int { rare ? rareLimit : commonLimit }
    private let keys: [Int]
    private let positions: [Int32]

    public init(_ records: [IdentityRecord]) {
        // Keys on all cores; the order of positions within a block does not matter
        // (`candidates` sorts what it gathers).
        let chunks = Parallel.map(chunksOf: Array(records.indices)) { positions in
            var entries: [(key: Int, position: Int32)] = []
            entries.reserveCapacity(positions.count * 4)
            for position in positions {
                IdentityMatcher.blockKeys(records[position]) { key, _ in entries.append((key, Int32(position))) }
            }
            return entries
        }
        var entries = chunks.flatMap { $0 }
        entries.sort { $0.key < $1.key }
        keys = entries.map(\.key)
        positions = entries.map(\.position)
    }

    private func block(_ key: Int) -> ArraySlice<Int32> {
        var low = 0
        var high = keys.count
        while low < high {
            let middle = (low + high) / 2
            if keys[middle] < key { low = middle + 1 } else { high = middle }
        }
        var end = low
        while end < keys.count, keys[end] == key { end += 1 }
        return positions[low..<end]
    }

    public func candidates(for record: IdentityRecord) -> [Int] {
        var found: [Int] = []
        IdentityMatcher.blockKeys(record) { key, rare in
            let block = block(key)
            guard block.count <= Self.limit(rare: rare) else { return }
            found.append(contentsOf: block.lazy.map(Int.init))
        }
        guard found.count > 1 else { return found }
        found.sort()
        var unique = 0
        for position in found where unique == 0 || found[unique - 1] != position {
            found[unique] = position
            unique += 1
        }
        found.removeLast(found.count - unique)
        return found
    }
}

/// Work spread over the cores in contiguous chunks, results in input order.
public enum Parallel {
    public static func map<Element: Sendable, Result: Sendable>(
        chunksOf elements: [Element], _ transform: @Sendable ([Element]) -> Result
    ) -> [Result] {
        let workers = max(1, ProcessInfo.processInfo.activeProcessorCount)
        let size = max(1, min(10_000, (elements.count + workers * 4 - 1) / (workers * 4)))
        let starts = Array(stride(from: 0, to: elements.count, by: size))
        let results = Mutex<[Int: Result]>([:])
        DispatchQueue.concurrentPerform(iterations: starts.count) { chunk in
            let start = starts[chunk]
            let result = transform(Array(elements[start..<min(start + size, elements.count)]))
            results.withLock { $0[chunk] = result }
        }
        return results.withLock { all in starts.indices.map { all[$0]! } }
    }
}
