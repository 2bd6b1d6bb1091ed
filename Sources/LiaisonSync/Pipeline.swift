import Foundation
import Synchronization
import LiaisonConnectors
import LiaisonCore
import LiaisonStore

/// Reads the durable log in order and applies each record: its connector decodes it
/// into canonical events, the store applies them and moves the cursor in the same
/// transaction, so a crash between records repeats nothing and skips nothing.
/// A record that cannot be decoded is kept, marked with the reason, and passed over.
public struct Pipeline: Service {
    public var name: String { "pipeline" }
    private let store: any Store
    private let connectors: [String: any InboundConnector]
    private let thread = BackgroundThread(name: "liaison-pipeline", niceness: 19)
    private let applied: @Sendable (ApplyResult) -> Void
    private let changes: ChangeRouter?
    private let identity: IdentityResolver?
    private let metrics: HubMetrics
    private let backlog: LogBacklog?
    private let logger: Logger
    private let now: @Sendable () -> Date
    /// Conversations already reported for messages the hub cannot read (once a run each).
    private let reportedUnreadable = FirstTimes<ConversationID>()

    /// - Parameters:
    ///   - changes: who hears about CRM changes; nil announces nothing (snapshots are still kept).
    ///   - identity: resolves each customer and CRM record seen to a customer; nil resolves none.
    ///   - backlog: told where the pipeline is, so that ingest waits for it when it is far behind.
    ///   - applied: told what each batch changed (wakes the scheduler and the outbox).
    public init(
        store: any Store, connectors: [any InboundConnector], changes: ChangeRouter? = nil,
        identity: IdentityResolver? = nil, metrics: HubMetrics, backlog: LogBacklog? = nil,
        logger: Logger, now: @escaping @Sendable () -> Date = Date.init,
        applied: @escaping @Sendable (ApplyResult) -> Void
    ) {
        self.store = store
        self.changes = changes
        self.identity = identity
        self.connectors = Dictionary(connectors.map { ($0.source, $0) }, uniquingKeysWith: { first, _ in first })
        self.metrics = metrics
        self.backlog = backlog
        self.logger = logger
        self.now = now
        self.applied = applied
    }

    /// New records are in the log (called after each group commit).
    public func wake() { thread.signal() }

    /// Runs on its own thread at nice 19: see `BackgroundThread` and `LogBacklog`.
    public func run() async throws {
        try await thread.run { [thread, backlog] in
            backlog?.attach(true)
            defer { backlog?.attach(false) }
            while !thread.isStopping {
                let applied = try drain(limit: Self.batchLimit)
                if applied == 0 {
                    thread.wait(timeout: .seconds(5))
                } else if applied >= Self.heavyBatch && applied < Self.batchLimit {
                    // Under heavy load, let records gather so that one transaction carries
                    // many; at ordinary rates each record is applied as soon as it lands.
                    Thread.sleep(forTimeInterval: Self.linger)
                }
            }
        }
    }

    /// Records per transaction. Per-batch work (one update per touched conversation and
    /// participant) is shared by the whole batch, so under load bigger is cheaper; the
    /// state file has its own writer, so a long batch delays no acknowledgement.
    public static let batchLimit = 4096
    /// How long records may gather under load: 50 ms of delay on archiving buys a third
    /// of the pipeline's statements per record on the ingest benchmark.
    static let linger: TimeInterval = 0.05
    /// A batch this big means records arrive faster than they are applied one by one.
    static let heavyBatch = 128

    /// Applies up to `limit` records after the cursor, in one transaction; returns how many.
    @discardableResult
    public func drain(limit: Int) throws -> Int {
        backlog?.applying()
        let cursor = try store.cursor(SQLiteStore.pipelineCursor)
        let records = try store.inbound(after: cursor, limit: limit)
        if !records.isEmpty { try apply(records, cursor: SQLiteStore.pipelineCursor) }
        backlog?.applied(through: records.last?.sequence ?? cursor)
        return records.count
    }

    /// Re-applies records (a replay). Applying is idempotent, so what was applied
    /// before changes nothing; what was refused before is tried again.
    public func replay(_ records: [InboundRecord]) throws -> ApplyResult {
        var total = ApplyResult()
        for start in stride(from: 0, to: records.count, by: 512) {
            let result = try apply(Array(records[start..<min(start + 512, records.count)]), cursor: nil)
            total.newMessages += result.newMessages
            total.unusable += result.unusable
            total.touchedConversations.formUnion(result.touchedConversations)
        }
        return total
    }

    @discardableResult
    private func apply(_ records: [InboundRecord], cursor: String?) throws -> ApplyResult {
        var snapshots = SnapshotCache(store: store)
        var decoded = records.map(decode)
        for index in decoded.indices { try announce(&decoded[index], cause: records[index], snapshots: &snapshots) }
        var result = try store.apply(decoded, cursor: cursor, now: now())
        resolve(decoded, participants: result.participants)
        result.effects = decoded.reduce(0) { $0 + $1.effects.count }
        metrics.eventsProcessed.increment(by: records.count - result.unusable)
        metrics.eventsUnusable.increment(by: result.unusable)
        if result.newMessages > 0 || !result.touchedConversations.isEmpty || result.effects > 0 { applied(result) }
        return result
    }

    /// Compares each CRM record with its last snapshot (earlier in this batch, or in the
    /// store) and adds the announcements its change calls for.
    private func announce(_ decoded: inout DecodedRecord, cause: InboundRecord, snapshots: inout SnapshotCache) throws {
        guard case .events(let events, _) = decoded.meaning else { return }
        for case let .record(record, created) in events {
            let (previous, since, fromBatch, observedAt) = try snapshots.state(of: record.ref)
            // Older than what is stored (a replay of an earlier time range): history, not news.
            guard fromBatch || cause.sequence > since else { continue }
            // A state the CRM had before the one known (an event redelivered after a later
            // one): history too, and the snapshot keeps the later state.
            if let observed = record.observedAt, let known = observedAt, observed < known { continue }
            snapshots.remember(record, sequence: cause.sequence)
            guard let changes, let change = ChangeDetector.detect(previous: previous, created: created, record: record)
            else { continue }
            // Our own write if one was expected when the event came (the pipeline may be behind).
            if created,
                try store.isExpectedEcho(
                    system: record.ref.system, kind: record.ref.kind, keys: EchoKeys.of(record), now: cause.receivedAt)
            {
                logger.info("crm change is our own write, not announced", ["record": record.ref.description])
                continue
            }
            let routed = changes.route(change, cause: cause)
            decoded.effects += routed.deliveries
            decoded.digest += routed.digest
            logger.info("crm change", ["record": record.ref.description, "kind": change.kind.rawValue])
        }
    }

    /// Resolves the customers and CRM records of an applied batch, in log order. Resolution
    /// is derived state: a failure is logged and the batch stands (the person is resolved
    /// again the next time they are seen with anything changed, or at a replay).
    /// - Parameter participants: the batch's participants as the store wrote them: a customer
    ///   speaks many times in a batch, mostly saying the same about themselves, and what
    ///   was just observed is not observed again.
    private func resolve(_ batch: [DecodedRecord], participants: [ApplyResult.WrittenParticipant]) {
        guard let identity else { return }
        func observing(_ observe: () throws -> Void) {
            do { try observe() } catch { logger.warning("identity resolution failed", ["problem": "\(error)"]) }
        }
        var written = participants[...]
        for record in batch {
            // What the record said of its customers (a record's participants are listed together).
            while let said = written.first, said.sequence <= record.sequence {
                written.removeFirst()
                let person = said.participant
                guard person.role == .customer else { continue }
                observing {
                    try identity.observe(
                        ref: person.ref.description, name: person.displayName, company: nil, phone: person.phone,
                        email: person.email, now: now())
                }
            }
            guard case .events(let events, _) = record.meaning else { continue }
            for case .record(let record, _) in events
            where !record.deleted && IdentityResolver.personKinds.contains(record.ref.kind) {
                observing {
                    try identity.observe(
                        ref: record.ref.description, name: record.fields["name"], company: record.fields["company"],
                        phone: record.fields["phone"], email: record.fields["email"], now: now())
                }
            }
        }
    }

    private func decode(_ record: InboundRecord) -> DecodedRecord {
        let meaning: DecodedRecord.Meaning
        if let connector = connectors[record.source] {
            do {
                meaning = .events(try connector.decode(record), channel: connector.channel)
            } catch {
                meaning = .unusable(problem: "\(error)")
            }
        } else {
            meaning = .unusable(problem: "no connector is configured for source '\(record.source)'")
        }
        switch meaning {
        case .unusable(let problem):
            logger.warning(
                "log record unusable", ["seq": "\(record.sequence)", "source": record.source, "problem": problem])
        case .events(let events, _):
            for case let .unreadable(conversation, reason) in events {
                metrics.messagesUnreadable.increment()
                guard reportedUnreadable.first(conversation) else { continue }
                logger.warning(
                    "messages cannot be read and will not be archived",
                    ["conversation": conversation.rawValue, "reason": reason, "seq": "\(record.sequence)"])
            }
        }
        return DecodedRecord(sequence: record.sequence, meaning: meaning)
    }
}

/// What has been reported already, to say each thing once a run.
final class FirstTimes<Value: Hashable & Sendable>: Sendable {
    private let seen = Mutex<Set<Value>>([])
    /// True the first time `value` is given.
    func first(_ value: Value) -> Bool { seen.withLock { $0.insert(value).inserted } }
}

/// Record snapshots as of the record being decoded: the batch's own changes first, the
/// store's (as of the last applied batch) otherwise.
private struct SnapshotCache {
    let store: any Store
    typealias State = (fields: [String: String]?, sequence: Int64, fromBatch: Bool, observedAt: Date?)
    /// The fields (nil: unknown or deleted), the log record they come from, whether that
    /// record is in this batch (then it is earlier in the log than the one at hand), and
    /// when the CRM said the state was current.
    private var known: [SystemRef: State] = [:]

    init(store: any Store) { self.store = store }

    mutating func state(of ref: SystemRef) throws -> State {
        if let cached = known[ref] { return cached }
        let stored = try store.snapshot(ref)
        let state = (
            stored.flatMap { $0.record.deleted ? nil : $0.record.fields }, stored?.sequence ?? 0, false,
            stored?.record.observedAt
        )
        known[ref] = state
        return state
    }

    mutating func remember(_ record: CRMRecord, sequence: Int64) {
        let observedAt = max(record.observedAt ?? .distantPast, known[record.ref]?.observedAt ?? .distantPast)
        known[record.ref] = (
            record.deleted ? nil : record.fields, sequence, true, observedAt == .distantPast ? nil : observedAt
        )
    }
}
