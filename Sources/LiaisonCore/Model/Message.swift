import Foundation

/// Who a conversation participant is to the business.
public enum ParticipantRole: String, Sendable, Codable, CaseIterable {
    case employee
    case customer
    /// Bots, the hub's own users, anyone the configuration does not classify: their
    /// messages are kept out of transcripts.
    case other
}

/// What the hub knows about a participant: enough to find or create them in a CRM.
public struct Participant: Hashable, Sendable, Codable {
    public var ref: SystemRef
    public var role: ParticipantRole
    public var displayName: String?
    public var email: String?
    public var phone: String?

    public init(
        ref: SystemRef, role: ParticipantRole, displayName: String? = nil, email: String? = nil, phone: String? = nil
    ) {
        self.ref = ref
        self.role = role
        self.displayName = displayName
        self.email = email
        self.phone = phone
    }

    /// Fills what this profile lacks from `other` (configuration wins over what the IM says).
    public func merged(over other: Participant?) -> Participant {
        guard let other else { return self }
        var result = self
        result.displayName = displayName ?? other.displayName
        result.email = email ?? other.email
        result.phone = phone ?? other.phone
        return result
    }
}

/// One message said in an IM conversation, in canonical form.
public struct Message: Hashable, Sendable, Codable {
    /// The IM's own id for the message (Matrix event id, …): unique within `conversation`.
    public var id: String
    public var conversation: ConversationID
    public var sender: SystemRef
    public var sentAt: Date
    public var text: String
    /// The message this one edits (its IM id), if it is an edit.
    public var replaces: String?

    /// What a message deleted before it was archived says in the transcript.
    public static let deletedText = "(message deleted)"

    public init(
        id: String, conversation: ConversationID, sender: SystemRef, sentAt: Date, text: String, replaces: String? = nil
    ) {
        self.id = id
        self.conversation = conversation
        self.sender = sender
        self.sentAt = sentAt
        self.text = text
        self.replaces = replaces
    }
}

/// What an inbound connector makes of a raw inbound record.
public enum CanonicalEvent: Hashable, Sendable {
    /// A participant's profile became known or changed.
    case participant(Participant, conversation: ConversationID?)
    case message(Message)
    /// Someone closed the conversation (a close command, the IM's own close event).
    case close(ConversationID, at: Date)
    /// The business takes part in the conversation (an employee joined, or the channel is
    /// the business's own): only such conversations are archived to a CRM.
    case staffed(ConversationID)
    /// A CRM record as it is now; `created` when the CRM says it is new.
    case record(CRMRecord, created: Bool)
    /// Its sender (or a moderator) deleted a message: not yet archived, it is filed without
    /// its text.
    case redacted(ConversationID, messageID: String)
    /// A message the hub cannot read (end-to-end encrypted, say): never archived, but
    /// counted and reported, so that a room whose every message is lost this way shows.
    case unreadable(ConversationID, reason: String)
}
