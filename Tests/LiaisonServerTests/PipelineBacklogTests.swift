import Foundation
import LiaisonConnectors
import LiaisonCore
import LiaisonStore
import LiaisonSync
import Testing

@Suite("the pipeline and the bound on its backlog")
struct PipelineBacklogTests {
    @Test("each drain tells the backlog how far the pipeline got, so ingest is held only while it lags")
    func drainReports() async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("liaison-pipeline-\(UUID())")
        defer { try? FileManager.default.removeItem(at: directory) }
        let backlog = LogBacklog(limit: 2, pause: .seconds(30))
        let store = try SQLiteStore(directory: directory.path, backlog: backlog)
        defer { store.close() }
        let webhook = GenericWebhook(name: "acme", settings: GenericSourceSettings(secret: "0123456789abcdef"))
        func body(_ n: Int) -> [UInt8] {
            Array(
                #"{"id":"m\#(n)","conversation":"c1","text":"hello \#(n)","sender":{"id":"u1","role":"customer"}}"#
                    .utf8)
        }
        for n in 1...4 {
            _ = try await store.append(
                InboundRecord(source: webhook.source, dedupeKey: nil, receivedAt: Date(), body: body(n)))
        }
        #expect(backlog.depth == 4)

        let pipeline = Pipeline(
            store: store, connectors: [webhook], metrics: HubMetrics(), backlog: backlog, logger: .silent
        ) { _ in }
        #expect(try pipeline.drain(limit: 3) == 3)
        #expect(backlog.depth == 1)
        #expect(try pipeline.drain(limit: 10) == 1)
        #expect(backlog.depth == 0)
        #expect(try pipeline.drain(limit: 10) == 0)
        #expect(backlog.depth == 0)
        // Within the limit nothing is held: with the pipeline attached, an append goes through.
        backlog.attach(true)
        #expect(
            try await store.append(
                InboundRecord(source: webhook.source, dedupeKey: nil, receivedAt: Date(), body: body(5)))
                == .stored(sequence: 5))
        #expect(backlog.holds.value == 0)
    }

    @Test("a customer who changes what they say and back within one batch is kept with the last of it")
    func lastSaidWins() async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("liaison-pipeline-\(UUID())")
        defer { try? FileManager.default.removeItem(at: directory) }
        let store = try SQLiteStore(directory: directory.path)
        defer { store.close() }
        let webhook = GenericWebhook(name: "acme", settings: GenericSourceSettings(secret: "0123456789abcdef"))
        for (n, email) in ["li.na@example.com", "na.li@example.com", "li.na@example.com"].enumerated() {
            let body =
                #"{"id":"m\#(n)","conversation":"c1","text":"hi","sender":{"id":"u1","role":"customer","email":"\#(email)"}}"#
            _ = try await store.append(
                InboundRecord(source: webhook.source, dedupeKey: nil, receivedAt: Date(), body: Array(body.utf8)))
        }
        let pipeline = Pipeline(
            store: store, connectors: [webhook], identity: try IdentityResolver(store: store), metrics: HubMetrics(),
            logger: .silent
        ) { _ in }
        #expect(try pipeline.drain(limit: 10) == 3)
        #expect(try store.person("generic.acme:user:u1")?.email == "li.na@example.com")
        // And the participant, as the transcript will name them.
        let transcript = try store.pendingTranscript(
            for: ConversationID(system: webhook.source, id: "c1"), through: nil)
        #expect(transcript?.entries.count == 3)
        #expect(transcript?.customer?.email == "li.na@example.com")
    }

    @Test("a batch that mixes chat and CRM records resolves the people of both")
    func mixedBatch() async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("liaison-pipeline-\(UUID())")
        defer { try? FileManager.default.removeItem(at: directory) }
        let store = try SQLiteStore(directory: directory.path)
        defer { store.close() }
        let webhook = GenericWebhook(name: "acme", settings: GenericSourceSettings(secret: "0123456789abcdef"))
        let crm = BottleCRMWebhook(secret: "whsec_test", tolerance: 300)
        func chat(_ n: Int, sender: String, email: String) -> InboundRecord {
            let body =
                #"{"id":"m\#(n)","conversation":"c\#(n)","text":"hi","#
                + #""sender":{"id":"\#(sender)","role":"customer","email":"\#(email)"}}"#
            return InboundRecord(source: webhook.source, dedupeKey: nil, receivedAt: Date(), body: Array(body.utf8))
        }
        func contact(_ id: String, email: String) -> InboundRecord {
            let body =
                #"{"event":"contact.created","#
                + #""data":{"id":"\#(id)","first_name":"Na","last_name":"Li","email":"\#(email)"}}"#
            return InboundRecord(source: crm.source, dedupeKey: nil, receivedAt: Date(), body: Array(body.utf8))
        }
        // A customer, then the CRM's contact for them; a contact, then the customer it is.
        for record in [
            chat(1, sender: "u1", email: "li.na@example.com"), contact("c-1", email: "li.na@example.com"),
            contact("c-2", email: "wang.fang@example.com"), chat(2, sender: "u2", email: "wang.fang@example.com"),
            chat(3, sender: "u1", email: "li.na@example.com"),
        ] {
            _ = try await store.append(record)
        }
        let pipeline = Pipeline(
            store: store, connectors: [webhook, crm], identity: try IdentityResolver(store: store),
            metrics: HubMetrics(), logger: .silent
        ) { _ in }
        #expect(try pipeline.drain(limit: 10) == 5)
        let people = try store.people()
        #expect(
            people.map(\.ref).sorted() == [
                "bottlecrm:contact:c-1", "bottlecrm:contact:c-2", "generic.acme:user:u1", "generic.acme:user:u2",
            ])
        #expect(try store.person("generic.acme:user:u1")?.customer == store.person("bottlecrm:contact:c-1")?.customer)
        #expect(try store.person("generic.acme:user:u2")?.customer == store.person("bottlecrm:contact:c-2")?.customer)
        #expect(try store.person("generic.acme:user:u1")?.customer != store.person("generic.acme:user:u2")?.customer)
    }
}
