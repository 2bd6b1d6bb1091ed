import Foundation
import LiaisonConnectors
import LiaisonCore
import LiaisonServer
import LiaisonStore
import LiaisonSync
import LiaisonTestSupport
import Testing

@Suite("Archive scheduler")
struct ArchiveSchedulerTests {
    let agent = Participant(
        ref: SystemRef(system: "matrix", kind: "user", id: "@agent:corp"), role: .employee, displayName: "Agent Wu")
    let t0 = Date(timeIntervalSince1970: 1_795_514_400)

    /// A closed conversation with `customer` saying one line.
    func closedConversation(_ room: String, customer: Participant, sequence: Int64) -> DecodedRecord {
        let id = ConversationID("matrix:\(room)")
        return DecodedRecord(
            sequence: sequence,
            meaning: .events(
                [
                    .participant(agent, conversation: id), .participant(customer, conversation: id),
                    .message(Message(id: "$\(room)", conversation: id, sender: customer.ref, sentAt: t0, text: "hi")),
                    .close(id, at: t0),
                ], channel: "Matrix"))
    }

    func scheduler(_ store: SQLiteStore, profiles: any ProfileSource) -> ArchiveScheduler {
        ArchiveScheduler(
            store: store, schedule: ArchiveSchedule(mode: .onClose, interval: 60, idleTimeout: 600),
            target: "bottlecrm", wakeup: Wakeup(), profiles: profiles, metrics: HubMetrics(), logger: .silent,
            now: { [t0] in t0 }, planned: {})
    }

    @Test("a stretch's keys: the conversation's customer keeps the key it always had; each other customer has its own, as stable")
    func groupKeys() throws {
        let room = ConversationID("matrix:!g")
        func person(_ id: String, _ role: ParticipantRole) -> Participant {
            Participant(ref: SystemRef(system: "matrix", kind: "user", id: id), role: role, email: "\(id)@x")
        }
        let (alice, bob) = (person("@alice:x", .customer), person("@bob:x", .customer))
        func entry(_ n: Int64, _ who: Participant) -> PendingTranscript.Entry {
            PendingTranscript.Entry(
                sequence: n, message: Message(id: "$\(n)", conversation: room, sender: who.ref, sentAt: t0, text: "m\(n)"),
                sender: who)
        }
        let pending = PendingTranscript(
            conversation: room, channel: "Matrix", customer: alice,
            entries: [entry(1, alice), entry(2, agent), entry(3, bob), entry(4, alice), entry(5, bob)])
        let planned = ArchiveScheduler.plan(pending, trigger: .closed, target: "bottlecrm")
        #expect(planned.map(\.partition) == [alice.ref.description, bob.ref.description])
        var alone = pending
        alone.entries = alone.entries.filter { $0.sender?.ref != bob.ref }
        alone.entries.append(entry(5, agent))
        #expect(ArchiveScheduler.plan(alone, trigger: .closed, target: "bottlecrm").first?.idempotencyKey == planned[0].idempotencyKey,
            "the same stretch filed under the conversation's customer keeps its key, another customer or not")
        #expect(planned[1].idempotencyKey.rawValue.hasPrefix(planned[0].idempotencyKey.rawValue + ":"))
        #expect(ArchiveScheduler.plan(pending, trigger: .closed, target: "bottlecrm") == planned)
    }

    /// A profile source that cannot be asked: down for a while, or refusing the token.
    struct Unavailable: ProfileSource {
        let refused: Bool
        func mightEnrich(_ participant: Participant) -> Bool { true }
        func enrich(_ participant: Participant) async throws -> Participant {
            throw ProfileUnavailable(reason: refused ? "HTTP 401" : "connection refused", refused: refused)
        }
    }

    @Test(
        "a group's other customer the profile source cannot name: an outage makes the stretch wait, a refused token files it without them"
    )
    func groupWithoutProfile() async throws {
        for refused in [false, true] {
            let directory = FileManager.default.temporaryDirectory.appendingPathComponent("liaison-sched-\(UUID())")
            let store = try SQLiteStore(directory: directory.path)
            defer {
                store.close()
                try? FileManager.default.removeItem(at: directory)
            }
            let known = Participant(
                ref: SystemRef(system: "matrix", kind: "user", id: "@li:corp"), role: .customer, email: "li@example.com")
            let unknown = Participant(ref: SystemRef(system: "matrix", kind: "user", id: "@anon:corp"), role: .customer)
            let room = ConversationID("matrix:!g")
            _ = try store.apply(
                [
                    DecodedRecord(
                        sequence: 1,
                        meaning: .events(
                            [
                                .participant(agent, conversation: room), .participant(known, conversation: room),
                                .message(Message(id: "$1", conversation: room, sender: known.ref, sentAt: t0, text: "hi")),
                                .participant(unknown, conversation: room),
                                .message(Message(id: "$2", conversation: room, sender: unknown.ref, sentAt: t0, text: "me too")),
                                .close(room, at: t0),
                            ], channel: "Matrix"))
                ], cursor: nil, now: t0)
            _ = try await scheduler(store, profiles: Unavailable(refused: refused)).tick()
            let planned = try store.deliveries(status: .pending, limit: 10).map(\.partition)
            #expect(planned == (refused ? [known.ref.description] : []), "refused: \(refused)")
            #expect(try store.conversationsWithPendingMessages().isEmpty == refused)
        }
    }

    /// A profile source during whose lookup the customer deletes their message, as a
    /// redaction applied by the pipeline while the scheduler waits on the homeserver.
    struct DeletingWhileAsked: ProfileSource {
        let store: SQLiteStore
        let room: ConversationID
        let message: String
        func mightEnrich(_ participant: Participant) -> Bool { participant.displayName == nil }
        func enrich(_ participant: Participant) async throws -> Participant {
            _ = try store.apply(
                [DecodedRecord(sequence: 9, meaning: .events([.redacted(room, messageID: message)], channel: "Matrix"))],
                cursor: nil, now: Date())
            var named = participant
            named.displayName = "张伟"
            return named
        }
    }

    @Test("a message deleted while the transcript was being planned is filed without its text, planned again at once")
    func deletedWhilePlanning() async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("liaison-sched-\(UUID())")
        let store = try SQLiteStore(directory: directory.path)
        defer {
            store.close()
            try? FileManager.default.removeItem(at: directory)
        }
        let customer = Participant(
            ref: SystemRef(system: "matrix", kind: "user", id: "@zw:corp"), role: .customer, email: "zw@example.com")
        _ = try store.apply([closedConversation("!z", customer: customer, sequence: 1)], cursor: nil, now: t0)
        let room = ConversationID("matrix:!z")
        _ = try await scheduler(store, profiles: DeletingWhileAsked(store: store, room: room, message: "$!z")).tick()
        let delivery = try #require(try store.deliveries(status: .pending, limit: 10).first)
        let transcript = try Transcript.decoded(from: delivery.payload)
        #expect(transcript.lines.map(\.text) == [Message.deletedText])
        #expect(transcript.customer.displayName == "张伟", "the lookup's name kept for the second plan")
        #expect(try store.conversationsWithPendingMessages().isEmpty)
    }

    @Test(
        "while the homeserver is down, a customer known only by name waits (no name-only contact for good); one with an e-mail is filed"
    )
    func profileSourceDown() async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("liaison-sched-\(UUID())")
        let store = try SQLiteStore(directory: directory.path)
        defer {
            store.close()
            try? FileManager.default.removeItem(at: directory)
        }
        let anonymous = Participant(
            ref: SystemRef(system: "matrix", kind: "user", id: "@wf:corp"), role: .customer, displayName: "Wang Fang")
        var known = anonymous
        known.ref = SystemRef(system: "matrix", kind: "user", id: "@ln:corp")
        known.email = "li.na@example.com"
        _ = try store.apply(
            [
                closedConversation("!a", customer: anonymous, sequence: 1),
                closedConversation("!b", customer: known, sequence: 2),
            ], cursor: nil, now: t0)

        // Nothing listens on port 9: the lookup fails at once.
        let down = SynapseProfiles(homeserver: URL(string: "http://127.0.0.1:9/")!, adminToken: "t", timeout: 2)
        _ = try await scheduler(store, profiles: down).tick()
        #expect(try store.deliveries(status: .pending, limit: 10).map(\.partition) == [known.ref.description])
        #expect(try store.conversationsWithPendingMessages().map(\.id) == [ConversationID("matrix:!a")])

        // The homeserver is back and knows nothing more of the customer (404): the transcript is filed.
        let homeserver = HTTPServer(host: "127.0.0.1", port: 0, threads: 1, maxBodyBytes: 4096) { request, respond in
            respond(.json(404, ["errcode": "M_NOT_FOUND", "error": "User not found"]))
        }
        try homeserver.start()
        let back = SynapseProfiles(
            homeserver: URL(string: "http://127.0.0.1:\(homeserver.port)/")!, adminToken: "t", timeout: 2)
        _ = try await scheduler(store, profiles: back).tick()
        #expect(
            Set(try store.deliveries(status: .pending, limit: 10).map(\.partition))
                == [known.ref.description, anonymous.ref.description])
        #expect(try store.conversationsWithPendingMessages().isEmpty)
        await homeserver.stop(grace: .seconds(1))
    }

    @Test("a customer whose membership said no name is named from the homeserver's profile before the transcript is filed")
    func nameFromProfile() async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("liaison-sched-\(UUID())")
        let store = try SQLiteStore(directory: directory.path)
        let homeserver = try MatrixSimulator(asToken: "as-token")
        defer {
            store.close()
            try? FileManager.default.removeItem(at: directory)
        }
        var customer = Participant(ref: SystemRef(system: "matrix", kind: "user", id: "@zw:corp"), role: .customer)
        customer.email = "zhang.wei@example.com"
        homeserver.setDisplayName("张伟", of: "@zw:corp")
        _ = try store.apply([closedConversation("!z", customer: customer, sequence: 1)], cursor: nil, now: t0)
        let settings = MatrixSettings(
            homeserver: homeserver.homeserver, asToken: "as-token", hsToken: "hs", botUser: "@bot:corp",
            employees: try UserMatcher(users: ["@agent:corp"]), customers: nil, profiles: [:], closeCommand: "!close")
        _ = try await scheduler(store, profiles: MatrixDisplayNames(settings: settings, timeout: 2)).tick()
        let delivery = try #require(try store.deliveries(status: .pending, limit: 10).first)
        let transcript = try Transcript.decoded(from: delivery.payload)
        #expect(transcript.customer.displayName == "张伟")
        #expect(transcript.customer.email == "zhang.wei@example.com")
        // The customer's own lines are named alike, not by the Matrix id.
        let customerLines = transcript.lines.filter { $0.role == .customer }
        #expect(!customerLines.isEmpty && customerLines.allSatisfy { $0.speaker == "张伟" }, "\(transcript.lines)")
        await homeserver.stop()

        // The homeserver is down. A customer with no name and nothing else waits for it; one
        // with a name has nothing to gain from it and is filed, even after the failed lookup.
        let nameless = Participant(ref: SystemRef(system: "matrix", kind: "user", id: "@anon:corp"), role: .customer)
        let named = Participant(
            ref: SystemRef(system: "matrix", kind: "user", id: "@wf:corp"), role: .customer, displayName: "Wang Fang")
        _ = try store.apply(
            [closedConversation("!a", customer: nameless, sequence: 2), closedConversation("!b", customer: named, sequence: 3)],
            cursor: nil, now: t0)
        _ = try await scheduler(store, profiles: MatrixDisplayNames(settings: settings, timeout: 2)).tick()
        #expect(
            Set(try store.deliveries(status: .pending, limit: 10).map(\.partition))
                == [customer.ref.description, named.ref.description])
        #expect(try store.conversationsWithPendingMessages().map(\.id) == [ConversationID("matrix:!a")])
    }
}

@Suite("Digest service")
struct DigestServiceTests {
    func withStore(_ body: (SQLiteStore) async throws -> Void) async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("liaison-digest-\(UUID())")
        let store = try SQLiteStore(directory: directory.path)
        defer {
            store.close()
            try? FileManager.default.removeItem(at: directory)
        }
        try await body(store)
    }

    func addLine(_ key: String, sequence: Int64, to store: SQLiteStore) throws {
        let line = DigestItem(key: key, recipient: "room:!team:x", line: "Li Na: email a → b")
        _ = try store.apply(
            [DecodedRecord(sequence: sequence, meaning: .events([], channel: "BottleCRM"), digest: [line])],
            cursor: nil, now: Date())
    }

    /// Runs the service until `done` holds (or its deadline passes), then stops it.
    func run(_ store: SQLiteStore, until done: @escaping @Sendable () async -> Bool) async {
        var settings = NotifySettings(room: "!team:x")
        settings.digestSeconds = 3600
        let digest = DigestService(store: store, router: ChangeRouter(settings: settings), logger: .silent) {}
        let service = Task { try await digest.run() }
        _ = await done()
        service.cancel()
        _ = await service.result
    }

    func pending(_ store: SQLiteStore) throws -> Int { try store.deliveries(status: .pending, limit: 10).count }
    func pending(_ store: SQLiteStore, is count: Int) -> Bool { (try? pending(store)) == count }

    @Test("a restart more than an interval after the last round sends the digest at once; the next waits an interval")
    func dueAcrossRestarts() async throws {
        try await withStore { store in
            try addLine("k1", sequence: 1, to: store)
            try store.moveCursor(DigestService.cursor, to: Int64(Date().timeIntervalSince1970) - 3700)
            await run(store) { await eventually { pending(store, is: 1) } }
            #expect(try pending(store) == 1)
            try addLine("k2", sequence: 2, to: store)
            await run(store) { await holds(for: .milliseconds(500)) { pending(store, is: 1) } }
            #expect(try pending(store) == 1)
        }
    }

    @Test("a bulk edit's digest is several, each fitting one Matrix event, every line in one of them once")
    func largeDigest() async throws {
        try await withStore { store in
            let lines = (0..<1_000).map { n in
                DigestItem(
                    key: "k\(n)", recipient: "room:!team:x",
                    line: "Customer updated: 客户\(n) <Acme & Co> (notes: " + String(repeating: "长", count: 120) + ")")
            }
            _ = try store.apply(
                [DecodedRecord(sequence: 1, meaning: .events([], channel: "BottleCRM"), digest: lines)], cursor: nil,
                now: Date())
            var settings = NotifySettings(room: "!team:x")
            settings.digestSeconds = 3600
            let digest = DigestService(store: store, router: ChangeRouter(settings: settings), logger: .silent) {}
            let planned = try digest.flush()
            #expect(planned > 1)
            let deliveries = try store.deliveries(status: .pending, limit: 100)
            #expect(deliveries.count == planned)
            var seen: [String] = []
            for delivery in deliveries {
                #expect(delivery.payload.count < 60_000, "\(delivery.payload.count) bytes")
                let payload = try JSONDecoder().decode(MatrixNotifier.Payload.self, from: Data(delivery.payload))
                seen += payload.notice.body.split(separator: "\n").dropFirst().map(String.init)
            }
            #expect(seen.count == 1_000 && Set(seen).count == 1_000)
            #expect(try store.pendingDigests().isEmpty)
        }
    }

    @Test("a digest clock left ahead of this one (the clock was set back) starts again from now, not from then")
    func clockSetBack() async throws {
        try await withStore { store in
            let ahead = Int64(Date().timeIntervalSince1970) + 365 * 86_400
            try store.moveCursor(DigestService.cursor, to: ahead)
            await run(store) {
                await eventually { ((try? store.cursor(DigestService.cursor)) ?? ahead) < ahead }
            }
            #expect(try store.cursor(DigestService.cursor) <= Int64(Date().timeIntervalSince1970) + 1)
        }
    }

    @Test("the first start ever begins the clock: nothing is sent before an interval")
    func firstStart() async throws {
        try await withStore { store in
            try addLine("k1", sequence: 1, to: store)
            await run(store) { await holds(for: .milliseconds(300)) { pending(store, is: 0) } }
            #expect(try pending(store) == 0)
            #expect(try store.cursor(DigestService.cursor) > 0)
        }
    }
}
