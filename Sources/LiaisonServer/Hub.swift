import Foundation
import LiaisonConnectors
import LiaisonCore
import LiaisonStore
import LiaisonSync

/// The whole hub assembled from a configuration: store, connectors, the HTTP listener
/// and the background services, wired with their wake-ups.
public final class Hub: Sendable {
    public let configuration: Configuration
    public let store: SQLiteStore
    public let metrics: HubMetrics
    public let server: HTTPServer
    public let pipeline: Pipeline
    public let scheduler: ArchiveScheduler
    public let outbox: OutboxWorker
    /// Polls Tryton, when configured.
    public let trytonPoller: TrytonPoller?
    /// Sends digests of the changes not announced at once, when notices are configured.
    public let digest: DigestService?
    /// Resolves the people the hub sees to customers (nil when `identity.enabled` is false).
    public let identity: IdentityResolver?
    private let logger: Logger

    public init(configuration: Configuration, logger: Logger, now: @escaping @Sendable () -> Date = Date.init) throws {
        self.configuration = configuration
        self.logger = logger
        let store = try SQLiteStore(
            directory: configuration.store.directory, maxBatch: configuration.store.maxBatch, access: .hub)
        self.store = store
        let metrics = HubMetrics()
        metrics.registerGauges(store: store)
        metrics.registry.counter(
            "liaison_ingest_holds_total",
            help: "Group commits held back (2 ms at most each) because the pipeline was too far behind.",
            store.backlog.holds)
        self.metrics = metrics

        let connectors = Connectors(configuration)
        let identity = try IdentityResolver(store: store, settings: configuration.identity)
        self.identity = identity

        let schedulerWakeup = Wakeup()
        let outboxWakeup = Wakeup()
        let pipeline = Pipeline(
            store: store, connectors: connectors.inbound, changes: configuration.notify.map(ChangeRouter.init),
            identity: identity, metrics: metrics, backlog: store.backlog, logger: logger.with(label: "pipeline"),
            now: now
        ) { result in
            if result.newMessages > 0 || !result.touchedConversations.isEmpty { schedulerWakeup.signal() }
            if result.effects > 0 { outboxWakeup.signal() }
        }
        store.onAppend { [metrics] records in
            metrics.commitBatch.observe(Double(records))
            if metrics.logFailedAt.load(ordering: .relaxed) != 0 { metrics.logFailedAt.store(0, ordering: .relaxed) }
            pipeline.wake()
        }
        self.pipeline = pipeline
        scheduler = ArchiveScheduler(
            store: store, schedule: ArchiveSchedule(configuration.archive), target: configuration.archive.target,
            wakeup: schedulerWakeup,
            profiles: configuration.matrix.map { matrix -> any ProfileSource in
                let timeout = TimeInterval(configuration.delivery.timeoutSeconds)
                guard let adminToken = matrix.adminToken else {
                    return MatrixDisplayNames(settings: matrix, timeout: timeout)
                }
                return SynapseProfiles(homeserver: matrix.homeserver, adminToken: adminToken, timeout: timeout)
            },
            metrics: metrics, logger: logger.with(label: "scheduler"), now: now
        ) { outboxWakeup.signal() }
        outbox = OutboxWorker(
            store: store, connectors: connectors.outbound, policy: RetryPolicy(configuration.delivery),
            concurrency: configuration.delivery.concurrency,
            settle: .seconds(configuration.delivery.timeoutSeconds), wakeup: outboxWakeup, metrics: metrics,
            logger: logger.with(label: "outbox"), now: now
        )

        digest = configuration.notify.map {
            DigestService(
                store: store, router: ChangeRouter(settings: $0), logger: logger.with(label: "digest"), now: now
            ) {
                outboxWakeup.signal()
            }
        }
        trytonPoller = configuration.tryton.map {
            TrytonPoller(
                parties: TrytonParties(settings: $0, timeout: TimeInterval(configuration.delivery.timeoutSeconds)),
                store: store, logger: logger.with(label: "tryton"), now: now)
        }

        var router = Router { status in
            metrics.eventsReceived.increment(); metrics.rejected(status == 404 ? "unknown_route" : "method_not_allowed")
        }
        OperationsRoutes(store: store, metrics: metrics).register(in: &router)
        APIRoutes(
            store: store, tokens: configuration.apiTokens, identity: identity == nil ? nil : store, now: now
        ).register(in: &router)
        IngestRoutes(
            store: store, metrics: metrics, matrix: connectors.matrix, generic: connectors.generic,
            bottleCRM: connectors.bottleCRMWebhook, now: now
        ).register(in: &router)
        let routes = router
        server = HTTPServer(
            host: configuration.server.host, port: configuration.server.port, threads: configuration.server.threads,
            maxBodyBytes: configuration.server.maxBodyBytes,
            largerBody: Self.largerBody(for: connectors.matrix),
            refused: { status in
                metrics.eventsReceived.increment()
                metrics.rejected(Self.refusalReason(status))
            }
        ) { request, respond in routes.handle(request, respond: respond) }
    }

    /// Only the homeserver, with its token, may push a body larger than a webhook's: a
    /// transaction, up to `MatrixAppService.largestTransaction`.
    static func largerBody(for matrix: MatrixAppService?) -> (@Sendable (HTTPRequest) -> Int?)? {
        guard let matrix else { return nil }
        return { request in
            guard request.method == "PUT", request.path.hasPrefix("/_matrix/app/v1/transactions/"),
                matrix.authenticate(request.headers, query: request.query) == nil
            else { return nil }
            return MatrixAppService.largestTransaction
        }
    }

    /// The `liaison_events_rejected_total` reason for an answer libmicrohttpd gave by itself.
    static func refusalReason(_ status: Int) -> String {
        switch status {
        case 431: "headers_too_large"
        case 414: "uri_too_long"
        case 413: "too_large"
        default: "malformed_http"
        }
    }

    /// Starts listening and runs every service until one of `signals` (or cancellation),
    /// then drains and closes the store (closed too, and its lock released, if listening fails).
    public func run(signals: [Int32] = [SIGTERM, SIGINT]) async throws {
        defer { store.close() }
        try server.start()
        var services: [any Service] = [
            HTTPService(server: server, logger: logger.with(label: "http")), pipeline, scheduler, outbox,
        ]
        if let trytonPoller { services.append(trytonPoller) }
        if let digest { services.append(digest) }
        try await ServiceGroup(services: services, logger: logger.with(label: "hub"), signals: signals).run()
        logger.info("stopped")
    }
}

/// The connectors a configuration calls for, by direction.
public struct Connectors: Sendable {
    public let matrix: MatrixAppService?
    public let generic: [String: GenericWebhook]
    public let bottleCRMWebhook: BottleCRMWebhook?
    public let tryton: TrytonChanges?
    public let outbound: [any OutboundConnector]

    public init(_ configuration: Configuration) {
        let timeout = TimeInterval(configuration.delivery.timeoutSeconds)
        matrix = configuration.matrix.map(MatrixAppService.init)
        generic = Dictionary(
            uniqueKeysWithValues: configuration.genericSources.map {
                ($0.key, GenericWebhook(name: $0.key, settings: $0.value))
            }
        )
        bottleCRMWebhook = configuration.bottleCRM.flatMap { crm in
            crm.webhookSecret.map { BottleCRMWebhook(secret: $0, tolerance: TimeInterval(crm.webhookToleranceSeconds)) }
        }
        tryton = configuration.tryton.map { _ in TrytonChanges() }
        var outbound: [any OutboundConnector] = []
        if let crm = configuration.bottleCRM { outbound.append(BottleCRMArchiver(settings: crm, timeout: timeout)) }
        if configuration.notify != nil, let matrix = configuration.matrix {
            outbound.append(MatrixNotifier(settings: matrix, timeout: timeout))
        }
        self.outbound = outbound
    }

    public var inbound: [any InboundConnector] {
        var all: [any InboundConnector] = Array(generic.values)
        if let matrix { all.append(matrix) }
        if let bottleCRMWebhook { all.append(bottleCRMWebhook) }
        if let tryton { all.append(tryton) }
        return all
    }
}
