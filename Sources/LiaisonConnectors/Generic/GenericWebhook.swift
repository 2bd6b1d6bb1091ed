import Foundation
import LiaisonCore

/// Any IM that can post JSON: `POST /hooks/generic/{source}` with
/// `X-Liaison-Signature: sha256=<hex HMAC-SHA256 of the raw body>` under the source's secret.
/// An optional `X-Liaison-Delivery` header makes redeliveries idempotent.
///
///     {"id": "m-1", "conversation": "thread-42", "type": "message",
///      "sender": {"id": "u-7", "name": "Li Na", "email": "li.na@example.com", "role": "customer"},
///      "text": "Budget is around 50k", "sent_at": "2026-11-24T10:00:00Z"}
///
/// `type` is `message` (the default) or `close`; `sent_at` is ISO 8601 or Unix milliseconds;
/// `role` defaults to what the source's `employees` setting says, else `customer`. A
/// generic source is a business's own channel, so every conversation on it is staffed.
public final class GenericWebhook: InboundConnector {
    public let name: String
    public let settings: GenericSourceSettings
    public let source: String
    public var channel: String { name }
    /// The secret, prepared once for signing and checking.
    private let key: HMACSHA256.Key

    public init(name: String, settings: GenericSourceSettings) {
        self.name = name
        self.settings = settings
        source = "generic.\(name)"
        key = HMACSHA256.Key(settings.secret)
    }

    public func admit(_ request: InboundRequest) -> Result<Admission, InboundRejection> {
        guard let signed = Self.signature(in: request.headers, matches: request.body, key: key) else {
            return .failure(
                InboundRejection(
                    status: 401, code: "unsigned", message: "X-Liaison-Signature header is missing", reason: "unsigned")
            )
        }
        guard signed else {
            return .failure(
                InboundRejection(
                    status: 401, code: "bad_signature", message: "X-Liaison-Signature does not match the body",
                    reason: "bad_signature"))
        }
        do {
            _ = try GenericPayload.decode(request.body, admitting: true)
        } catch {
            return .failure(
                InboundRejection(status: 400, code: "malformed", message: error.problem, reason: "malformed"))
        }
        let delivery = request.headers["x-liaison-delivery"].flatMap { $0.isEmpty ? nil : $0 }
        return .success(Admission(source: source, dedupeKey: delivery))
    }

    /// Whether the signature header matches the body; nil without one. A static function of
    /// the parts it reads: a closure over the whole request copied it, and retained the
    /// connector every thread shares.
    static func signature(in headers: HTTPHeaders, matches body: [UInt8], key: HMACSHA256.Key) -> Bool? {
        headers.withValue(of: "x-liaison-signature") { header -> Bool? in
            guard let header else { return nil }
            return body.withUnsafeBytes { verify(signature: header, body: $0, key: key) }
        }
    }

    /// Checks `sha256=<hex>` against the body in constant time.
    static func verify(signature header: UnsafeBufferPointer<UInt8>, body: UnsafeRawBufferPointer, key: HMACSHA256.Key)
        -> Bool
    {
        let prefix = "sha256=".utf8
        guard header.starts(with: prefix) else { return false }
        return key.matches(hex: UnsafeBufferPointer(rebasing: header.dropFirst(prefix.count)), message: body)
    }

    public static func sign(body: [UInt8], secret: String) -> String {
        "sha256=" + Hex.encode(HMACSHA256.Key(secret).code(body))
    }

    public func decode(_ record: InboundRecord) throws -> [CanonicalEvent] {
        let payload: GenericPayload
        do {
            payload = try GenericPayload.decode(record.body, admitting: false)
        } catch {
            throw DecodeError(error.problem)
        }
        let conversation = ConversationID(system: source, id: payload.conversation)
        let sentAt = payload.sentAt ?? record.receivedAt
        if payload.type == .close { return [.close(conversation, at: sentAt)] }
        guard let sender = payload.sender, let text = payload.text else { return [] }
        let role = sender.role ?? (settings.employees.matches(sender.id) ? .employee : .customer)
        let person = Participant(
            ref: SystemRef(system: source, kind: "user", id: sender.id), role: role, displayName: sender.name,
            email: sender.email, phone: sender.phone
        )
        let message = Message(
            id: payload.id, conversation: conversation, sender: person.ref, sentAt: sentAt, text: text)
        // A generic source is a business's own channel: its conversations are with the business.
        return [.participant(person, conversation: conversation), .staffed(conversation), .message(message)]
    }
}
