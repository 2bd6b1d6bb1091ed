import Foundation

/// Where the real peers started by `scripts/peers/all.sh` are, read from the `env.sh`
/// files they leave in `$LIAISON_PEERS/<peer>/`. Nil when the tests run without peers.
public struct Peers: Sendable {
    public let synapseURL: URL
    public let agentToken: String
    public let aliceToken: String
    public let asToken: String
    public let hsToken: String
    /// Where Synapse pushes transactions: Liaison must listen here.
    public let appServiceURL: URL
    public let crmURL: URL
    public let crmToken: String
    /// An org JWT (1 h): BottleCRM refuses personal tokens for webhook registration.
    public let crmJWT: String
    /// BottleCRM's server process, to pause it as an outage.
    public let crmPID: Int32
    /// Tryton, when its peer runs: base URL, database, REST key.
    public let tryton: (url: URL, database: String, key: String)?

    public static let current: Peers? = {
        guard let root = ProcessInfo.processInfo.environment["LIAISON_PEERS"] else { return nil }
        let synapse = environment(file: "\(root)/synapse/env.sh")
        let crm = environment(file: "\(root)/crm/env.sh")
        let tryton = environment(file: "\(root)/tryton/env.sh")
        guard let synapseURL = synapse["SYNAPSE_URL"].flatMap(URL.init(string:)),
            let agent = synapse["SYNAPSE_AGENT_TOKEN"],
            let alice = synapse["SYNAPSE_ALICE_TOKEN"], let asToken = synapse["LIAISON_AS_TOKEN"],
            let hsToken = synapse["LIAISON_HS_TOKEN"], let asURL = synapse["LIAISON_AS_URL"].flatMap(URL.init(string:)),
            let crmURL = crm["CRM_URL"].flatMap(URL.init(string:)), let pat = crm["CRM_PAT"], let jwt = crm["CRM_JWT"],
            let pid = crm["CRM_PID"].flatMap(Int32.init)
        else { return nil }
        return Peers(
            synapseURL: synapseURL, agentToken: agent, aliceToken: alice, asToken: asToken, hsToken: hsToken,
            appServiceURL: asURL, crmURL: crmURL, crmToken: pat, crmJWT: jwt, crmPID: pid,
            tryton: tryton["TRYTON_URL"].flatMap(URL.init(string:)).flatMap { url in
                guard let database = tryton["TRYTON_DB"], let key = tryton["TRYTON_REST_KEY"] else { return nil }
                return (url, database, key)
            }
        )
    }()

    /// Why `current` is nil: the variable unset, or the keys missing from each peer's file.
    public static var missing: String? {
        guard current == nil else { return nil }
        guard let root = ProcessInfo.processInfo.environment["LIAISON_PEERS"] else { return "LIAISON_PEERS is not set" }
        let wanted = [
            "synapse": [
                "SYNAPSE_URL", "SYNAPSE_AGENT_TOKEN", "SYNAPSE_ALICE_TOKEN", "LIAISON_AS_TOKEN", "LIAISON_HS_TOKEN",
                "LIAISON_AS_URL",
            ],
            "crm": ["CRM_URL", "CRM_PAT", "CRM_JWT", "CRM_PID"],
        ]
        return wanted.sorted { $0.key < $1.key }.compactMap { peer, keys -> String? in
            let file = "\(root)/\(peer)/env.sh"
            let found = environment(file: file)
            let absent = keys.filter { found[$0] == nil }
            return absent.isEmpty ? nil : "\(file) lacks \(absent.joined(separator: ", "))"
        }.joined(separator: "; ")
    }

    /// `export A=1 B=2` lines into a dictionary (values without spaces, as the peer scripts write them).
    static func environment(file: String) -> [String: String] {
        guard let text = try? String(contentsOfFile: file, encoding: .utf8) else { return [:] }
        var values: [String: String] = [:]
        for line in text.split(separator: "\n") where line.hasPrefix("export ") {
            for pair in line.dropFirst(7).split(separator: " ") {
                guard let equals = pair.firstIndex(of: "=") else { continue }
                values[String(pair[..<equals])] = String(pair[pair.index(after: equals)...])
            }
        }
        return values
    }
}

/// The Matrix client-server calls the tests make as people (and as the AS bot).
public struct MatrixTestClient: Sendable {
    let http: HTTPTestClient
    let token: String

    public init(homeserver: URL, token: String) {
        http = HTTPTestClient(base: homeserver)
        self.token = token
    }

    private var auth: [String: String] { ["Authorization": "Bearer \(token)"] }

    private static func escape(_ text: String) -> String {
        text.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? text
    }

    public func createRoom(name: String, invite: [String]) async throws -> String {
        let reply = try await http.json(
            "POST", "/_matrix/client/v3/createRoom", headers: auth,
            ["name": name, "preset": "private_chat", "invite": invite, "is_direct": true]
        )
        guard let room = reply.json["room_id"] as? String else {
            throw TestFailure("createRoom: \(reply.status) \(reply.text)")
        }
        return room
    }

    public func join(_ room: String) async throws {
        let reply = try await http.json(
            "POST", "/_matrix/client/v3/rooms/\(Self.escape(room))/join", headers: auth, [:])
        guard reply.status == 200 else { throw TestFailure("join: \(reply.status) \(reply.text)") }
    }

    public func invite(_ room: String, _ user: String) async throws {
        let reply = try await http.json(
            "POST", "/_matrix/client/v3/rooms/\(Self.escape(room))/invite", headers: auth, ["user_id": user])
        guard reply.status == 200 else { throw TestFailure("invite: \(reply.status) \(reply.text)") }
    }

    /// The room's latest message events, newest first: (sender, msgtype, body).
    public func messages(_ room: String) async throws -> [(sender: String, type: String, body: String)] {
        let reply = try await http.send(
            "GET", "/_matrix/client/v3/rooms/\(Self.escape(room))/messages?dir=b&limit=50", headers: auth)
        let chunk = reply.json["chunk"] as? [[String: Any]] ?? []
        return chunk.compactMap { event in
            guard event["type"] as? String == "m.room.message", let content = event["content"] as? [String: Any] else {
                return nil
            }
            return (
                event["sender"] as? String ?? "", content["msgtype"] as? String ?? "", content["body"] as? String ?? ""
            )
        }
    }

    /// Rooms this user is invited to, with who invited them (from an initial `/sync`).
    public func invites() async throws -> [(room: String, inviter: String)] {
        let filter = Self.escape(#"{"room":{"timeline":{"limit":1}}}"#)
        let reply = try await http.send("GET", "/_matrix/client/v3/sync?timeout=0&filter=\(filter)", headers: auth)
        let invited = (reply.json["rooms"] as? [String: Any])?["invite"] as? [String: Any] ?? [:]
        return invited.map { room, value in
            let events =
                ((value as? [String: Any])?["invite_state"] as? [String: Any])?["events"] as? [[String: Any]] ?? []
            let inviter =
                events.first { $0["type"] as? String == "m.room.member" && $0["sender"] as? String != nil }?["sender"]
                as? String ?? ""
            return (room, inviter)
        }
    }

    @discardableResult
    public func send(_ room: String, _ text: String) async throws -> String {
        let txn = UUID().uuidString
        let reply = try await http.json(
            "PUT", "/_matrix/client/v3/rooms/\(Self.escape(room))/send/m.room.message/\(txn)", headers: auth,
            ["msgtype": "m.text", "body": text]
        )
        guard let id = reply.json["event_id"] as? String else {
            throw TestFailure("send: \(reply.status) \(reply.text)")
        }
        return id
    }
}

/// The BottleCRM calls the tests make to see what Liaison left there.
public struct BottleCRMTestClient: Sendable {
    let http: HTTPTestClient
    let token: String

    public init(base: URL, token: String) {
        http = HTTPTestClient(base: base)
        self.token = token
    }

    private var auth: [String: String] { ["Authorization": "Bearer \(token)"] }

    public func contacts(email: String) async throws -> [[String: Any]] {
        let query = email.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? email
        let reply = try await http.send("GET", "/api/contacts/?email=\(query)&limit=50", headers: auth)
        return reply.json["results"] as? [[String: Any]] ?? []
    }

    /// Contacts whose first or last name contains `name`, newest first.
    public func contacts(name: String) async throws -> [[String: Any]] {
        let query = name.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? name
        let reply = try await http.send("GET", "/api/contacts/?name=\(query)&limit=50", headers: auth)
        return reply.json["results"] as? [[String: Any]] ?? []
    }

    public func delete(contact: String) async throws {
        let reply = try await http.send("DELETE", "/api/contacts/\(contact)/", headers: auth)
        guard reply.status == 200 else { throw TestFailure("deleting contact \(contact): HTTP \(reply.status)") }
    }

    /// Newest first.
    public func interactions(contact: String) async throws -> [[String: Any]] {
        let reply = try await http.send("GET", "/api/interactions/?contact=\(contact)&limit=200", headers: auth)
        return reply.json["interactions"] as? [[String: Any]] ?? []
    }
}

public struct TestFailure: Error, CustomStringConvertible {
    public let description: String
    public init(_ description: String) { self.description = description }
}
