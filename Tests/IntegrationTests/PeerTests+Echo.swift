import Foundation
import LiaisonTestSupport
import Testing

/// The contact Liaison creates in the real BottleCRM comes back as BottleCRM's webhook,
/// sent inside the create call: it is Liaison's own write, not a new customer to announce.
extension PeerTests {
    @Test(
        "a customer with neither e-mail nor phone gets a BottleCRM contact whose webhook is not announced; a contact someone else creates is"
    )
    func nameOnlyContactEcho() async throws {
        let crm = HTTPTestClient(base: peers.crmURL)
        let team = try await agent.createRoom(name: "Sales team", invite: [])
        try await agent.invite(team, "@liaison_bot:localhost")
        let (secret, unregister) = try await registerCRMWebhook(events: ["contact.created"])

        let directory = FileManager.default.temporaryDirectory.appendingPathComponent(
            "liaison-echo-peer-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let tag = UUID().uuidString.prefix(8).uppercased()
        let name = "Alice N\(tag)"  // her profile: a name, no e-mail, no phone
        let config = try writeConfig(
            in: directory, matrixExtra: #"profiles: {"@alice:localhost": {name: "\#(name)"}}"#,
            crmExtra: ", webhook_secret: \"\(secret)\"",
            extra: """
                archive: {mode: on_close, idle_timeout_seconds: 3600}
                delivery: {timeout_seconds: 5, base_backoff_ms: 200, max_backoff_ms: 1000, max_attempts: 50}
                notify: {room: "\(team)", language: en}
                """)
        do {
            try await with(Run(directory: directory, config: config, email: "", name: name)) { liaison in
                let conversation = try await room("Support: no contact details")
                try await alice.send(conversation, "Hello, call me back about the API plan")
                try await agent.send(conversation, "Will do")
                try await agent.send(conversation, "!close")

                var contacts: [[String: Any]] = []
                let filed = await eventually(timeout: .seconds(30)) {
                    contacts = (try? await self.crm.contacts(name: "N\(tag)")) ?? []
                    return !contacts.isEmpty
                }
                #expect(filed, "no contact in BottleCRM; liaison log:\n\(liaison.log.suffix(3000))")
                #expect(contacts.count == 1)
                #expect(contacts.first?["email"] as? String == nil || contacts.first?["email"] as? String == "")

                // Someone else's new contact is news: once it is announced, so would ours have been.
                let other = "Bob O\(tag)"
                let created = try await crm.json(
                    "POST", "/api/contacts/", headers: ["Authorization": "Bearer \(peers.crmToken)"],
                    ["first_name": "Bob", "last_name": "O\(tag)"])
                #expect((200..<300).contains(created.status), "\(created.text)")
                var notices: [String] = []
                let announced = await eventually(timeout: .seconds(20)) {
                    notices = await botMessages(team)
                    return notices.contains { $0.hasPrefix("New customer: \(other)") }
                }
                #expect(announced, "notices: \(notices)\nlog: \(liaison.log.suffix(3000))")
                // Notices go out in the order their changes came: ours would be no later than Bob's,
                // but a send retried (the bot joining the room) may land after it.
                let quiet = await holds(for: .seconds(3)) {
                    notices = await botMessages(team)
                    return notices.count == 1 && !notices.contains { $0.contains(name) }
                }
                #expect(quiet, "\(notices)")
            }
        } catch {
            await unregister()
            throw error
        }
        await unregister()
    }
}
