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
        let segments: [Segment]
        let handler: Handler
    }

    private enum Segment: Sendable {
        case literal([UInt8])
        /// `{name}`: any one segment, percent-decoded.
        case parameter(String)
    }

    private var routes: [Route] = []
    /// Told the status of every request no route took (404 or 405), for metrics.
    private let unmatched: @Sendable (Int) -> Void

    public init(unmatched: @escaping @Sendable (Int) -> Void = { _ in }) {
        self.unmatched = unmatched
    }

    /// Answers for requests no route takes under a path prefix, in that API's own error
    /// shape (Matrix: `{"errcode": "M_UNRECOGNIZED", …}`); the first matching prefix wins.
    public typealias Refusal = @Sendable (_ status: Int, _ message: String) -> HTTPResponse
    private var refusals: [(prefix: String, answer: Refusal)] = []

    public mutating func refuseUnmatched(under prefix: String, with answer: @escaping Refusal) {
        refusals.append((prefix, answer))
    }

    public mutating func on(_ method: String, _ pattern: String, use handler: @escaping Handler) {
        let segments = pattern.split(separator: "/").map { part -> Segment in
            part.first == "{" && part.last == "}"
                ? .parameter(String(part.dropFirst().dropLast())) : .literal(Array(part.utf8))
        }
        routes.append(Route(method: method, segments: segments, handler: handler))
    }

    public func handle(_ request: HTTPRequest, respond: @escaping HTTPResponder) {
        var allowed: [String] = []
        // HEAD is GET without the body (libmicrohttpd leaves the body out).
        let method = request.method == "HEAD" ? "GET" : request.method
        // By index: `for route in routes` would copy (retain and release) every route it
        // passes, and the routes are shared by all the server's threads.
        for index in routes.indices {
            guard let parameters = Self.match(routes[index].segments, request.path) else { continue }
            guard routes[index].method == method else {
                allowed.append(routes[index].method)
                if routes[index].method == "GET" { allowed.append("HEAD") }
                continue
            }
            routes[index].handler(request, parameters, respond)
            return
        }
        unmatched(allowed.isEmpty ? 404 : 405)
        let refusal = refusals.first { request.path.hasPrefix($0.prefix) }?.answer
        if allowed.isEmpty {
            let message = "no route for \(request.method) \(request.path)"
            respond(refusal?(404, message) ?? .error(404, code: "not_found", message: message))
        } else {
            let message = "\(request.method) is not allowed here; use \(allowed.joined(separator: ", "))"
            var response = refusal?(405, message) ?? .error(405, code: "method_not_allowed", message: message)
            response.headers["Allow"] = allowed.joined(separator: ", ")
            respond(response)
        }
    }

    /// Matches the path's segments (empty ones, from repeated or trailing slashes, do not
    /// count) against a route's, in place: most routes fail on their first segment.
    private static func match(_ pattern: [Segment], _ path: String) -> RouteParameters? {
        var path = path
        return path.withUTF8 { bytes -> RouteParameters? in
            let slash = UInt8(ascii: "/")
            var parameters = RouteParameters()
            var index = 0
            for segment in pattern {
                while index < bytes.count && bytes[index] == slash { index += 1 }
                guard index < bytes.count else { return nil }
                let start = index
                while index < bytes.count && bytes[index] != slash { index += 1 }
                let actual = UnsafeBufferPointer(rebasing: bytes[start..<index])
                switch segment {
                case .literal(let expected):
                    guard actual.elementsEqual(expected) else { return nil }
                case .parameter(let name):
                    let raw = String(decoding: actual, as: UTF8.self)
                    parameters.values[name] =
                        actual.contains(UInt8(ascii: "%")) ? raw.removingPercentEncoding ?? raw : raw
                }
            }
            while index < bytes.count && bytes[index] == slash { index += 1 }
            return index == bytes.count ? parameters : nil
        }
    }
}

/// The `{name}` parts of a matched path.
public struct RouteParameters: Sendable {
    public var values: [String: String] = [:]
    public subscript(_ name: String) -> String? { values[name] }
}
