import Foundation
import LiaisonCore

/// Posts notices into Matrix rooms as the application service's bot user.
///
/// The transaction id of each send is the delivery's idempotency key, and Matrix
/// homeservers answer a repeated transaction id with the event they already created:
/// a retry after a timeout never posts twice. The bot joins the room on first use.
public struct MatrixNotifier: OutboundConnector {
    public static let notifyOperation = "notify"
    public var target: String { "matrix" }
    private let settings: MatrixSettings
    private let http: HTTPClient

    public init(settings: MatrixSettings, timeout: TimeInterval) {
        self.settings = settings
        http = HTTPClient(timeout: timeout)
    }

    /// Who a notice is for: a room, or a user (in a direct-message room the bot opens once).
    public enum Recipient: Sendable, Equatable, Codable, CustomStringConvertible {
        case room(String)
        case user(String)

        public var description: String {
            switch self {
            case .room(let id): "room:\(id)"
            case .user(let id): "user:\(id)"
            }
        }

        /// Parses `room:!…` / `user:@…`.
        public init?(_ text: String) {
            if text.hasPrefix("room:") {
                self = .room(String(text.dropFirst(5)))
            } else if text.hasPrefix("user:") {
                self = .user(String(text.dropFirst(5)))
            } else {
                return nil
            }
        }
    }

    /// What a notice delivery carries.
    public struct Payload: Codable, Sendable, Equatable {
        public var recipient: Recipient
        public var notice: ChangeNotice

        public init(recipient: Recipient, notice: ChangeNotice) {
            self.recipient = recipient
            self.notice = notice
        }
    }

    public func perform(_ delivery: Delivery, ledger: any DeliveryLedger, now: Date) async -> DeliveryOutcome {
        guard delivery.operation == Self.notifyOperation else {
            return .permanent(reason: "matrix cannot perform '\(delivery.operation)'")
        }
        guard let payload = try? JSONDecoder().decode(Payload.self, from: Data(delivery.payload)) else {
            return .permanent(reason: "payload is not a notice")
        }
        let room: String
        switch payload.recipient {
        case .room(let id):
            room = id
        case .user(let user):
            do {
                switch try await directRoom(with: user, ledger: ledger) {
                case .open(let id): room = id
                case .failed(let outcome):
                    return Self.classify(outcome, step: "open a direct room with \(user)", now: now)
                }
            } catch {
                return .retryable(reason: "ledger: \(error)", after: nil, uncertain: false)
            }
        }
        var outcome = await send(payload.notice, to: room, txn: delivery.idempotencyKey.rawValue)
        if case let .response(403, _, body) = outcome, Self.errcode(body) == "M_FORBIDDEN" {
            // Not in the room yet: join (an invitation or a public room lets the bot in), then send.
            let joined = await join(room)
            guard case .response(200, _, _) = joined else {
                return Self.classify(joined, step: "join \(room)", now: now)
            }
            outcome = await send(payload.notice, to: room, txn: delivery.idempotencyKey.rawValue)
        }
        if case let .response(200, _, body) = outcome {
            let eventID = (try? JSONValue.parse(Array(body)))?["event_id"]?.string ?? ""
            return .delivered(remoteID: eventID)
        }
        return Self.classify(outcome, step: "send to \(room)", now: now)
    }

    /// The bot's direct room with a user: created once, remembered in the ledger.
    private enum DirectRoom {
        case open(String)
        case failed(HTTPOutcome)
    }

    /// Creating a room has no idempotency key: the create is noted as intended first, and
    /// one whose answer was lost (the process died, the request timed out) is looked for
    /// among the bot's rooms before another is created.
    private func directRoom(with user: String, ledger: any DeliveryLedger) async throws -> DirectRoom {
        let key = IdempotencyKey("matrix:dm:\(settings.botUser):\(user)")
        if let known = try await ledger.remoteID(for: key) { return .open(known) }
        if try await ledger.wasIntended(key) {
            switch await existingDirectRoom(with: user) {
            case .open(let room)?:
                try await ledger.record(key, remoteID: room)
                return .open(room)
            case .failed(let outcome)?: return .failed(outcome)
            case nil: break
            }
        }
        try await ledger.intend(key)
        guard let url = url("/_matrix/client/v3/createRoom") else {
            return .failed(.failed(reason: "bad homeserver", maybeApplied: false))
        }
        struct Create: Encodable, Sendable {
            var invite: [String]
            var is_direct = true
            var preset = "trusted_private_chat"
            var name = "Liaison"
        }
        let outcome = await http.send("POST", url, headers: auth, json: Create(invite: [user]))
        guard case let .response(200, _, body) = outcome,
            let room = (try? JSONValue.parse(Array(body)))?["room_id"]?.string
        else { return .failed(outcome) }
        try await ledger.record(key, remoteID: room)
        return .open(room)
    }

    /// A room the bot is in where `user` is invited or joined as to a direct chat.
    private func existingDirectRoom(with user: String) async -> DirectRoom? {
        guard let joinedRooms = url("/_matrix/client/v3/joined_rooms") else { return nil }
        let outcome = await http.send("GET", joinedRooms, headers: auth)
        guard case let .response(200, _, body) = outcome else { return .failed(outcome) }
        guard case .array(let rooms)? = (try? JSONValue.parse(Array(body)))?["joined_rooms"] else { return nil }
        for case .string(let room) in rooms {
            guard
                let membershipURL = url(
                    "/_matrix/client/v3/rooms/\(Self.escape(room))/state/m.room.member/\(Self.escape(user))")
            else { continue }
            let member = await http.send("GET", membershipURL, headers: auth)
            switch member {
            case let .response(200, _, body):
                let content = try? JSONValue.parse(Array(body))
                let membership = content?["membership"]?.string ?? ""
                if content?["is_direct"] == .bool(true), membership == "invite" || membership == "join" {
                    return .open(room)
                }
            case .response(404, _, _), .response(403, _, _): continue  // not a member there
            default: return .failed(member)
            }
        }
        return nil
    }

    private func url(_ path: String) -> URL? {
        var components = URLComponents(url: settings.homeserver, resolvingAgainstBaseURL: false)
        components?.percentEncodedPath = path
        components?.queryItems = [URLQueryItem(name: "user_id", value: settings.botUser)]
        return components?.url
    }

    private static func escape(_ text: String) -> String {
        text.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? text
    }

    private var auth: [String: String] { ["Authorization": "Bearer \(settings.asToken)"] }

    private func send(_ notice: ChangeNotice, to room: String, txn: String) async -> HTTPOutcome {
        guard let url = url("/_matrix/client/v3/rooms/\(Self.escape(room))/send/m.room.message/\(Self.escape(txn))")
        else { return .failed(reason: "bad room id", maybeApplied: false) }
        let content: [String: String] = [
            "msgtype": "m.notice", "body": notice.body, "format": "org.matrix.custom.html",
            "formatted_body": notice.html,
        ]
        return await http.send("PUT", url, headers: auth, json: content)
    }

    private func join(_ room: String) async -> HTTPOutcome {
        guard let url = url("/_matrix/client/v3/join/\(Self.escape(room))") else {
            return .failed(reason: "bad room id", maybeApplied: false)
        }
        return await http.send("POST", url, headers: auth, json: [String: String]())
    }

    static func errcode(_ body: Data) -> String? { (try? JSONValue.parse(Array(body)))?["errcode"]?.string }

    static func classify(_ outcome: HTTPOutcome, step: String, now: Date) -> DeliveryOutcome {
        switch outcome {
        case let .failed(reason, _):
            // Sends are idempotent by transaction id: a retry is always safe.
            return .retryable(reason: "\(step): \(reason)", after: nil, uncertain: false)
        case let .response(status, _, body):
            let reason = "\(step): HTTP \(status) \(String(decoding: body.prefix(300), as: UTF8.self))"
            if status == 429 {
                let millis = (try? JSONValue.parse(Array(body)))?["retry_after_ms"]?.number
                let after = millis.map { Duration.milliseconds(Int64($0)) } ?? outcome.retryAfter(now: now)
                return .retryable(reason: reason, after: after, uncertain: false)
            }
            return status >= 500 ? .retryable(reason: reason, after: nil, uncertain: false) : .permanent(reason: reason)
        }
    }
}
