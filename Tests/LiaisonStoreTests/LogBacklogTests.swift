import Foundation
import LiaisonCore
import LiaisonTestSupport
import Synchronization
import Testing

@testable import LiaisonStore

@Suite("the brake that keeps the pipeline within reach of the log")
struct LogBacklogTests {
    static func record(_ n: Int) -> InboundRecord {
        InboundRecord(source: "generic.test", dedupeKey: "d-\(n)", receivedAt: t0, body: Array("{\"n\":\(n)}".utf8))
    }

    @Test("nothing is held while the backlog is within the limit, or while no pipeline runs")
    func noHold() {
        let backlog = LogBacklog(limit: 10, pause: .seconds(30))
        backlog.committed(through: 100)
        #expect(backlog.depth == 100)
        #expect(!backlog.holdBack(), "no pipeline is attached")
        backlog.attach(true)
        backlog.applied(through: 95)
        #expect(backlog.depth == 5)
        #expect(!backlog.holdBack())
        #expect(backlog.holds.value == 0)
    }

    @Test("over the limit a commit waits until the pipeline reports progress")
    func holdsUntilProgress() async throws {
        let backlog = LogBacklog(limit: 10, pause: .seconds(30))
        backlog.attach(true)
        backlog.committed(through: 100)
        let started = ContinuousClock.now
        let held = Thread.detached { backlog.holdBack() }
        _ = await eventually(every: .milliseconds(5)) { backlog.holds.value > 0 }
        backlog.applying()
        backlog.applied(through: 100)
        #expect(try await held.value == true)
        // Ended by the report, not by the 30 s pause.
        #expect(ContinuousClock.now - started < .seconds(10))
        #expect(backlog.holds.value == 1)
        #expect(backlog.depth == 0)
        #expect(!backlog.holdBack())
    }

    @Test("a hold lasts the pause at most, and a late report does not end the next hold at once")
    func pauseBound() {
        let backlog = LogBacklog(limit: 10, pause: .milliseconds(20))
        backlog.attach(true)
        backlog.committed(through: 100)
        #expect(backlog.holdBack())
        backlog.applied(through: 50)  // after the hold timed out: nobody waits, nothing owed
        let started = ContinuousClock.now
        #expect(backlog.holdBack())
        #expect(ContinuousClock.now - started >= .milliseconds(15))
        #expect(backlog.holds.value == 2)
    }

    @Test("a pipeline stuck in one batch longer than the stall limit, or stopped, is not waited for")
    func stuckOrStopped() async throws {
        let backlog = LogBacklog(limit: 10, pause: .seconds(30), stall: .milliseconds(20))
        backlog.attach(true)
        backlog.committed(through: 100)
        backlog.applying()
        try await Task.sleep(for: .milliseconds(60))
        #expect(!backlog.holdBack())
        backlog.attach(false)
        #expect(!backlog.holdBack())
        #expect(backlog.holds.value == 0)
    }

    @Test("the group committer holds an append back while the pipeline lags, and lets it through when it catches up")
    func committerHolds() async throws {
        let backlog = LogBacklog(limit: 2, pause: .seconds(30))
        try await withStore(backlog: backlog) { (store: SQLiteStore) async throws in
            backlog.attach(true)
            for n in 1...3 { #expect(try await store.append(Self.record(n)) == .stored(sequence: Int64(n))) }
            #expect(backlog.depth == 3)

            let answered = Flag()
            let fourth = Task { () throws -> AppendOutcome in
                defer { answered.set() }
                return try await store.append(Self.record(4))
            }
            _ = await eventually(every: .milliseconds(5)) { backlog.holds.value > 0 }
            #expect(
                await holds(for: .milliseconds(100), every: .milliseconds(10)) { !answered.isSet },
                "committed while the pipeline was 3 records behind")
            #expect(backlog.holds.value == 1)
            backlog.applied(through: 3)
            #expect(try await fourth.value == .stored(sequence: 4))
            #expect(try store.inbound(after: 0, limit: 10).count == 4)
        }
    }
}

final class Flag: Sendable {
    private let value = Atomic<Bool>(false)
    func set() { value.store(true, ordering: .releasing) }
    var isSet: Bool { value.load(ordering: .acquiring) }
}

extension Thread {
    /// Runs `body` on a new thread (a blocking call kept off the test's executor).
    static func detached<T: Sendable>(_ body: @escaping @Sendable () -> T) -> Task<T, any Error> {
        Task {
            await withCheckedContinuation { continuation in
                Thread { continuation.resume(returning: body()) }.start()
            }
        }
    }
}
