import Foundation
import LiaisonConnectors
import LiaisonCore
import LiaisonStore
import LiaisonSync

/// The webhook endpoints: admit (authenticate, check shape), append to the durable log,
/// and answer only once the record is committed. A class: the route closures share one
/// reference instead of copying every field at each request.
final class IngestRoutes: Sendable {
    let store: any Store
    let metrics: HubMetrics
    let matrix: MatrixAppService?
    let generic: [String: GenericWebhook]
    let bottleCRM: BottleCRMWebhook?
    let now: @Sendable () -> Date

    init(
        store: any Store, metrics: HubMetrics, matrix: MatrixAppService?, generic: [String: GenericWebhook],
        bottleCRM: BottleCRMWebhook?, now: @escaping @Sendable () -> Date
    ) {
        self.store = store
        self.metrics = metrics
        self.matrix = matrix
        self.generic = generic
        self.bottleCRM = bottleCRM
        self.now = now
    }

    func register(in router: inout Router) {
        if let matrix {
            // The application-service API answers what it does not serve in Matrix's shape.
            router.refuseUnmatched(under: "/_matrix/") { status, message in
                .json(status, ["errcode": "M_UNRECOGNIZED", "error": message])
            }
            router.on("PUT", "/_matrix/app/v1/transactions/{txnId}") { [self] request, _, respond in
                ingest(request, connector: matrix, style: .matrix, respond: respond)
            }
            // The homeserver asks whether users and aliases in our namespace exist: they don't.
            for path in ["/_matrix/app/v1/users/{userId}", "/_matrix/app/v1/rooms/{alias}"] {
                router.on("GET", path) { [self] request, _, respond in
                    if let refusal = matrix.authenticate(request.headers, query: request.query) {
                        metrics.eventsReceived.increment()  // as every refusal is: rejected ≤ received
                        metrics.rejected(refusal.reason)
                        return respond(Self.matrixError(refusal))
                    }
                    respond(
                        .json(404, ["errcode": "M_NOT_FOUND", "error": "Not provided by this application service"]))
                }
            }
            router.on("POST", "/_matrix/app/v1/ping") { [self] request, _, respond in
                if let refusal = matrix.authenticate(request.headers, query: request.query) {
                    metrics.eventsReceived.increment()
                    metrics.rejected(refusal.reason)
                    return respond(Self.matrixError(refusal))
                }
                respond(.json(200, [String: String]()))
            }
        }
        if let bottleCRM {
            router.on("POST", "/hooks/bottlecrm") { [self] request, _, respond in
                ingest(request, connector: bottleCRM, style: .generic, respond: respond)
            }
        }
        router.on("POST", "/hooks/generic/{source}") { [self] request, parameters, respond in
            guard let connector = parameters["source"].flatMap({ generic[$0] }) else {
                metrics.eventsReceived.increment()
                metrics.rejected("unknown_source")
                return respond(
                    .error(
                        404, code: "unknown_source",
                        message: "no generic webhook source '\(parameters["source"] ?? "")' is configured"))
            }
            ingest(request, connector: connector, style: .generic, respond: respond)
        }
    }

    enum Style { case matrix, generic }

    private func ingest(
        _ request: HTTPRequest, connector: any InboundConnector, style: Style, respond: @escaping HTTPResponder
    ) {
        let started = ContinuousClock.now
        metrics.eventsReceived.increment()
        if request.bodyTooLarge {
            return refuse(
                InboundRejection(
                    status: 413, code: style == .matrix ? "M_TOO_LARGE" : "too_large",
                    message: "request body is over the configured limit", reason: "too_large"),
                style: style, respond: respond)
        }
        let receivedAt = now()
        let inbound = InboundRequest(
            method: request.method, path: request.path, query: request.query, headers: request.headers,
            body: request.body, receivedAt: receivedAt)
        let admission: Admission
        switch connector.admit(inbound) {
        case .failure(let rejection): return refuse(rejection, style: style, respond: respond)
        case .success(let admitted): admission = admitted
        }
        let record = InboundRecord(
            source: admission.source, dedupeKey: admission.dedupeKey, receivedAt: receivedAt, body: request.body)
        store.append(record) { [metrics] result in
            switch result {
            case .success(.stored(let sequence)):
                metrics.eventsStored.increment()
                respond(style == .matrix ? Self.matrixOK : Self.stored(sequence))
            case .success(.duplicate):
                metrics.eventsDuplicate.increment()
                respond(style == .matrix ? Self.matrixOK : Self.duplicate)
            case .failure:
                metrics.logFailedAt.store(Int64(Date().timeIntervalSince1970 * 1000), ordering: .relaxed)
                metrics.rejected("store_unavailable")
                respond(
                    style == .matrix
                        ? .json(503, ["errcode": "M_UNKNOWN", "error": "event log unavailable, retry"])
                        : .error(503, code: "store_unavailable", message: "event log unavailable, retry"))
            }
            metrics.ingestLatency.observe(ContinuousClock.now - started)
        }
    }

    private func refuse(_ rejection: InboundRejection, style: Style, respond: HTTPResponder) {
        metrics.rejected(rejection.reason)
        respond(
            style == .matrix
                ? Self.matrixError(rejection)
                : .error(rejection.status, code: rejection.code, message: rejection.message))
    }

    // The hot path's answers, built without an encoder.
    static let matrixOK = HTTPResponse(
        status: 200, contentType: HTTPResponse.jsonType, body: Array("{}".utf8))
    static let duplicate = HTTPResponse(
        status: 200, contentType: HTTPResponse.jsonType, body: Array(#"{"status":"duplicate"}"#.utf8)
    )
    /// `{"sequence":N,"status":"stored"}`, appended straight into the body's bytes (the
    /// number's text is a small string: no allocation of its own).
    static func stored(_ sequence: Int64) -> HTTPResponse {
        let head = #"{"sequence":"#.utf8
        let tail = #","status":"stored"}"#.utf8
        var body: [UInt8] = []
        body.reserveCapacity(head.count + 20 + tail.count)
        body.append(contentsOf: head)
        body.append(contentsOf: String(sequence).utf8)
        body.append(contentsOf: tail)
        return HTTPResponse(status: 200, contentType: HTTPResponse.jsonType, body: body)
    }

    static func matrixError(_ rejection: InboundRejection) -> HTTPResponse {
        .json(rejection.status, ["errcode": rejection.code, "error": rejection.message])
    }
}
