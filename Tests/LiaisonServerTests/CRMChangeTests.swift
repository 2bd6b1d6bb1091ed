import Foundation
import LiaisonConnectors
import LiaisonCore
import LiaisonServer
import LiaisonStore
import LiaisonSync
import LiaisonTestSupport
import Testing

@Suite("CRM → IM over HTTP", .serialized)
struct CRMChangeTests {
    static let secret = "whsec_hub_test_secret"
    static let asToken = "as-token-for-tests"
    static let apiToken = "api-token-for-tests-0123"

    struct Running {
        let hub: Hub
        let task: Task<Void, any Error>
        let client: HTTPTestClient
        let directory: URL

        func post(
            _ event: String, _ data: [String: Any], delivery: String, eventID: String? = nil,
            signedAt: Date = Date(), secret: String = CRMChangeTests.secret, happenedAt: Date? = nil
        )
            async throws -> HTTPTestClient.Reply
        {
            // BottleCRM sends the same event id, and the event's time, on every delivery of an event.
            var envelope: [String: Any] = ["id": eventID ?? "evt-\(delivery)", "event": event, "data": data]
            if let happenedAt { envelope["created_at"] = ISO8601.format(happenedAt) }
            let body = try JSONSerialization.data(withJSONObject: envelope, options: .sortedKeys)
            let signature = BottleCRMWebhook.sign(
                body: Array(body), secret: secret, timestamp: Int64(signedAt.timeIntervalSince1970))
            return try await client.send(
                "POST", "/hooks/bottlecrm",
                headers: ["X-BottleCRM-Signature": signature, "X-BottleCRM-Delivery": delivery], body: body)
        }

        func stop() async {
            task.cancel()
            _ = await task.result
            try? FileManager.default.removeItem(at: directory)
        }
    }

    func start(
        matrix: MatrixSimulator, language: NoticeLanguage = .en, owners: [String: String] = [:],
        watchers: [String] = [],
        api: Bool = false, now: @escaping @Sendable () -> Date = Date.init
    ) async throws -> Running {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent(
            "liaison-crm-\(UUID().uuidString)")
        var configuration = Configuration()
        configuration.server.port = 0
        configuration.store.directory = directory.path
        configuration.delivery.baseBackoffMilliseconds = 20
        configuration.delivery.maxBackoffMilliseconds = 100
        configuration.bottleCRM = BottleCRMSettings(
            baseURL: URL(string: "http://127.0.0.1:9")!, token: "t", webhookSecret: Self.secret)
        configuration.matrix = MatrixSettings(
            homeserver: matrix.homeserver, asToken: Self.asToken, hsToken: "hs", botUser: "@liaison_bot:x",
            employees: try UserMatcher(users: ["@agent:x"]), customers: nil, profiles: [:], closeCommand: "!close")
        configuration.notify = NotifySettings(
            room: "!team:x", owners: owners, watchers: watchers, language: language,
            recordLink: "http://crm/{kind}s/{id}")
        if api { configuration.apiTokens = [Self.apiToken] }
        let hub = try Hub(configuration: configuration, logger: .silent, now: now)
        let task = Task { try await hub.run(signals: []) }
        #expect(await eventually { hub.server.port != 0 })
        return Running(
            hub: hub, task: task, client: HTTPTestClient(base: URL(string: "http://127.0.0.1:\(hub.server.port)")!),
            directory: directory)
    }

    static var lead: [String: Any] {
        ["id": "l-1", "first_name": "Li", "last_name": "Na", "status": "assigned", "assigned_to": ["u-1"]]
    }

    @Test("a new lead and its stage change are announced in the team room, in order, each once")
    func announces() async throws {
        let matrix = try MatrixSimulator(asToken: Self.asToken)
        let running = try await start(matrix: matrix)
        #expect(try await running.post("lead.created", Self.lead, delivery: "d-1").status == 200)
        var moved = Self.lead
        moved["status"] = "in process"
        #expect(try await running.post("lead.updated", moved, delivery: "d-2").status == 200)
        // BottleCRM redelivers d-2: acknowledged, not announced again.
        let again = try await running.post("lead.updated", moved, delivery: "d-2")
        #expect(again.json["status"] as? String == "duplicate")
        // BottleCRM's manual "redeliver": a new delivery id, the same event.
        let redelivered = try await running.post("lead.updated", moved, delivery: "d-2r", eventID: "evt-d-2")
        #expect(redelivered.json["status"] as? String == "duplicate")
        // An edit that changes nothing watched produces nothing.
        var retitled = moved
        retitled["title"] = "CTO"
        #expect(try await running.post("lead.updated", retitled, delivery: "d-3").status == 200)

        #expect(await eventually { matrix.sent.count == 2 })
        #expect(matrix.sent.map(\.room) == ["!team:x", "!team:x"])
        #expect(matrix.sent[0].body.hasPrefix("New lead: Li Na"))
        #expect(matrix.sent[1].body == "Lead moved: Li Na\n• status: assigned → in process\nhttp://crm/leads/l-1")
        #expect(matrix.sent[1].html?.contains("<strong>Lead moved</strong>") == true)
        #expect(await eventually { (try? running.hub.store.status().inboundUnprocessed) == 0 })
        #expect(await holds(for: .milliseconds(500)) { matrix.sent.count == 2 })
        await running.stop()
        await matrix.stop()
    }

    @Test("an earlier event delivered after a later one (BottleCRM retrying it) is history: not announced, no rollback")
    func lateRedelivery() async throws {
        let matrix = try MatrixSimulator(asToken: Self.asToken)
        let running = try await start(matrix: matrix)
        let t0 = Date().addingTimeInterval(-120)
        #expect(try await running.post("lead.created", Self.lead, delivery: "r-1", happenedAt: t0).status == 200)
        var qualified = Self.lead
        qualified["status"] = "in process"
        var won = Self.lead
        won["status"] = "converted"
        // "in process" happened first, but its delivery failed; "converted" arrives, then the retry.
        #expect(
            try await running.post("lead.updated", won, delivery: "r-3", happenedAt: t0.addingTimeInterval(60))
                .status == 200)
        #expect(
            try await running.post("lead.updated", qualified, delivery: "r-2", happenedAt: t0.addingTimeInterval(30))
                .status == 200)
        #expect(await eventually { (try? running.hub.store.status().inboundUnprocessed) == 0 })
        #expect(await eventually { matrix.sent.count == 2 })
        #expect(await holds(for: .milliseconds(300)) { matrix.sent.count == 2 })
        #expect(matrix.sent[1].body.contains("assigned → converted"), "\(matrix.sent.map(\.body))")
        let snapshot = try running.hub.store.snapshot(SystemRef(system: "bottlecrm", kind: "lead", id: "l-1"))
        #expect(snapshot?.record.fields["status"] == "converted")
        await running.stop()
        await matrix.stop()
    }

    @Test("replaying an earlier time range neither rolls a record's snapshot back nor announces history as news")
    func replayKeepsTheLatestState() async throws {
        let matrix = try MatrixSimulator(asToken: Self.asToken)
        let running = try await start(matrix: matrix)
        #expect(try await running.post("lead.created", Self.lead, delivery: "d-1").status == 200)
        var moved = Self.lead
        moved["status"] = "in process"
        #expect(try await running.post("lead.updated", moved, delivery: "d-2").status == 200)
        #expect(await eventually { matrix.sent.count == 2 })
        #expect(await eventually { (try? running.hub.store.status().inboundUnprocessed) == 0 })

        // `liaison replay --events` over the first event only.
        let store = running.hub.store
        let first = try #require(try store.inbound(after: 0, limit: 1).first)
        let pipeline = Pipeline(
            store: store, connectors: [BottleCRMWebhook(secret: Self.secret, tolerance: 300)],
            changes: ChangeRouter(
                settings: NotifySettings(
                    room: "!team:x", owners: [:], watchers: [], language: .en, recordLink: "http://crm/{kind}s/{id}")),
            metrics: HubMetrics(), logger: .silent
        ) { _ in }
        _ = try pipeline.replay([first])
        let lead = SystemRef(system: "bottlecrm", kind: "lead", id: "l-1")
        #expect(try store.snapshot(lead)?.record.fields["status"] == "in process")

        // The next edit is compared with the latest state: a new title alone is no stage change.
        var retitled = moved
        retitled["title"] = "CTO"
        #expect(try await running.post("lead.updated", retitled, delivery: "d-3").status == 200)
        #expect(await eventually { (try? running.hub.store.status().inboundUnprocessed) == 0 })
        #expect(await holds(for: .milliseconds(500)) { matrix.sent.count == 2 })
        await running.stop()
        await matrix.stop()
    }

    @Test("the contact Liaison itself created comes back as a webhook and is not announced; others are")
    func echo() async throws {
        let matrix = try MatrixSimulator(asToken: Self.asToken)
        let running = try await start(matrix: matrix)
        // What the archiver does before creating a contact in BottleCRM.
        try running.hub.store.expectEcho(
            system: "bottlecrm", kind: "contact", keys: ["email:li.na@example.com"], from: Date(),
            until: Date().addingTimeInterval(60))
        let ours = ["id": "c-1", "first_name": "Li", "last_name": "Na", "email": "Li.Na@example.com"]
        #expect(try await running.post("contact.created", ours, delivery: "e-1").status == 200)
        let theirs = ["id": "c-2", "first_name": "Wang", "last_name": "Fang", "email": "wang.fang@example.com"]
        #expect(try await running.post("contact.created", theirs, delivery: "e-2").status == 200)
        #expect(await eventually { matrix.sent.count == 1 })
        #expect(matrix.sent.first?.body.hasPrefix("New customer: Wang Fang") == true)
        #expect(await eventually { (try? running.hub.store.status().inboundUnprocessed) == 0 })
        #expect(await holds(for: .milliseconds(300)) { matrix.sent.count == 1 })
        await running.stop()
        await matrix.stop()
    }

    @Test(
        "a contact with neither e-mail nor phone is ours by name only while its create is under way, then by its id")
    func nameOnlyEcho() async throws {
        let matrix = try MatrixSimulator(asToken: Self.asToken)
        let running = try await start(matrix: matrix)
        let store = running.hub.store
        // What the archiver does around creating 李娜 (first 娜, last 李) with no e-mail or phone:
        // her name while the create is under way, the new contact's id once it answered.
        try store.expectEcho(
            system: "bottlecrm", kind: "contact", keys: EchoKeys.of(name: "李娜"), from: Date(),
            until: Date().addingTimeInterval(60))
        // And a contact created earlier, whose webhook failed and is retried later, by then
        // with the name someone gave it meanwhile.
        try store.expectEcho(
            system: "bottlecrm", kind: "contact", keys: EchoKeys.of(id: "c-3"), from: Date(),
            until: Date().addingTimeInterval(60))
        // A namesake created after such a window closed is news.
        try store.expectEcho(
            system: "bottlecrm", kind: "contact", keys: EchoKeys.of(name: "Zhang Wei"),
            from: Date().addingTimeInterval(-61), until: Date().addingTimeInterval(-1))
        let ours = ["id": "c-1", "first_name": "娜", "last_name": "李"]
        #expect(try await running.post("contact.created", ours, delivery: "n-1").status == 200)
        let retried = ["id": "c-3", "first_name": "Jie", "last_name": "Chen"]
        #expect(try await running.post("contact.created", retried, delivery: "n-2").status == 200)
        let namesake = ["id": "c-2", "first_name": "Wei", "last_name": "Zhang"]
        #expect(try await running.post("contact.created", namesake, delivery: "n-3").status == 200)
        #expect(await eventually { (try? store.status().inboundUnprocessed) == 0 })
        #expect(await eventually { matrix.sent.count == 1 })
        #expect(matrix.sent.first?.body.hasPrefix("New customer: Wei Zhang") == true, "\(matrix.sent.map(\.body))")
        #expect(await holds(for: .milliseconds(300)) { matrix.sent.count == 1 })
        await running.stop()
        await matrix.stop()
    }

    @Test("owners and watchers are told in direct rooms: both owners on a hand-over, each room opened once")
    func owners() async throws {
        let matrix = try MatrixSimulator(asToken: Self.asToken)
        let running = try await start(
            matrix: matrix, owners: ["u-1": "@alice:x", "u-2": "@bob:x"], watchers: ["@boss:x"])
        #expect(try await running.post("lead.created", Self.lead, delivery: "o-1").status == 200)
        #expect(await eventually { matrix.sent.count == 3 })
        var handedOver = Self.lead
        handedOver["assigned_to"] = ["u-2"]
        #expect(try await running.post("lead.updated", handedOver, delivery: "o-2").status == 200)
        #expect(await eventually { matrix.sent.count == 7 })
        let rooms = matrix.createdRooms
        #expect(Set(rooms.values.map { $0 }) == [["@alice:x"], ["@bob:x"], ["@boss:x"]], "\(rooms)")
        func room(of user: String) -> String? { rooms.first { $0.value == [user] }?.key }
        let handOver = matrix.sent.filter { $0.body.hasPrefix("Lead has a new owner") }
        #expect(
            Set(handOver.map(\.room))
                == Set(["!team:x", room(of: "@alice:x"), room(of: "@bob:x"), room(of: "@boss:x")].compactMap { $0 }))
        #expect(handOver.first?.body.contains("owner: @alice:x → @bob:x") == true, "\(handOver.first?.body ?? "")")
        #expect(matrix.sent.filter { $0.body.hasPrefix("New lead") }.map(\.room).contains(room(of: "@bob:x")) == false)
        await running.stop()
        await matrix.stop()
    }

    @Test("key-field edits wait for the digest: one notice per recipient gathering them, sent once")
    func digest() async throws {
        let matrix = try MatrixSimulator(asToken: Self.asToken)
        let running = try await start(matrix: matrix, owners: ["u-1": "@alice:x"])
        #expect(try await running.post("lead.created", Self.lead, delivery: "g-1").status == 200)
        #expect(await eventually { matrix.sent.count == 2 })  // team room + owner, at once
        var edited = Self.lead
        edited["email"] = "li.na@example.com"
        #expect(try await running.post("lead.updated", edited, delivery: "g-2").status == 200)
        edited["phone"] = "+8613800138000"
        #expect(try await running.post("lead.updated", edited, delivery: "g-3").status == 200)
        #expect(await eventually { (try? running.hub.store.status().inboundUnprocessed) == 0 })
        #expect(matrix.sent.count == 2)  // nothing yet: key-field edits are not realtime
        let digest = try #require(running.hub.digest)
        #expect(try digest.flush() == 2)
        #expect(try digest.flush() == 0)
        #expect(await eventually { matrix.sent.count == 4 })
        let digests = matrix.sent.suffix(2)
        #expect(digests.allSatisfy { $0.body.hasPrefix("CRM changes (2)") }, "\(digests.map(\.body))")
        #expect(digests.first?.body.contains("Lead updated: Li Na (email: li.na@example.com)") == true)
        #expect(digests.first?.body.contains("(phone: +8613800138000)") == true)
        // The next interval's digest is its own, though the emptied table numbers its lines
        // from the start again.
        edited["email"] = "na.li@example.com"
        #expect(try await running.post("lead.updated", edited, delivery: "g-4").status == 200)
        edited["phone"] = "+8613900139000"
        #expect(try await running.post("lead.updated", edited, delivery: "g-5").status == 200)
        #expect(await eventually { (try? running.hub.store.status().inboundUnprocessed) == 0 })
        #expect(try digest.flush() == 2)
        #expect(await eventually { matrix.sent.count == 6 })
        #expect(matrix.sent.suffix(2).allSatisfy { $0.body.contains("na.li@example.com") }, "\(matrix.sent.suffix(2))")
        await running.stop()
        await matrix.stop()
    }

    @Test("forged, unsigned or stale webhooks get 401 and change nothing")
    func refused() async throws {
        let matrix = try MatrixSimulator(asToken: Self.asToken)
        let running = try await start(matrix: matrix)
        #expect(
            try await running.post("lead.created", Self.lead, delivery: "x-1", secret: "whsec_forged").status == 401)
        #expect(
            try await running.post(
                "lead.created", Self.lead, delivery: "x-2", signedAt: Date().addingTimeInterval(-3600)
            ).status == 401)
        let unsigned = try await running.client.send("POST", "/hooks/bottlecrm", body: Data("{}".utf8))
        #expect(unsigned.status == 401)
        #expect(try running.hub.store.status().inboundRecords == 0)
        // Without api.tokens the REST API is off.
        #expect(try await running.client.send("GET", "/api/v1/customers/lookup?email=a@b.c").status == 403)
        let metrics = try await running.client.send("GET", "/metrics").text
        #expect(metrics.contains("liaison_events_rejected_total{reason=\"stale_signature\"} 1"))
        #expect(metrics.contains("liaison_events_rejected_total{reason=\"bad_signature\"} 1"))
        await running.stop()
        await matrix.stop()
    }

    @Test("rate-limited sends are retried after retry_after_ms, and the transaction id keeps them single")
    func rateLimited() async throws {
        let matrix = try MatrixSimulator(asToken: Self.asToken)
        matrix.rateLimitNext(2)
        let running = try await start(matrix: matrix, language: .zhCN)
        #expect(
            try await running.post(
                "contact.created", ["id": "c-1", "first_name": "娜", "last_name": "李"], delivery: "z-1"
            ).status == 200)
        #expect(await eventually { matrix.sent.count == 1 })
        // Liaison files 李娜 as first 娜, last 李: read back, the family name comes first.
        #expect(matrix.sent.first?.body.hasPrefix("新客户: 李娜") == true, "\(matrix.sent.first?.body ?? "")")
        // The send is recorded once its answer is back, a moment after the homeserver saw it.
        #expect(await eventually { (try? running.hub.store.status().deliveriesDelivered) == 1 })
        #expect(matrix.refusals == 3)  // two 429s, then 403 until the bot joined
        await running.stop()
        await matrix.stop()
    }

    @Test(
        "CRM people are resolved as they arrive; the uncertain pair waits for review, accept merges, unmerge restores")
    func identity() async throws {
        let matrix = try MatrixSimulator(asToken: Self.asToken)
        // The hub's clock runs two minutes ahead of the wall clock (inside the webhooks'
        // 5-minute tolerance): a decision taken by the wall clock would be two minutes early.
        let running = try await start(matrix: matrix, api: true) { Date().addingTimeInterval(120) }
        let onHubClock = { (date: Date?) in date.map { $0.timeIntervalSinceNow > 60 } }
        let store = running.hub.store
        let auth = ["Authorization": "Bearer \(Self.apiToken)"]
        #expect(
            try await running.post(
                "contact.created",
                ["id": "c-1", "first_name": "Jianhua", "last_name": "Wang", "email": "jianhua@example.com"],
                delivery: "p-1"
            ).status == 200)
        #expect(
            try await running.post(
                "lead.created", ["id": "l-9", "first_name": "王", "last_name": "建华", "phone": "13800138000"],
                delivery: "p-2"
            ).status == 200)
        #expect(
            try await running.post(
                "contact.created", ["id": "c-2", "name": "J. Wang", "email": " JIANHUA@example.com "], delivery: "p-3"
            ).status == 200)
        #expect(
            try await running.post("deal.created", ["id": "d-1", "name": "Wang Jianhua"], delivery: "p-4").status == 200
        )
        #expect(await eventually { ((try? store.people()) ?? []).count == 3 })  // the deal is not a person
        let first = try #require(try store.person("bottlecrm:contact:c-1"))
        #expect(try store.person("bottlecrm:contact:c-2")?.customer == first.customer)
        #expect(try store.person("bottlecrm:lead:l-9")?.customer != first.customer)

        #expect(try await running.client.send("GET", "/api/v1/identity/reviews").status == 401)
        let list = try await running.client.send("GET", "/api/v1/identity/reviews", headers: auth)
        #expect(list.status == 200)
        let reviews = try JSONDecoder.iso.decode([String: [IdentityReview]].self, from: list.body)["reviews"] ?? []
        let review = try #require(reviews.first)
        #expect(reviews.count == 1)
        #expect(Set([review.left, review.right]) == ["bottlecrm:contact:c-1", "bottlecrm:lead:l-9"])
        #expect(
            try await running.client.send("GET", "/api/v1/identity/reviews?status=maybe", headers: auth).status == 400)
        // Page by page: the next page starts after the last id of this one.
        let after = try await running.client.send(
            "GET", "/api/v1/identity/reviews?status=all&after=\(review.id)", headers: auth)
        #expect(after.status == 200 && (after.json["reviews"] as? [Any])?.isEmpty == true, "\(after.text)")
        #expect(try await running.client.send("GET", "/api/v1/identity/reviews?after=x", headers: auth).status == 400)
        #expect(try await running.client.send("GET", "/api/v1/identity/merges?before=-1", headers: auth).status == 400)
        #expect(
            try await running.client.send("POST", "/api/v1/identity/reviews/999/accept", headers: auth).status == 404)

        // A body that cannot say who decides is refused, and decides nothing.
        for (body, status) in [
            ("{by: lin}", 400), (#"{"by": 7}"#, 400), ("[]", 400), (String(repeating: "x", count: 1_100_000), 413),
        ] {
            let refused = try await running.client.send(
                "POST", "/api/v1/identity/reviews/\(review.id)/accept", headers: auth, body: Data(body.utf8))
            #expect(refused.status == status, "\(body.prefix(20))")
            #expect(refused.json["error"] != nil)
        }
        #expect(try store.review(id: review.id)?.decidedBy == nil)

        let accept = try await running.client.send(
            "POST", "/api/v1/identity/reviews/\(review.id)/accept", headers: auth, body: Data(#"{"by":"lin"}"#.utf8))
        #expect(accept.status == 200, "\(String(decoding: accept.body, as: UTF8.self))")
        #expect(try store.person("bottlecrm:lead:l-9")?.customer == first.customer)
        #expect(try store.review(id: review.id)?.decidedBy == "lin")
        #expect(onHubClock(try store.review(id: review.id)?.decidedAt) == true)
        // The profile lookup sees the merged customer from any of its records.
        let lookup = try await running.client.send(
            "GET", "/api/v1/customers/lookup?system=bottlecrm&kind=lead&id=l-9", headers: auth)
        #expect(lookup.status == 200)
        let profile = try JSONDecoder.iso.decode(CustomerProfile.self, from: lookup.body)
        #expect(profile.customer == first.customer)
        #expect(
            Set(profile.refs) == ["bottlecrm:contact:c-1", "bottlecrm:contact:c-2", "bottlecrm:lead:l-9"],
            "\(profile.refs)")
        #expect(
            try await running.client.send("POST", "/api/v1/identity/reviews/\(review.id)/reject", headers: auth).status
                == 409)
        // The same decision again (a retry after a lost answer) is answered as the first, merging nothing more.
        let merges = try store.merges(limit: 10).count
        let retried = try await running.client.send(
            "POST", "/api/v1/identity/reviews/\(review.id)/accept", headers: auth, body: Data(#"{"by":"lin"}"#.utf8))
        #expect(retried.status == 200 && retried.body == accept.body, "\(retried.text)")
        #expect(try store.merges(limit: 10).count == merges)
        let merge = try #require(try store.merges(limit: 1).first)
        #expect(onHubClock(merge.at) == true)
        let undone = try await running.client.send("POST", "/api/v1/identity/merges/\(merge.id)/unmerge", headers: auth)
        #expect(undone.status == 200)
        #expect(onHubClock(try store.merges(limit: 1).first?.undoneAt) == true)
        #expect(try store.person("bottlecrm:lead:l-9")?.customer != first.customer)
        #expect(try store.person("bottlecrm:contact:c-2")?.customer == first.customer)
        let undoneAgain = try await running.client.send(
            "POST", "/api/v1/identity/merges/\(merge.id)/unmerge", headers: auth)
        #expect(undoneAgain.status == 200 && undoneAgain.body == undone.body, "\(undoneAgain.text)")
        #expect(try store.person("bottlecrm:lead:l-9")?.customer != first.customer)
        // Found by its phone, the lead stays a lead (it was reported as a contact of that id).
        let byPhone = try await running.client.send(
            "GET", "/api/v1/customers/lookup?phone=%2B86%20138%200013%208000", headers: auth)
        #expect(byPhone.status == 200)
        let leadProfile = try JSONDecoder.iso.decode(CustomerProfile.self, from: byPhone.body)
        #expect(leadProfile.refs.contains("bottlecrm:lead:l-9"), "\(leadProfile.refs)")
        #expect(!leadProfile.refs.contains("bottlecrm:contact:l-9"), "\(leadProfile.refs)")
        await running.stop()
    }
}

extension JSONDecoder {
    /// Decodes what `HTTPResponse.json` encodes (ISO 8601 dates).
    static var iso: JSONDecoder {
        let decoder = JSONDecoder()
        decoder.dateDecodingStrategy = .iso8601
        return decoder
    }
}
