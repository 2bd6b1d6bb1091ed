import Foundation
import LiaisonCore

/// The generic webhook's JSON body, validated field by field.
struct GenericPayload {
    enum Kind: String { case message, close }

    struct Sender {
        var id: String
        var name: String?
        var email: String?
        var phone: String?
        var role: ParticipantRole?
    }

    var id: String
    var conversation: String
    var type: Kind
    var sender: Sender?
    var text: String?
    var sentAt: Date?

    /// A field that is missing or wrong, named by its path: `sender.role: must be one of …`.
    struct Problem: Error, CustomStringConvertible {
        var problem: String
        var description: String { problem }
    }

    /// - Parameter admitting: the checks added since bodies were first logged (a time out of
    ///   range or in seconds, text of only spaces) apply at admission only: a body logged
    ///   before them was acknowledged, and is decoded as it was then (its time written within
    ///   range) rather than turned unusable.
    static func decode(_ body: [UInt8], admitting: Bool) throws(Problem) -> GenericPayload {
        let root: JSONDocument.Value
        do {
            root = try JSONDocument(body).root
        } catch {
            throw Problem(problem: "body is not valid JSON (\(error))")
        }
        guard root.kind == .object else { throw Problem(problem: "body must be a JSON object, not \(root.kind.name)") }
        let id = try requiredString(root, "id")
        let conversation = try requiredString(root, "conversation")
        var type = Kind.message
        if let text = try optionalString(root, "type") {
            guard let kind = Kind(rawValue: text) else { throw Problem(problem: "type: must be message or close") }
            type = kind
        }
        var sender: Sender?
        if let value = root["sender"], !value.isNull {
            guard value.kind == .object else { throw Problem(problem: "sender: must be an object") }
            var role: ParticipantRole?
            if let text = try optionalString(value, "role", path: "sender.role") {
                guard let parsed = ParticipantRole(rawValue: text), parsed != .other else {
                    throw Problem(problem: "sender.role: must be customer or employee")
                }
                role = parsed
            }
            sender = Sender(
                id: try requiredString(value, "id", path: "sender.id"),
                name: try optionalString(value, "name", path: "sender.name"),
                email: try optionalString(value, "email", path: "sender.email"),
                phone: try optionalString(value, "phone", path: "sender.phone"), role: role
            )
        }
        let text = try optionalString(root, "text")
        var sentAt: Date?
        if let value = root["sent_at"], !value.isNull {
            if let millis = value.number {
                // Below 10^11 ms (1973) a number is seconds sent for milliseconds, not a message's time.
                guard !admitting || (millis >= 1e11 && ISO8601.writable.contains(millis / 1000)) else {
                    throw Problem(
                        problem: millis >= 0 && millis < 1e11
                            ? "sent_at: Unix milliseconds expected; this reads as 1970–1973 (seconds?)"
                            : "sent_at: Unix milliseconds out of range (years 1973 to 9999)")
                }
                sentAt = ISO8601.writableDate(millis / 1000)
            } else if let text = value.string {
                guard let date = ISO8601.parse(text) else {
                    throw Problem(problem: "sent_at: not an RFC 3339 time (2026-11-24T10:00:00Z) or Unix milliseconds")
                }
                sentAt = date
            } else {
                throw Problem(
                    problem: "sent_at: must be an RFC 3339 string or Unix milliseconds, not \(value.kind.name)")
            }
        }
        if type == .message, sender == nil {
            throw Problem(problem: "sender: a message needs a sender")
        }
        if type == .message, text == nil {
            throw Problem(problem: "text: a message needs text")
        }
        if admitting, type == .message, text?.contains(where: { !$0.isWhitespace }) != true {
            throw Problem(problem: "text: empty")
        }
        return GenericPayload(
            id: id, conversation: conversation, type: type, sender: sender, text: text, sentAt: sentAt)
    }

    private static func requiredString(_ object: JSONDocument.Value, _ key: String, path: String? = nil) throws(Problem)
        -> String
    {
        guard let value = try optionalString(object, key, path: path), !value.isEmpty else {
            throw Problem(problem: "\(path ?? key): required, a non-empty string")
        }
        return value
    }

    private static func optionalString(_ object: JSONDocument.Value, _ key: String, path: String? = nil)
        throws(Problem) -> String?
    {
        guard let value = object[key], !value.isNull else { return nil }
        guard let text = value.string else {
            throw Problem(problem: "\(path ?? key): must be a string, not \(value.kind.name)")
        }
        return text
    }
}
