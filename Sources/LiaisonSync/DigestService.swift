import Foundation
import LiaisonConnectors
import LiaisonCore
import LiaisonStore

/// Sends each recipient, every `digest_seconds`, one notice gathering the changes that
/// are not announced at once (by default key-field edits).
public struct DigestService: Service {
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
        while !Task.isCancelled {
            try? await Task.sleep(for: .seconds(router.settings.digestSeconds))
            guard !Task.isCancelled else { break }
            do {
                if try flush() > 0 { planned() }
            } catch {
                logger.error("cannot send the digest", ["error": "\(error)"])
            }
        }
    }

    /// Puts one digest per waiting recipient in the outbox; returns how many.
    @discardableResult
    public func flush() throws -> Int {
        var count = 0
        for (recipient, lines) in try store.pendingDigests() {
            guard let last = lines.last, let delivery = router.digest(for: recipient, lines: lines) else { continue }
            try store.flushDigest(recipient: recipient, throughID: last.id, delivery: delivery, now: now())
            logger.info("digest planned", ["recipient": recipient, "changes": "\(lines.count)"])
            count += 1
        }
        return count
    }
}
