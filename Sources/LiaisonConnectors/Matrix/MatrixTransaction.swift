import Foundation

/// The body of an application-service transaction push
/// (`PUT /_matrix/app/v1/transactions/{txnId}`), keeping only what the hub uses.
struct MatrixTransaction: Decodable {
    var events: [MatrixEvent]
}

struct MatrixEvent: Decodable {
    var type: String
    var sender: String?
    var roomID: String?
    var eventID: String?
    var stateKey: String?
    var originServerTS: Int64?
    var content: Content?
    /// The event a redaction removes (room versions before 11; from 11 on, in the content).
    var redacts: String?

    enum CodingKeys: String, CodingKey {
        case type, sender, content, redacts
        case roomID = "room_id"
        case eventID = "event_id"
        case stateKey = "state_key"
        case originServerTS = "origin_server_ts"
    }

    /// The content fields of messages and memberships. Anything else is ignored.
    struct Content: Decodable {
        var msgtype: String?
        var body: String?
        var membership: String?
        var displayname: String?
        var relatesTo: Relation?
        var newContent: NewContent?
        var redacts: String?

        enum CodingKeys: String, CodingKey {
            case msgtype, body, membership, displayname, redacts
            case relatesTo = "m.relates_to"
            case newContent = "m.new_content"
        }

        init(from decoder: any Decoder) throws {
            // Content is whatever the sender put there: a field of the wrong type is
            // treated as absent rather than failing the whole transaction.
            let c = try decoder.container(keyedBy: CodingKeys.self)
            msgtype = try? c.decodeIfPresent(String.self, forKey: .msgtype)
            body = try? c.decodeIfPresent(String.self, forKey: .body)
            membership = try? c.decodeIfPresent(String.self, forKey: .membership)
            displayname = try? c.decodeIfPresent(String.self, forKey: .displayname)
            relatesTo = try? c.decodeIfPresent(Relation.self, forKey: .relatesTo)
            newContent = try? c.decodeIfPresent(NewContent.self, forKey: .newContent)
            redacts = try? c.decodeIfPresent(String.self, forKey: .redacts)
        }
    }

    struct Relation: Decodable {
        var relType: String?
        /// The event related to (for an edit, the message it replaces).
        var eventID: String?
        var inReplyTo: Reply?
        enum CodingKeys: String, CodingKey {
            case relType = "rel_type"
            case eventID = "event_id"
            case inReplyTo = "m.in_reply_to"
        }

        init(from decoder: any Decoder) throws {
            let c = try decoder.container(keyedBy: CodingKeys.self)
            relType = try? c.decodeIfPresent(String.self, forKey: .relType)
            eventID = try? c.decodeIfPresent(String.self, forKey: .eventID)
            inReplyTo = try? c.decodeIfPresent(Reply.self, forKey: .inReplyTo)
        }
    }

    struct Reply: Decodable {
        var eventID: String?
        enum CodingKeys: String, CodingKey { case eventID = "event_id" }
    }

    struct NewContent: Decodable {
        var body: String?
    }
}
