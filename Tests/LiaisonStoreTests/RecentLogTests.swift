import Foundation
import LiaisonCore
import Testing

@testable import LiaisonStore

@Suite("Recent log")
struct RecentLogTests {
    /// Records with the given sequences, each body its sequence's last byte.
    func records(_ sequences: some Sequence<Int64>) -> [InboundRecord] {
        sequences.map {
            InboundRecord(sequence: $0, source: "g", dedupeKey: nil, receivedAt: t0, body: [UInt8($0 & 0xFF)])
        }
    }

    func sequences(_ records: [InboundRecord]?) -> [Int64]? { records?.map(\.sequence) }

    @Test("reads run across batches, up to the limit, from any sequence held")
    func reads() {
        let recent = RecentLog()
        recent.committed(records(1...3))
        recent.committed(records(4...4))
        recent.committed(records(5...9))
        #expect(sequences(recent.records(after: 0, limit: 100)) == Array(1...9))
        #expect(sequences(recent.records(after: 2, limit: 4)) == [3, 4, 5, 6])
        #expect(sequences(recent.records(after: 3, limit: 1)) == [4])
        #expect(sequences(recent.records(after: 8, limit: 10)) == [9])
        #expect(recent.records(after: 8, limit: 0) == nil)
    }

    @Test("what it cannot answer whole it leaves to the file: before what it holds, and at its end")
    func fallsBack() {
        let recent = RecentLog()
        #expect(recent.records(after: 0, limit: 10) == nil)
        recent.committed(records(5...7))
        // Record 4 may be in the file: the run held starts after it.
        #expect(recent.records(after: 2, limit: 10) == nil)
        #expect(sequences(recent.records(after: 4, limit: 10)) == [5, 6, 7])
        // At the end, another process may have appended: the file says.
        #expect(recent.records(after: 7, limit: 10) == nil)
    }

    @Test("what a reader has passed is let go, and a read from before it goes to the file")
    func letsGo() {
        let recent = RecentLog()
        recent.committed(records(1...2))
        recent.committed(records(3...4))
        #expect(sequences(recent.records(after: 3, limit: 10)) == [4])
        #expect(recent.records(after: 0, limit: 10) == nil)
        #expect(sequences(recent.records(after: 3, limit: 10)) == [4])
    }

    @Test("a batch that does not follow on replaces what is held; one with a gap inside is not kept")
    func gaps() {
        let recent = RecentLog()
        recent.committed(records(1...3))
        recent.committed(records(5...6))
        #expect(recent.records(after: 0, limit: 10) == nil)
        #expect(sequences(recent.records(after: 4, limit: 10)) == [5, 6])
        recent.committed(records([7, 9]))
        #expect(recent.records(after: 4, limit: 10) == nil)
        #expect(recent.records(after: 6, limit: 10) == nil)
        recent.committed(records(10...10))
        #expect(sequences(recent.records(after: 9, limit: 10)) == [10])
    }

    @Test("past its budget, of records or of bytes, the oldest batches go")
    func budget() {
        let byCount = RecentLog(maxRecords: 4, maxBytes: 1 << 20)
        byCount.committed(records(1...2))
        byCount.committed(records(3...4))
        byCount.committed(records(5...6))
        #expect(byCount.records(after: 0, limit: 10) == nil)
        #expect(sequences(byCount.records(after: 2, limit: 10)) == [3, 4, 5, 6])

        let byBytes = RecentLog(maxRecords: 100, maxBytes: 10)
        let big = (1...3).map {
            InboundRecord(
                sequence: $0, source: "g", dedupeKey: nil, receivedAt: t0, body: [UInt8](repeating: 1, count: 4))
        }
        byBytes.committed(Array(big[0..<1]))
        byBytes.committed(Array(big[1..<2]))
        byBytes.committed(Array(big[2..<3]))
        #expect(sequences(byBytes.records(after: 1, limit: 10)) == [2, 3])
        #expect(byBytes.records(after: 0, limit: 10) == nil)
        // A batch bigger than the whole budget is not kept.
        byBytes.committed(
            (4...6).map {
                InboundRecord(
                    sequence: $0, source: "g", dedupeKey: nil, receivedAt: t0, body: [UInt8](repeating: 1, count: 4))
            })
        #expect(byBytes.records(after: 3, limit: 10) == nil)
    }
}
