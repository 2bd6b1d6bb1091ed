/// Routes requests by method and path pattern; reads like a table:
///
///     router.on("GET", "/healthz") { request, respond in respond(.json(200, ["status": "ok"])) }
///     router.on("POST", "/hooks/generic/{source}") { request, respond in … }
///
/// An unknown path is a 404, a known path with another method a 405 with `Allow`. A GET
/// route answers HEAD too.
public struct Router: Sendable {
    public typealias Handler = @Sendable (HTTPRequest, RouteParameters, @escaping HTTPResponder) -> Void

    /// The route table is plain data (offsets and codes) so that matching a request against
    /// every route touches no reference-counted value: the table is shared by all the
    /// server's threads, and retaining its arrays and strings route by route, on every
    /// request, cost more than the matching.
    private struct Route {
        var method: Int
        var segments: Range<Int>
    }

    /// A pattern segment: a literal (its bytes in `literals`), or a `{name}` (any one
    /// segment, percent-decoded), named by `parameter`, an index into `parameterNames`.
    private struct Segment {
        var literal: Range<Int>
        var parameter: Int?
    }

    private var table: [Route] = []
    private var segments: [Segment] = []
    private var literals: [UInt8] = []
    private var parameterNames: [String] = []
    private var methods: [String] = []
    /// Each in a struct: an array of bare closures stores them in their most general form,
    /// and each call then allocated a thunk to reabstract the responder.
    private struct Entry { let handler: Handler }
    private var handlers: [Entry] = []
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
        precondition(Self.code(method) != 0, "no route can be registered for method \(method)")
        let first = segments.count
        for part in pattern.split(separator: "/") {
            if part.first == "{" && part.last == "}" {
                parameterNames.append(String(part.dropFirst().dropLast()))
                segments.append(Segment(literal: 0..<0, parameter: parameterNames.count - 1))
            } else {
                let start = literals.count
                literals.append(contentsOf: part.utf8)
                segments.append(Segment(literal: start..<literals.count, parameter: nil))
            }
        }
        table.append(Route(method: Self.code(method), segments: first..<segments.count))
        methods.append(method)
        handlers.append(Entry(handler: handler))
    }

    /// Methods as small integers for the table; 0 for one no route can have.
    private static func code(_ method: String) -> Int {
        switch method {
        case "GET": 1
        case "POST": 2
        case "PUT": 3
        case "DELETE": 4
        case "PATCH": 5
        case "OPTIONS": 6
        default: 0
        }
    }

    public func handle(_ request: HTTPRequest, respond: @escaping HTTPResponder) {
        // HEAD is GET without the body (libmicrohttpd leaves the body out).
        let method = request.method == "HEAD" ? 1 : Self.code(request.method)
        if let found = find(method: method, path: request.path) {
            handlers[found.route].handler(request, found.parameters, respond)
            return
        }
        var allowed: [String] = []
        for index in table.indices where matches(route: index, path: request.path) {
            allowed.append(methods[index])
            if methods[index] == "GET" { allowed.append("HEAD") }
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

    /// The first route with this method whose pattern the path matches.
    private func find(method: Int, path: String) -> (route: Int, parameters: RouteParameters)? {
        guard method != 0 else { return nil }
        var path = path
        return path.withUTF8 { path in
            table.withUnsafeBufferPointer { table in
                segments.withUnsafeBufferPointer { segments in
                    literals.withUnsafeBufferPointer { literals in
                        for index in table.indices where table[index].method == method {
                            let pattern = segments[table[index].segments]
                            guard Self.matches(pattern, path, literals: literals) else { continue }
                            return (index, parameters(of: pattern, path, literals: literals))
                        }
                        return nil
                    }
                }
            }
        }
    }

    private func matches(route: Int, path: String) -> Bool {
        var path = path
        return path.withUTF8 { path in
            segments.withUnsafeBufferPointer { segments in
                literals.withUnsafeBufferPointer { Self.matches(segments[table[route].segments], path, literals: $0) }
            }
        }
    }

    /// Calls `body` with each of the path's segments (empty ones, from repeated or trailing
    /// slashes, do not count) in turn while it returns true; false if it stopped early.
    private static func forEachSegment(
        _ path: UnsafeBufferPointer<UInt8>, _ body: (UnsafeBufferPointer<UInt8>) -> Bool
    ) -> Bool {
        let slash = UInt8(ascii: "/")
        var index = 0
        while true {
            while index < path.count && path[index] == slash { index += 1 }
            guard index < path.count else { return true }
            let start = index
            while index < path.count && path[index] != slash { index += 1 }
            guard body(UnsafeBufferPointer(rebasing: path[start..<index])) else { return false }
        }
    }

    /// Whether the path has the pattern's segments, literals equal and one segment for each
    /// parameter, and no more.
    private static func matches(
        _ pattern: Slice<UnsafeBufferPointer<Segment>>, _ path: UnsafeBufferPointer<UInt8>,
        literals: UnsafeBufferPointer<UInt8>
    ) -> Bool {
        var next = pattern.startIndex
        return forEachSegment(path) { actual in
            guard next < pattern.endIndex else { return false }
            defer { next += 1 }
            let segment = pattern[next]
            return segment.parameter != nil
                || actual.elementsEqual(UnsafeBufferPointer(rebasing: literals[segment.literal]))
        } && next == pattern.endIndex
    }

    /// The parameters of a path that `matches` the pattern.
    private func parameters(
        of pattern: Slice<UnsafeBufferPointer<Segment>>, _ path: UnsafeBufferPointer<UInt8>,
        literals: UnsafeBufferPointer<UInt8>
    ) -> RouteParameters {
        var parameters = RouteParameters()
        var next = pattern.startIndex
        _ = Self.forEachSegment(path) { actual in
            defer { next += 1 }
            guard let parameter = pattern[next].parameter else { return true }
            let raw = String(decoding: actual, as: UTF8.self)
            parameters.set(
                parameterNames[parameter],
                actual.contains(UInt8(ascii: "%")) ? raw.removingPercentEncoding ?? raw : raw)
            return true
        }
        return parameters
    }
}

/// The `{name}` parts of a matched path. Routes have one or two: kept inline, not in a
/// dictionary that every request would allocate.
public struct RouteParameters: Sendable {
    private var first: (name: String, value: String)?
    private var more: [(name: String, value: String)] = []

    mutating func set(_ name: String, _ value: String) {
        if first == nil || first?.name == name {
            first = (name, value)
        } else if let index = more.firstIndex(where: { $0.name == name }) {
            more[index].value = value
        } else {
            more.append((name, value))
        }
    }

    public subscript(_ name: String) -> String? {
        first?.name == name ? first?.value : more.first { $0.name == name }?.value
    }
}
