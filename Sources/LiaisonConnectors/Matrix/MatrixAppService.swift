import Foundation
import LiaisonCore

/// Matrix as an application service: the homeserver pushes every event in the rooms of
/// our namespace as transactions. Each transaction is logged once (its txnId is the
/// dedupe key) and later decoded into participants, messages and close commands.
public final class MatrixAppService: InboundConnector {
    /// The largest transaction the homeserver may push: Synapse sends up to 100 events of up
    /// to 64 KiB each, and ephemeral ones besides. Refusing one would not drop it: the
    /// homeserver would send it again and again, ahead of everything newer, and Matrix
    /// archiving would stop. So it is not bound by `server.max_body_bytes`.
    public static let largestTransaction = 16 << 20

    public let settings: MatrixSettings
    public var source: String { "matrix" }
    public var channel: String { "Matrix" }

    public init(settings: MatrixSettings) {
        self.settings = settings
    }

    /// The transaction id from `/_matrix/app/v1/transactions/{txnId}`.
    public static func transactionID(fromPath path: String) -> String? {
        let prefix = "/_matrix/app/v1/transactions/"
        guard path.hasPrefix(prefix) else { return nil }
        let id = String(path.dropFirst(prefix.count))
        return id.isEmpty || id.contains("/") ? nil : id.removingPercentEncoding ?? id
    }

    public func admit(_ request: InboundRequest) -> Result<Admission, InboundRejection> {
        if let refusal = authenticate(request.headers, query: request.query) { return .failure(refusal) }
        guard let txnID = Self.transactionID(fromPath: request.path) else {
            return .failure(
                InboundRejection(
                    status: 404, code: "M_UNRECOGNIZED", message: "Unrecognized request", reason: "unknown_route"))
        }
        do {
            _ = try JSONDecoder().decode(MatrixTransaction.self, from: Data(request.body))
        } catch {
            return .failure(
                InboundRejection(
                    status: 400, code: "M_NOT_JSON",
                    message: "Body is not a transaction: an object with an events array", reason: "malformed")
            )
        }
        return .success(Admission(source: source, dedupeKey: txnID))
    }

    /// The homeserver proves itself with the `hs_token` from the registration file, as
    /// `Authorization: Bearer …` or, from homeservers that predate it, `?access_token=…`.
    public func authenticate(_ headers: HTTPHeaders, query: [String: String]) -> InboundRejection? {
        let given = headers.bearerToken ?? query["access_token"]
        guard let given, constantTimeEquals(Array(given.utf8), Array(settings.hsToken.utf8)) else {
            return InboundRejection(
                status: 403, code: "M_FORBIDDEN", message: "Bad or missing homeserver token", reason: "unauthenticated")
        }
        return nil
    }

    public func decode(_ record: InboundRecord) throws -> [CanonicalEvent] {
        let transaction: MatrixTransaction
        do {
            transaction = try JSONDecoder().decode(MatrixTransaction.self, from: Data(record.body))
        } catch {
            throw DecodeError("not a Matrix transaction: \(error)")
        }
        return transaction.events.flatMap(events(from:))
    }

    private func events(from event: MatrixEvent) -> [CanonicalEvent] {
        guard let room = event.roomID else { return [] }
        let conversation = ConversationID(system: "matrix", id: room)
        let sentAt = Date(timeIntervalSince1970: Double(event.originServerTS ?? 0) / 1000)
        switch event.type {
        case "m.room.member":
            guard let user = event.stateKey, ["join", "invite"].contains(event.content?.membership) else { return [] }
            let person = participant(user, displayName: event.content?.displayname)
            return person.role == .other ? [] : [.participant(person, conversation: conversation)]
        case "m.room.message":
            guard let sender = event.sender, let eventID = event.eventID, let content = event.content else { return [] }
            let person = participant(sender, displayName: nil)
            guard person.role != .other, let text = Self.text(of: content) else { return [] }
            if person.role == .employee, text.trimmingCharacters(in: .whitespacesAndNewlines) == settings.closeCommand {
                return [.close(conversation, at: sentAt)]
            }
            let replaces = content.relatesTo?.relType == "m.replace" ? content.relatesTo?.eventID : nil
            let message = Message(
                id: eventID, conversation: conversation, sender: person.ref, sentAt: sentAt, text: text,
                replaces: replaces)
            return [.participant(person, conversation: conversation), .message(message)]
        case "m.sticker":
            // A message in its own event type; `body` describes the sticker.
            guard let sender = event.sender, let eventID = event.eventID, let body = event.content?.body,
                case let person = participant(sender, displayName: nil), person.role != .other
            else { return [] }
            let message = Message(
                id: eventID, conversation: conversation, sender: person.ref,
                sentAt: sentAt, text: "[sticker: \(body)]")
            return [.participant(person, conversation: conversation), .message(message)]
        case "m.room.redaction":
            guard let redacted = event.redacts ?? event.content?.redacts else { return [] }
            return [.redacted(conversation, messageID: redacted)]
        case "m.room.encrypted":
            // The application service holds no room keys: what was said is lost to the archive.
            guard let sender = event.sender, settings.role(of: sender) != .other else { return [] }
            return [.unreadable(conversation, reason: "encrypted")]
        default:
            return []
        }
    }

    private func participant(_ user: String, displayName: String?) -> Participant {
        let configured = settings.profiles[user]
        return Participant(
            ref: SystemRef(system: "matrix", kind: "user", id: user), role: settings.role(of: user),
            displayName: configured?.name ?? displayName, email: configured?.email, phone: configured?.phone
        )
    }

    /// A reply's own text: clients put the message replied to before it, quoted (`> <@x:y> …`
    /// lines and a blank line). The transcript has that message already; and an employee's
    /// `!close` sent as a reply must still read as the close command.
    static func withoutReplyFallback(_ body: String) -> String {
        let lines = body.split(separator: "\n", omittingEmptySubsequences: false)
        // The fallback's shape (`> <@user:server> …`, `> * <@user:server> …` for an emote),
        // not any quote: a customer who quotes a line keeps it.
        guard let first = lines.first, first.hasPrefix("> <@") || first.hasPrefix("> * <@"),
            let blank = lines.firstIndex(where: { !$0.hasPrefix(">") }), lines[blank].isEmpty
        else { return body }
        return lines[(blank + 1)...].joined(separator: "\n")
    }

    /// What a message says, as a transcript line; nil for nothing worth keeping.
    static func text(of content: MatrixEvent.Content) -> String? {
        if content.relatesTo?.relType == "m.replace" {
            return (content.newContent?.body ?? content.body).map { "(edited) \($0)" }
        }
        guard var body = content.body, !body.isEmpty else { return nil }
        if content.relatesTo?.inReplyTo != nil {
            body = withoutReplyFallback(body)
            guard !body.isEmpty else { return nil }
        }
        switch content.msgtype {
        case "m.text", "m.notice", nil: return body
        case "m.emote": return "* \(body)"
        case "m.image": return "[image: \(body)]"
        case "m.file": return "[file: \(body)]"
        case "m.audio": return "[audio: \(body)]"
        case "m.video": return "[video: \(body)]"
        case "m.location": return "[location: \(body)]"
        default: return body
        }
    }
}
