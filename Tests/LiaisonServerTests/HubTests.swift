import Foundation
import LiaisonConnectors
import LiaisonCore
import LiaisonServer
import LiaisonStore
import LiaisonSync
import LiaisonTestSupport
import Synchronization
import Testing

/// A hub on a free loopback port with its own SQLite file, archiving to the BottleCRM
/// simulator; stopped (as by SIGTERM) and removed at the end.
struct RunningHub {
    static let secret = "acme-secret-0123456789"
    static let hsToken = "hs-token-for-tests"
    static let apiToken = "api-token-for-tests-0123"

    let hub: Hub
    let task: Task<Void, any Error>
    let client: HTTPTestClient
    let directory: URL
    private let logged: LogLines

    /// The messages of the warnings and errors the hub logged so far.
    var logs: [String] { logged.lines.withLock { $0 } }

    final class LogLines: Sendable {
        let lines = Mutex<[String]>([])
    }

    static func start(mode: ArchiveMode, crm: BottleCRMSimulator, maxBody: Int = 4096) async throws -> RunningHub {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent(
            "liaison-hub-\(UUID().uuidString)")
        var configuration = Configuration()
        configuration.server.port = 0
        configuration.server.maxBodyBytes = maxBody
        configuration.store.directory = directory.path
        configuration.archive.mode = mode
        configuration.archive.intervalSeconds = 1
        configuration.archive.idleTimeoutSeconds = 1
        configuration.delivery.baseBackoffMilliseconds = 50
        configuration.delivery.maxBackoffMilliseconds = 200
        configuration.delivery.maxAttempts = 3
        configuration.delivery.timeoutSeconds = 2
        configuration.bottleCRM = BottleCRMSettings(baseURL: crm.baseURL, token: crm.token)
        configuration.apiTokens = [Self.apiToken]
        configuration.genericSources["acme"] = GenericSourceSettings(
            secret: secret, employees: try UserMatcher(pattern: "agent-.*"))
        configuration.matrix = MatrixSettings(
            homeserver: URL(string: "http://127.0.0.1:9")!, asToken: "as", hsToken: hsToken, botUser: "@bot:x",
            employees: try UserMatcher(users: ["@agent:x"]), customers: nil,
            profiles: [
                "@alice:x": ProfileOverride(name: "Alice Smith", email: "alice@example.com"),
                "@bob:x": ProfileOverride(name: "Bob Li", email: "bob@example.com"),
                // Bob's second account: identity resolution makes it the same customer.
                "@bob.mobile:x": ProfileOverride(name: "Bob Li", email: "bob@example.com"),
                "@carol:x": ProfileOverride(name: "Carol Wu", phone: "+8613900139000"),
            ],
            closeCommand: "!close"
        )
        let logged = LogLines()
        let hub = try Hub(
            configuration: configuration,
            logger: Logger(label: "hub", level: .warning) { record in logged.lines.withLock { $0.append(record.message) } })
        let task = Task { try await hub.run(signals: []) }
        let started = await eventually { hub.server.port != 0 }
        #expect(started, "listener did not start")
        return RunningHub(
            hub: hub, task: task, client: HTTPTestClient(base: URL(string: "http://127.0.0.1:\(hub.server.port)")!),
            directory: directory, logged: logged
        )
    }

    func stop() async {
        task.cancel()
        _ = await task.result
        try? FileManager.default.removeItem(at: directory)
    }

    func post(_ object: [String: Any], delivery: String? = nil, signature: String? = nil) async throws
        -> HTTPTestClient.Reply
    {
        let body = try JSONSerialization.data(withJSONObject: object, options: .sortedKeys)
        var headers = ["X-Liaison-Signature": signature ?? GenericWebhook.sign(body: Array(body), secret: Self.secret)]
        if let delivery { headers["X-Liaison-Delivery"] = delivery }
        return try await client.send("POST", "/hooks/generic/acme", headers: headers, body: body)
    }

    var status: StoreStatus { get throws { try hub.store.status() } }
}

func chat(_ id: String, from sender: String, _ text: String, conversation: String = "t1") -> [String: Any] {
    [
        "id": id, "conversation": conversation, "text": text, "sent_at": "2026-11-24T10:00:00Z",
        "sender": [
            "id": sender, "name": sender == "c-1" ? "Li Na" : "Agent Wu",
            "email": sender == "c-1" ? "li.na@example.com" : "wu@corp",
        ],
    ]
}

@Suite("Hub over HTTP", .serialized)
struct HubTests {
    @Test("health and metrics answer")
    func operations() async throws {
        let crm = try BottleCRMSimulator()
        let hub = try await RunningHub.start(mode: .onClose, crm: crm)
        let health = try await hub.client.send("GET", "/healthz")
        #expect(health.status == 200)
        #expect(health.json["status"] as? String == "ok")
        let head = try await hub.client.send("HEAD", "/healthz")
        #expect(head.status == 200 && head.body.isEmpty, "HEAD is GET without the body")
        let postHealth = try await hub.client.send("POST", "/healthz")
        #expect(postHealth.status == 405 && postHealth.headers["allow"] == "GET, HEAD")
        let metrics = try await hub.client.send("GET", "/metrics")
        #expect(metrics.status == 200)
        #expect(metrics.headers["content-type"]?.hasPrefix("text/plain; version=0.0.4") == true)
        for name in [
            "liaison_events_received_total", "liaison_events_rejected_total{reason=\"bad_signature\"}",
            "liaison_deliveries_total{outcome=\"dead\"}", "liaison_queue_depth{queue=\"outbox\"}",
            "liaison_ingest_seconds_bucket{le=\"0.001\"}",
        ] {
            #expect(metrics.text.contains(name), "missing \(name)")
        }
        await hub.stop()
        await crm.stop()
    }

    @Test("an event log that refuses appends makes /healthz answer 503 for a while, until one succeeds")
    func healthFollowsTheLog() async throws {
        let crm = try BottleCRMSimulator()
        let hub = try await RunningHub.start(mode: .onClose, crm: crm)
        #expect(try await hub.post(chat("m1", from: "c-1", "hello")).status == 200)
        #expect(try await hub.client.send("GET", "/healthz").status == 200)
        hub.hub.store.close()  // as a full disk would, every append now fails
        let refused = try await hub.post(chat("m2", from: "c-1", "hello again"))
        #expect(refused.status == 503 && (refused.json["error"] as? [String: Any])?["code"] as? String == "store_unavailable")
        let health = try await hub.client.send("GET", "/healthz")
        #expect(health.status == 503 && health.json["status"] as? String == "event log refuses appends")
        // Not for good: with no traffic no append would succeed to clear it, and a probe that
        // took the hub out of rotation would keep it out.
        let failedAt = hub.hub.metrics.logFailedAt.load(ordering: .relaxed)
        #expect(failedAt != 0)
        let later = Date(timeIntervalSince1970: Double(failedAt + HubMetrics.logFailureShown) / 1000)
        #expect(hub.hub.metrics.logFailing(now: later.addingTimeInterval(-1)))
        #expect(!hub.hub.metrics.logFailing(now: later))
        await hub.stop()
        await crm.stop()
    }

    @Test("bad input gets a precise 4xx, a counter, and stores nothing")
    func badInput() async throws {
        let crm = try BottleCRMSimulator()
        let hub = try await RunningHub.start(mode: .onClose, crm: crm, maxBody: 512)
        let message = chat("m1", from: "c-1", "hello")
        let unsigned = try await hub.client.send("POST", "/hooks/generic/acme", body: Data("{}".utf8))
        #expect(unsigned.status == 401)
        #expect((unsigned.json["error"] as? [String: Any])?["code"] as? String == "unsigned")
        #expect(try await hub.post(message, signature: "sha256=" + String(repeating: "ab", count: 32)).status == 401)
        let garbage = Data("{not json".utf8)
        let malformed = try await hub.client.send(
            "POST", "/hooks/generic/acme",
            headers: ["X-Liaison-Signature": GenericWebhook.sign(body: Array(garbage), secret: RunningHub.secret)],
            body: garbage
        )
        #expect(malformed.status == 400)
        #expect(try await hub.post(["id": "m", "conversation": "c"]).status == 400)
        var big = message
        big["text"] = String(repeating: "x", count: 600)
        let oversized = try await hub.post(big)
        #expect(oversized.status == 413)
        #expect(try await hub.client.send("POST", "/hooks/generic/nobody", body: Data("{}".utf8)).status == 404)
        #expect(try await hub.client.send("GET", "/nowhere").status == 404)
        let wrongMethod = try await hub.client.send("GET", "/hooks/generic/acme")
        #expect(wrongMethod.status == 405)
        #expect(wrongMethod.headers["allow"] == "POST")
        let noToken = try await hub.client.json("PUT", "/_matrix/app/v1/transactions/1", ["events": []])
        #expect(noToken.status == 403)
        #expect(noToken.json["errcode"] as? String == "M_FORBIDDEN")
        let wrongToken = try await hub.client.json(
            "PUT", "/_matrix/app/v1/transactions/1", headers: ["Authorization": "Bearer nope"], ["events": []]
        )
        #expect(wrongToken.status == 403)
        // The homeserver's queries are refused alike without the token, and counted as received.
        #expect(try await hub.client.send("GET", "/_matrix/app/v1/users/@x:y").status == 403)
        #expect(try await hub.client.send("POST", "/_matrix/app/v1/ping", headers: ["Authorization": "Bearer nope"]).status == 403)
        // A time no transcript can write: it stopped the hub once the transcript was delivered.
        var ancient = message
        ancient["sent_at"] = -1e19
        #expect(try await hub.post(ancient).status == 400)
        // Headers beyond the connection's memory: libmicrohttpd answers by itself, and it is counted.
        // It closes with the rest of the request unread, and the kernel may reset the connection
        // before the client reads the 431 (one run in six here): the counter below is what counts.
        do {
            let padded = try await hub.client.send(
                "POST", "/hooks/generic/acme", headers: ["X-Padding": String(repeating: "a", count: 12_000)],
                body: Data("{}".utf8))
            #expect(padded.status == 431)
        } catch let error as URLError where error.code == .networkConnectionLost {}

        #expect(try hub.status.inboundRecords == 0)
        let metrics = try await hub.client.send("GET", "/metrics").text
        for (reason, count) in [
            ("unsigned", 1), ("bad_signature", 1), ("malformed", 3), ("too_large", 1),
            ("unknown_source", 1), ("unknown_route", 1), ("method_not_allowed", 1), ("unauthenticated", 4),
            ("headers_too_large", 1),
        ] {
            #expect(
                metrics.contains("liaison_events_rejected_total{reason=\"\(reason)\"} \(count)\n"),
                "\(reason) ≠ \(count)")
        }
        #expect(metrics.contains("liaison_events_received_total 14\n"), "every refusal was received")
        #expect(metrics.contains("liaison_events_stored_total 0\n"))
        // Refused before the log: not even an empty group commit ran.
        #expect(metrics.contains("liaison_commit_batch_records_count 0\n"))
        await hub.stop()
        await crm.stop()
    }

    @Test("a repeated Matrix transaction or webhook delivery is acknowledged and stored once")
    func duplicates() async throws {
        let crm = try BottleCRMSimulator()
        let hub = try await RunningHub.start(mode: .onClose, crm: crm)
        let headers = ["Authorization": "Bearer \(RunningHub.hsToken)"]
        let transaction: [String: Any] = [
            "events": [
                [
                    "type": "m.room.message", "sender": "@alice:x", "room_id": "!r", "event_id": "$1",
                    "origin_server_ts": 1_795_514_400_000,
                    "content": ["msgtype": "m.text", "body": "hello"],
                ]
            ]
        ]
        for _ in 0..<3 {
            let reply = try await hub.client.json(
                "PUT", "/_matrix/app/v1/transactions/txn-1", headers: headers, transaction)
            #expect(reply.status == 200)
            #expect(reply.text == "{}")
        }
        let first = try await hub.post(chat("m1", from: "c-1", "hi"), delivery: "d-1")
        let second = try await hub.post(chat("m1", from: "c-1", "hi"), delivery: "d-1")
        #expect(first.json["status"] as? String == "stored")
        #expect(first.json["sequence"] as? Int == 2, "after the Matrix transaction, the log's second record")
        #expect(second.status == 200)
        #expect(second.json["status"] as? String == "duplicate")
        #expect(try hub.status.inboundRecords == 2)
        #expect(await eventually { (try? hub.status.messages) == 2 })
        // Every acknowledgement, duplicates included, came out of a group commit.
        let metrics = try await hub.client.send("GET", "/metrics").text
        #expect(metrics.contains("liaison_commit_batch_records_sum 5\n"))
        await hub.stop()
        await crm.stop()
    }

    @Test(
        "a path or query is percent-decoded once: `a%2541` and `aA` are two transactions, an encoded slash belongs to its id, an encoded token is the token"
    )
    func decodedOnce() async throws {
        let crm = try BottleCRMSimulator()
        let hub = try await RunningHub.start(mode: .onClose, crm: crm)
        let headers = ["Authorization": "Bearer \(RunningHub.hsToken)"]
        for id in ["a%2541", "aA", "a%2Fb"] {
            let reply = try await hub.client.json(
                "PUT", "/_matrix/app/v1/transactions/\(id)", headers: headers, ["events": [[String: Any]]()])
            #expect(reply.status == 200, "\(id): \(reply.text)")
        }
        #expect(try hub.status.inboundRecords == 3, "three distinct transaction ids")
        // Every byte of the token escaped: the query value is decoded, once.
        let escaped = RunningHub.hsToken.utf8.map { String(format: "%%%02X", $0) }.joined()
        let byQuery = try await hub.client.json(
            "PUT", "/_matrix/app/v1/transactions/q1?access_token=\(escaped)", ["events": [[String: Any]]()])
        #expect(byQuery.status == 200, "\(byQuery.text)")
        #expect(try hub.status.inboundRecords == 4)
        await hub.stop()
        await crm.stop()
    }

    @Test("realtime mode: each message reaches the CRM as it arrives, once")
    func realtime() async throws {
        let crm = try BottleCRMSimulator()
        let hub = try await RunningHub.start(mode: .realtime, crm: crm)
        #expect(try await hub.post(chat("m1", from: "c-1", "We need the API plan")).status == 200)
        #expect(await eventually { crm.interactions.count == 1 })
        #expect(try await hub.post(chat("m2", from: "agent-7", "Sending a quote")).status == 200)
        #expect(await eventually { crm.interactions.count == 2 })
        #expect(crm.contacts.count == 1)
        #expect(crm.contacts.first?.email == "li.na@example.com")
        #expect(crm.interactions[0].body.contains("Li Na: We need the API plan"))
        #expect(crm.interactions[1].body.contains("Agent Wu: Sending a quote"))
        // The same message again (a redelivery without a delivery id) changes nothing.
        #expect(try await hub.post(chat("m1", from: "c-1", "We need the API plan")).status == 200)
        #expect(await eventually { (try? hub.status.inboundUnprocessed) == 0 })
        #expect(await eventually { (try? hub.status.deliveriesDelivered) == 2 })
        #expect(crm.interactions.count == 2)
        await hub.stop()
        await crm.stop()
    }

    @Test("the profile lookup API finds a customer by IM id, CRM id, e-mail or phone, behind a token")
    func lookup() async throws {
        let crm = try BottleCRMSimulator()
        let hub = try await RunningHub.start(mode: .realtime, crm: crm)
        var message = chat("m1", from: "c-1", "We need the API plan")
        message["sender"] = ["id": "c-1", "name": "Li Na", "email": "li.na@example.com", "phone": "+86 138-0013-8000"]
        #expect(try await hub.post(message).status == 200)
        #expect(await eventually { (try? hub.status.deliveriesDelivered) == 1 })
        let auth = ["Authorization": "Bearer \(RunningHub.apiToken)"]
        let contact = try #require(crm.contacts.first?.id)
        for query in [
            "system=generic.acme&id=c-1", "system=bottlecrm&kind=contact&id=\(contact)", "email=LI.NA@example.com",
            "phone=%2B8613800138000", "phone=13800138000",
        ] {
            let reply = try await hub.client.send("GET", "/api/v1/customers/lookup?\(query)", headers: auth)
            #expect(reply.status == 200, "\(query): \(reply.text)")
            #expect(reply.json["name"] as? String == "Li Na", "\(query)")
            #expect(
                reply.json["refs"] as? [String] == ["generic.acme:user:c-1", "bottlecrm:contact:\(contact)"], "\(query)"
            )
            let interactions = reply.json["interactions"] as? [[String: Any]] ?? []
            #expect(interactions.count == 1 && (interactions.first?["subject"] as? String)?.contains("Li Na") == true)
        }
        for unknown in ["email=nobody@example.com", "system=bottlecrm&kind=contact&id=never-seen"] {
            #expect(
                try await hub.client.send("GET", "/api/v1/customers/lookup?\(unknown)", headers: auth).status == 404,
                "\(unknown)")
        }
        #expect(try await hub.client.send("GET", "/api/v1/customers/lookup?foo=bar", headers: auth).status == 400)
        let plus = try await hub.client.send("GET", "/api/v1/customers/lookup?email=li.na+crm@example.com", headers: auth)
        #expect(plus.status == 400 && plus.text.contains("%2B"), "\(plus.text)")
        #expect(
            try await hub.client.send("GET", "/api/v1/customers/lookup?email=%20LI.NA@example.com%20", headers: auth)
                .status == 200)
        #expect(try await hub.client.send("GET", "/api/v1/customers/lookup?email=li.na@example.com").status == 401)
        // The scheme's name in any case (RFC 9110 §11.1).
        #expect(
            try await hub.client.send(
                "GET", "/api/v1/customers/lookup?email=li.na@example.com",
                headers: ["Authorization": "bearer \(RunningHub.apiToken)"]
            ).status == 200)
        #expect(
            try await hub.client.send(
                "GET", "/api/v1/customers/lookup?email=li.na@example.com",
                headers: ["Authorization": "Bearer wrong-token-xxxxxxxx"]
            ).status == 401)
        await hub.stop()
        await crm.stop()
    }

    @Test(
        "realtime mode: an agent's opening line, before the customer says anything, is filed with the customer's reply")
    func openingLine() async throws {
        let crm = try BottleCRMSimulator()
        let hub = try await RunningHub.start(mode: .realtime, crm: crm)
        #expect(try await hub.post(chat("m1", from: "agent-7", "Hello, how can I help?")).status == 200)
        #expect(await eventually { (try? hub.status.inboundUnprocessed) == 0 })
        // Nobody to file it under yet: it waits.
        #expect(await holds(for: .milliseconds(300)) { crm.interactions.isEmpty })
        #expect(try await hub.post(chat("m2", from: "c-1", "Price for 10 seats?")).status == 200)
        #expect(await eventually { crm.interactions.count == 1 })
        let body = try #require(crm.interactions.first?.body)
        #expect(body.contains("Agent Wu: Hello, how can I help?") && body.contains("Li Na: Price for 10 seats?"))
        await hub.stop()
        await crm.stop()
    }

    @Test("on-close mode: one transcript when an employee closes, or when the conversation goes idle")
    func onClose() async throws {
        let crm = try BottleCRMSimulator()
        let hub = try await RunningHub.start(mode: .onClose, crm: crm)
        #expect(try await hub.post(chat("m1", from: "c-1", "Budget around 50k")).status == 200)
        #expect(try await hub.post(chat("m2", from: "agent-7", "Noted")).status == 200)
        #expect(try await hub.post(["id": "x", "conversation": "t1", "type": "close"]).status == 200)
        #expect(await eventually { crm.interactions.count == 1 })
        let body = try #require(crm.interactions.first?.body)
        #expect(body.contains("Li Na: Budget around 50k") && body.contains("Agent Wu: Noted"))
        // Idle timeout (1 s here) archives the next stretch without a close.
        #expect(try await hub.post(chat("m3", from: "c-1", "Any discount?", conversation: "t1")).status == 200)
        #expect(await eventually { crm.interactions.count == 2 })
        #expect(crm.interactions.last?.body.contains("Any discount?") == true)
        #expect(crm.interactions.last?.body.contains("Budget") == false)
        await hub.stop()
        await crm.stop()
    }

    @Test("interval mode batches what accumulated")
    func interval() async throws {
        let crm = try BottleCRMSimulator()
        let hub = try await RunningHub.start(mode: .interval, crm: crm)
        for index in 1...3 {
            #expect(try await hub.post(chat("m\(index)", from: "c-1", "line \(index)")).status == 200)
        }
        #expect(await eventually { crm.interactions.count == 1 })
        #expect(crm.interactions.first.map { ["line 1", "line 2", "line 3"].allSatisfy($0.body.contains) } == true)
        await hub.stop()
        await crm.stop()
    }

    @Test("a CRM outage delays but loses nothing; an exhausted budget dead-letters and replay re-drives once")
    func outageAndReplay() async throws {
        let crm = try BottleCRMSimulator()
        let hub = try await RunningHub.start(mode: .realtime, crm: crm)
        crm.inject([.status(503, retryAfter: nil), .status(429, retryAfter: 0)])
        #expect(try await hub.post(chat("m1", from: "c-1", "first")).status == 200)
        #expect(await eventually { crm.interactions.count == 1 })
        // Three failures exhaust the budget (max_attempts 3).
        crm.inject([.status(503, retryAfter: nil), .status(503, retryAfter: nil), .status(503, retryAfter: nil)])
        #expect(try await hub.post(chat("m2", from: "c-1", "second")).status == 200)
        #expect(await eventually { (try? hub.status.deliveriesDead) == 1 })
        #expect(crm.interactions.count == 1)
        #expect(try hub.hub.store.requeueDead(ids: nil, now: Date()) == 1)
        #expect(await eventually { crm.interactions.count == 2 })
        #expect(try hub.status.deliveriesDead == 0)
        #expect(try hub.hub.store.requeueDead(ids: nil, now: Date()) == 0)
        await hub.stop()
        await crm.stop()
    }
}

@Suite("Matrix conversations over HTTP", .serialized)
struct MatrixHubTests {
    static func event(
        _ id: String, type: String = "m.room.message", sender: String, room: String = "!r", body: String? = nil,
        member: String? = nil
    ) -> [String: Any] {
        var event: [String: Any] = [
            "type": type, "sender": sender, "room_id": room, "event_id": id, "origin_server_ts": 1_795_514_400_000,
        ]
        if let body { event["content"] = ["msgtype": "m.text", "body": body] }
        if let member {
            event["state_key"] = member
            event["content"] = ["membership": "join"]
        }
        return event
    }

    @Test("a room where only customers talk is not archived until an employee is in it")
    func customersOnly() async throws {
        let crm = try BottleCRMSimulator()
        let hub = try await RunningHub.start(mode: .realtime, crm: crm)
        let headers = ["Authorization": "Bearer \(RunningHub.hsToken)"]
        let first = try await hub.client.json(
            "PUT", "/_matrix/app/v1/transactions/1", headers: headers,
            ["events": [Self.event("$1", sender: "@alice:x", body: "anyone here?")]])
        #expect(first.status == 200)
        #expect(await eventually { (try? hub.status.messages) == 1 })
        // Deterministically: a scheduler pass over the applied message plans nothing.
        try await hub.hub.scheduler.tick()
        #expect(try hub.status.deliveriesPending + hub.status.deliveriesDelivered == 0)
        #expect(try hub.status.conversationsWithPending == 1)
        let joined = try await hub.client.json(
            "PUT", "/_matrix/app/v1/transactions/2", headers: headers,
            ["events": [Self.event("$2", type: "m.room.member", sender: "@agent:x", member: "@agent:x")]])
        #expect(joined.status == 200)
        #expect(await eventually { crm.interactions.count == 1 })
        #expect(crm.interactions.first?.body.contains("Alice Smith: anyone here?") == true)
        #expect(crm.contacts.first?.email == "alice@example.com")
        await hub.stop()
        await crm.stop()
    }

    @Test(
        "a group with several customers is filed under each who speaks, once a person"
    )
    func groupOfCustomers() async throws {
        let crm = try BottleCRMSimulator()
        let hub = try await RunningHub.start(mode: .onClose, crm: crm)  // its homeserver does not answer
        let headers = ["Authorization": "Bearer \(RunningHub.hsToken)"]
        let reply = try await hub.client.json(
            "PUT", "/_matrix/app/v1/transactions/g1", headers: headers,
            [
                "events": [
                    Self.event("$1", sender: "@alice:x", body: "we need 20 seats"),
                    Self.event("$2", sender: "@carol:x", body: "and SSO"),
                    Self.event("$3", sender: "@bob:x", body: "budget is 50k"),
                    Self.event("$3m", sender: "@bob.mobile:x", body: "(from my phone) 50k max"),
                    Self.event("$4", sender: "@agent:x", body: "noted, quote tomorrow"),
                    Self.event("$5", sender: "@agent:x", body: "!close"),
                ]
            ])
        #expect(reply.status == 200)
        #expect(await eventually { crm.interactions.count == 3 })
        let filed = Dictionary(
            uniqueKeysWithValues: crm.interactions.map { interaction in
                (crm.contacts.first { $0.id == interaction.contact }?.email ?? "?", interaction.body)
            })
        #expect(Set(filed.keys) == ["alice@example.com", "bob@example.com", "?"])
        #expect(crm.contacts.contains { $0.phone == "+8613900139000" && $0.email == nil })
        for body in filed.values {
            #expect(["we need 20 seats", "and SSO", "budget is 50k", "noted, quote tomorrow"].allSatisfy(body.contains))
        }
        #expect(await eventually { (try? hub.status.deliveriesDelivered) == 3 })
        #expect(await holds(for: .seconds(1)) { crm.interactions.count == 3 }, "bob's second account files nothing more")
        await hub.stop()
        await crm.stop()
    }

    @Test("a homeserver's transaction over the webhooks' body limit is taken whole: refused, it would be pushed forever")
    func largeTransaction() async throws {
        let crm = try BottleCRMSimulator()
        let hub = try await RunningHub.start(mode: .onClose, crm: crm)  // webhooks: 4 KiB at most
        let headers = ["Authorization": "Bearer \(RunningHub.hsToken)"]
        let events = (0..<100).map { Self.event("$\($0)", sender: "@alice:x", body: String(repeating: "x", count: 12_000)) }
        let reply = try await hub.client.json("PUT", "/_matrix/app/v1/transactions/big", headers: headers, ["events": events])
        #expect(reply.status == 200, "\(reply.text.prefix(200))")
        #expect(await eventually { (try? hub.status.messages) == 100 })
        // Without the homeserver's token, the webhooks' limit holds: nobody else gets 16 MiB.
        let anonymous = try await hub.client.json("PUT", "/_matrix/app/v1/transactions/big2", ["events": events])
        #expect(anonymous.status == 413, "\(anonymous.text.prefix(200))")
        // A generic webhook of the same size is still refused.
        #expect(try await hub.post(chat("m1", from: "c-1", String(repeating: "x", count: 12_000))).status == 413)
        await hub.stop()
        await crm.stop()
    }

    @Test(
        "a message deleted before the close is filed without its text; one the hub cannot read is counted and reported"
    )
    func redactedAndEncrypted() async throws {
        let crm = try BottleCRMSimulator()
        let hub = try await RunningHub.start(mode: .onClose, crm: crm)
        let headers = ["Authorization": "Bearer \(RunningHub.hsToken)"]
        var redaction = Self.event("$3", type: "m.room.redaction", sender: "@alice:x")
        redaction["redacts"] = "$1"
        var encrypted = Self.event("$4", type: "m.room.encrypted", sender: "@alice:x")
        encrypted["content"] = ["algorithm": "m.megolm.v1.aes-sha2", "ciphertext": "AwgA"]
        let first = try await hub.client.json(
            "PUT", "/_matrix/app/v1/transactions/1", headers: headers,
            [
                "events": [
                    Self.event("$1", sender: "@alice:x", body: "my card is 4111 1111 1111 1111"),
                    Self.event("$2", sender: "@agent:x", body: "please delete that"), redaction, encrypted,
                ]
            ])
        #expect(first.status == 200)
        let close = try await hub.client.json(
            "PUT", "/_matrix/app/v1/transactions/2", headers: headers,
            ["events": [Self.event("$5", sender: "@agent:x", body: "!close")]])
        #expect(close.status == 200)
        #expect(await eventually { crm.interactions.count == 1 })
        let body = try #require(crm.interactions.first?.body)
        #expect(!body.contains("4111"), "\(body)")
        #expect(body.contains("Alice Smith: \(Message.deletedText)") && body.contains("please delete that"), "\(body)")
        let metrics = try await hub.client.send("GET", "/metrics").text
        #expect(metrics.contains("liaison_messages_unreadable_total 1\n"))
        #expect(hub.logs.contains { $0.contains("messages cannot be read and will not be archived") })
        await hub.stop()
        await crm.stop()
    }
}
