import Foundation
import LiaisonConnectors
import LiaisonCore
import LiaisonTestSupport
import Testing

@Suite("Matrix notifier against the contract simulator", .serialized)
struct MatrixNotifierTests {
    @Test("a direct room created but never recorded (the process died) is found again, not created twice")
    func lostDirectRoom() async throws {
        let matrix = try MatrixSimulator(asToken: "as")
        let notifier = MatrixNotifier(
            settings: MatrixSettings(
                homeserver: matrix.homeserver, asToken: "as", hsToken: "hs", botUser: "@liaison_bot:x",
                employees: try UserMatcher(users: []), customers: nil, profiles: [:], closeCommand: "!close"),
            timeout: 5)
        let payload = try JSONEncoder().encode(
            MatrixNotifier.Payload(
                recipient: .user("@owner:x"), notice: ChangeNotice(body: "Lead moved: Li Na", html: "Lead moved")))
        func delivery(_ key: String) -> Delivery {
            Delivery(
                id: 1, target: "matrix", operation: MatrixNotifier.notifyOperation, partition: "bottlecrm:lead:l-1",
                idempotencyKey: IdempotencyKey(key), payload: Array(payload), nextAttemptAt: Date(), createdAt: Date())
        }
        let ledger = MemoryLedger()
        ledger.crashAfterWrites.withLock { $0 = true }
        guard case .retryable = await notifier.perform(delivery("notice:1"), ledger: ledger, now: Date()) else {
            Issue.record("the lost ledger line was not reported"); return
        }
        #expect(matrix.createdRooms.count == 1)
        ledger.crashAfterWrites.withLock { $0 = false }
        guard case .delivered = await notifier.perform(delivery("notice:1"), ledger: ledger, now: Date()) else {
            Issue.record("not delivered after the restart"); return
        }
        #expect(matrix.createdRooms.count == 1)
        #expect(matrix.sent.map(\.room) == Array(matrix.createdRooms.keys))
        // The next notice for the same person uses the same room.
        _ = await notifier.perform(delivery("notice:2"), ledger: ledger, now: Date())
        #expect(matrix.createdRooms.count == 1 && matrix.sent.count == 2)
        await matrix.stop()
    }
}
