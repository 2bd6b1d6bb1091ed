import Foundation

#if canImport(FoundationNetworking)
    import FoundationNetworking
#endif

/// A plain HTTP client for tests: status, headers and body, no retries, no cookies.
public struct HTTPTestClient: Sendable {
    public struct Reply: Sendable {
        public var status: Int
        public var headers: [String: String]
        public var body: Data
        public var text: String { String(decoding: body, as: UTF8.self) }
        public var json: [String: Any] { (try? JSONSerialization.jsonObject(with: body)) as? [String: Any] ?? [:] }
    }

    public let base: URL
    private let session: URLSession

    public init(base: URL) {
        self.base = base
        let configuration = URLSessionConfiguration.ephemeral
        configuration.timeoutIntervalForRequest = 15
        session = URLSession(configuration: configuration)
    }

    public func send(_ method: String, _ path: String, headers: [String: String] = [:], body: Data? = nil) async throws
        -> Reply
    {
        var request = URLRequest(url: URL(string: path, relativeTo: base)!)
        request.httpMethod = method
        request.httpBody = body
        for (name, value) in headers { request.setValue(value, forHTTPHeaderField: name) }
        let (data, response) = try await session.data(for: request)
        let http = response as! HTTPURLResponse
        var lowered: [String: String] = [:]
        for (name, value) in http.allHeaderFields {
            if let name = name as? String, let value = value as? String { lowered[name.lowercased()] = value }
        }
        return Reply(status: http.statusCode, headers: lowered, body: data)
    }

    public func json(_ method: String, _ path: String, headers: [String: String] = [:], _ object: Any) async throws
        -> Reply
    {
        var all = headers
        all["Content-Type"] = "application/json"
        return try await send(method, path, headers: all, body: try JSONSerialization.data(withJSONObject: object))
    }
}

/// Polls `condition` until it holds or `timeout` passes; returns whether it held.
public func eventually(
    timeout: Duration = .seconds(10), every interval: Duration = .milliseconds(50), _ condition: () async throws -> Bool
) async rethrows -> Bool {
    let deadline = ContinuousClock.now + timeout
    while ContinuousClock.now < deadline {
        if try await condition() { return true }
        try? await Task.sleep(for: interval)
    }
    return try await condition()
}

/// Polls `condition` for `duration` and returns whether it held every time: the check
/// for "nothing else happens" (a late duplicate write, say) over an observation window.
public func holds(
    for duration: Duration, every interval: Duration = .milliseconds(100), _ condition: () async throws -> Bool
) async rethrows -> Bool {
    let deadline = ContinuousClock.now + duration
    while ContinuousClock.now < deadline {
        guard try await condition() else { return false }
        try? await Task.sleep(for: interval)
    }
    return try await condition()
}
