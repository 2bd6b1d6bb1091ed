import Foundation
import LiaisonConnectors

/// A complete request, body included. Header names are lower-cased.
public struct HTTPRequest: Sendable {
    public var method: String
    public var path: String
    public var query: [String: String]
    public var headers: HTTPHeaders
    public var body: [UInt8]
    /// The body went over the configured limit and was not kept.
    public var bodyTooLarge: Bool

    public init(
        method: String, path: String, query: [String: String] = [:], headers: HTTPHeaders = [:],
        body: [UInt8] = [],
        bodyTooLarge: Bool = false
    ) {
        self.method = method
        self.path = path
        self.query = query
        self.headers = headers
        self.body = body
        self.bodyTooLarge = bodyTooLarge
    }
}

public struct HTTPResponse: Sendable, Equatable {
    public var status: Int
    /// `Content-Type`, apart from the other headers: nearly every answer has one, and most
    /// need no other.
    public var contentType: String?
    public var headers: [String: String]
    public var body: [UInt8]

    public init(status: Int, contentType: String? = nil, headers: [String: String] = [:], body: [UInt8] = []) {
        self.status = status
        self.contentType = contentType
        self.headers = headers
        self.body = body
    }

    public static var jsonType: String { "application/json" }

    /// A JSON response from a value, keys sorted.
    public static func json(_ status: Int, _ value: some Encodable) -> HTTPResponse {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        encoder.dateEncodingStrategy = .iso8601
        let body = (try? encoder.encode(value)).map(Array.init) ?? Array("{}".utf8)
        return HTTPResponse(status: status, contentType: jsonType, body: body)
    }

    public static func text(_ status: Int, _ text: String, contentType: String = "text/plain; charset=utf-8")
        -> HTTPResponse
    {
        HTTPResponse(status: status, contentType: contentType, body: Array(text.utf8))
    }

    /// `{"error": {"code": "...", "message": "..."}}`; Matrix routes use their own shape.
    public static func error(_ status: Int, code: String, message: String) -> HTTPResponse {
        json(status, ["error": ["code": code, "message": message]])
    }

}

/// Answers a request once, from any thread, now or later (after a commit).
public typealias HTTPResponder = @Sendable (HTTPResponse) -> Void

/// Handles a request by calling the responder exactly once.
public typealias HTTPHandler = @Sendable (HTTPRequest, @escaping HTTPResponder) -> Void
