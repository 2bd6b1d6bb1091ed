import Foundation
import LiaisonCore
import LiaisonServer
import Synchronization

/// A contract simulator of the Matrix client-server calls an application service's bot
/// makes to post notices: `PUT …/send/m.room.message/{txnId}` (a repeated transaction id
/// returns the first event, as homeservers do), `POST …/join/{room}`, 403 `M_FORBIDDEN`
/// until the bot has joined, and 429 `M_LIMIT_EXCEEDED` on demand. Like Synapse, it forgets
/// transaction ids on demand (a restart, or 30–60 minutes later), and it lists the bot's
/// messages newest first (`GET …/rooms/{room}/messages?dir=b`, paged by `from`/`end`).
public final class MatrixSimulator: Sendable {
    public struct Sent: Sendable, Equatable {
        public var room: String
        public var txnID: String
        public var body: String
        public var html: String?
        public var eventID = ""
        public var key: String?
    }

    private struct State {
        var joined: Set<String> = []
        var events: [String: String] = [:]  // txnId → event id
        var sent: [Sent] = []
        var rateLimits = 0
        var retryAfterMs = "10"
        var refusals = 0
        /// Sends whose answer comes only after this delay (the client gives up first).
        var slowSends: [Duration] = []
        var lookups = 0
        var failLookups = 0
        /// Direct rooms created: room → invited users.
        var created: [String: [String]] = [:]
        /// What each created room's creation event holds (`creation_content`).
        var creation: [String: [String: String]] = [:]
        /// "room user" for invitees who joined.
        var userJoined: Set<String> = []
        /// Display names served by the profile API.
        var profiles: [String: String] = [:]
        var profileLookups = 0
    }

    private let state = Mutex(State())
    public let asToken: String
    private let server: HTTPServer

    public init(asToken: String) throws {
        self.asToken = asToken
        let reference = Reference()
        server = HTTPServer(host: "127.0.0.1", port: 0, threads: 1, maxBodyBytes: 1 << 20) { request, respond in
            reference.simulator?.handle(request, respond: respond) ?? respond(HTTPResponse(status: 503))
        }
        reference.simulator = self
        try server.start()
    }

    public var homeserver: URL { URL(string: "http://127.0.0.1:\(server.port)")! }
    public var sent: [Sent] { state.withLock { $0.sent } }
    /// How many sends were answered 429 or 403 (not joined).
    public var refusals: Int { state.withLock { $0.refusals } }
    /// Rooms the bot created, with whom it invited.
    public var createdRooms: [String: [String]] { state.withLock { $0.created } }
    /// An invitee joins a created room, as a person accepting the invitation does.
    public func join(_ user: String, to room: String) { state.withLock { _ = $0.userJoined.insert("\(room) \(user)") } }
    /// The next `count` sends are answered 429 with `retry_after_ms` (a JSON number, as written).
    public func rateLimitNext(_ count: Int, retryAfterMs: String = "10") {
        state.withLock {
            $0.rateLimits += count
            $0.retryAfterMs = retryAfterMs
        }
    }
    /// The next send is stored, but answered only after `delay`.
    public func answerNextSendAfter(_ delay: Duration) { state.withLock { $0.slowSends.append(delay) } }
    /// What a homeserver restart does to transaction ids: a repeated one posts again.
    public func forgetTransactions() { state.withLock { $0.events = [:] } }
    /// How many message listings were asked for.
    public var lookups: Int { state.withLock { $0.lookups } }
    /// The next `count` message listings fail with 500.
    public func failNextLookups(_ count: Int) { state.withLock { $0.failLookups += count } }
    /// What `GET …/profile/{user}` answers for `user` (404 for anyone not set).
    public func setDisplayName(_ name: String, of user: String) { state.withLock { $0.profiles[user] = name } }
    /// How many profiles were asked for.
    public var profileLookups: Int { state.withLock { $0.profileLookups } }
    public func stop() async { await server.stop(grace: .seconds(1)) }

    private func handle(_ request: HTTPRequest, respond: @escaping HTTPResponder) {
        guard request.headers["authorization"] == "Bearer \(asToken)", request.query["user_id"] != nil else {
            return respond(.json(401, ["errcode": "M_UNKNOWN_TOKEN", "error": "Unknown token"]))
        }
        let parts = request.path.split(separator: "/").map { String($0).removingPercentEncoding ?? String($0) }
        // /_matrix/client/v3/createRoom: the creator is in the room at once.
        if request.method == "POST", parts.count == 4, parts[3] == "createRoom" {
            let body = (try? JSONValue.parse(request.body)) ?? .null
            var invited: [String] = []
            if case .array(let users)? = body["invite"] { invited = users.compactMap(\.string) }
            let room = state.withLock { state -> String in
                let room = "!dm\(state.created.count + 1):x"
                state.created[room] = invited
                var content: [String: String] = ["creator": request.query["user_id"] ?? ""]
                if case .object(let pairs)? = body["creation_content"] {
                    for (key, value) in pairs { content[key] = value.string }
                }
                state.creation[room] = content
                state.joined.insert(room)
                return room
            }
            return respond(.json(200, ["room_id": room]))
        }
        // /_matrix/client/v3/rooms/{room}/state/m.room.create: the creation content given.
        if request.method == "GET", parts.count == 7, parts[3] == "rooms", parts[5] == "state",
            parts[6] == "m.room.create"
        {
            let content = state.withLock { $0.creation[parts[4]] }
            return respond(
                content.map { .json(200, $0) } ?? .json(404, ["errcode": "M_NOT_FOUND", "error": "Event not found"]))
        }
        // /_matrix/client/v3/profile/{user}: 404 M_NOT_FOUND for a user without a profile.
        if request.method == "GET", parts.count == 5, parts[3] == "profile" {
            let name = state.withLock { state -> String? in
                state.profileLookups += 1
                return state.profiles[parts[4]]
            }
            return respond(
                name.map { .json(200, ["displayname": $0]) }
                    ?? .json(404, ["errcode": "M_NOT_FOUND", "error": "Profile was not found"]))
        }
        // /_matrix/client/v3/joined_rooms
        if request.method == "GET", parts.count == 4, parts[3] == "joined_rooms" {
            return respond(.json(200, ["joined_rooms": state.withLock { $0.joined.sorted() }]))
        }
        // /_matrix/client/v3/rooms/{room}/state/m.room.member/{user}: invitees of a created room.
        if request.method == "GET", parts.count == 8, parts[3] == "rooms", parts[5] == "state",
            parts[6] == "m.room.member"
        {
            let (invited, joined) = state.withLock {
                ($0.created[parts[4]]?.contains(parts[7]) ?? false, $0.userJoined.contains("\(parts[4]) \(parts[7])"))
            }
            // A member who joined has their own member event: the invitation's is_direct is gone.
            struct Invited: Encodable { var membership = "invite"; var is_direct = true }
            struct Joined: Encodable { var membership = "join" }
            return respond(
                !invited
                    ? .json(404, ["errcode": "M_NOT_FOUND", "error": "Event not found"])
                    : joined ? .json(200, Joined()) : .json(200, Invited()))
        }
        // /_matrix/client/v3/rooms/{room}/messages?dir=b&limit=&from=&filter=: the bot's own
        // messages, newest first; `from`/`end` are positions in the room's list.
        if request.method == "GET", parts.count == 6, parts[3] == "rooms", parts[5] == "messages" {
            let room = parts[4]
            let reply = state.withLock { state -> HTTPResponse in
                state.lookups += 1
                if state.failLookups > 0 {
                    state.failLookups -= 1
                    return .json(500, ["errcode": "M_UNKNOWN", "error": "Internal server error"])
                }
                guard state.joined.contains(room) else {
                    return .json(403, ["errcode": "M_FORBIDDEN", "error": "User not in room"])
                }
                let mine = state.sent.filter { $0.room == room }.reversed().map { $0 }
                let start = Int(request.query["from"] ?? "") ?? 0
                let limit = Int(request.query["limit"] ?? "") ?? 10
                let page = mine.dropFirst(start).prefix(limit)
                struct Content: Encodable {
                    var msgtype = "m.notice"
                    var body: String
                    var key: String?
                    enum CodingKeys: String, CodingKey {
                        case msgtype, body
                        case key = "io.liaison.idempotency_key"
                    }
                }
                struct Event: Encodable {
                    var event_id: String
                    var sender = "@liaison_bot:x"
                    var type = "m.room.message"
                    var origin_server_ts: Int64
                    var content: Content
                }
                struct Page: Encodable {
                    var chunk: [Event]
                    var start: String
                    var end: String?
                }
                let now = Int64(Date().timeIntervalSince1970 * 1000)
                return .json(
                    200,
                    Page(
                        chunk: page.map {
                            Event(event_id: $0.eventID, origin_server_ts: now, content: Content(body: $0.body, key: $0.key))
                        },
                        start: String(start), end: start + page.count < mine.count ? String(start + page.count) : nil))
            }
            return respond(reply)
        }
        // /_matrix/client/v3/join/{room}
        if request.method == "POST", parts.count == 5, parts[3] == "join" {
            state.withLock { _ = $0.joined.insert(parts[4]) }
            return respond(.json(200, ["room_id": parts[4]]))
        }
        // /_matrix/client/v3/rooms/{room}/send/m.room.message/{txn}
        guard request.method == "PUT", parts.count == 8, parts[3] == "rooms", parts[5] == "send" else {
            return respond(.json(404, ["errcode": "M_UNRECOGNIZED", "error": "Unrecognized request"]))
        }
        let room = parts[4]
        let txn = parts[7]
        let content = (try? JSONValue.parse(request.body)) ?? .null
        let response = state.withLock { state -> HTTPResponse in
            if state.rateLimits > 0 {
                state.rateLimits -= 1
                state.refusals += 1
                return HTTPResponse(
                    status: 429, contentType: HTTPResponse.jsonType,
                    body: Array(
                        (#"{"errcode":"M_LIMIT_EXCEEDED","error":"Too Many Requests","retry_after_ms":"#
                            + state.retryAfterMs + "}").utf8)
                )
            }
            guard state.joined.contains(room) else {
                state.refusals += 1
                return .json(403, ["errcode": "M_FORBIDDEN", "error": "User not in room"])
            }
            if let existing = state.events[txn] { return .json(200, ["event_id": existing]) }
            let id = "$event\(state.sent.count + 1)"
            state.events[txn] = id
            state.sent.append(
                Sent(
                    room: room, txnID: txn, body: content["body"]?.string ?? "", html: content["formatted_body"]?.string,
                    eventID: id, key: content["io.liaison.idempotency_key"]?.string
                ))
            return .json(200, ["event_id": id])
        }
        guard let delay = state.withLock({ $0.slowSends.isEmpty ? nil : $0.slowSends.removeFirst() }) else {
            return respond(response)
        }
        Task {
            try? await Task.sleep(for: delay)
            respond(response)
        }
    }
}

/// Lets the listener's handler reach the simulator, which is created after the listener.
private final class Reference: Sendable {
    private let value = Mutex<MatrixSimulator?>(nil)
    var simulator: MatrixSimulator? {
        get { value.withLock { $0 } }
        set { value.withLock { $0 = newValue } }
    }
}
