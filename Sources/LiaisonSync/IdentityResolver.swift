import Foundation
import LiaisonCore
import LiaisonStore
import Synchronization

/// Resolves each person as they arrive (an IM contact, a CRM record) to a customer: the
/// customer of the record they surely are (a `link`), or a new customer, with the uncertain
/// pairs queued for review. The index of known people is rebuilt from the store at start
/// and kept current; customer ids are always read from the store, so merges and unmerges
/// made meanwhile (by `liaison review` or the API) count at once.
public final class IdentityResolver: Sendable {
    public struct Resolution: Sendable, Equatable {
        public var customer: String
        /// The record linked to, when one was sure enough.
        public var linkedTo: String?
        public var reviews: [String]
    }

    /// CRM record kinds that are people (a deal or a ticket is not).
    public static let personKinds: Set<String> = ["contact", "lead", "party", "person", "customer"]

    private let store: SQLiteStore
    private let matcher: IdentityMatcher
    private let region: String
    private let index = Mutex(IdentityIndex())

    public init(store: SQLiteStore, matcher: IdentityMatcher = IdentityMatcher(), region: String = "CN") throws {
        self.store = store
        self.matcher = matcher
        self.region = region
        let people = try store.people()
        index.withLock { index in
            for person in people {
                index.insert(person.identityRecord(region: region))
                index.said[person.ref] = [person.name, person.company, person.phone, person.email]
            }
        }
    }

    /// As `settings` say: their matcher and default region; nil when resolution is off.
    public convenience init?(store: SQLiteStore, settings: IdentitySettings) throws {
        guard settings.enabled else { return nil }
        try self.init(store: store, matcher: settings.matcher, region: settings.defaultRegion)
    }

    /// How many people the index holds.
    public var count: Int { index.withLock { $0.count } }

    /// Resolves `ref` unless it was seen saying exactly this already (then it costs one
    /// dictionary lookup, no store read): what the pipeline calls for every person it sees.
    public func observe(
        ref: String, name: String?, company: String?, phone: String?, email: String?, now: Date
    ) throws {
        let said = [name, company, phone, email]
        if index.withLock({ $0.said[ref] == said }) { return }
        try resolve(ref: ref, name: name, company: company, phone: phone, email: email, now: now)
    }

    /// Resolves and records `ref` with what its system says about the person. Seen again
    /// with nothing changed, it is its stored customer at once.
    @discardableResult
    public func resolve(
        ref: String, name: String?, company: String?, phone: String?, email: String?, now: Date
    ) throws -> Resolution {
        let said = [name, company, phone, email]
        if index.withLock({ $0.said[ref] == said }), let known = try store.person(ref) {
            return Resolution(customer: known.customer, linkedTo: nil, reviews: [])
        }
        let record = IdentityRecord(id: ref, name: name, company: company, phone: phone, email: email, region: region)
        let scored = index.withLock { $0.matches(for: record, using: matcher) }
        let existing = try store.person(ref)
        var customer = existing?.customer
        var linkedTo: String?
        var reviews: [(other: String, score: Double, evidence: [FieldEvidence])] = []
        for result in scored {
            guard let other = try store.person(result.right) else { continue }
            if other.customer == customer { continue }  // already one customer
            if result.decision == .link, customer == nil {
                customer = other.customer
                linkedTo = other.ref
            } else {
                // Uncertain, or sure but this record already counts as another customer:
                // merging two customers is a person's decision.
                reviews.append((other.ref, result.score, result.evidence))
            }
        }
        let person = KnownPerson(
            ref: ref, name: name, company: company, phone: phone, email: email,
            customer: customer ?? Self.newCustomerID())
        try store.save(person, linkedTo: linkedTo, reviews: reviews, now: now)
        index.withLock {
            $0.insert(record)
            $0.said[ref] = said
        }
        return Resolution(customer: person.customer, linkedTo: linkedTo, reviews: reviews.map(\.other))
    }

    static func newCustomerID() -> String {
        var random = SystemRandomNumberGenerator()
        let value = random.next() as UInt64
        let hex = String(value, radix: 16)
        return "cus_" + String(repeating: "0", count: 16 - hex.count) + hex
    }
}
