import Foundation
import LiaisonCore

/// The generic webhook's JSON body, validated field by field.
struct GenericPayload: Decodable {
    enum Kind: String, Decodable { case message, close }

    struct Sender: Decodable {
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

    enum CodingKeys: String, CodingKey {
        case id, conversation, type, sender, text
        case sentAt = "sent_at"
    }

    init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        id = try c.decode(String.self, forKey: .id)
        conversation = try c.decode(String.self, forKey: .conversation)
        type = try c.decodeIfPresent(Kind.self, forKey: .type) ?? .message
        sender = try c.decodeIfPresent(Sender.self, forKey: .sender)
        text = try c.decodeIfPresent(String.self, forKey: .text)
        if let millis = try? c.decodeIfPresent(Int64.self, forKey: .sentAt) {
            sentAt = Date(timeIntervalSince1970: Double(millis) / 1000)
        } else if let text = try c.decodeIfPresent(String.self, forKey: .sentAt) {
            guard let date = ISO8601.parse(text) else {
                throw DecodingError.dataCorruptedError(forKey: .sentAt, in: c, debugDescription: "not an ISO 8601 time")
            }
            sentAt = date
        }
        if type == .message, sender == nil || text == nil {
            throw DecodingError.dataCorruptedError(forKey: .text, in: c, debugDescription: "a message needs sender and text")
        }
        if id.isEmpty || conversation.isEmpty {
            throw DecodingError.dataCorruptedError(forKey: .id, in: c, debugDescription: "id and conversation must not be empty")
        }
    }

    struct Problem: Error { var problem: String }

    static func decode(_ body: [UInt8]) throws(Problem) -> GenericPayload {
        do {
            return try JSONDecoder().decode(GenericPayload.self, from: Data(body))
        } catch let error as DecodingError {
            throw Problem(problem: error.readable)
        } catch {
            throw Problem(problem: "body is not JSON")
        }
    }
}

extension DecodingError {
    /// One line saying which field is wrong and how, for a 400 body.
    var readable: String {
        func path(_ context: Context) -> String {
            let keys = context.codingPath.map { $0.intValue.map(String.init) ?? $0.stringValue }
            return keys.isEmpty ? "body" : keys.joined(separator: ".")
        }
        switch self {
        case .keyNotFound(let key, let context):
            let parent = path(context)
            return "\(parent == "body" ? "" : parent + ".")\(key.stringValue): required"
        case .typeMismatch(let type, let context): return "\(path(context)): expected \(type)"
        case .valueNotFound(let type, let context): return "\(path(context)): expected \(type), found null"
        case .dataCorrupted(let context):
            return context.codingPath.isEmpty ? "body is not valid JSON" : "\(path(context)): \(context.debugDescription)"
        @unknown default: return "body does not match the schema"
        }
    }
}
