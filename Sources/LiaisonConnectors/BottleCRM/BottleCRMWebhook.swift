import Foundation
import LiaisonCore

/// BottleCRM's signed change events (`POST /hooks/bottlecrm`): contacts, leads, deals,
/// tickets created, updated or deleted.
///
/// Each request carries `X-BottleCRM-Signature: t=<unix>,v1=<hex>`, the HMAC-SHA256 of
/// `"<t>.<raw body>"` under the endpoint's secret, and `X-BottleCRM-Delivery`, which makes
/// redeliveries idempotent. A signature older or newer than the tolerance is refused, so a
/// captured request cannot be replayed later.
public final class BottleCRMWebhook: InboundConnector {
    public let secret: String
    public let tolerance: TimeInterval
    public var source: String { "bottlecrm" }
    public var channel: String { "BottleCRM" }

    public init(secret: String, tolerance: TimeInterval) {
        self.secret = secret
        self.tolerance = tolerance
    }

    public func admit(_ request: InboundRequest) -> Result<Admission, InboundRejection> {
        guard let header = request.headers["x-bottlecrm-signature"] else {
            return .failure(refusal("unsigned", "X-BottleCRM-Signature header is missing"))
        }
        switch Self.verify(
            header: header, body: request.body, secret: secret, now: request.receivedAt, tolerance: tolerance)
        {
        case .valid: break
        case .stale: return .failure(refusal("stale_signature", "signature timestamp is outside the tolerance"))
        case .invalid: return .failure(refusal("bad_signature", "X-BottleCRM-Signature does not match the body"))
        }
        // What the pipeline could not decode is refused here, before it is stored and answered.
        let payload: JSONValue
        do {
            payload = try JSONValue.parse(request.body)
            _ = try Self.event(of: payload)
        } catch {
            return .failure(InboundRejection(status: 400, code: "malformed", message: "\(error)", reason: "malformed"))
        }
        // The event id is signed and the same on every delivery of the event (a redelivery is a
        // new delivery id carrying the same event): it is what makes a repeat a repeat.
        let event = payload["id"]?.string ?? request.headers["x-bottlecrm-delivery"]
        return .success(Admission(source: source, dedupeKey: event))
    }

    private func refusal(_ reason: String, _ message: String) -> InboundRejection {
        InboundRejection(status: 401, code: reason, message: message, reason: reason)
    }

    public enum Verdict: Sendable, Equatable { case valid, stale, invalid }

    /// Checks `t=<unix>,v1=<hex>[,v1=<hex>…]` (any matching v1 passes, for secret rotation).
    public static func verify(header: String, body: [UInt8], secret: String, now: Date, tolerance: TimeInterval)
        -> Verdict
    {
        var timestamp: String?
        var signatures: [[UInt8]] = []
        for part in header.split(separator: ",") {
            let pair = part.trimmingCharacters(in: .whitespaces).split(separator: "=", maxSplits: 1)
            guard pair.count == 2 else { continue }
            if pair[0] == "t" { timestamp = String(pair[1]) }
            if pair[0] == "v1", let bytes = Hex.decode(pair[1]) { signatures.append(bytes) }
        }
        guard let timestamp, let seconds = Int64(timestamp), !signatures.isEmpty else { return .invalid }
        let expected = code(timestamp: timestamp, body: body, secret: secret)
        guard signatures.contains(where: { constantTimeEquals($0, expected) }) else { return .invalid }
        return abs(now.timeIntervalSince1970 - Double(seconds)) <= tolerance ? .valid : .stale
    }

    public static func sign(body: [UInt8], secret: String, timestamp: Int64) -> String {
        "t=\(timestamp),v1=\(Hex.encode(code(timestamp: String(timestamp), body: body, secret: secret)))"
    }

    /// The HMAC of `"<t>.<raw body>"`, as the timestamp is written in the header.
    private static func code(timestamp: String, body: [UInt8], secret: String) -> [UInt8] {
        let prefix = Array("\(timestamp).".utf8)
        return prefix.withUnsafeBytes { head in
            body.withUnsafeBytes { tail in HMACSHA256.Key(secret).code(head, tail) }
        }
    }

    public func decode(_ record: InboundRecord) throws -> [CanonicalEvent] {
        let payload: JSONValue
        do {
            payload = try JSONValue.parse(record.body)
        } catch {
            throw DecodeError("not a BottleCRM event: \(error)")
        }
        let (kind, action, id, data) = try Self.event(of: payload)
        guard ["lead", "contact", "account", "deal", "ticket"].contains(kind) else { return [] }
        // `created_at` is the event's time, kept with the payload for every retry: a
        // delivery retried after a later event's carries the earlier state.
        let record = CRMRecord(
            ref: SystemRef(system: source, kind: kind, id: id), fields: Self.canonicalFields(data),
            deleted: action == "deleted", observedAt: payload["created_at"]?.string.flatMap(ISO8601.parse)
        )
        return [.record(record, created: action == "created")]
    }

    /// The record kind, the action and the record's id an event names (`contact.updated`, `data.id`).
    static func event(of payload: JSONValue) throws(DecodeError)
        -> (kind: String, action: String, id: String, data: JSONValue)
    {
        guard let event = payload["event"]?.string, let data = payload["data"], let id = Self.text(data["id"]),
            !id.isEmpty
        else {
            throw DecodeError("a BottleCRM event needs event and data.id (a non-empty string or number)")
        }
        let parts = event.split(separator: ".", maxSplits: 1, omittingEmptySubsequences: false).map(String.init)
        guard parts.count == 2, !parts[0].isEmpty, !parts[1].isEmpty else {
            throw DecodeError("'\(event)' is not a record event (kind.action)")
        }
        return (parts[0], parts[1], id, data)
    }

    /// BottleCRM's payload fields mapped to canonical ones.
    static func canonicalFields(_ data: JSONValue) -> [String: String] {
        var fields: [String: String] = [:]
        fields["name"] = personName(first: text(data["first_name"]), last: text(data["last_name"]))
            ?? text(data["name"]) ?? text(data["title"])
        fields["email"] = text(data["email"])
        fields["phone"] = text(data["phone"])
        fields["company"] = text(data["company_name"]) ?? text(data["organization"])
        fields["status"] = text(data["status"]) ?? text(data["stage"])
        fields["stage"] = text(data["stage_id"])
        if let amount = text(data["opportunity_amount"]) ?? text(data["amount"]) {
            fields["amount"] = [amount, text(data["currency"])].compactMap { $0 }.joined(separator: " ")
        }
        fields["close_date"] = text(data["close_date"])
        if case .array(let owners)? = data["assigned_to"] {
            let ids = owners.compactMap(text).sorted()
            if !ids.isEmpty { fields["owner"] = ids.joined(separator: ", ") }
        }
        return fields.compactMapValues { $0.isEmpty ? nil : $0 }
    }

    /// A person's name from the first and last fields: a Chinese name as it is written
    /// (娜 + 李 → 李娜, whichever field holds the family name), others first then last.
    static func personName(first: String?, last: String?) -> String? {
        if let first, let last, let written = ChineseName.written(first: first, last: last) { return written }
        let name = [first, last].compactMap { $0 }.filter { !$0.isEmpty }.joined(separator: " ")
        return name.isEmpty ? nil : name
    }

    static func text(_ value: JSONValue?) -> String? {
        switch value {
        case .string(let text)?: return text.trimmingCharacters(in: .whitespaces)
        case .number(let number)?:
            return number == number.rounded() && abs(number) < 1e15 ? String(Int64(number)) : String(number)
        case .bool(let flag)?: return flag ? "true" : "false"
        default: return nil
        }
    }
}
