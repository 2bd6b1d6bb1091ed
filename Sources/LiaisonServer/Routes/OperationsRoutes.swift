import Foundation
import LiaisonCore
import LiaisonStore
import LiaisonSync
import Synchronization

/// Health and metrics.
struct OperationsRoutes {
    let store: any Store
    let metrics: HubMetrics

    func register(in router: inout Router) {
        router.on("GET", "/healthz") { _, _, respond in
            // Healthy means both files of the store answer, and no append to the log failed
            // lately (a full disk refuses every webhook while reads still work).
            guard (try? store.queueDepths()) != nil else { return respond(.json(503, ["status": "store unavailable"])) }
            guard !metrics.logFailing(now: Date()) else {
                return respond(.json(503, ["status": "event log refuses appends"]))
            }
            respond(.json(200, ["status": "ok"]))
        }
        router.on("GET", "/metrics") { _, _, respond in
            respond(.text(200, metrics.registry.render(), contentType: "text/plain; version=0.0.4; charset=utf-8"))
        }
    }
}
