import LiaisonCore
import Synchronization

/// The event log's newest records, kept in memory once committed for the reader that
/// follows the log's end (the pipeline), which then reads them without SQLite: under load
/// its reads of the log file cost more than their own CPU, beside the committer's writes
/// to the same WAL (docs/BENCHMARKS.md, session 15).
///
/// A cache of the file, never a second truth: it holds one run of consecutive sequences,
/// exactly as committed. A batch that does not follow on from it (another process appended
/// meanwhile, or a batch was dropped) replaces it; past its budget the oldest batches go;
/// and a read it cannot answer whole returns nil, for the caller to read the file.
final class RecentLog: Sendable {
    /// One committed batch: consecutive sequences from `records[0].sequence`.
    private struct Batch {
        let records: [InboundRecord]
        let bytes: Int
        var first: Int64 { records[0].sequence }
        var last: Int64 { records[records.count - 1].sequence }
    }

    private struct State {
        var batches: [Batch] = []
        var records = 0
        var bytes = 0
    }

    private let state = Mutex(State())
    let maxRecords: Int
    let maxBytes: Int

    /// - Parameters:
    ///   - maxRecords: the most records held (the pipeline's backlog limit is 65,536).
    ///   - maxBytes: the most body bytes held.
    init(maxRecords: Int = 65_536, maxBytes: Int = 32 << 20) {
        self.maxRecords = maxRecords
        self.maxBytes = maxBytes
    }

    /// The committer, after a commit: the records it made durable, in sequence order.
    func committed(_ records: [InboundRecord]) {
        guard let first = records.first else { return }
        var consecutive = true
        var bytes = 0
        for (index, record) in records.enumerated() {
            consecutive = consecutive && record.sequence == first.sequence + Int64(index)
            bytes += record.body.count
        }
        let batch = Batch(records: records, bytes: bytes)
        // Released once the lock is let go, on this thread: no reader waits on the frees.
        var dropped: [Batch] = []
        state.withLock { state in
            if !consecutive || state.batches.last.map({ $0.last + 1 != first.sequence }) ?? false {
                swap(&dropped, &state.batches)
                (state.records, state.bytes) = (0, 0)
            }
            guard consecutive else { return }
            state.batches.append(batch)
            state.records += records.count
            state.bytes += batch.bytes
            var over = 0
            while state.records > maxRecords || state.bytes > maxBytes, over < state.batches.count {
                state.records -= state.batches[over].records.count
                state.bytes -= state.batches[over].bytes
                over += 1
            }
            dropped.append(contentsOf: state.batches[..<over])
            state.batches.removeFirst(over)
        }
    }

    /// Up to `limit` records after `sequence`, if this holds the one that follows it and the
    /// log has it: nil otherwise (before what is held, or at its end, where the file may
    /// have more). What is at or before `sequence` is let go: the reader has it.
    func records(after sequence: Int64, limit: Int) -> [InboundRecord]? {
        guard limit > 0 else { return nil }
        var dropped: [Batch] = []
        // The batches are taken under the lock, their records copied out after it: the
        // committer, the next to want the lock, waits on a few retains, not on thousands.
        let (held, count) = state.withLock { state -> (ArraySlice<Batch>, Int) in
            var passed = 0
            while passed < state.batches.count, state.batches[passed].last <= sequence {
                state.records -= state.batches[passed].records.count
                state.bytes -= state.batches[passed].bytes
                passed += 1
            }
            dropped.append(contentsOf: state.batches[..<passed])
            state.batches.removeFirst(passed)
            guard let first = state.batches.first, first.first <= sequence + 1 else { return ([], 0) }
            var count = 0
            var through = 0
            while through < state.batches.count, count < limit {
                let batch = state.batches[through]
                count += Int(batch.last - max(sequence + 1, batch.first)) + 1
                through += 1
            }
            return (state.batches[..<through], min(count, limit))
        }
        guard !held.isEmpty else { return nil }
        var out: [InboundRecord] = []
        out.reserveCapacity(count)
        for batch in held {
            let from = Int(max(sequence + 1, batch.first) - batch.first)
            out.append(contentsOf: batch.records[from..<min(batch.records.count, from + count - out.count)])
        }
        return out
    }
}
