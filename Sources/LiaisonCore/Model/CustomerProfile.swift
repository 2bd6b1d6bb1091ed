import Foundation

/// What the hub knows of a customer, gathered from every system it links: the IM
/// profile, the CRM record's last known state, the transcripts filed. This is what an
/// IM sidebar shows when an agent asks "who is this?".
public struct CustomerProfile: Sendable, Codable, Equatable {
    public struct Interaction: Sendable, Codable, Equatable {
        public var at: Date
        public var channel: String
        public var subject: String
        /// The CRM's id for the record it was filed as.
        public var remoteID: String?

        public init(at: Date, channel: String, subject: String, remoteID: String?) {
            self.at = at
            self.channel = channel
            self.subject = subject
            self.remoteID = remoteID
        }
    }

    /// The customer id identity resolution gave these records, when it has seen them.
    public var customer: String?
    public var name: String?
    public var email: String?
    public var phone: String?
    public var company: String?
    public var stage: String?
    public var owner: String?
    /// Every system record known to be this customer (`matrix:user:@li.na:corp`, `bottlecrm:contact:…`).
    public var refs: [String]
    /// Newest first.
    public var interactions: [Interaction]

    public init(
        name: String? = nil, email: String? = nil, phone: String? = nil, company: String? = nil, stage: String? = nil,
        owner: String? = nil, refs: [String] = [], interactions: [Interaction] = []
    ) {
        self.name = name
        self.email = email
        self.phone = phone
        self.company = company
        self.stage = stage
        self.owner = owner
        self.refs = refs
        self.interactions = interactions
    }
}

/// How a customer is looked up.
public enum CustomerLookup: Sendable, Equatable {
    /// A record in a connected system (`matrix:user:@li.na:corp`, `bottlecrm:contact:<id>`).
    case ref(SystemRef)
    case email(String)
    case phone(String)
}
