import Foundation
import LiaisonConnectors
import LiaisonTestSupport
import Testing

/// `make test` needs the peers it started: a suite skipped for want of them would leave the
/// run green with the real-peer tests not run.
@Test(
    "the real peers are found when the run needs them",
    .enabled(if: ProcessInfo.processInfo.environment["LIAISON_REQUIRE_PEERS"] == "1", "make test sets LIAISON_REQUIRE_PEERS"))
func peersFound() {
    #expect(Peers.current != nil, "\(Peers.missing ?? "")")
    #expect(Peers.current?.tryton != nil, "the Tryton peer's env.sh is missing or incomplete")
}

/// End to end with the real binary, a real Matrix Synapse and a real BottleCRM, as
/// started by `make test` (`scripts/test.sh`). Without `LIAISON_PEERS` these are skipped.
@Suite(
    "Matrix → BottleCRM with real peers", .serialized,
    .enabled(if: Peers.current != nil, "set LIAISON_PEERS (make test does)"))
struct PeerTests {
    let peers = Peers.current!
    var agent: MatrixTestClient { MatrixTestClient(homeserver: peers.synapseURL, token: peers.agentToken) }
    var alice: MatrixTestClient { MatrixTestClient(homeserver: peers.synapseURL, token: peers.aliceToken) }
    var crm: BottleCRMTestClient { BottleCRMTestClient(base: peers.crmURL, token: peers.crmToken) }

    /// A fresh store and a customer profile nobody used before, so tests do not see each other's data.
    struct Run {
        let directory: URL
        let config: URL
        let email: String
        let name: String
    }

    /// Writes a configuration for a Liaison on Synapse's push port with a fresh store in
    /// `directory`: the Matrix and BottleCRM sections every test needs, plus `matrixExtra`
    /// (indented under matrix), `crmExtra` (inside the bottlecrm mapping) and `extra`
    /// (top-level sections).
    func writeConfig(in directory: URL, matrixExtra: String = "", crmExtra: String = "", extra: String) throws -> URL {
        let config = directory.appendingPathComponent("liaison.yaml")
        try """
        server: {listen: "127.0.0.1:\(peers.appServiceURL.port ?? 9009)"}
        store: {directory: "\(directory.path)/data"}
        log: {format: json, level: debug}
        matrix:
          homeserver: \(peers.synapseURL.absoluteString)
          as_token: \(peers.asToken)
          hs_token: \(peers.hsToken)
          bot_user: "@liaison_bot:localhost"
          employees: {users: ["@agent:localhost"]}
          \(matrixExtra)
        bottlecrm: {base_url: "\(peers.crmURL.absoluteString)", token: "\(peers.crmToken)"\(crmExtra)}
        \(extra)
        """.write(to: config, atomically: true, encoding: .utf8)
        return config
    }

    func prepare(mode: String = "on_close", timeout: Int = 3, threepids: Bool = false) throws -> Run {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent(
            "liaison-peer-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let tag = UUID().uuidString.prefix(8).lowercased()
        let email = "alice.\(tag)@example.com"
        let name = "Alice \(tag.uppercased())"
        // Either the profile comes from configuration, or Liaison reads the homeserver's threepids.
        let customerSource =
            threepids
            ? "admin_token: \(peers.agentToken)"
            : #"profiles: {"@alice:localhost": {name: "\#(name)", email: "\#(email)"}}"#
        let config = try writeConfig(
            in: directory, matrixExtra: customerSource,
            extra: """
                archive: {mode: \(mode), idle_timeout_seconds: 3600}
                delivery: {timeout_seconds: \(timeout), base_backoff_ms: 200, max_backoff_ms: 1000, max_attempts: 50}
                """)
        return Run(directory: directory, config: config, email: email, name: name)
    }

    func start(_ run: Run) async throws -> LiaisonProcess {
        let log = run.directory.appendingPathComponent("log-\(UUID().uuidString.prefix(6))")
        let liaison = try LiaisonProcess(arguments: ["serve", "--config", run.config.path], log: log)
        let client = HTTPTestClient(base: peers.appServiceURL)
        let up = await eventually(timeout: .seconds(20)) { (try? await client.send("GET", "/healthz").status) == 200 }
        guard up else { throw TestFailure("liaison did not start: \(liaison.log)") }
        return liaison
    }

    /// Runs `body` with Liaison started, and always stops it and removes the run's files.
    func with(_ run: Run, _ body: (LiaisonProcess) async throws -> Void) async throws {
        let liaison = try await start(run)
        do {
            try await body(liaison)
        } catch {
            await liaison.terminate()
            throw error
        }
        #expect(await liaison.terminate() == 0, "unclean exit: \(liaison.log.suffix(2000))")
        try? FileManager.default.removeItem(at: run.directory)
    }

    /// The bodies of what the bot posted in `room`, as the agent sees it (none if it cannot read).
    func botMessages(_ room: String) async -> [String] {
        ((try? await agent.messages(room)) ?? []).filter { $0.sender == "@liaison_bot:localhost" }.map(\.body)
    }

    func room(_ title: String) async throws -> String {
        let room = try await agent.createRoom(name: title, invite: ["@alice:localhost"])
        try await alice.join(room)
        return room
    }

    /// The transcripts BottleCRM holds for the run's customer, newest first.
    func transcripts(_ run: Run) async throws -> [String] {
        guard let contact = try await crm.contacts(email: run.email).first?["id"] as? String else { return [] }
        return try await crm.interactions(contact: contact).compactMap { $0["body"] as? String }
    }

    @Test("a conversation closed in Matrix lands as one transcript on the customer's BottleCRM contact")
    func archiveOnClose() async throws {
        let run = try prepare()
        try await with(run) { liaison in
            let room = try await room("Support: pricing")
            try await alice.send(room, "Hi, we are interested in the API plan")
            try await agent.send(room, "Happy to help. What budget do you have in mind?")
            try await alice.send(room, "Around 50k, we decide next month")
            try await agent.send(room, "!close")

            var bodies: [String] = []
            let arrived = await eventually(timeout: .seconds(30)) {
                bodies = (try? await transcripts(run)) ?? []
                return !bodies.isEmpty
            }
            #expect(arrived, "no transcript in BottleCRM; liaison log:\n\(liaison.log.suffix(3000))")
            #expect(bodies.count == 1)
            let body = bodies.first ?? ""
            #expect(body.contains("\(run.name): Hi, we are interested in the API plan"))
            #expect(
                body.contains("agent: Happy to help") || body.contains("Agent: Happy to help")
                    || body.contains(": Happy to help"))
            #expect(body.contains("\(run.name): Around 50k, we decide next month"))
            #expect(!body.contains("!close"))
            let contact = try #require(try await crm.contacts(email: run.email).first)
            #expect(contact["first_name"] as? String == "Alice")

            // Replaying every logged event and every dead letter creates nothing twice.
            let replay = try LiaisonProcess.run([
                "replay", "--config", run.config.path, "--events", "--since", "2000-01-01T00:00:00Z",
            ])
            #expect(replay.code == 0, "\(replay.output)")
            #expect(replay.output.contains("0 new messages"), "\(replay.output)")
            // A scheduler pass (every 2 s at most) finds nothing new to archive.
            #expect(await holds(for: .seconds(3)) { ((try? await transcripts(run)) ?? []).count == 1 })
        }
    }

    @Test("a customer's e-mail and phone come from their Matrix third-party ids when no profile is configured")
    func threepids() async throws {
        let run = try prepare(threepids: true)
        let admin = HTTPTestClient(base: peers.synapseURL)
        let phone = "1415\(Int.random(in: 1_000_000...9_999_999))"
        let headers = ["Authorization": "Bearer \(peers.agentToken)"]
        // Replace whatever an earlier run left (the homeserver may outlive one test run).
        _ = try await admin.json(
            "PUT", "/_synapse/admin/v2/users/@alice:localhost", headers: headers, ["threepids": []])
        let update = try await admin.json(
            "PUT", "/_synapse/admin/v2/users/@alice:localhost", headers: headers,
            ["threepids": [["medium": "email", "address": run.email], ["medium": "msisdn", "address": phone]]]
        )
        #expect(update.status == 200, "\(update.text)")
        try await with(run) { liaison in
            let room = try await room("Support: threepids")
            try await alice.send(room, "Please call me back")
            try await agent.send(room, "!close")
            let arrived = await eventually(timeout: .seconds(30)) { ((try? await transcripts(run)) ?? []).count == 1 }
            #expect(arrived, "no transcript on a contact with the threepid e-mail; log:\n\(liaison.log.suffix(3000))")
            let contact = try #require(try await crm.contacts(email: run.email).first)
            #expect((contact["phone"] as? String)?.hasSuffix(phone) == true, "\(contact)")
        }
    }

    @Test("restarting Liaison mid-conversation loses nothing: Synapse redelivers, the transcript is whole")
    func restart() async throws {
        let run = try prepare()
        let first = try await start(run)
        let room: String
        do {
            room = try await self.room("Support: restart")
            try await alice.send(room, "first message before the restart")
            // Wait until the message is in the log, then crash.
            let logged = await eventually(timeout: .seconds(10)) {
                (try? LiaisonProcess.run(["status", "--config", run.config.path]).output.contains(" 1 messages"))
                    == true
            }
            // Otherwise the crash would not be "after storing" and the test would prove less.
            try #require(logged, "the first message never reached the log")
        } catch {
            await first.terminate()
            throw error
        }
        await first.killHard()
        try await alice.send(room, "second message while Liaison is down")
        try await agent.send(room, "!close")
        try await with(run) { liaison in
            var bodies: [String] = []
            let arrived = await eventually(timeout: .seconds(90)) {
                bodies = (try? await transcripts(run)) ?? []
                return bodies.contains { $0.contains("second message while Liaison is down") }
            }
            #expect(arrived, "transcript incomplete: \(bodies); log:\n\(liaison.log.suffix(3000))")
            #expect(bodies.count == 1)
            #expect(bodies.first?.contains("first message before the restart") == true)
        }
    }

    @Test("BottleCRM hung for a while delays the transcript but writes it exactly once")
    func crmOutage() async throws {
        let run = try prepare(timeout: 1)
        try await with(run) { liaison in
            let room = try await room("Support: outage")
            try await alice.send(room, "message during a CRM outage")
            // Pause the CRM's server: requests time out, the outcome is uncertain.
            kill(peers.crmPID, SIGSTOP)
            try await agent.send(room, "!close")
            let retried = await eventually(timeout: .seconds(20)) {
                liaison.log.contains("delivery failed, will retry")
            }
            kill(peers.crmPID, SIGCONT)
            #expect(retried, "no retry seen: \(liaison.log.suffix(2000))")
            var bodies: [String] = []
            let arrived = await eventually(timeout: .seconds(60)) {
                bodies = (try? await transcripts(run)) ?? []
                return !bodies.isEmpty && liaison.log.contains("\"msg\":\"delivered\"")
            }
            #expect(arrived, "no transcript after the outage: \(liaison.log.suffix(3000))")
            // The request BottleCRM held while paused completes late: no second copy may follow.
            #expect(await holds(for: .seconds(2)) { ((try? await transcripts(run)) ?? []).count == 1 })
            #expect(try await crm.contacts(email: run.email).count == 1)
        }
    }
}

/// CRM → IM with the real peers: BottleCRM's own signed webhooks into Liaison, notices
/// into a real Synapse room. In the same serialized suite: every test binds the port
/// Synapse pushes to.
extension PeerTests {
    @Test("a lead created and moved in BottleCRM is announced in the team's Matrix room and to its owner, each once")
    func stageChange() async throws {
        let agent = MatrixTestClient(homeserver: peers.synapseURL, token: peers.agentToken)
        let crm = HTTPTestClient(base: peers.crmURL)
        let room = try await agent.createRoom(name: "Sales team", invite: [])
        try await agent.invite(room, "@liaison_bot:localhost")

        let (secret, unregister) = try await registerCRMWebhook(events: ["lead.created", "lead.updated"])

        // The owner: the BottleCRM profile of the token's user, mapped to the agent in Matrix.
        let pat = ["Authorization": "Bearer \(peers.crmToken)"]
        let listing = try await crm.send("GET", "/api/contacts/?limit=1", headers: pat)
        let profile = try #require(
            (listing.json["users"] as? [[String: Any]])?.first?["id"].map { "\($0)" }, "\(listing.text)")

        let directory = FileManager.default.temporaryDirectory.appendingPathComponent(
            "liaison-crm-peer-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let config = try writeConfig(
            in: directory, crmExtra: ", webhook_secret: \"\(secret)\"",
            extra:
                #"notify: {room: "\#(room)", language: en, record_link: "\#(peers.crmURL.absoluteString)/{kind}s/{id}", owners: {"\#(profile)": "@agent:localhost"}}"#
        )
        let liaison = try LiaisonProcess(
            arguments: ["serve", "--config", config.path], log: directory.appendingPathComponent("log"))
        let health = HTTPTestClient(base: peers.appServiceURL)
        #expect(await eventually(timeout: .seconds(20)) { (try? await health.send("GET", "/healthz").status) == 200 })

        do {
            let tag = UUID().uuidString.prefix(6)
            let created = try await crm.json(
                "POST", "/api/leads/", headers: pat,
                [
                    "title": "API plan \(tag)", "first_name": "Wei", "last_name": "Zhang \(tag)",
                    "email": "wei.\(tag)@example.com",
                    "status": "assigned", "assigned_to": [profile], "contacts": [], "teams": [],
                ])
            let lead = try #require(created.json["id"].map { "\($0)" }, "\(created.status) \(created.text)")
            let moved = try await crm.json("PATCH", "/api/leads/\(lead)/", headers: pat, ["status": "in process"])
            #expect((200..<300).contains(moved.status), "\(moved.text)")

            var notices: [String] = []
            let announced = await eventually(timeout: .seconds(20)) {
                notices = ((try? await agent.messages(room)) ?? [])
                    .filter { $0.sender == "@liaison_bot:localhost" && $0.type == "m.notice" }.map(\.body)
                return notices.contains { $0.contains("Lead moved") }
            }
            #expect(announced, "notices: \(notices)\nlog: \(liaison.log.suffix(3000))")
            let name = "Wei Zhang \(tag)"
            #expect(notices.filter { $0.hasPrefix("New lead: \(name)") }.count == 1, "\(notices)")
            #expect(
                notices.filter { $0.hasPrefix("Lead moved: \(name)") && $0.contains("status: assigned → in process") }
                    .count == 1)
            // Nothing more arrives (no echo, no duplicate).
            #expect(
                await holds(for: .seconds(2)) {
                    await botMessages(room).count == 2
                })
            // The owner hears it in a direct room the bot opened with them.
            var direct: String?
            #expect(
                await eventually(timeout: .seconds(20)) {
                    direct = ((try? await agent.invites()) ?? []).first { $0.inviter == "@liaison_bot:localhost" }?.room
                    return direct != nil
                }, "no direct room from the bot")
            if let direct {
                try await agent.join(direct)
                var private_: [String] = []
                let told = await eventually(timeout: .seconds(20)) {
                    private_ = await botMessages(direct)
                    return private_.contains { $0.hasPrefix("Lead moved: \(name)") }
                }
                #expect(told, "\(private_)")
                #expect(private_.filter { $0.hasPrefix("Lead moved: \(name)") }.count == 1)
            }
        } catch {
            await liaison.terminate()
            throw error
        }
        #expect(await liaison.terminate() == 0)
        await unregister()
        try? FileManager.default.removeItem(at: directory)
    }

    /// Registers Liaison's BottleCRM webhook endpoint for `events` (the org JWT is needed for
    /// webhooks); returns the signing secret BottleCRM answered with, and how to unregister.
    func registerCRMWebhook(events: [String]) async throws -> (secret: String, unregister: @Sendable () async -> Void) {
        let crm = HTTPTestClient(base: peers.crmURL)
        let jwt = ["Authorization": "Bearer \(peers.crmJWT)"]
        let registration = try await crm.json(
            "POST", "/api/webhooks/", headers: jwt,
            ["url": "\(peers.appServiceURL.absoluteString)/hooks/bottlecrm", "events": events])
        let secret = try #require(registration.json["secret"] as? String, "\(registration.status) \(registration.text)")
        let id = registration.json["id"].map { "\($0)" } ?? ""
        return (secret, { _ = try? await crm.send("DELETE", "/api/webhooks/\(id)/", headers: jwt) })
    }
}

extension PeerTests {
    @Test(
        "a Tryton party edited is polled and announced once, even across a restart; a new party is announced as new; a contact mechanism edited or archived alone, a deletion and an archived party are announced"
    )
    func trytonPolling() async throws {
        let tryton = try #require(peers.tryton, "the Tryton peer is not running (scripts/peers/all.sh starts it)")
        let agent = MatrixTestClient(homeserver: peers.synapseURL, token: peers.agentToken)
        let rest = HTTPTestClient(base: tryton.url)
        let auth = ["Authorization": "Bearer \(tryton.key)"]
        let base = "/\(tryton.database)/rest/model/party.party"
        let tag = String(UUID().uuidString.prefix(6))

        // A party that exists before Liaison first polls: learnt, not announced.
        let existing = try await rest.json(
            "POST", "\(base)?f=name", headers: auth,
            [
                "name": "Bob \(tag)",
                "contact_mechanisms": [["create", [["type": "email", "value": "bob.\(tag)@example.com"]]]],
            ])
        let partyID = try #require(existing.json["id"].map { "\($0)" }, "\(existing.status) \(existing.text)")

        let room = try await agent.createRoom(name: "Tryton changes", invite: [])
        try await agent.invite(room, "@liaison_bot:localhost")
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent(
            "liaison-tryton-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let config = try writeConfig(
            in: directory,
            extra: """
                tryton: {base_url: "\(tryton.url.absoluteString)", database: \(tryton.database), rest_key: "\(tryton.key)", poll_interval_seconds: 1, overlap_seconds: 3, deletion_sweep_seconds: 1}
                notify: {room: "\(room)", realtime: [created, deleted, stage, owner, key_field]}
                """)
        func notices() async -> [String] { await botMessages(room) }
        func start() async throws -> LiaisonProcess {
            let liaison = try LiaisonProcess(
                arguments: ["serve", "--config", config.path],
                log: directory.appendingPathComponent("log-\(UUID().uuidString.prefix(4))"))
            #expect(
                await eventually(timeout: .seconds(20)) { liaison.log.contains("tryton polled") },
                "\(liaison.log.suffix(2000))")
            return liaison
        }

        var liaison = try await start()
        do {
            #expect(await holds(for: .seconds(2)) { await notices().isEmpty }, "the existing party was announced")
            let renamed = try await rest.json(
                "PUT", "\(base)/\(partyID)?f=name", headers: auth, ["name": "Bob \(tag) Jr"])
            #expect((200..<300).contains(renamed.status), "\(renamed.text)")
            #expect(
                await eventually(timeout: .seconds(20)) {
                    await notices().contains { $0.hasPrefix("Customer updated: Bob \(tag) Jr") }
                })
            let update = await notices().first { $0.hasPrefix("Customer updated") }
            #expect(update?.contains("name: Bob \(tag) → Bob \(tag) Jr") == true, "\(update ?? "")")
            #expect(update?.contains("by admin") == true, "who changed it: \(update ?? "")")
            #expect(await liaison.terminate() == 0)
            // After a restart, the overlap window re-reads the edit: it is not announced again.
            liaison = try await start()
            let quiet = await holds(for: .seconds(4)) { await notices().count == 1 }
            let seen = await notices()
            #expect(quiet, "\(seen)")
            _ = try await rest.json("POST", "\(base)?f=name", headers: auth, ["name": "Carol \(tag)"])
            #expect(
                await eventually(timeout: .seconds(20)) {
                    await notices().contains { $0.hasPrefix("New customer: Carol \(tag)") }
                })
            let all = await notices()
            #expect(all.count == 2, "\(all)")

            // An e-mail edited on the contact mechanism itself (the party's write_date stays).
            let read = try await rest.send("GET", "\(base)/\(partyID)?f=contact_mechanisms", headers: auth)
            let mechanism = try #require(
                (read.json["contact_mechanisms"] as? [Any])?.first.map { "\($0)" }, "\(read.text)")
            let edited = try await rest.json(
                "PUT", "/\(tryton.database)/rest/model/party.contact_mechanism/\(mechanism)", headers: auth,
                ["value": "bob.new.\(tag)@example.com"])
            #expect((200..<300).contains(edited.status), "\(edited.text)")
            let sawEdit = await eventually(timeout: .seconds(20)) {
                await notices().contains { $0.contains("bob.new.\(tag)@example.com") }
            }
            let afterEdit = await notices()
            #expect(sawEdit, "\(afterEdit)")

            // The mechanism archived: the party has no e-mail any more.
            let archived = try await rest.json(
                "PUT", "/\(tryton.database)/rest/model/party.contact_mechanism/\(mechanism)", headers: auth,
                ["active": false])
            #expect((200..<300).contains(archived.status), "\(archived.text)")
            let sawArchive = await eventually(timeout: .seconds(20)) {
                await notices().contains { $0.contains("email: bob.new.\(tag)@example.com → (none)") }
            }
            let afterArchive = await notices()
            #expect(sawArchive, "\(afterArchive)")

            // Deleted in Tryton: a changed-since poll cannot see it; the sweep does.
            let carol = try await rest.send(
                "GET", "\(base)?f=name&d=\(TrytonParties.base64URL(#"[["name","=","Carol \#(tag)"]]"#))", headers: auth)
            let rows = (try? JSONSerialization.jsonObject(with: carol.body)) as? [[String: Any]]
            let carolID = try #require(rows?.first?["id"].map { "\($0)" }, "\(carol.text)")
            let deleted = try await rest.send("DELETE", "\(base)/\(carolID)", headers: auth)
            #expect(deleted.status == 204)
            let sawDeletion = await eventually(timeout: .seconds(20)) {
                await notices().contains { $0.hasPrefix("Customer deleted: Carol \(tag)") }
            }
            let afterDeletion = await notices()
            #expect(sawDeletion, "\(afterDeletion)")

            // Archived in Tryton (its usual way to remove a party): deleted for the hub.
            let archivedParty = try await rest.json(
                "PUT", "\(base)/\(partyID)?f=name", headers: auth, ["active": false])
            #expect((200..<300).contains(archivedParty.status), "\(archivedParty.text)")
            let sawArchivedParty = await eventually(timeout: .seconds(20)) {
                await notices().contains { $0.hasPrefix("Customer deleted: Bob \(tag) Jr") }
            }
            let afterArchivedParty = await notices()
            #expect(sawArchivedParty, "\(afterArchivedParty)")
        } catch {
            await liaison.terminate()
            throw error
        }
        #expect(await liaison.terminate() == 0)
        try? FileManager.default.removeItem(at: directory)
    }
}
