import Foundation
import LiaisonCore
import LiaisonStore
import Synchronization

/// The hub's named metrics, registered once and shared by the listener, the pipeline
/// and the outbox. A class: it is captured by every request's completion, and a copy of
/// a struct would retain and release each of its counters, shared by every thread.
public final class HubMetrics: Sendable {
    public let registry: MetricsRegistry
    public let eventsReceived: Counter
    public let eventsStored: Counter
    public let eventsDuplicate: Counter
    private let rejections: [String: Counter]
    public let ingestLatency: Histogram
    /// Records per group commit: how many acknowledgements share one fsync.
    public let commitBatch: Histogram
    public let eventsProcessed: Counter
    public let eventsUnusable: Counter
    public let messagesUnreadable: Counter
    /// When the last append to the event log failed (a full disk, say), in Unix
    /// milliseconds; 0 once one has succeeded since. `/healthz` reports a failure for
    /// `logFailureShown` after it: long enough to be seen, not so long that a probe that
    /// takes the hub out of rotation keeps it out after the disk is freed (with no traffic,
    /// no append would ever succeed to clear it).
    public let logFailedAt = Atomic<Int64>(0)
    public static let logFailureShown: Int64 = 30_000

    /// Whether an append to the log failed within `logFailureShown` of `now`, none succeeding since.
    public func logFailing(now: Date) -> Bool {
        let failed = logFailedAt.load(ordering: .relaxed)
        return failed != 0 && Int64(now.timeIntervalSince1970 * 1000) - failed < Self.logFailureShown
    }
    public let transcriptsPlanned: Counter
    public let deliveriesOK: Counter
    public let deliveriesRetried: Counter
    public let deliveriesDead: Counter
    public let deliveryLatency: Histogram
    public let endToEndLatency: Histogram

    public static let rejectionReasons = [
        "unauthenticated", "unsigned", "bad_signature", "stale_signature", "malformed", "too_large", "unknown_route",
        "method_not_allowed", "unknown_source", "store_unavailable",
        // Answered by libmicrohttpd itself, before any route (`HTTPServer.refused`).
        "headers_too_large", "uri_too_long", "malformed_http",
    ]

    public init(registry: MetricsRegistry = MetricsRegistry()) {
        self.registry = registry
        eventsReceived = registry.counter("liaison_events_received_total", help: "Inbound requests to event endpoints.")
        eventsStored = registry.counter(
            "liaison_events_stored_total", help: "Inbound events committed to the durable log.")
        eventsDuplicate = registry.counter(
            "liaison_events_duplicate_total", help: "Inbound events acknowledged as already stored (same dedupe key)."
        )
        var rejections: [String: Counter] = [:]
        for reason in Self.rejectionReasons {
            rejections[reason] = registry.counter(
                "liaison_events_rejected_total", help: "Inbound requests refused, by reason.",
                labels: "reason=\"\(reason)\""
            )
        }
        self.rejections = rejections
        ingestLatency = registry.histogram(
            "liaison_ingest_seconds", help: "From the last byte of a webhook to its answer, after the commit."
        )
        commitBatch = registry.histogram(
            "liaison_commit_batch_records",
            help: "Records made durable by one group commit (one transaction, one fsync).",
            histogram: Histogram(bounds: [1, 2, 4, 8, 16, 32, 64, 128, 256, 1024, 4096])
        )
        eventsProcessed = registry.counter("liaison_pipeline_events_total", help: "Log records the pipeline applied.")
        eventsUnusable = registry.counter(
            "liaison_pipeline_unusable_total",
            help: "Log records the pipeline could not decode (kept, with the reason)."
        )
        messagesUnreadable = registry.counter(
            "liaison_messages_unreadable_total",
            help: "Messages the hub could not read (end-to-end encrypted): never archived.")
        transcriptsPlanned = registry.counter(
            "liaison_transcripts_planned_total", help: "Transcripts put in the outbox.")
        deliveriesOK = registry.counter(
            "liaison_deliveries_total", help: "Deliveries by outcome.", labels: "outcome=\"ok\"")
        deliveriesRetried = registry.counter(
            "liaison_deliveries_total", help: "Deliveries by outcome.", labels: "outcome=\"retried\""
        )
        deliveriesDead = registry.counter(
            "liaison_deliveries_total", help: "Deliveries by outcome.", labels: "outcome=\"dead\"")
        deliveryLatency = registry.histogram(
            "liaison_delivery_attempt_seconds", help: "Duration of one delivery attempt.")
        endToEndLatency = registry.histogram(
            "liaison_delivery_age_seconds", help: "From a delivery's creation to its success.",
            histogram: Histogram(bounds: [0.01, 0.05, 0.1, 0.5, 1, 5, 10, 30, 60, 300, 1800, 3600])
        )
    }

    public func rejected(_ reason: String) {
        (rejections[reason] ?? rejections["malformed"])?.increment()
    }

    /// Queue depths, read from the store when scraped (one read serves every gauge of a
    /// scrape). A read that fails shows as NaN, never as an empty queue.
    public func registerGauges(store: any Store) {
        let cache = DepthsCache(store: store)
        func gauge(_ labels: String, _ value: @escaping @Sendable (QueueDepths) -> Int) {
            registry.gauge("liaison_queue_depth", help: "Work waiting, by queue.", labels: labels) {
                cache.current.map { Double(value($0)) } ?? .nan
            }
        }
        gauge("queue=\"pipeline\"", \.pipeline)
        gauge("queue=\"outbox\"", \.outbox)
        gauge("queue=\"dead_letter\"", \.deadLetters)
        registry.gauge("liaison_conversations_pending", help: "Conversations with messages not yet archived.") {
            cache.current.map { Double($0.conversationsWithPending) } ?? .nan
        }
    }
}

/// The store's queue depths, read at most once per second.
private final class DepthsCache: Sendable {
    private let store: any Store
    private let cached = Mutex<(at: ContinuousClock.Instant, depths: QueueDepths?)?>(nil)

    init(store: any Store) { self.store = store }

    var current: QueueDepths? {
        let now = ContinuousClock.now
        if let entry = cached.withLock({ $0 }), now - entry.at < .seconds(1) { return entry.depths }
        let depths = try? store.queueDepths()
        cached.withLock { $0 = (now, depths) }
        return depths
    }
}
