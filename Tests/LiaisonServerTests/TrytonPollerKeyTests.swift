import Foundation
import LiaisonCore
import Testing

@testable import LiaisonConnectors
@testable import LiaisonSync

@Suite("Tryton poller: the log's key for a party")
struct TrytonPollerKeyTests {
    func polled(own: TimeInterval, latest: TimeInterval) -> TrytonParties.Polled {
        TrytonParties.Polled(
            id: 7, changedAt: Date(timeIntervalSince1970: latest), ownChangedAt: Date(timeIntervalSince1970: own),
            raw: .object([]))
    }

    @Test("a party renamed in a transaction that committed after its e-mail's edit is a new log record")
    func lateCommit() {
        // Poll 1: the e-mail edited at T=200 is seen; the rename, written at W=100, not committed yet.
        let first = polled(own: 50, latest: 200)
        // Poll 2, within the overlap: the rename committed, under its earlier time.
        let second = polled(own: 100, latest: 200)
        #expect(TrytonPoller.logKey(first) != TrytonPoller.logKey(second))
        // Polled again unchanged: the same key, nothing new.
        #expect(TrytonPoller.logKey(second) == TrytonPoller.logKey(polled(own: 100, latest: 200)))
        // Without a later mechanism change, the key is the party's time alone (as logged before).
        #expect(TrytonPoller.logKey(polled(own: 100, latest: 100)) == "party.party:7:100000000")
    }

    @Test("a write date a year ahead (Tryton's clock wrong for a while) does not move the cursor: the changes before it do")
    func clockAhead() {
        let now = Date(timeIntervalSince1970: 1_800_000_000)
        let micros = { (date: Date) in Int64((date.timeIntervalSince1970 * 1_000_000).rounded()) }
        let normal = TrytonPoller.nextCursor(
            position: 5, changed: [now.addingTimeInterval(-30)], baseline: false, now: now)
        #expect(normal.0 == micros(now.addingTimeInterval(-30)) && normal.ahead == nil)
        let wrong = now.addingTimeInterval(365 * 86_400)
        let beside = TrytonPoller.nextCursor(
            position: 5, changed: [wrong, now.addingTimeInterval(-20)], baseline: false, now: now)
        #expect(beside.0 == micros(now.addingTimeInterval(-20)), "the cursor follows the change in range")
        #expect(beside.ahead == wrong)
        // The next poll, a minute on, still reads a change written then: the cursor is not past it.
        let later = now.addingTimeInterval(60)
        #expect(Double(beside.0) / 1_000_000 - 10 < later.timeIntervalSince1970)
        #expect(TrytonPoller.nextCursor(position: 5, changed: [wrong], baseline: false, now: now).0 == 5)
        // Never back, and a first poll of nothing still marks the baseline as taken.
        #expect(TrytonPoller.nextCursor(position: 9, changed: [], baseline: false, now: now).0 == 9)
        #expect(TrytonPoller.nextCursor(position: 0, changed: [], baseline: true, now: now).0 == 1)
    }
}
