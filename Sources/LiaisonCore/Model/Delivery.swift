import Foundation

/// The lifecycle of an outbound effect in the outbox.
public enum DeliveryStatus: String, Sendable, Codable, CaseIterable {
    case pending
    case delivered
    case dead
}

/// Something that must leave the hub: a transcript to archive in a CRM, a message to post.
public struct Delivery: Sendable, Hashable {
    public var id: Int64
    /// The connector that performs it: `bottlecrm`.
    public var target: String
    /// What to do: `archive_transcript`.
    public var operation: String
    /// Deliveries with the same partition are performed in order (one customer, one conversation).
    public var partition: String
    public var idempotencyKey: IdempotencyKey
    /// The operation's input, JSON.
    public var payload: [UInt8]
    public var status: DeliveryStatus
    public var attempts: Int
    public var nextAttemptAt: Date
    /// The last attempt ended without knowing whether the remote side applied it
    /// (timeout, reset): look before writing again.
    public var uncertain: Bool
    public var lastError: String?
    public var remoteID: String?
    public var createdAt: Date

    public init(
        id: Int64 = 0, target: String, operation: String, partition: String, idempotencyKey: IdempotencyKey,
        payload: [UInt8], status: DeliveryStatus = .pending, attempts: Int = 0, nextAttemptAt: Date,
        uncertain: Bool = false, lastError: String? = nil, remoteID: String? = nil, createdAt: Date
    ) {
        self.id = id
        self.target = target
        self.operation = operation
        self.partition = partition
        self.idempotencyKey = idempotencyKey
        self.payload = payload
        self.status = status
        self.attempts = attempts
        self.nextAttemptAt = nextAttemptAt
        self.uncertain = uncertain
        self.lastError = lastError
        self.remoteID = remoteID
        self.createdAt = createdAt
    }
}

/// What one attempt at a delivery came to. Expected outcomes are values, not errors.
public enum DeliveryOutcome: Sendable, Equatable {
    case delivered(remoteID: String)
    /// Try again later; `after` is the remote side's own hint (Retry-After), if any.
    /// `uncertain` says the remote side may have applied the write.
    case retryable(reason: String, after: Duration?, uncertain: Bool)
    /// Retrying cannot help (refused input, missing configuration).
    case permanent(reason: String)
}
