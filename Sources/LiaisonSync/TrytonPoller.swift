import Foundation
import LiaisonConnectors
import LiaisonCore
import LiaisonStore

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

    public init(parties: TrytonParties, store: any Store, logger: Logger) {
        self.parties = parties
        self.store = store
        self.logger = logger
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
            let micros = Int64((party.changedAt.timeIntervalSince1970 * 1_000_000).rounded())
            let record = InboundRecord(
                source: "tryton", dedupeKey: "party.party:\(party.id):\(micros)", receivedAt: Date(),
                body: TrytonChanges.logBody(party, baseline: baseline))
            if case .stored = try await store.append(record) { appended += 1 }
        }
        // Move the cursor only once the changes are durable in the log.
        let latest = changed.map { Int64(($0.changedAt.timeIntervalSince1970 * 1_000_000).rounded()) }.max()
        let next = max(position, latest ?? 0, baseline ? 1 : 0)
        if next != position { try store.moveCursor(Self.cursor, to: next) }
        logger.debug("tryton polled", ["read": "\(changed.count)", "new": "\(appended)", "baseline": "\(baseline)"])
        return appended
    }
}
