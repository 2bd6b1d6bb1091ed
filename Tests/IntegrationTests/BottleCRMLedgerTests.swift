import Foundation
import LiaisonConnectors
import LiaisonCore
import LiaisonTestSupport
import Testing

/// The archiver's look-before-write against the real BottleCRM: what it searches by
/// (the contacts' name filter, their `source_ref`, the interactions' marker) must be
/// what the real server answers, not only what the simulator does.
@Suite(
    "BottleCRM archiver against the real BottleCRM", .serialized,
    .enabled(if: Peers.current != nil, "set LIAISON_PEERS (make test does)"))
struct BottleCRMLedgerTests {
    let peers = Peers.current!

    func delivery(_ key: String, customer: Participant) throws -> Delivery {
        let transcript = Transcript(
            conversation: ConversationID("matrix:!ledger"), channel: "Matrix", customer: customer, trigger: .closed,
            lines: [.init(sentAt: Date(), speaker: customer.displayName ?? "", role: .customer, text: "预算五万")],
            key: IdempotencyKey(key))
        return Delivery(
            id: 1, target: "bottlecrm", operation: BottleCRMArchiver.archiveOperation,
            partition: customer.ref.description, idempotencyKey: IdempotencyKey(key), payload: try transcript.encoded(),
            nextAttemptAt: Date(), createdAt: Date())
    }

    @Test("creates whose answers were lost before the ledger line (a kill -9) are found again, not repeated")
    func lostAnswers() async throws {
        let tag = UUID().uuidString.prefix(8).lowercased()
        // No e-mail, no phone: only the ref written on the contact can find it again.
        let customer = Participant(
            ref: SystemRef(system: "matrix", kind: "user", id: "@nokeys-\(tag):localhost"), role: .customer,
            displayName: "Zhao \(tag)")
        let archiver = BottleCRMArchiver(
            settings: BottleCRMSettings(baseURL: peers.crmURL, token: peers.crmToken), timeout: 10)
        let crm = BottleCRMTestClient(base: peers.crmURL, token: peers.crmToken)
        let ledger = MemoryLedger()
        let first = "archive:\(tag)-1"
        let second = "archive:\(tag)-2"
        /// Performs `key` with its ledger line lost (a "kill -9" after BottleCRM answered),
        /// then again after the "restart"; true when both went as they must.
        func lostThenRetried(_ key: String) async throws -> Bool {
            ledger.crashAfterWrites.withLock { $0 = true }
            guard case .retryable = await archiver.perform(try delivery(key, customer: customer), ledger: ledger, now: Date())
            else { Issue.record("the lost ledger line was not reported"); return false }
            ledger.crashAfterWrites.withLock { $0 = false }
            // Retried once the request's timeout has passed (before, the write may still be landing).
            let later = Date().addingTimeInterval(11)
            guard
                case .delivered = await archiver.perform(
                    try delivery(key, customer: customer), ledger: ledger, now: later)
            else { Issue.record("not delivered after the restart"); return false }
            return true
        }

        // The contact is created, then the process "dies" before recording it.
        guard try await lostThenRetried(first) else { return }
        let contacts = try await crm.contacts(name: String(tag))
        #expect(contacts.count == 1, "\(contacts)")
        let contact = try #require(contacts.first?["id"] as? String)
        #expect(contacts.first?["source_ref"] as? String == customer.ref.description)

        // The next transcript's interaction is written, and its ledger line lost.
        guard try await lostThenRetried(second) else { return }

        let bodies = try await crm.interactions(contact: contact).compactMap { $0["body"] as? String }
        #expect(bodies.filter { $0.hasSuffix("liaison-ref: \(first)") }.count == 1)
        #expect(bodies.filter { $0.hasSuffix("liaison-ref: \(second)") }.count == 1)
        #expect(try await crm.contacts(name: String(tag)).count == 1)

        // Someone deletes the contact in BottleCRM: the next transcript goes to a new one.
        try await crm.delete(contact: contact)
        let third = "archive:\(tag)-3"
        guard case .retryable = await archiver.perform(try delivery(third, customer: customer), ledger: ledger, now: Date())
        else { Issue.record("filing to a deleted contact was not retryable"); return }
        guard
            case .delivered = await archiver.perform(
                try delivery(third, customer: customer), ledger: ledger, now: Date().addingTimeInterval(11))
        else { Issue.record("not delivered after the contact was deleted"); return }
        let now = try await crm.contacts(name: String(tag))
        #expect(now.count == 1 && now.first?["id"] as? String != contact, "\(now)")
    }
}
