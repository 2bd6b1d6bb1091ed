import Foundation
import Synchronization

/// Runs a blocking loop on a dedicated thread, below normal priority, as part of an async
/// service: `run` returns when the loop does, and cancellation asks the loop to stop.
///
/// Work that only derives state from the durable log (the pipeline) runs here so that,
/// when the machine is saturated, acknowledging webhooks wins and the derived state
/// catches up a moment later (the queue depth metric shows how far behind it is;
/// `LogBacklog` bounds it). Not `SCHED_IDLE`: that waits for a CPU nothing else wants,
/// which any busy process on the machine can withhold for a hundred milliseconds and more.
final class BackgroundThread: Sendable {
    private let name: String
    private let niceness: Int32
    private let stopping = Atomic<Bool>(false)
    private let wake = DispatchSemaphore(value: 0)

    init(name: String, niceness: Int32) {
        self.name = name
        self.niceness = niceness
    }

    var isStopping: Bool { stopping.load(ordering: .acquiring) }

    /// Wakes the loop if it is waiting.
    func signal() { wake.signal() }

    /// Waits for `signal()`, a stop, or the timeout.
    func wait(timeout: Duration) {
        guard !isStopping else { return }
        let (seconds, attoseconds) = timeout.components
        _ = wake.wait(timeout: .now() + .nanoseconds(Int(seconds) * 1_000_000_000 + Int(attoseconds / 1_000_000_000)))
    }

    /// Runs `loop` (which should return once `isStopping`) on the thread.
    func run(_ loop: @escaping @Sendable () throws -> Void) async throws {
        let result: Result<Void, any Error> = await withTaskCancellationHandler {
            await withCheckedContinuation { continuation in
                let thread = Thread { [name, niceness] in
                    // Set from the thread itself, the name reaches the kernel (top, perf),
                    // which keeps 15 bytes and refuses longer names.
                    Thread.current.name = String(name.prefix(15))
                    // On Linux the nice value is per thread, and `who` 0 is the calling thread.
                    setpriority(__priority_which_t(PRIO_PROCESS.rawValue), 0, niceness)
                    continuation.resume(returning: Result { try loop() })
                }
                thread.start()
            }
        } onCancel: {
            stopping.store(true, ordering: .releasing)
            wake.signal()
        }
        try result.get()
    }
}
