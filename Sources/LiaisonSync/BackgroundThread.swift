import Foundation
import Synchronization

/// Runs a blocking loop on a dedicated thread, as part of an async service: `run` returns
/// when the loop does, and cancellation asks the loop to stop.
///
/// Work that only derives state from the durable log (the pipeline) runs here under Linux's
/// `SCHED_IDLE` policy, on CPU time no other thread wants: acknowledging webhooks always
/// wins, and the derived state is applied in the moments the HTTP threads and the committer
/// wait (on the disk, on the network). `LogBacklog` bounds how far behind it may fall. At
/// nice 19, the policy before, it still took a share of every busy moment, and each of its
/// time slices preempted an HTTP thread.
final class BackgroundThread: Sendable {
    private let name: String
    private let stopping = Atomic<Bool>(false)
    private let wake = DispatchSemaphore(value: 0)

    init(name: String) {
        self.name = name
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
                let thread = Thread { [name] in
                    // Set from the thread itself, the name reaches the kernel (top, perf),
                    // which keeps 15 bytes and refuses longer names.
                    Thread.current.name = String(name.prefix(15))
                    Self.yieldToEveryOtherThread()
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

    /// Puts the calling thread under `SCHED_IDLE`, or at nice 19 where that is refused (a
    /// seccomp profile, say). On Linux both apply to the thread, not the process.
    private static func yieldToEveryOtherThread() {
        var parameters = sched_param()
        if sched_setscheduler(0, schedIdle, &parameters) != 0 {
            setpriority(__priority_which_t(PRIO_PROCESS.rawValue), 0, 19)
        }
    }

    /// `SCHED_IDLE` from <sched.h>, where it is behind `_GNU_SOURCE`: Swift's Glibc lacks it.
    private static let schedIdle: Int32 = 5
}
