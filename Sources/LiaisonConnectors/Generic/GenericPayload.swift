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

    static func decode(_ body: [UInt8]) throws(Problem) -> GenericPayload {
        let root: JSONValue
        do {
            root = try JSONValue.parse(body)
        } catch {
            throw Problem(problem: "body is not valid JSON (\(error))")
        }
        guard case .object = root else { throw Problem(problem: "body must be a JSON object, not \(root.kind)") }
        let id = try requiredString(root, "id")
        let conversation = try requiredString(root, "conversation")
        var type = Kind.message
        if let text = try optionalString(root, "type") {
            guard let kind = Kind(rawValue: text) else { throw Problem(problem: "type: must be message or close") }
            type = kind
        }
        var sender: Sender?
        if let value = root["sender"], !value.isNull {
            guard case .object = value else { throw Problem(problem: "sender: must be an object") }
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
        switch root["sent_at"] {
        case nil, .null?: break
        case .number(let millis)?: sentAt = Date(timeIntervalSince1970: millis / 1000)
        case .string(let value)?:
            guard let date = ISO8601.parse(value) else {
                throw Problem(problem: "sent_at: not an RFC 3339 time (2026-11-24T10:00:00Z) or Unix milliseconds")
            }
            sentAt = date
        case let other?:
            throw Problem(problem: "sent_at: must be an RFC 3339 string or Unix milliseconds, not \(other.kind)")
        }
        if type == .message, sender == nil || text == nil {
            throw Problem(problem: "text: a message needs sender and text")
        }
        return GenericPayload(
            id: id, conversation: conversation, type: type, sender: sender, text: text, sentAt: sentAt)
    }

    private static func requiredString(_ object: JSONValue, _ key: String, path: String? = nil) throws(Problem)
        -> String
    {
        guard let value = try optionalString(object, key, path: path), !value.isEmpty else {
            throw Problem(problem: "\(path ?? key): required, a non-empty string")
        }
        return value
    }

    private static func optionalString(_ object: JSONValue, _ key: String, path: String? = nil) throws(Problem)
        -> String?
    {
        switch object[key] {
        case nil, .null?: return nil
        case .string(let value)?: return value
        case let other?: throw Problem(problem: "\(path ?? key): must be a string, not \(other.kind)")
        }
    }
}
