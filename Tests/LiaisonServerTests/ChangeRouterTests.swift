import Foundation
import LiaisonConnectors
import LiaisonCore
import LiaisonStore
import LiaisonSync
import Testing

@Suite("Change router")
struct ChangeRouterTests {
    let cause = InboundRecord(sequence: 5, source: "bottlecrm", dedupeKey: "e-5", receivedAt: Date(), body: [])

    /// A lead moved along the funnel and handed from u-1 to u-2 in one edit.
    func movedAndHandedOver() throws -> RecordChange {
        let lead = SystemRef(system: "bottlecrm", kind: "lead", id: "l-1")
        return try #require(
            ChangeDetector.detect(
                previous: ["name": "Li Na", "status": "assigned", "owner": "u-1"], created: false,
                record: CRMRecord(ref: lead, fields: ["name": "Li Na", "status": "in process", "owner": "u-2"])))
    }

    @Test("a stage move that also hands the record over reaches those who follow only hand-overs, as a hand-over")
    func handOverWithStageMove() throws {
        let change = try movedAndHandedOver()
        #expect(change.kind == .stage && change.kinds == [.stage, .owner])
        var settings = NotifySettings(
            room: "!team:x", owners: ["u-1": "@old:x", "u-2": "@new:x"], changes: [.owner])
        let now = ChangeRouter(settings: settings).route(change, cause: cause)
        let notices = try now.deliveries.map { try JSONDecoder().decode(MatrixNotifier.Payload.self, from: Data($0.payload)) }
        #expect(notices.map(\.recipient.description) == ["room:!team:x", "user:@old:x", "user:@new:x"])
        #expect(notices.allSatisfy { $0.notice.body.hasPrefix("Lead has a new owner: Li Na") }, "\(notices)")

        // Hand-overs in the digest, stage moves not announced: a digest line each, nothing now.
        settings.realtime = [.created, .deleted, .stage]
        let later = ChangeRouter(settings: settings).route(change, cause: cause)
        #expect(later.deliveries.isEmpty && later.digest.count == 3)

        // Neither kind announced: nothing at all.
        settings.changes = [.created, .keyField]
        let none = ChangeRouter(settings: settings).route(change, cause: cause)
        #expect(none.deliveries.isEmpty && none.digest.isEmpty)
    }
}
