import Dispatch
import LiaisonCore
import Synchronization

/// How far the pipeline is behind the event log, and the brake that keeps it from falling
/// further.
///
/// The pipeline runs below normal priority, so a saturating ingest can leave it behind
/// without bound, and CRM changes reach IM through it. Past `limit` records of
/// backlog, the group committer holds each commit back until the pipeline reports progress
/// or `pause` passes: the HTTP threads, their answers waiting on that commit, leave the CPU
/// to the pipeline. Ingest slows; it never stops. Nothing is held for a pipeline that is
/// not running, or that has been applying one batch for longer than `stall` (stuck).
public final class LogBacklog: Sendable {
    public let limit: Int64
    let pause: Duration
    let stall: Duration
    /// Commits held back, for the metrics.
    public let holds = Counter()
    /// The last sequence committed to the log, and the last one the pipeline applied.
    private let head = Atomic<Int64>(0)
    private let applied = Atomic<Int64>(0)
    private let attached = Atomic<Bool>(false)
    /// When the batch being applied was started, in `DispatchTime` nanoseconds; 0: none is.
    private let applyingSince = Atomic<UInt64>(0)
    /// Set by a held commit; whoever clears it owes the semaphore one signal.
    private let waiting = Atomic<Bool>(false)
    private let progress = DispatchSemaphore(value: 0)

    /// - Parameters:
    ///   - limit: records of backlog past which commits are held back (65,536 is about a
    ///     second of saturating ingest on a 2-core machine).
    ///   - pause: the longest one commit is held.
    ///   - stall: how long one batch may take before the pipeline is taken to be stuck.
    public init(limit: Int64 = 65_536, pause: Duration = .milliseconds(2), stall: Duration = .seconds(5)) {
        self.limit = limit
        self.pause = pause
        self.stall = stall
    }

    /// Records committed but not yet applied, as far as the pipeline has reported.
    public var depth: Int64 { max(0, head.load(ordering: .relaxed) - applied.load(ordering: .relaxed)) }

    /// The committer: the log now ends at `sequence`.
    func committed(through sequence: Int64) {
        _ = head.max(sequence, ordering: .relaxed)
    }

    /// The pipeline starts (true) or stops (false) reading the log.
    public func attach(_ running: Bool) {
        applyingSince.store(0, ordering: .relaxed)
        attached.store(running, ordering: .releasing)
        if !running, waiting.exchange(false, ordering: .acquiringAndReleasing) { progress.signal() }
    }

    /// The pipeline starts applying a batch.
    public func applying() {
        applyingSince.store(DispatchTime.now().uptimeNanoseconds, ordering: .relaxed)
    }

    /// The pipeline has applied everything through `sequence`.
    public func applied(through sequence: Int64) {
        _ = applied.max(sequence, ordering: .relaxed)
        applyingSince.store(0, ordering: .relaxed)
        if waiting.exchange(false, ordering: .acquiringAndReleasing) { progress.signal() }
    }

    /// The committer, before each commit: waits (at most `pause`) for the pipeline if the
    /// backlog is over the limit and the pipeline is running. True if it waited.
    @discardableResult
    func holdBack() -> Bool {
        guard depth > limit, attached.load(ordering: .acquiring) else { return false }
        let since = applyingSince.load(ordering: .relaxed)
        guard since == 0 || DispatchTime.now().uptimeNanoseconds &- since < stall.nanoseconds else { return false }
        waiting.store(true, ordering: .releasing)
        holds.increment()
        if progress.wait(timeout: .now() + .nanoseconds(Int(pause.nanoseconds))) == .timedOut,
            !waiting.exchange(false, ordering: .acquiringAndReleasing)
        {
            // The pipeline cleared the flag after the timeout: its signal is due. Take it,
            // so that the next hold does not end at once.
            progress.wait()
        }
        return true
    }
}

extension Duration {
    fileprivate var nanoseconds: UInt64 {
        UInt64(components.seconds) * 1_000_000_000 + UInt64(components.attoseconds / 1_000_000_000)
    }
}
