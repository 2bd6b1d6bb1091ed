import Foundation

#if canImport(FoundationNetworking)
    import FoundationNetworking
#endif

/// An HTTP response, or why there is none.
public enum HTTPOutcome: Sendable {
    case response(status: Int, headers: [String: String], body: Data)
    /// No response. `maybeApplied` is true when the request may have reached the server
    /// (a timeout, a dropped connection): a write must be looked for before it is repeated.
    case failed(reason: String, maybeApplied: Bool)
}

/// The outbound HTTP client every connector uses: URLSession (libcurl) with a timeout,
/// JSON helpers, and transport failures classified as values.
public final class HTTPClient: Sendable {
    private let session: URLSession
    public let timeout: TimeInterval

    public init(timeout: TimeInterval) {
        let configuration = URLSessionConfiguration.ephemeral
        configuration.timeoutIntervalForRequest = timeout
        configuration.timeoutIntervalForResource = timeout
        configuration.httpMaximumConnectionsPerHost = 8
        session = URLSession(configuration: configuration)
        self.timeout = timeout
    }

    public func send(
        _ method: String, _ url: URL, headers: [String: String] = [:], json: (any Encodable & Sendable)? = nil
    ) async -> HTTPOutcome {
        var request = URLRequest(url: url, timeoutInterval: timeout)
        request.httpMethod = method
        for (name, value) in headers { request.setValue(value, forHTTPHeaderField: name) }
        if let json {
            let encoder = JSONEncoder()
            encoder.outputFormatting = .sortedKeys
            do {
                request.httpBody = try encoder.encode(json)
            } catch {
                return .failed(reason: "cannot encode request: \(error)", maybeApplied: false)
            }
            request.setValue("application/json", forHTTPHeaderField: "Content-Type")
        }
        request.setValue("application/json", forHTTPHeaderField: "Accept")
        do {
            let (data, response) = try await session.data(for: request)
            guard let http = response as? HTTPURLResponse else {
                return .failed(reason: "not an HTTP response", maybeApplied: true)
            }
            var headers: [String: String] = [:]
            for (name, value) in http.allHeaderFields {
                if let name = name as? String, let value = value as? String { headers[name.lowercased()] = value }
            }
            return .response(status: http.statusCode, headers: headers, body: data)
        } catch let error as URLError {
            return .failed(reason: Self.describe(error), maybeApplied: Self.mayHaveReachedServer(error))
        } catch {
            return .failed(reason: "\(error)", maybeApplied: true)
        }
    }

    static func mayHaveReachedServer(_ error: URLError) -> Bool {
        switch error.code {
        case .cannotConnectToHost, .cannotFindHost, .dnsLookupFailed, .notConnectedToInternet, .badURL,
            .unsupportedURL, .secureConnectionFailed:
            false
        default:
            true
        }
    }

    static func describe(_ error: URLError) -> String {
        switch error.code {
        case .timedOut: "timed out"
        case .cannotConnectToHost: "connection refused"
        case .networkConnectionLost: "connection lost"
        case .cannotFindHost, .dnsLookupFailed: "host not found"
        default: "transport error \(error.code.rawValue)"
        }
    }
}

extension HTTPOutcome {
    /// The server's `Retry-After`, in seconds or as an HTTP date.
    public func retryAfter(now: Date) -> Duration? {
        guard case let .response(_, headers, _) = self, let value = headers["retry-after"] else { return nil }
        if let seconds = Int(value.trimmingCharacters(in: .whitespaces)) { return .seconds(max(seconds, 0)) }
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "GMT")
        formatter.dateFormat = "EEE, dd MMM yyyy HH:mm:ss zzz"
        guard let date = formatter.date(from: value) else { return nil }
        return .milliseconds(Int64(max(date.timeIntervalSince(now), 0) * 1000))
    }
}
