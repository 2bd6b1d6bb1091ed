import Foundation
import LiaisonCore

/// Durable state of the hub: the inbound event log, the conversation read model, the
/// outbox and the delivery ledger. SQL lives behind this protocol only; `SQLiteStore`
/// is the embedded default, and a PostgreSQL twin will implement the same contract
/// and pass the same tests.
public protocol Store: AnyObject, Sendable {
    // MARK: Event log

    /// Appends a record; `completion` runs once it is durable (or known a duplicate),
    /// on the store's commit thread. Many appends share one commit.
    func append(_ record: InboundRecord, completion: @escaping @Sendable (Result<AppendOutcome, any Error>) -> Void)
    /// Records after `sequence`, in log order.
    func inbound(after sequence: Int64, limit: Int) throws -> [InboundRecord]
    /// The records received in `start..<end` after sequence `after`, at most `limit` of them,
    /// in log order: a time range is read page by page, however long.
    func inbound(receivedFrom start: Date, to end: Date, after: Int64, limit: Int) throws -> [InboundRecord]
    func cursor(_ name: String) throws -> Int64
    /// Moves a named cursor forward (never back).
    func moveCursor(_ name: String, to position: Int64) throws
    /// Sets a named cursor, back too: for a clock, not for a position in the log.
    func resetCursor(_ name: String, to position: Int64) throws

    // MARK: Pipeline

    /// Applies what a batch of inbound records meant and moves `cursor` past the last
    /// one, in one transaction. Idempotent: a message already known is ignored, so
    /// replays change nothing twice. Unusable records are kept with their reason.
    func apply(_ batch: [DecodedRecord], cursor: String?, now: Date) throws -> ApplyResult

    // MARK: Scheduler

    /// Conversations (an employee is present, and a customer) with messages no transcript holds yet.
    func conversationsWithPendingMessages() throws -> [ConversationState]
    /// The messages not yet archived, up to message `through` (a close's boundary) if given.
    func pendingTranscript(for conversation: ConversationID, through: Int64?) throws -> PendingTranscript?
    /// Turns the pending messages up to `throughMessage` into outbox entries (one a customer
    /// it is filed under; none when there is nothing to archive), atomically. Messages that arrived
    /// after the plan was made stay pending. With the `revision` the plan was read at, does
    /// nothing and returns false if a message was deleted since (the plan holds its text).
    @discardableResult
    func scheduleArchive(
        of conversation: ConversationID, throughMessage: Int64, deliveries: [NewDelivery], now: Date, revision: Int64?
    ) throws -> Bool

    // MARK: Outbox

    /// Due deliveries, oldest first, at most one per partition and none from a partition
    /// with an older delivery still pending, so each partition is delivered in order.
    func dueDeliveries(now: Date, limit: Int, excludingPartitions: Set<String>) throws -> [Delivery]
    func markDelivered(_ id: Int64, remoteID: String, now: Date) throws
    func markRetry(_ id: Int64, error: String, uncertain: Bool, nextAttemptAt: Date, now: Date) throws
    func markDead(_ id: Int64, error: String, now: Date) throws
    /// When the next delivery that can run is due, if any: the earliest partition head
    /// outside `excludingPartitions` (those with an attempt in flight).
    func nextDeliveryDue(excludingPartitions: Set<String>) throws -> Date?
    func delivery(id: Int64) throws -> Delivery?
    func deliveries(status: DeliveryStatus, limit: Int) throws -> [Delivery]
    /// Puts dead deliveries (all, or the given ids) back in the queue with a fresh budget.
    func requeueDead(ids: [Int64]?, now: Date) throws -> Int

    // MARK: Ledger

    /// The remote id recorded for an effect already performed.
    func ledgerEntry(_ key: IdempotencyKey) throws -> String?
    /// Before the hub creates a record in a system, it notes how the record will look
    /// (`email:…`, `phone:…`), so that the system's change event about it is recognised
    /// as an echo of our own write and not announced: from `from` until `until`.
    func expectEcho(system: String, kind: String, keys: [String], from: Date, until: Date) throws
    /// Whether a change event received at `now` matches an echo expected then (kept until it expires).
    func isExpectedEcho(system: String, kind: String, keys: [String], now: Date) throws -> Bool
    /// Records where an effect landed, and clears its intent.
    func recordLedger(_ key: IdempotencyKey, target: String, remoteID: String, now: Date) throws
    /// Notes, durably, that a write under `key` is about to be sent. Until `recordLedger`
    /// follows, nobody knows whether it landed (the process may die in between).
    func recordIntent(_ key: IdempotencyKey, target: String, now: Date) throws
    /// When a write under `key` was last sent without its outcome being recorded, if one was.
    func intentTime(_ key: IdempotencyKey) throws -> Date?
    /// Drops a ledger entry whose remote record no longer exists.
    func forgetLedger(_ key: IdempotencyKey) throws

    // MARK: Read models

    /// The last known state of a CRM record, from its change events, with the log record it came from.
    func snapshot(_ ref: SystemRef) throws -> (record: CRMRecord, sequence: Int64)?
    /// The records of one system and kind the hub knows and believes alive, with when their
    /// snapshot last changed (to find the ones a CRM deleted without telling).
    func liveSnapshots(system: String, kind: String) throws -> [(ref: SystemRef, updatedAt: Date)]
    /// Records what became known of a participant (fields it lacks keep what is stored).
    func save(_ participant: Participant, now: Date) throws
    func status() throws -> StoreStatus
    /// What the queue gauges show, read from indexes only: every scrape of `/metrics` asks,
    /// so it must cost the same on a log of a thousand records as on one of a billion.
    func queueDepths() throws -> QueueDepths
    /// Recipients with digest lines waiting, and their lines (oldest first, with ids).
    func pendingDigests() throws -> [String: [DigestLine]]
    /// Turns a recipient's digest lines up to `throughID` into one outbox entry, atomically.
    func flushDigest(recipient: String, throughID: Int64, delivery: NewDelivery, now: Date) throws
    /// A customer's profile gathered across systems, or nil when the hub knows nobody by that key.
    func customerProfile(_ lookup: CustomerLookup, interactions limit: Int) throws -> CustomerProfile?
    /// The other records identity resolution counts as the same customer as `ref`.
    func sameCustomer(as ref: String) throws -> [String]
}

extension Store {
    /// All the messages not yet archived.
    public func pendingTranscript(for conversation: ConversationID) throws -> PendingTranscript? {
        try pendingTranscript(for: conversation, through: nil)
    }

    @discardableResult
    public func scheduleArchive(
        of conversation: ConversationID, throughMessage: Int64, delivery: NewDelivery?, now: Date
    ) throws -> Bool {
        try scheduleArchive(
            of: conversation, throughMessage: throughMessage, deliveries: delivery.map { [$0] } ?? [], now: now,
            revision: nil)
    }

    /// `append` for async callers: returns once the record is durable (or a duplicate).
    public func append(_ record: InboundRecord) async throws -> AppendOutcome {
        try await withCheckedThrowingContinuation { continuation in
            append(record) { continuation.resume(with: $0) }
        }
    }
}

/// What the pipeline made of one inbound record.
public struct DecodedRecord: Sendable {
    public enum Meaning: Sendable {
        case events([CanonicalEvent], channel: String)
        case unusable(problem: String)
    }

    public var sequence: Int64
    public var meaning: Meaning
    /// Outbox entries the record causes (announcements of CRM changes), enqueued in the
    /// same transaction.
    public var effects: [NewDelivery]
    /// Lines for the next digests, kept in the same transaction.
    public var digest: [DigestItem]

    public init(sequence: Int64, meaning: Meaning, effects: [NewDelivery] = [], digest: [DigestItem] = []) {
        self.sequence = sequence
        self.meaning = meaning
        self.effects = effects
        self.digest = digest
    }

    /// Whether applying it must be on disk before the commit returns. What a batch derives
    /// is redone after a power cut, but an outbox entry (or a digest line) may be sent the
    /// moment it is committed: lost and derived again, it would be a new delivery, sent
    /// again without the look before writing that an interrupted one gets.
    public var isDurableEffect: Bool { !effects.isEmpty || !digest.isEmpty }
}

/// A line waiting for its recipient's next digest: its row (the store's order, reused
/// once the rows are gone), its key (unique per change and recipient, for good) and text.
public struct DigestLine: Sendable, Equatable {
    public var id: Int64
    public var key: String
    public var line: String
}

/// One line waiting for a recipient's next digest.
public struct DigestItem: Sendable, Equatable {
    /// Unique per change and recipient: re-applying a record adds nothing twice.
    public var key: String
    /// `room:!…` or `user:@…`.
    public var recipient: String
    public var line: String

    public init(key: String, recipient: String, line: String) {
        self.key = key
        self.recipient = recipient
        self.line = line
    }
}

/// What applying inbound records changed.
public struct ApplyResult: Sendable, Equatable {
    public var newMessages: Int
    public var unusable: Int
    public var touchedConversations: Set<ConversationID>
    /// Outbox entries enqueued (or found already there) for the records.
    public var effects: Int
    /// The participants the batch wrote, in log order: each time what was said of one
    /// changed (said again, unchanged, a participant is not written, nor listed, again).
    public var participants: [WrittenParticipant] = []

    /// A participant as a batch wrote it, with the log record that said it.
    public struct WrittenParticipant: Sendable, Equatable {
        public var sequence: Int64
        public var participant: Participant
    }

    public init(
        newMessages: Int = 0, unusable: Int = 0, touchedConversations: Set<ConversationID> = [], effects: Int = 0
    ) {
        self.newMessages = newMessages
        self.unusable = unusable
        self.touchedConversations = touchedConversations
        self.effects = effects
    }
}

/// The messages of a conversation that no transcript holds yet, with their speakers.
public struct PendingTranscript: Sendable, Equatable {
    public struct Entry: Sendable, Equatable {
        public var sequence: Int64
        public var message: Message
        public var sender: Participant?

        public init(sequence: Int64, message: Message, sender: Participant?) {
            self.sequence = sequence
            self.message = message
            self.sender = sender
        }
    }

    public var conversation: ConversationID
    public var channel: String
    public var customer: Participant?
    public var entries: [Entry]
    /// The conversation's revision when read (`scheduleArchive` checks it).
    public var revision: Int64 = 0

    public init(
        conversation: ConversationID, channel: String, customer: Participant?, entries: [Entry], revision: Int64 = 0
    ) {
        self.conversation = conversation
        self.channel = channel
        self.customer = customer
        self.entries = entries
        self.revision = revision
    }
}

/// An outbox entry to create.
public struct NewDelivery: Sendable, Equatable {
    public var target: String
    public var operation: String
    public var partition: String
    public var idempotencyKey: IdempotencyKey
    public var payload: [UInt8]

    public init(target: String, operation: String, partition: String, idempotencyKey: IdempotencyKey, payload: [UInt8])
    {
        self.target = target
        self.operation = operation
        self.partition = partition
        self.idempotencyKey = idempotencyKey
        self.payload = payload
    }
}

/// Counts for `liaison status` and the metrics gauges.
/// Work waiting, by queue.
public struct QueueDepths: Sendable, Equatable {
    /// Log records the pipeline has not applied yet.
    public var pipeline: Int
    /// Deliveries not yet made (first attempts and retries).
    public var outbox: Int
    public var deadLetters: Int
    public var conversationsWithPending: Int

    public init(pipeline: Int, outbox: Int, deadLetters: Int, conversationsWithPending: Int) {
        self.pipeline = pipeline
        self.outbox = outbox
        self.deadLetters = deadLetters
        self.conversationsWithPending = conversationsWithPending
    }
}

public struct StoreStatus: Sendable, Equatable, Codable {
    public var inboundRecords: Int
    public var inboundRejected: Int
    public var inboundUnprocessed: Int
    public var conversations: Int
    public var conversationsWithPending: Int
    public var messages: Int
    public var deliveriesPending: Int
    public var deliveriesRetrying: Int
    public var deliveriesDelivered: Int
    public var deliveriesDead: Int
    public var oldestPendingDeliveryAt: Date?
}
