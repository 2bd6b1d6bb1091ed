import Foundation
import LiaisonCore

/// A request as an inbound connector sees it: header names are lower-cased.
public struct InboundRequest: Sendable {
    public var method: String
    public var path: String
    public var query: [String: String]
    public var headers: HTTPHeaders
    public var body: [UInt8]
    /// When the request arrived, for signatures that expire.
    public var receivedAt: Date

    public init(
        method: String, path: String, query: [String: String] = [:], headers: HTTPHeaders, body: [UInt8],
        receivedAt: Date = Date()
    ) {
        self.method = method
        self.path = path
        self.query = query
        self.headers = headers
        self.body = body
        self.receivedAt = receivedAt
    }
}

/// A refusal with the status and machine-readable code the sending system expects.
public struct InboundRejection: Error, Sendable, Equatable {
    public var status: Int
    public var code: String
    public var message: String
    /// The metrics label for why it was refused.
    public var reason: String

    public init(status: Int, code: String, message: String, reason: String) {
        self.status = status
        self.code = code
        self.message = message
        self.reason = reason
    }
}

/// What an accepted request becomes in the event log.
public struct Admission: Sendable, Equatable {
    public var source: String
    public var dedupeKey: String?

    public init(source: String, dedupeKey: String?) {
        self.source = source
        self.dedupeKey = dedupeKey
    }
}

/// One system's inbound side: checks a request cheaply at the door (authentication,
/// shape) and, later in the pipeline, turns the stored record into canonical events.
/// `admit` must refuse anything `decode` could not use, so that acked input is usable.
/// Connectors are classes: every request passes one around, as a reference rather than
/// a boxed copy of its settings and keys.
public protocol InboundConnector: AnyObject, Sendable {
    /// The log's `source` for records this connector admits.
    var source: String { get }
    /// The channel name shown in transcripts ("Matrix").
    var channel: String { get }
    func admit(_ request: InboundRequest) -> Result<Admission, InboundRejection>
    func decode(_ record: InboundRecord) throws -> [CanonicalEvent]
}

/// A stored record that cannot be turned into events.
public struct DecodeError: Error, Sendable, Equatable, CustomStringConvertible {
    public var problem: String
    public init(_ problem: String) { self.problem = problem }
    public var description: String { problem }
}
