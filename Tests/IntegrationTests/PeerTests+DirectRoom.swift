import Foundation
import LiaisonConnectors
import LiaisonCore
import LiaisonTestSupport
import Testing

extension PeerTests {
    @Test("on the real Synapse, a direct room whose creation was never recorded is found again, not created twice")
    func lostDirectRoom() async throws {
        let bot = "@liaison_bot:localhost"
        let synapse = HTTPTestClient(base: peers.synapseURL)
        let auth = ["Authorization": "Bearer \(peers.asToken)"]
        func botRooms() async throws -> Set<String> {
            let reply = try await synapse.send(
                "GET", "/_matrix/client/v3/joined_rooms?user_id=\(bot.addingPercentEncoding(withAllowedCharacters: .alphanumerics)!)",
                headers: auth)
            return Set(reply.json["joined_rooms"] as? [String] ?? [])
        }
        let notifier = MatrixNotifier(
            settings: MatrixSettings(
                homeserver: peers.synapseURL, asToken: peers.asToken, hsToken: peers.hsToken, botUser: bot,
                employees: try UserMatcher(users: []), customers: nil, profiles: [:], closeCommand: "!close"),
            timeout: 10)
        // Someone no earlier test opened a direct room with: a fresh user (in the application
        // service's namespace, so that its token may register them).
        let user = "@liaison_dm_\(UUID().uuidString.prefix(8).lowercased()):localhost"
        let register = try await synapse.json(
            "POST", "/_matrix/client/v3/register", headers: auth,
            ["type": "m.login.application_service", "username": String(user.dropFirst().prefix { $0 != ":" })])
        #expect(register.status == 200, "\(register.status) \(register.text)")
        let payload = try JSONEncoder().encode(
            MatrixNotifier.Payload(recipient: .user(user), notice: ChangeNotice(body: "Lead moved", html: "Lead moved")))
        func delivery(_ key: String) -> Delivery {
            Delivery(
                id: 1, target: "matrix", operation: MatrixNotifier.notifyOperation, partition: "p",
                idempotencyKey: IdempotencyKey("\(key)-\(user)"), payload: Array(payload), nextAttemptAt: Date(),
                createdAt: Date())
        }
        let before = try await botRooms()
        let ledger = MemoryLedger()
        ledger.crashAfterWrites.withLock { $0 = true }
        guard case .retryable = await notifier.perform(delivery("notice:1"), ledger: ledger, now: Date()) else {
            Issue.record("the lost ledger line was not reported"); return
        }
        let created = try await botRooms().subtracting(before)
        #expect(created.count == 1, "\(created)")
        ledger.crashAfterWrites.withLock { $0 = false }
        // Retried once the request's timeout has passed (before, the room may still be being made).
        let outcome = await notifier.perform(delivery("notice:1"), ledger: ledger, now: Date().addingTimeInterval(11))
        guard case .delivered = outcome else { Issue.record("\(outcome)"); return }
        #expect(try await botRooms().subtracting(before) == created)
    }
}

extension PeerTests {
    @Test("on the real Synapse, a notice is found again by the key in its content, among the bot's own messages only")
    func noticeLookup() async throws {
        let bot = "@liaison_bot:localhost"
        let notifier = MatrixNotifier(
            settings: MatrixSettings(
                homeserver: peers.synapseURL, asToken: peers.asToken, hsToken: peers.hsToken, botUser: bot,
                employees: try UserMatcher(users: []), customers: nil, profiles: [:], closeCommand: "!close"),
            timeout: 10)
        let room = try await agent.createRoom(name: "Notices", invite: [])
        try await agent.invite(room, bot)
        let start = Date()
        let key = IdempotencyKey("notice:lookup-\(UUID().uuidString.prefix(8))")
        // Someone else's message carrying the same key is not the bot's notice.
        let escaped = room.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? room
        let forged = try await HTTPTestClient(base: peers.synapseURL).json(
            "PUT", "/_matrix/client/v3/rooms/\(escaped)/send/m.room.message/forged-\(UUID().uuidString)",
            headers: ["Authorization": "Bearer \(peers.agentToken)"],
            ["msgtype": "m.notice", "body": "forged", MatrixNotifier.keyField: key.rawValue])
        #expect(forged.status == 200, "\(forged.text)")
        guard case .absent = await notifier.existingNotice(key: key, in: room, since: start) else {
            Issue.record("took another sender's message, or failed"); return
        }
        let payload = try JSONEncoder().encode(
            MatrixNotifier.Payload(recipient: .room(room), notice: ChangeNotice(body: "Lead moved", html: "Lead moved")))
        let delivery = Delivery(
            id: 1, target: "matrix", operation: MatrixNotifier.notifyOperation, partition: "p", idempotencyKey: key,
            payload: Array(payload), nextAttemptAt: Date(), createdAt: start)
        guard case .delivered(let eventID) = await notifier.perform(delivery, ledger: MemoryLedger(), now: Date()) else {
            Issue.record("not delivered"); return
        }
        let found = await notifier.existingNotice(key: key, in: room, since: start)
        guard case .found(let again) = found else { Issue.record("\(found)"); return }
        #expect(again == eventID)
        guard case .absent = await notifier.existingNotice(key: IdempotencyKey("never-sent"), in: room, since: start)
        else { Issue.record("found a notice never sent"); return }
    }
}

extension PeerTests {
    @Test("on the real Synapse, a customer seen without a name is named from their profile, read as the bot")
    func displayNameFromProfile() async throws {
        let name = "Alice \(UUID().uuidString.prefix(6))"
        func rename(_ name: String) async throws {
            let set = try await HTTPTestClient(base: peers.synapseURL).json(
                "PUT", "/_matrix/client/v3/profile/@alice:localhost/displayname",
                headers: ["Authorization": "Bearer \(peers.aliceToken)"], ["displayname": name])
            #expect(set.status == 200, "\(set.text)")
        }
        try await rename(name)
        let names = MatrixDisplayNames(
            settings: MatrixSettings(
                homeserver: peers.synapseURL, asToken: peers.asToken, hsToken: peers.hsToken,
                botUser: "@liaison_bot:localhost", employees: try UserMatcher(users: []), customers: nil, profiles: [:],
                closeCommand: "!close"),
            timeout: 10)
        let alice = Participant(ref: SystemRef(system: "matrix", kind: "user", id: "@alice:localhost"), role: .customer)
        #expect(try await names.enrich(alice).displayName == name)
        let stranger = Participant(ref: SystemRef(system: "matrix", kind: "user", id: "@nobody:localhost"), role: .customer)
        #expect(try await names.enrich(stranger) == stranger)
        try await rename("alice")  // as Synapse named her at registration
    }
}
