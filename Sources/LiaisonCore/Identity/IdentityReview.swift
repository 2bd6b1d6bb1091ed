import Foundation

/// A person as one system knows them, with the customer the hub counts them as.
public struct KnownPerson: Sendable, Equatable, Codable {
    /// `system:kind:id`, as `matrix:user:@li.na:corp` or `bottlecrm:contact:42`.
    public var ref: String
    public var name: String?
    public var company: String?
    public var phone: String?
    public var email: String?
    /// The customer id this record belongs to; records of one person share it.
    public var customer: String

    public init(
        ref: String, name: String? = nil, company: String? = nil, phone: String? = nil, email: String? = nil,
        customer: String
    ) {
        self.ref = ref
        self.name = name
        self.company = company
        self.phone = phone
        self.email = email
        self.customer = customer
    }

    public func identityRecord(region: String = "CN") -> IdentityRecord {
        IdentityRecord(id: ref, name: name, company: company, phone: phone, email: email, region: region)
    }
}

/// A pair the matcher was unsure of, waiting for a person (or decided by one).
public struct IdentityReview: Sendable, Equatable, Codable {
    public enum Status: String, Sendable, Codable, CaseIterable { case open, accepted, rejected }

    public var id: Int64
    public var left: String
    public var right: String
    public var score: Double
    public var evidence: [FieldEvidence]
    public var status: Status
    public var createdAt: Date
    public var decidedAt: Date?
    public var decidedBy: String?
    /// The merge an accepted review made (what `unmerge` undoes).
    public var mergeID: Int64?

    public init(
        id: Int64, left: String, right: String, score: Double, evidence: [FieldEvidence], status: Status,
        createdAt: Date, decidedAt: Date? = nil, decidedBy: String? = nil, mergeID: Int64? = nil
    ) {
        self.id = id
        self.left = left
        self.right = right
        self.score = score
        self.evidence = evidence
        self.status = status
        self.createdAt = createdAt
        self.decidedAt = decidedAt
        self.decidedBy = decidedBy
        self.mergeID = mergeID
    }
}

/// One merge: which records moved from which customer to which, so it can be undone.
public struct IdentityMerge: Sendable, Equatable, Codable {
    public struct Move: Sendable, Equatable, Codable {
        public var ref: String
        public var from: String
        public var to: String

        public init(ref: String, from: String, to: String) {
            self.ref = ref
            self.from = from
            self.to = to
        }
    }
    public var id: Int64
    public var at: Date
    public var actor: String
    public var moves: [Move]
    public var undoneAt: Date?

    public init(id: Int64, at: Date, actor: String, moves: [Move], undoneAt: Date?) {
        self.id = id
        self.at = at
        self.actor = actor
        self.moves = moves
        self.undoneAt = undoneAt
    }
}

/// What went wrong with a review or merge request: it names the thing and changes nothing.
public struct IdentityError: Error, Equatable, Sendable, CustomStringConvertible {
    public enum Kind: Sendable, Equatable {
        /// No such review or merge.
        case notFound
        /// The request contradicts the state (decided twice, undone twice, moved since).
        case conflict
    }
    public let kind: Kind
    public let description: String
    public init(_ description: String, kind: Kind = .conflict) {
        self.kind = kind
        self.description = description
    }
}
