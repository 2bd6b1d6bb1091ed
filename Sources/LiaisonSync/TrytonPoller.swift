import Foundation
import LiaisonConnectors
import LiaisonCore
import LiaisonStore
import Synchronization

/// Polls Tryton for changed parties and appends each change to the durable log, where
/// the pipeline detects and announces it like a webhook's.
///
/// The cursor (the latest change time seen) is kept in the store and moved only after
/// the records are in the log. Each poll re-reads `overlap` behind it; a re-read change
/// has the same dedupe key (party id and change time) and is ignored, so nothing is
/// missed at the boundary and nothing is announced twice, across restarts too.
public struct TrytonPoller: Service {
    public var name: String { "tryton-poller" }
    public static let cursor = "tryton.party"
    private let parties: TrytonParties
    private let store: any Store
    private let logger: Logger
    private let sweeps = SweepClock()
    /// Write dates ahead of this clock already reported.
    private let warnedAhead = FirstTimes<Date>()
    /// The hub's clock: when a change was logged.
    private let now: @Sendable () -> Date

    public init(
        parties: TrytonParties, store: any Store, logger: Logger, now: @escaping @Sendable () -> Date = Date.init
    ) {
        self.parties = parties
        self.store = store
        self.logger = logger
        self.now = now
    }

    public func run() async throws {
        while !Task.isCancelled {
            do {
                let appended = try await poll()
                if appended > 0 { logger.info("tryton changes logged", ["records": "\(appended)"]) }
            } catch {
                logger.warning("tryton poll failed", ["error": "\(error)"])
            }
            try? await Task.sleep(for: .seconds(parties.settings.pollIntervalSeconds))
        }
    }

    /// The log's key for a party as polled: its own time, and its mechanisms' when later
    /// (see `Polled.ownChangedAt`). Polled again unchanged, the same key: nothing new.
    static func logKey(_ party: TrytonParties.Polled) -> String {
        func micros(_ date: Date) -> Int64 { Int64((date.timeIntervalSince1970 * 1_000_000).rounded()) }
        var key = "party.party:\(party.id):\(micros(party.ownChangedAt))"
        if party.changedAt > party.ownChangedAt { key += ":\(micros(party.changedAt))" }
        return key
    }

    /// How far ahead of this clock a Tryton write date may be and still move the cursor.
    static let clockTolerance: TimeInterval = 600

    /// Where the cursor goes after a poll that read changes written at `changed` (µs since
    /// 1970; never back): the latest of them, but for a write date further ahead of `now`
    /// than `clockTolerance` (Tryton's clock was wrong for a while), which is left out and
    /// returned. The cursor there, every change written before that date would go unseen
    /// until then; left out, that party is read again each poll (and logged once).
    static func nextCursor(position: Int64, changed: [Date], baseline: Bool, now: Date) -> (Int64, ahead: Date?) {
        func micros(_ date: Date) -> Int64 { Int64((date.timeIntervalSince1970 * 1_000_000).rounded()) }
        let ceiling = now.addingTimeInterval(clockTolerance)
        let latest = changed.filter { $0 <= ceiling }.map(micros).max()
        return (max(position, latest ?? 0, baseline ? 1 : 0), changed.filter { $0 > ceiling }.max())
    }

    /// One poll; returns how many changes were new to the log.
    public func poll() async throws -> Int {
        let position = try store.cursor(Self.cursor)  // microseconds since 1970; 0: never polled
        let baseline = position == 0
        let since =
            baseline
            ? nil : Date(timeIntervalSince1970: Double(position) / 1_000_000 - Double(parties.settings.overlapSeconds))
        let changed = try await parties.changed(since: since)
        var appended = 0
        for party in changed {
            let record = InboundRecord(
                source: "tryton", dedupeKey: Self.logKey(party), receivedAt: now(),
                body: TrytonChanges.logBody(party, baseline: baseline, since: since))
            if case .stored = try await store.append(record) { appended += 1 }
        }
        // Move the cursor only once the changes are durable in the log.
        let (next, ahead) = Self.nextCursor(
            position: position, changed: changed.map(\.changedAt), baseline: baseline, now: now())
        // Said once a run for each such date, not every poll.
        if let ahead, warnedAhead.first(ahead) {
            logger.warning(
                "a Tryton write date is ahead of this clock; the poll goes on from the changes before it",
                ["write_date": ISO8601.format(ahead)])
        }
        if next != position { try store.moveCursor(Self.cursor, to: next) }
        logger.debug("tryton polled", ["read": "\(changed.count)", "new": "\(appended)", "baseline": "\(baseline)"])
        return appended + (try await sweepIfDue())
    }

    /// Every `deletion_sweep_seconds`: the parties the hub knows that Tryton no longer
    /// lists (archived ones are still listed) are logged as deleted, once each.
    func sweepIfDue() async throws -> Int {
        let now = ContinuousClock.now
        let due = sweeps.last.withLock { last in
            guard last.map({ now - $0 >= .seconds(parties.settings.deletionSweepSeconds) }) ?? true else {
                return false
            }
            last = now
            return true
        }
        guard due else { return 0 }
        let known = try store.liveSnapshots(system: "tryton", kind: "party")
        guard !known.isEmpty else { return 0 }
        let listed = try await parties.allIDs()
        let candidates = known.filter { Int64($0.ref.id).map { !listed.contains($0) } ?? false }
        guard !candidates.isEmpty else { return 0 }
        // Asked again by id before anything is announced: a listing is not proof of absence.
        let still = try await parties.existing(candidates.compactMap { Int64($0.ref.id) })
        var appended = 0
        for (ref, updatedAt) in candidates {
            guard let id = Int64(ref.id), !still.contains(id) else { continue }
            // Keyed by the snapshot's time too: a party restored and deleted again is news again.
            let micros = Int64((updatedAt.timeIntervalSince1970 * 1_000_000).rounded())
            let record = InboundRecord(
                source: "tryton", dedupeKey: "party.party:\(id):deleted:\(micros)", receivedAt: self.now(),
                body: TrytonChanges.deletionBody(party: id))
            if case .stored = try await store.append(record) { appended += 1 }
        }
        if appended > 0 { logger.info("tryton deletions logged", ["records": "\(appended)"]) }
        return appended
    }
}

/// When the last deletion sweep ran (shared by copies of the poller).
private final class SweepClock: Sendable {
    let last = Mutex<ContinuousClock.Instant?>(nil)
}
