import Foundation
import LiaisonConnectors
import LiaisonCore
import LiaisonStore
import Synchronization

/// Performs due deliveries through their connectors, several at once but one at a time
/// per partition (so one customer's effects land in order), and records each outcome:
/// delivered, retry later (exponential backoff with jitter, at least Retry-After), or
/// dead after the attempt budget.
public struct OutboxWorker: Service {
    public var name: String { "outbox" }
    private let store: any Store
    private let connectors: [String: any OutboundConnector]
    private let policy: RetryPolicy
    private let concurrency: Int
    /// The least wait after an attempt whose outcome is unknown (the HTTP timeout).
    private let settle: Duration
    private let wakeup: Wakeup
    private let metrics: HubMetrics
    private let logger: Logger
    private let now: @Sendable () -> Date

    public init(
        store: any Store, connectors: [any OutboundConnector], policy: RetryPolicy, concurrency: Int,
        settle: Duration = .zero, wakeup: Wakeup, metrics: HubMetrics, logger: Logger,
        now: @escaping @Sendable () -> Date = Date.init
    ) {
        self.settle = settle
        self.store = store
        self.connectors = Dictionary(connectors.map { ($0.target, $0) }, uniquingKeysWith: { first, _ in first })
        self.policy = policy
        self.concurrency = concurrency
        self.wakeup = wakeup
        self.metrics = metrics
        self.logger = logger
        self.now = now
    }

    public func run() async throws {
        let busy = BusyPartitions()
        await withDiscardingTaskGroup { group in
            while !Task.isCancelled {
                let inFlight = busy.snapshot
                let due: [Delivery]
                do {
                    due =
                        inFlight.count < concurrency
                        ? try store.dueDeliveries(
                            now: now(), limit: concurrency - inFlight.count, excludingPartitions: inFlight)
                        : []
                } catch {
                    logger.error("cannot read the outbox", ["error": "\(error)"])
                    due = []
                }
                for delivery in due {
                    busy.insert(delivery.partition)
                    group.addTask {
                        // An attempt in flight is not cancelled on shutdown: it finishes
                        // (bounded by the HTTP timeout) and its outcome is recorded, so a
                        // write that reached the CRM is never left unaccounted for.
                        await Task { await attempt(delivery) }.value
                        busy.remove(delivery.partition)
                        wakeup.signal()  // its partition may have a next delivery
                    }
                }
                if !due.isEmpty && busy.count < concurrency { continue }
                // Polls at least every second: `liaison replay` in another process
                // requeues dead letters without a way to wake this one.
                let next = (try? store.nextDeliveryDue(excludingPartitions: busy.snapshot)) ?? nil
                let wait = next.map { min(max($0.timeIntervalSince(now()), 0.005), 1) } ?? 1
                await wakeup.wait(until: .now + .milliseconds(Int64(wait * 1000)))
            }
            // Leaving the group waits for attempts in flight, which record their outcome.
        }
    }

    private func attempt(_ delivery: Delivery) async {
        let started = ContinuousClock.now
        let outcome: DeliveryOutcome
        if let connector = connectors[delivery.target] {
            outcome = await connector.perform(
                delivery, ledger: StoreLedger(store: store, target: delivery.target, now: now), now: now())
        } else {
            outcome = .permanent(reason: "no connector is configured for target '\(delivery.target)'")
        }
        metrics.deliveryLatency.observe(ContinuousClock.now - started)
        do {
            try record(outcome, for: delivery)
        } catch {
            logger.error("cannot record delivery outcome", ["delivery": "\(delivery.id)", "error": "\(error)"])
        }
    }

    private func record(_ outcome: DeliveryOutcome, for delivery: Delivery) throws {
        let time = now()
        let attempts = delivery.attempts + 1
        switch outcome {
        case .delivered(let remoteID):
            try store.markDelivered(delivery.id, remoteID: remoteID, now: time)
            metrics.deliveriesOK.increment()
            metrics.endToEndLatency.observe(time.timeIntervalSince(delivery.createdAt))
            logger.info(
                "delivered",
                [
                    "delivery": "\(delivery.id)", "target": delivery.target, "remote_id": remoteID,
                    "attempts": "\(attempts)",
                ])
        case let .retryable(reason, after, uncertain):
            var random = SystemRandomNumberGenerator()
            // After an unknown outcome, give a write the remote side may still be holding
            // time to land before the next attempt looks for it.
            let floor = uncertain ? max(after ?? .zero, settle) : after
            if let delay = policy.delay(afterAttempts: attempts, retryAfter: floor, using: &random) {
                let next = time.addingTimeInterval(Double(delay / .milliseconds(1)) / 1000)
                try store.markRetry(delivery.id, error: reason, uncertain: uncertain, nextAttemptAt: next, now: time)
                metrics.deliveriesRetried.increment()
                logger.warning(
                    "delivery failed, will retry",
                    [
                        "delivery": "\(delivery.id)", "attempts": "\(attempts)",
                        "retry_in_ms": "\(delay / .milliseconds(1))", "reason": reason,
                    ]
                )
            } else {
                try store.markDead(delivery.id, error: "gave up after \(attempts) attempts: \(reason)", now: time)
                metrics.deliveriesDead.increment()
                logger.error(
                    "delivery dead", ["delivery": "\(delivery.id)", "attempts": "\(attempts)", "reason": reason])
            }
        case .permanent(let reason):
            try store.markDead(delivery.id, error: reason, now: time)
            metrics.deliveriesDead.increment()
            logger.error("delivery dead", ["delivery": "\(delivery.id)", "attempts": "\(attempts)", "reason": reason])
        }
    }
}

/// Partitions with an attempt in flight: at most one per partition keeps each
/// customer's deliveries in order.
final class BusyPartitions: Sendable {
    private let partitions = Mutex<Set<String>>([])
    var snapshot: Set<String> { partitions.withLock { $0 } }
    var count: Int { partitions.withLock { $0.count } }
    func insert(_ partition: String) { partitions.withLock { _ = $0.insert(partition) } }
    func remove(_ partition: String) { partitions.withLock { _ = $0.remove(partition) } }
}

/// The delivery ledger, kept in the store.
struct StoreLedger: DeliveryLedger {
    let store: any Store
    let target: String
    let now: @Sendable () -> Date

    func remoteID(for key: IdempotencyKey) async throws -> String? { try store.ledgerEntry(key) }

    func record(_ key: IdempotencyKey, remoteID: String) async throws {
        try store.recordLedger(key, target: target, remoteID: remoteID, now: now())
    }

    func intend(_ key: IdempotencyKey) async throws { try store.recordIntent(key, target: target, now: now()) }

    func intendedAt(_ key: IdempotencyKey) async throws -> Date? { try store.intentTime(key) }

    func forget(_ key: IdempotencyKey) async throws { try store.forgetLedger(key) }

    func expectEcho(kind: String, keys: [String], for duration: Duration) async throws {
        let from = now()
        try store.expectEcho(
            system: target, kind: kind, keys: keys, from: from, until: from.addingTimeInterval(duration.seconds))
    }

    func sameCustomer(as ref: String) async throws -> [String] { try store.sameCustomer(as: ref) }
}
