import Foundation
import LiaisonCore

/// Posts notices into Matrix rooms as the application service's bot user.
///
/// The transaction id of each send is the delivery's idempotency key, and a homeserver
/// answers a repeated transaction id with the event it already created, but not for
/// long: Synapse keeps an application service's transaction ids in memory for 30 to 60
/// minutes, and forgets them when it restarts. So each notice also carries its key in
/// its content, and a delivery whose earlier attempt may have landed (a timeout, a reset,
/// a 5xx) first looks for the bot's event with that key in the room. The bot joins the
/// room on first use.
public struct MatrixNotifier: OutboundConnector {
    public static let notifyOperation = "notify"
    public var target: String { "matrix" }
    private let settings: MatrixSettings
    private let http: HTTPClient
    /// How long a request may take: the window in which a room being created may still appear.
    private let timeout: TimeInterval

    public init(settings: MatrixSettings, timeout: TimeInterval) {
        self.settings = settings
        self.timeout = timeout
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
                switch try await directRoom(with: user, ledger: ledger, due: delivery.nextAttemptAt, now: now) {
                case .open(let id): room = id
                case .failed(let outcome):
                    return Self.classify(outcome, step: "open a direct room with \(user)", now: now)
                }
            } catch let landing as StillLanding {
                return .retryable(reason: "\(landing)", after: landing.retryAfter, uncertain: false)
            } catch {
                return .retryable(reason: "ledger: \(error)", after: nil, uncertain: false)
            }
        }
        // A send whose outcome was never recorded (the hub died with it under way) may have
        // landed, as may one that timed out: look for it before sending again. Synapse keeps
        // transaction ids for 30 to 60 minutes only, and forgets them when it restarts.
        let key = delivery.idempotencyKey
        do {
            var unsure = delivery.uncertain
            if !unsure {
                unsure = try await ledger.wasIntended(key, settling: timeout, due: delivery.nextAttemptAt, now: now)
            }
            if unsure {
                switch await existingNotice(key: key, in: room, since: delivery.createdAt) {
                case .found(let eventID):
                    try await ledger.record(key, remoteID: eventID)
                    return .delivered(remoteID: eventID)
                case .absent: break
                case .failed(let outcome):
                    return Self.classify(outcome, step: "look for the notice in \(room)", now: now)
                }
            }
            try await ledger.intend(key)
        } catch let landing as StillLanding {
            return .retryable(reason: "\(landing)", after: landing.retryAfter, uncertain: false)
        } catch {
            return .retryable(reason: "ledger: \(error)", after: nil, uncertain: false)
        }
        var outcome = await send(payload.notice, to: room, txn: key.rawValue)
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
            do {
                try await ledger.record(key, remoteID: eventID)
            } catch {
                // Sent, but not noted: the retry looks for it and finds it.
                return .retryable(reason: "sent, but the ledger: \(error)", after: nil, uncertain: true)
            }
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
    private func directRoom(with user: String, ledger: any DeliveryLedger, due: Date, now: Date) async throws
        -> DirectRoom
    {
        let key = IdempotencyKey("matrix:dm:\(settings.botUser):\(user)")
        if let known = try await ledger.remoteID(for: key) { return .open(known) }
        if try await ledger.wasIntended(key, settling: timeout, due: due, now: now) {
            switch await existingDirectRoom(with: user) {
            case .open(let room)?:
                try await ledger.record(key, remoteID: room)
                return .open(room)
            case .failed(let outcome)?: return .failed(outcome)
            case nil: break
            }
        }
        try await ledger.intend(key)
        guard let url = settings.botURL("/_matrix/client/v3/createRoom") else {
            return .failed(.failed(reason: "bad homeserver", maybeApplied: false))
        }
        struct Create: Encodable, Sendable {
            var invite: [String]
            var is_direct = true
            var preset = "trusted_private_chat"
            var name = "Liaison"
            /// Who the room is for, in its creation event: found again whatever the user
            /// did since (the invitation's `is_direct` is gone from a member who joined).
            var creation_content: [String: String]
        }
        let create = Create(invite: [user], creation_content: [Self.directWithField: user])
        let outcome = await http.send("POST", url, headers: settings.botAuthorization, json: create)
        guard case let .response(200, _, body) = outcome,
            let room = (try? JSONValue.parse(Array(body)))?["room_id"]?.string
        else { return .failed(outcome) }
        try await ledger.record(key, remoteID: room)
        return .open(room)
    }

    /// A room the bot is in where `user` is invited or joined as to a direct chat.
    /// The field of a direct room's creation event that names the user it was made for.
    static let directWithField = "io.liaison.direct_with"

    private func existingDirectRoom(with user: String) async -> DirectRoom? {
        guard let joinedRooms = settings.botURL("/_matrix/client/v3/joined_rooms") else { return nil }
        let outcome = await http.send("GET", joinedRooms, headers: settings.botAuthorization)
        guard case let .response(200, _, body) = outcome else { return .failed(outcome) }
        guard case .array(let rooms)? = (try? JSONValue.parse(Array(body)))?["joined_rooms"] else { return nil }
        for case .string(let room) in rooms {
            let (roomSegment, userSegment) = (MatrixSettings.pathSegment(room), MatrixSettings.pathSegment(user))
            // Made for this user (its creation event says so), whether they joined or not.
            if let createURL = settings.botURL("/_matrix/client/v3/rooms/\(roomSegment)/state/m.room.create") {
                let created = await http.send("GET", createURL, headers: settings.botAuthorization)
                if case let .response(200, _, body) = created,
                    (try? JSONValue.parse(Array(body)))?[Self.directWithField]?.string == user
                {
                    return .open(room)
                }
            }
            // Else, a room made before that field: the user invited to it as direct.
            guard
                let membershipURL = settings.botURL(
                    "/_matrix/client/v3/rooms/\(roomSegment)/state/m.room.member/\(userSegment)")
            else { continue }
            let member = await http.send("GET", membershipURL, headers: settings.botAuthorization)
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

    /// Whether the bot already posted the notice with `key` in `room`.
    public enum Lookup: Sendable {
        case found(eventID: String)
        case absent
        case failed(HTTPOutcome)
    }

    /// The content field that carries a notice's idempotency key.
    public static let keyField = "io.liaison.idempotency_key"

    /// Looks for the bot's notice carrying `key` among its messages in `room`, newest
    /// first, back to a little before `since` (when the delivery was created; clocks
    /// differ) or at most `Self.lookupPages` pages of 100.
    public func existingNotice(key: IdempotencyKey, in room: String, since: Date) async -> Lookup {
        let filter = #"{"senders":["\#(settings.botUser)"],"types":["m.room.message"]}"#
        let oldest = (since.timeIntervalSince1970 - 300) * 1000
        var from: String?
        for _ in 0..<Self.lookupPages {
            var query = [URLQueryItem(name: "dir", value: "b"), URLQueryItem(name: "limit", value: "100")]
            query.append(URLQueryItem(name: "filter", value: filter))
            if let from { query.append(URLQueryItem(name: "from", value: from)) }
            guard
                let url = settings.botURL(
                    "/_matrix/client/v3/rooms/\(MatrixSettings.pathSegment(room))/messages", query: query)
            else {
                return .absent
            }
            let outcome = await http.send("GET", url, headers: settings.botAuthorization)
            guard case let .response(status, _, body) = outcome else { return .failed(outcome) }
            // Not in the room: the bot cannot have posted there.
            if status == 403, Self.errcode(body) == "M_FORBIDDEN" { return .absent }
            guard status == 200, let page = try? JSONValue.parse(Array(body)) else { return .failed(outcome) }
            guard case .array(let events)? = page["chunk"] else { return .absent }
            for event in events where event["content"]?[Self.keyField]?.string == key.rawValue {
                if let id = event["event_id"]?.string { return .found(eventID: id) }
            }
            let reachedOlder = events.contains { ($0["origin_server_ts"]?.number ?? .infinity) < oldest }
            guard !events.isEmpty, !reachedOlder, let next = page["end"]?.string else { return .absent }
            from = next
        }
        return .absent
    }

    /// How far back a lookup reads: 2,000 of the bot's messages.
    static let lookupPages = 20

    private func send(_ notice: ChangeNotice, to room: String, txn: String) async -> HTTPOutcome {
        let (roomSegment, txnSegment) = (MatrixSettings.pathSegment(room), MatrixSettings.pathSegment(txn))
        guard let url = settings.botURL("/_matrix/client/v3/rooms/\(roomSegment)/send/m.room.message/\(txnSegment)")
        else { return .failed(reason: "bad room id", maybeApplied: false) }
        let content: [String: String] = [
            "msgtype": "m.notice", "body": notice.body, "format": "org.matrix.custom.html",
            "formatted_body": notice.html, Self.keyField: txn,
        ]
        return await http.send("PUT", url, headers: settings.botAuthorization, json: content)
    }

    private func join(_ room: String) async -> HTTPOutcome {
        guard let url = settings.botURL("/_matrix/client/v3/join/\(MatrixSettings.pathSegment(room))") else {
            return .failed(reason: "bad room id", maybeApplied: false)
        }
        return await http.send("POST", url, headers: settings.botAuthorization, json: [String: String]())
    }

    static func errcode(_ body: Data) -> String? { (try? JSONValue.parse(Array(body)))?["errcode"]?.string }

    static func classify(_ outcome: HTTPOutcome, step: String, now: Date) -> DeliveryOutcome {
        switch outcome {
        case let .failed(reason, maybeApplied):
            return .retryable(reason: "\(step): \(reason)", after: nil, uncertain: maybeApplied)
        case let .response(status, _, body):
            let reason = "\(step): HTTP \(status) \(String(decoding: body.prefix(300), as: UTF8.self))"
            if status == 429 {
                let millis = (try? JSONValue.parse(Array(body)))?["retry_after_ms"]?.number
                // Read as a Double: a homeserver's 1e30 must not trap the conversion (the policy caps it).
                let after = millis.map { Duration.milliseconds(min(max($0, 0), 1e12)) } ?? outcome.retryAfter(now: now)
                return .retryable(reason: reason, after: after, uncertain: false)
            }
            // A 5xx may come after the event was stored (a proxy's timeout): look before retrying.
            return status >= 500 ? .retryable(reason: reason, after: nil, uncertain: true) : .permanent(reason: reason)
        }
    }
}
