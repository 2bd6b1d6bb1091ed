import LiaisonCore
import LiaisonStore
import LiaisonSync

/// Health and metrics.
struct OperationsRoutes {
    let store: any Store
    let metrics: HubMetrics

    func register(in router: inout Router) {
        router.on("GET", "/healthz") { _, _, respond in
            // Healthy means the store answers.
            do {
                _ = try store.cursor(SQLiteStore.pipelineCursor)
                respond(.json(200, ["status": "ok"]))
            } catch {
                respond(.json(503, ["status": "store unavailable"]))
            }
        }
        router.on("GET", "/metrics") { _, _, respond in
            respond(.text(200, metrics.registry.render(), contentType: "text/plain; version=0.0.4; charset=utf-8"))
        }
    }
}
