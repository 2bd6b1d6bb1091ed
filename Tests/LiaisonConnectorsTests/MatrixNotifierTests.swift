import Foundation
import LiaisonConnectors
import LiaisonCore
import LiaisonTestSupport
import Testing

@Suite("Matrix notifier against the contract simulator", .serialized)
struct MatrixNotifierTests {
    func notifier(_ matrix: MatrixSimulator, timeout: TimeInterval = 5) throws -> MatrixNotifier {
        MatrixNotifier(
            settings: MatrixSettings(
                homeserver: matrix.homeserver, asToken: "as", hsToken: "hs", botUser: "@liaison_bot:x",
                employees: try UserMatcher(users: []), customers: nil, profiles: [:], closeCommand: "!close"),
            timeout: timeout)
    }

    func notice(_ key: String, to recipient: MatrixNotifier.Recipient, uncertain: Bool = false) throws -> Delivery {
        let payload = try JSONEncoder().encode(
            MatrixNotifier.Payload(recipient: recipient, notice: ChangeNotice(body: "Lead moved: Li Na", html: "Lead moved")))
        return Delivery(
            id: 1, target: "matrix", operation: MatrixNotifier.notifyOperation, partition: "bottlecrm:lead:l-1",
            idempotencyKey: IdempotencyKey(key), payload: Array(payload), nextAttemptAt: Date(), uncertain: uncertain,
            createdAt: Date())
    }

    @Test(
        "a notice whose answer was lost is found in the room after the homeserver forgot its transaction id, not posted twice"
    )
    func lostAnswer() async throws {
        let matrix = try MatrixSimulator(asToken: "as")
        let notifier = try notifier(matrix)
        _ = await notifier.perform(try notice("notice:0", to: .room("!team:x")), ledger: MemoryLedger(), now: Date())
        #expect(matrix.sent.count == 1)  // the bot joined the room and posted

        // An attempt that gives up before the answer comes.
        // Its 1.5 s leave a loaded machine (CI, with the peers running) time to deliver the
        // request; with 0.5 s the client sometimes gave up before sending anything.
        matrix.answerNextSendAfter(.seconds(5))
        let impatient = try self.notifier(matrix, timeout: 1.5)
        let first = await impatient.perform(
            try notice("notice:1", to: .room("!team:x")), ledger: MemoryLedger(), now: Date())
        guard case .retryable(_, _, uncertain: true) = first else { Issue.record("\(first)"); return }
        // It landed (give the simulator a moment to record it); the answer did not come back in time.
        #expect(await eventually { matrix.sent.count == 2 })
        matrix.forgetTransactions()  // Synapse restarted, or an hour went by

        let retried = await notifier.perform(
            try notice("notice:1", to: .room("!team:x"), uncertain: true), ledger: MemoryLedger(), now: Date())
        #expect(retried == .delivered(remoteID: matrix.sent[1].eventID))
        #expect(matrix.sent.count == 2)
        #expect(matrix.sent.map(\.key) == ["notice:0", "notice:1"])

        // Uncertain but never landed: looked for, not found, posted once.
        let never = await notifier.perform(
            try notice("notice:2", to: .room("!team:x"), uncertain: true), ledger: MemoryLedger(), now: Date())
        #expect(never == .delivered(remoteID: matrix.sent.last?.eventID ?? "?"))
        #expect(matrix.sent.count == 3)
        // A look that fails says nothing: retried later, nothing posted.
        matrix.failNextLookups(1)
        let blind = await notifier.perform(
            try notice("notice:3", to: .room("!team:x"), uncertain: true), ledger: MemoryLedger(), now: Date())
        guard case .retryable(_, _, uncertain: true) = blind else { Issue.record("\(blind)"); return }
        #expect(matrix.sent.count == 3)
        // A certain first attempt does not look.
        let lookups = matrix.lookups
        _ = await notifier.perform(try notice("notice:4", to: .room("!team:x")), ledger: MemoryLedger(), now: Date())
        #expect(matrix.lookups == lookups && matrix.sent.count == 4)
        await matrix.stop()
    }

    @Test("a 429's retry_after_ms is followed, and one no clock could mean is read without a trap")
    func rateLimitHint() async throws {
        let matrix = try MatrixSimulator(asToken: "as")
        let notifier = try notifier(matrix)
        matrix.rateLimitNext(1, retryAfterMs: "2500")
        let limited = await notifier.perform(try notice("notice:0", to: .room("!team:x")), ledger: MemoryLedger(), now: Date())
        guard case .retryable(_, after: .some(let after), uncertain: false) = limited else { Issue.record("\(limited)"); return }
        #expect(after == .milliseconds(2500))
        matrix.rateLimitNext(1, retryAfterMs: "1e30")
        let absurd = await notifier.perform(try notice("notice:1", to: .room("!team:x")), ledger: MemoryLedger(), now: Date())
        guard case .retryable(_, after: .some(let far), uncertain: false) = absurd else { Issue.record("\(absurd)"); return }
        #expect(far >= RetryPolicy.longestHonouredWait)
        #expect(matrix.sent.isEmpty)
        await matrix.stop()
    }

    @Test("a notice sent by an attempt that died before its outcome was noted is found, once it had time to land, not posted twice")
    func lostOutcome() async throws {
        let matrix = try MatrixSimulator(asToken: "as")
        let notifier = try notifier(matrix)
        let created = Date()
        let payload = try JSONEncoder().encode(
            MatrixNotifier.Payload(recipient: .room("!team:x"), notice: ChangeNotice(body: "Lead won", html: "Lead won")))
        let delivery = Delivery(
            id: 1, target: "matrix", operation: MatrixNotifier.notifyOperation, partition: "bottlecrm:lead:l-1",
            idempotencyKey: IdempotencyKey("notice:died"), payload: Array(payload), nextAttemptAt: created,
            createdAt: created)
        let ledger = MemoryLedger()
        ledger.crashAfterWrites.withLock { $0 = true }  // the hub dies before noting the outcome
        guard case .retryable = await notifier.perform(delivery, ledger: ledger, now: Date()) else {
            Issue.record("the lost outcome was not reported"); return
        }
        #expect(matrix.sent.count == 1)
        ledger.crashAfterWrites.withLock { $0 = false }
        matrix.forgetTransactions()  // and Synapse restarted too
        // Restarted at once: the send may still be landing; not looked for yet, not sent again.
        guard case .retryable = await notifier.perform(delivery, ledger: ledger, now: Date()) else {
            Issue.record("sent again at once"); return
        }
        #expect(matrix.sent.count == 1)
        let later = await notifier.perform(delivery, ledger: ledger, now: Date().addingTimeInterval(6))
        #expect(later == .delivered(remoteID: matrix.sent[0].eventID))
        #expect(matrix.sent.count == 1)
        await matrix.stop()
    }

    @Test("the look reads back page by page, and a room the bot is not in holds nothing of its own")
    func lookupPages() async throws {
        let matrix = try MatrixSimulator(asToken: "as")
        let notifier = try notifier(matrix)
        for index in 0..<250 {
            _ = await notifier.perform(try notice("n:\(index)", to: .room("!busy:x")), ledger: MemoryLedger(), now: Date())
        }
        #expect(matrix.sent.count == 250)
        let lookups = matrix.lookups
        let oldest = await notifier.existingNotice(key: IdempotencyKey("n:3"), in: "!busy:x", since: Date())
        guard case .found(let id) = oldest else { Issue.record("\(oldest)"); return }
        #expect(id == matrix.sent[3].eventID)
        #expect(matrix.lookups == lookups + 3)  // 100 a page, newest first
        guard case .absent = await notifier.existingNotice(key: IdempotencyKey("n:x"), in: "!busy:x", since: Date())
        else { Issue.record("found a notice never sent"); return }
        guard case .absent = await notifier.existingNotice(key: IdempotencyKey("n:3"), in: "!other:x", since: Date())
        else { Issue.record("found a notice in a room the bot is not in"); return }
        await matrix.stop()
    }

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
        // Due before the first attempt, and again from then after the "restart".
        let due = Date()
        func delivery(_ key: String) -> Delivery {
            Delivery(
                id: 1, target: "matrix", operation: MatrixNotifier.notifyOperation, partition: "bottlecrm:lead:l-1",
                idempotencyKey: IdempotencyKey(key), payload: Array(payload), nextAttemptAt: due, createdAt: due)
        }
        let ledger = MemoryLedger()
        ledger.crashAfterWrites.withLock { $0 = true }
        guard case .retryable = await notifier.perform(delivery("notice:1"), ledger: ledger, now: Date()) else {
            Issue.record("the lost ledger line was not reported"); return
        }
        #expect(matrix.createdRooms.count == 1)
        // Meanwhile the owner accepted the invitation: their member event no longer says direct.
        let room = try #require(matrix.createdRooms.keys.first)
        matrix.join("@owner:x", to: room)
        ledger.crashAfterWrites.withLock { $0 = false }
        // Straight away the room may still be being created: not looked for, not created again.
        guard case .retryable = await notifier.perform(delivery("notice:1"), ledger: ledger, now: Date()) else {
            Issue.record("looked for the room at once"); return
        }
        #expect(matrix.createdRooms.count == 1)
        guard
            case .delivered = await notifier.perform(
                delivery("notice:1"), ledger: ledger, now: Date().addingTimeInterval(6))
        else {
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
