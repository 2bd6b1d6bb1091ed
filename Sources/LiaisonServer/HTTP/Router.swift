/// Routes requests by method and path pattern; reads like a table:
///
///     router.on("GET", "/healthz") { request, respond in respond(.json(200, ["status": "ok"])) }
///     router.on("POST", "/hooks/generic/{source}") { request, respond in … }
///
/// An unknown path is a 404, a known path with another method a 405 with `Allow`. A GET
/// route answers HEAD too.
public struct Router: Sendable {
    public typealias Handler = @Sendable (HTTPRequest, RouteParameters, @escaping HTTPResponder) -> Void

    private struct Route: Sendable {
        let method: String
        let segments: [Substring]
        let handler: Handler
    }

    private var routes: [Route] = []
    /// Told the status of every request no route took (404 or 405), for metrics.
    private let unmatched: @Sendable (Int) -> Void

    public init(unmatched: @escaping @Sendable (Int) -> Void = { _ in }) {
        self.unmatched = unmatched
    }

    public mutating func on(_ method: String, _ pattern: String, use handler: @escaping Handler) {
        routes.append(Route(method: method, segments: pattern.split(separator: "/"), handler: handler))
    }

    public func handle(_ request: HTTPRequest, respond: @escaping HTTPResponder) {
        let path = request.path.split(separator: "/")
        var allowed: [String] = []
        // HEAD is GET without the body (libmicrohttpd leaves the body out).
        let method = request.method == "HEAD" ? "GET" : request.method
        for route in routes {
            guard let parameters = Self.match(route.segments, path) else { continue }
            guard route.method == method else {
                allowed.append(route.method)
                if route.method == "GET" { allowed.append("HEAD") }
                continue
            }
            route.handler(request, parameters, respond)
            return
        }
        unmatched(allowed.isEmpty ? 404 : 405)
        if allowed.isEmpty {
            respond(.error(404, code: "not_found", message: "no route for \(request.method) \(request.path)"))
        } else {
            var response = HTTPResponse.error(
                405, code: "method_not_allowed",
                message: "\(request.method) is not allowed here; use \(allowed.joined(separator: ", "))"
            )
            response.headers["Allow"] = allowed.joined(separator: ", ")
            respond(response)
        }
    }

    private static func match(_ pattern: [Substring], _ path: [Substring]) -> RouteParameters? {
        guard pattern.count == path.count else { return nil }
        var parameters = RouteParameters()
        for (expected, actual) in zip(pattern, path) {
            if expected.first == "{" && expected.last == "}" {
                let raw = String(actual)
                parameters.values[String(expected.dropFirst().dropLast())] =
                    raw.utf8.contains(UInt8(ascii: "%")) ? raw.removingPercentEncoding ?? raw : raw
            } else if expected != actual {
                return nil
            }
        }
        return parameters
    }
}

/// The `{name}` parts of a matched path.
public struct RouteParameters: Sendable {
    public var values: [String: String] = [:]
    public subscript(_ name: String) -> String? { values[name] }
}
