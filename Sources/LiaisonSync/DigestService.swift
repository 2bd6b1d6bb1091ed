import Foundation
import LiaisonConnectors
import LiaisonCore
import LiaisonStore

/// Sends each recipient, every `digest_seconds`, one notice gathering the changes that
/// are not announced at once (by default key-field edits). When the last digest went out
/// is kept in the store, so restarts more often than the interval delay no digest.
public struct DigestService: Service {
    /// The cursor holding when the last digest round ran (seconds since 1970).
    public static let cursor = "digest.last_round"
    public var name: String { "digest" }
    private let store: any Store
    private let router: ChangeRouter
    private let planned: @Sendable () -> Void
    private let logger: Logger
    private let now: @Sendable () -> Date

    public init(
        store: any Store, router: ChangeRouter, logger: Logger, now: @escaping @Sendable () -> Date = Date.init,
        planned: @escaping @Sendable () -> Void
    ) {
        self.store = store
        self.router = router
        self.logger = logger
        self.now = now
        self.planned = planned
    }

    public func run() async throws {
        let interval = TimeInterval(router.settings.digestSeconds)
        while !Task.isCancelled {
            do {
                var last = try store.cursor(Self.cursor)
                let time = now().timeIntervalSince1970
                // The first start begins the clock; later ones go on from the last round. A
                // round dated in the future (the clock was set back since) starts the clock
                // again: waiting for that date would hold every digest until then.
                if last == 0 || TimeInterval(last) > time + 60 {
                    if last != 0 {
                        logger.warning("the digest clock was ahead of this one: started again from now")
                    }
                    try store.resetCursor(Self.cursor, to: Int64(time))
                    last = Int64(time)
                }
                let wait = TimeInterval(last) + interval - time
                if wait > 0 {
                    try? await Task.sleep(for: .seconds(min(wait, interval)))
                    continue
                }
                if try flush() > 0 { planned() }
                try store.moveCursor(Self.cursor, to: Int64(now().timeIntervalSince1970))
            } catch {
                logger.error("cannot send the digest", ["error": "\(error)"])
                try? await Task.sleep(for: .seconds(min(interval, 60)))
            }
        }
    }

    /// Puts one digest per waiting recipient in the outbox; returns how many.
    @discardableResult
    public func flush() throws -> Int {
        var count = 0
        for (recipient, lines) in try store.pendingDigests() {
            // In log order, group by group: each flush takes its lines out with its delivery.
            for group in ChangeRouter.digestGroups(lines) {
                guard let last = group.last, let delivery = router.digest(for: recipient, lines: group) else { continue }
                try store.flushDigest(recipient: recipient, throughID: last.id, delivery: delivery, now: now())
                logger.info("digest planned", ["recipient": recipient, "changes": "\(group.count)"])
                count += 1
            }
        }
        return count
    }
}
