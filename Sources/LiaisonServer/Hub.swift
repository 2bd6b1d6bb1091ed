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
    private let logger: Logger

    public init(
        configuration: Configuration, logger: Logger, now: @escaping @Sendable () -> Date = Date.init,
        outbound: [any OutboundConnector]? = nil
    ) throws {
        self.configuration = configuration
        self.logger = logger
        let store = try SQLiteStore(directory: configuration.store.directory, maxBatch: configuration.store.maxBatch)
        self.store = store
        let metrics = HubMetrics()
        metrics.registerGauges(store: store)
        self.metrics = metrics

        let matrix = configuration.matrix.map(MatrixAppService.init)
        let generic = Dictionary(
            uniqueKeysWithValues: configuration.genericSources.map {
                ($0.key, GenericWebhook(name: $0.key, settings: $0.value))
            }
        )
        var inbound: [any InboundConnector] = Array(generic.values)
        if let matrix { inbound.append(matrix) }
        let outbound =
            outbound ?? configuration.bottleCRM.map {
                [BottleCRMArchiver(settings: $0, timeout: TimeInterval(configuration.delivery.timeoutSeconds))]
            } ?? []

        let schedulerWakeup = Wakeup()
        let outboxWakeup = Wakeup()
        let pipeline = Pipeline(
            store: store, connectors: inbound, metrics: metrics, logger: logger.with(label: "pipeline"), now: now
        ) { _ in schedulerWakeup.signal() }
        store.onAppend { pipeline.wake() }
        self.pipeline = pipeline
        scheduler = ArchiveScheduler(
            store: store, schedule: ArchiveSchedule(configuration.archive), target: configuration.archive.target,
            wakeup: schedulerWakeup,
            profiles: configuration.matrix.flatMap { matrix in
                matrix.adminToken.map {
                    SynapseProfiles(
                        homeserver: matrix.homeserver, adminToken: $0,
                        timeout: TimeInterval(configuration.delivery.timeoutSeconds)
                    )
                }
            },
            metrics: metrics, logger: logger.with(label: "scheduler"), now: now
        ) { outboxWakeup.signal() }
        outbox = OutboxWorker(
            store: store, connectors: outbound, policy: RetryPolicy(configuration.delivery),
            concurrency: configuration.delivery.concurrency,
            settle: .seconds(configuration.delivery.timeoutSeconds), wakeup: outboxWakeup, metrics: metrics,
            logger: logger.with(label: "outbox"), now: now
        )

        var router = Router { status in
            metrics.eventsReceived.increment(); metrics.rejected(status == 404 ? "unknown_route" : "method_not_allowed")
        }
        OperationsRoutes(store: store, metrics: metrics).register(in: &router)
        IngestRoutes(store: store, metrics: metrics, matrix: matrix, generic: generic, now: now).register(in: &router)
        let routes = router
        server = HTTPServer(
            host: configuration.server.host, port: configuration.server.port, threads: configuration.server.threads,
            maxBodyBytes: configuration.server.maxBodyBytes
        ) { request, respond in routes.handle(request, respond: respond) }
    }

    /// Starts listening and runs every service until one of `signals` (or cancellation),
    /// then drains and closes the store.
    public func run(signals: [Int32] = [SIGTERM, SIGINT]) async throws {
        try server.start()
        defer { store.close() }
        let services: [any Service] = [
            HTTPService(server: server, logger: logger.with(label: "http")), pipeline, scheduler, outbox,
        ]
        try await ServiceGroup(services: services, logger: logger.with(label: "hub"), signals: signals).run()
        logger.info("stopped")
    }
}
