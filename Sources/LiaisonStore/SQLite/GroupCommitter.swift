import Foundation
import LiaisonCore
import Synchronization

/// Batches appends to the event log so that many requests share one transaction and
/// one fsync. A dedicated thread takes whatever has queued up while the previous commit
/// was flushing, writes it in one transaction, then answers every waiter. Under light
/// load a batch is one record and latency is one commit; under heavy load batches grow
/// and the cost of the fsync is spread.
final class GroupCommitter: Sendable {
    typealias Completion = @Sendable (Result<AppendOutcome, any Error>) -> Void

    /// A completion in a struct: an array of bare closures stores them in their most general
    /// form, and appending one allocated a thunk around it.
    private struct Waiter {
        let completion: Completion
    }

    /// Records and their completions side by side, so that a batch is written as it was
    /// queued, without copying its records into an array of their own.
    private struct Queue {
        var records: [InboundRecord] = []
        var completions: [Waiter] = []
        var stopping = false
    }

    private let queue = Mutex(Queue())
    private let wakeUp = DispatchSemaphore(value: 0)
    private let stopped = DispatchSemaphore(value: 0)
    private let maxBatch: Int
    private let backlog: LogBacklog
    private let write: @Sendable (inout [InboundRecord]) throws -> [AppendOutcome]
    private let committed: @Sendable (_ records: Int) -> Void

    /// - Parameters:
    ///   - backlog: told the log's end after each commit; holds commits back while the
    ///     pipeline is too far behind.
    ///   - write: writes a batch in one transaction; runs on the committer thread only. It may
    ///     take the records (leaving the array empty, with capacity for the queue to reuse).
    ///   - committed: called with the batch's size after each batch is durable (wakes the
    ///     pipeline, feeds the batch-size metric).
    init(
        maxBatch: Int, backlog: LogBacklog,
        write: @escaping @Sendable (inout [InboundRecord]) throws -> [AppendOutcome],
        committed: @escaping @Sendable (_ records: Int) -> Void
    ) {
        self.maxBatch = maxBatch
        self.backlog = backlog
        self.write = write
        self.committed = committed
        let thread = Thread { [self] in
            // Set from the thread itself, the name reaches the kernel (top, perf).
            Thread.current.name = "liaison-commit"
            self.loop()
        }
        thread.start()
    }

    func append(_ record: InboundRecord, completion: @escaping Completion) {
        enum Admission { case closed, wake, queued }
        let admission = queue.withLock { queue -> Admission in
            guard !queue.stopping else { return .closed }
            queue.records.append(record)
            queue.completions.append(Waiter(completion: completion))
            return queue.records.count == 1 ? .wake : .queued
        }
        switch admission {
        case .closed: completion(.failure(StoreClosed()))
        case .wake: wakeUp.signal()
        case .queued: break
        }
    }

    /// Commits what is queued, then stops the thread.
    func stop() {
        let first = queue.withLock { queue -> Bool in
            defer { queue.stopping = true }
            return !queue.stopping
        }
        guard first else { return }
        wakeUp.signal()
        stopped.wait()
    }

    private func loop() {
        // Two buffers swapped under the lock: appends reuse the capacity a batch left behind.
        var batch = Queue()
        while true {
            wakeUp.wait()
            while true {
                // While the pipeline is far behind, let records gather and the CPU go to it.
                if !queue.withLock({ $0.stopping }) { backlog.holdBack() }
                let stopping = queue.withLock { queue -> Bool in
                    if queue.records.count > maxBatch {
                        batch.records.append(contentsOf: queue.records.prefix(maxBatch))
                        batch.completions.append(contentsOf: queue.completions.prefix(maxBatch))
                        queue.records.removeFirst(maxBatch)
                        queue.completions.removeFirst(maxBatch)
                    } else {
                        swap(&queue.records, &batch.records)
                        swap(&queue.completions, &batch.completions)
                    }
                    return queue.stopping
                }
                if batch.records.isEmpty {
                    if stopping {
                        stopped.signal()
                        return
                    }
                    break
                }
                switch Result(catching: { try write(&batch.records) }) {
                case .success(let outcomes):
                    if let last = outcomes.last(where: { $0 != .duplicate }), case .stored(let sequence) = last {
                        backlog.committed(through: sequence)
                    }
                    committed(batch.completions.count)
                    for (waiter, outcome) in zip(batch.completions, outcomes) { waiter.completion(.success(outcome)) }
                case .failure(let error):
                    for waiter in batch.completions { waiter.completion(.failure(error)) }
                }
                batch.records.removeAll(keepingCapacity: true)
                batch.completions.removeAll(keepingCapacity: true)
            }
        }
    }
}

/// The store was shut down; nothing more is accepted.
public struct StoreClosed: Error, CustomStringConvertible {
    public var description: String { "the store is shutting down" }
}
