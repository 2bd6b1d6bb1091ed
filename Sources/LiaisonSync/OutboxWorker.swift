import Foundation
import LiaisonConnectors
import LiaisonCore
import LiaisonStore

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
    private let wakeup: Wakeup
    private let metrics: HubMetrics
    private let logger: Logger
    private let now: @Sendable () -> Date

    public init(
        store: any Store, connectors: [any OutboundConnector], policy: RetryPolicy, concurrency: Int, wakeup: Wakeup,
        metrics: HubMetrics, logger: Logger, now: @escaping @Sendable () -> Date = Date.init
    ) {
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
        try await withThrowingTaskGroup(of: String.self) { group in
            var busy: Set<String> = []
            while !Task.isCancelled {
                let due =
                    busy.count < concurrency
                    ? try store.dueDeliveries(now: now(), limit: concurrency - busy.count, excludingPartitions: busy)
                    : []
                for delivery in due {
                    busy.insert(delivery.partition)
                    group.addTask {
                        await attempt(delivery)
                        return delivery.partition
                    }
                }
                if !busy.isEmpty, due.isEmpty || busy.count >= concurrency {
                    // Wait for one attempt to finish, or for new work.
                    if let finished = try await group.next() { busy.remove(finished) }
                    continue
                }
                if due.isEmpty {
                    // Polls at least every second: `liaison replay` in another process
                    // requeues dead letters without a way to wake this one.
                    let next = try store.nextDeliveryDue()
                    let wait = next.map { min(max($0.timeIntervalSince(now()), 0.005), 1) } ?? 1
                    await wakeup.wait(until: .now + .milliseconds(Int64(wait * 1000)))
                }
            }
            // Drain: let attempts in flight finish and record their outcome.
            while let finished = try await group.next() { busy.remove(finished) }
        }
    }

    /// Performs every delivery that is due now, one round; for tests and `liaison replay`.
    public func runOnce() async throws -> Int {
        let due = try store.dueDeliveries(now: now(), limit: 1000, excludingPartitions: [])
        for delivery in due { await attempt(delivery) }
        return due.count
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
            if let delay = policy.delay(afterAttempts: attempts, retryAfter: after, using: &random) {
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

/// The delivery ledger, kept in the store.
struct StoreLedger: DeliveryLedger {
    let store: any Store
    let target: String
    let now: @Sendable () -> Date

    func remoteID(for key: IdempotencyKey) async throws -> String? { try store.ledgerEntry(key) }

    func record(_ key: IdempotencyKey, remoteID: String) async throws {
        try store.recordLedger(key, target: target, remoteID: remoteID, now: now())
    }
}
