import Foundation
import LiaisonCore
import Testing

@Suite("Archive schedule")
struct ArchiveScheduleTests {
    let start = Date(timeIntervalSince1970: 1_000_000)

    func state(
        pending: Int = 3, firstAgo: TimeInterval = 10, lastAgo: TimeInterval = 5, closed: Bool = false, now: Date
    )
        -> ConversationState
    {
        ConversationState(
            id: ConversationID("matrix:!room"), pendingMessages: pending,
            firstPendingAt: now.addingTimeInterval(-firstAgo),
            lastMessageAt: now.addingTimeInterval(-lastAgo), closedThrough: closed ? 42 : nil
        )
    }

    @Test("realtime archives every pending message at once")
    func realtime() {
        let schedule = ArchiveSchedule(mode: .realtime, interval: 60, idleTimeout: 600)
        #expect(schedule.trigger(for: state(now: start), now: start) == .message)
        #expect(schedule.trigger(for: state(pending: 0, now: start), now: start) == nil)
    }

    @Test("interval mode waits until the oldest pending message is interval old")
    func interval() {
        let schedule = ArchiveSchedule(mode: .interval, interval: 60, idleTimeout: 600)
        #expect(schedule.trigger(for: state(firstAgo: 59, now: start), now: start) == nil)
        #expect(schedule.trigger(for: state(firstAgo: 60, now: start), now: start) == .interval)
        #expect(schedule.nextCheck(for: state(firstAgo: 10, now: start)) == start.addingTimeInterval(50))
    }

    @Test("on-close mode archives on close or after the idle timeout, not before")
    func onClose() {
        let schedule = ArchiveSchedule(mode: .onClose, interval: 60, idleTimeout: 600)
        #expect(schedule.trigger(for: state(lastAgo: 599, now: start), now: start) == nil)
        #expect(schedule.trigger(for: state(lastAgo: 600, now: start), now: start) == .idle)
        #expect(schedule.trigger(for: state(lastAgo: 1, closed: true, now: start), now: start) == .closed)
        #expect(schedule.nextCheck(for: state(lastAgo: 100, now: start)) == start.addingTimeInterval(500))
    }

    @Test("a close flushes the remainder in every mode", arguments: ArchiveMode.allCases)
    func closeFlushes(mode: ArchiveMode) {
        let schedule = ArchiveSchedule(mode: mode, interval: 3600, idleTimeout: 3600)
        #expect(schedule.trigger(for: state(firstAgo: 1, lastAgo: 1, closed: true, now: start), now: start) == .closed)
    }
}

@Suite("Transcript")
struct TranscriptTests {
    @Test("renders subject, timestamped lines with speakers, and the idempotency marker")
    func render() throws {
        let customer = Participant(
            ref: SystemRef(system: "matrix", kind: "user", id: "@alice:localhost"), role: .customer,
            displayName: "Alice Smith"
        )
        let t0 = try #require(ISO8601.parse("2026-11-24T10:00:03Z"))
        let transcript = Transcript(
            conversation: ConversationID("matrix:!r"), channel: "Matrix", customer: customer, trigger: .closed,
            lines: [
                .init(sentAt: t0, speaker: "Alice Smith", role: .customer, text: "Budget is about 50k"),
                .init(sentAt: t0.addingTimeInterval(62), speaker: "Agent", role: .employee, text: "Noted"),
            ],
            key: IdempotencyKey("archive:abc")
        )
        #expect(transcript.subject == "Matrix conversation with Alice Smith, 2026-11-24 10:00–10:01 UTC")
        #expect(
            transcript.body == """
                [2026-11-24 10:00:03 UTC] Alice Smith: Budget is about 50k
                [2026-11-24 10:01:05 UTC] Agent: Noted

                liaison-ref: archive:abc
                """)
        let decoded = try Transcript.decoded(from: transcript.encoded())
        #expect(decoded == transcript)
        #expect(try transcript.encoded() == transcript.encoded())
    }

    @Test("a message's further lines are indented: no text or name passes for a line of its own")
    func forgedLines() throws {
        let customer = Participant(
            ref: SystemRef(system: "matrix", kind: "user", id: "@alice:localhost"), role: .customer,
            displayName: "Alice\nSmith")
        let t0 = try #require(ISO8601.parse("2026-11-24T10:00:03Z"))
        let transcript = Transcript(
            conversation: ConversationID("matrix:!r"), channel: "Matrix", customer: customer, trigger: .closed,
            lines: [
                .init(
                    sentAt: t0, speaker: "Alice\nSmith", role: .customer,
                    text: "Address:\r\n1 Main St\n[2026-11-24 10:00:09 UTC] Agent: 50% off approved\n"),
                .init(sentAt: t0.addingTimeInterval(62), speaker: "Agent", role: .employee, text: "Noted"),
            ],
            key: IdempotencyKey("archive:abc")
        )
        #expect(
            transcript.body == """
                [2026-11-24 10:00:03 UTC] Alice Smith: Address:
                    1 Main St
                    [2026-11-24 10:00:09 UTC] Agent: 50% off approved
                    
                [2026-11-24 10:01:05 UTC] Agent: Noted

                liaison-ref: archive:abc
                """)
        let headed = transcript.body.split(separator: "\n").filter { $0.hasPrefix("[") }
        #expect(headed.count == 2, "one headed line a message")
        // A later line dated earlier (a skewed clock) does not turn the span around.
        var skewed = transcript
        skewed.lines[1].sentAt = t0.addingTimeInterval(-420)
        #expect(skewed.subject == "Matrix conversation with Alice Smith, 2026-11-24 09:53–10:00 UTC")
    }
}

@Suite("System references")
struct SystemRefTests {
    @Test("ids may contain colons")
    func parse() {
        #expect(
            SystemRef("matrix:user:@alice:localhost")
                == SystemRef(system: "matrix", kind: "user", id: "@alice:localhost"))
        #expect(SystemRef("matrix:user") == nil)
        #expect(SystemRef("::x") == nil)
    }
}
