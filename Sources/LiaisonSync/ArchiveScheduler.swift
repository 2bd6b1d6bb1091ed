import Foundation
import LiaisonConnectors
import LiaisonCore
import LiaisonStore

/// Decides when conversations are archived (realtime, interval, on close or idle) and
/// turns their pending messages into transcripts in the outbox.
public struct ArchiveScheduler: Service {
    public var name: String { "scheduler" }
    private let store: any Store
    private let schedule: ArchiveSchedule
    private let target: String
    private let wakeup: Wakeup
    private let profiles: (any ProfileSource)?
    private let planned: @Sendable () -> Void
    private let metrics: HubMetrics
    private let logger: Logger
    private let now: @Sendable () -> Date

    /// - Parameters:
    ///   - profiles: where to find a customer's name, e-mail or phone when the IM did not say them.
    ///   - planned: told when transcripts were put in the outbox (wakes the outbox worker).
    public init(
        store: any Store, schedule: ArchiveSchedule, target: String, wakeup: Wakeup,
        profiles: (any ProfileSource)? = nil,
        metrics: HubMetrics, logger: Logger, now: @escaping @Sendable () -> Date = Date.init,
        planned: @escaping @Sendable () -> Void
    ) {
        self.store = store
        self.profiles = profiles
        self.schedule = schedule
        self.target = target
        self.wakeup = wakeup
        self.metrics = metrics
        self.logger = logger
        self.now = now
        self.planned = planned
    }

    public func run() async throws {
        while !Task.isCancelled {
            let next = try await tick()
            // At most 2 s between looks: a replay from another process adds messages silently.
            let wait = next.map { max($0.timeIntervalSince(now()), 0.01) } ?? 2
            await wakeup.wait(until: .now + .milliseconds(Int64(min(wait, 2) * 1000)))
        }
    }

    /// Archives every conversation that is due; returns when the next one could be.
    @discardableResult
    public func tick() async throws -> Date? {
        let time = now()
        var next: Date?
        var count = 0
        // Once the profile source fails, this tick asks it nothing more (one timeout, not one a conversation).
        var profilesDown = false
        for state in try store.conversationsWithPendingMessages() {
            if let trigger = schedule.trigger(for: state, now: time) {
                // A close files the stretch it ended; what came after waits for its own trigger.
                let through = trigger == .closed ? state.closedThrough : nil
                if try await archive(
                    state.id, trigger: trigger, through: through, profilesDown: &profilesDown, now: time)
                {
                    count += 1
                }
            } else if let check = schedule.nextCheck(for: state) {
                next = min(next ?? check, check)
            }
        }
        if count > 0 { planned() }
        return next
    }

    /// Archives a conversation's pending messages now, whatever the mode (the close command).
    private func archive(
        _ conversation: ConversationID, trigger: ArchiveTrigger, through: Int64?, profilesDown: inout Bool, now: Date
    ) async throws -> Bool {
        guard var pending = try store.pendingTranscript(for: conversation, through: through),
            !pending.entries.isEmpty
        else { return false }
        var named: Participant?
        if let profiles, let customer = pending.customer, profiles.mightEnrich(customer) {
            var enriched = customer
            do {
                guard !profilesDown else { throw ProfileUnavailable(reason: "it failed earlier in this round") }
                enriched = try await profiles.enrich(customer)
            } catch {
                profilesDown = true
                // With neither e-mail nor phone the CRM contact could only be created by name,
                // and would stay the customer's contact for good: wait for the profile instead.
                if customer.email == nil && customer.phone == nil {
                    // A refusal lasts until the configuration is fixed: said as an error.
                    let refused = (error as? ProfileUnavailable)?.refused == true
                    (refused ? logger.error : logger.warning)(
                        "customer profile unavailable; transcript postponed",
                        ["conversation": conversation.rawValue, "problem": "\(error)"])
                    return false
                }
            }
            if enriched != customer {
                try store.save(enriched, now: now)
                named = enriched
            }
        }
        // A message deleted after the read (the lookup above may have taken a while) makes the
        // plan stale: it holds the text. Nothing is filed then; the stretch is read and planned
        // again at once, without another lookup.
        for _ in 0..<3 {
            if let named { Self.name(named, in: &pending) }
            guard let last = pending.entries.last else { return false }
            let delivery = Self.plan(pending, trigger: trigger, target: target)
            if try store.scheduleArchive(
                of: conversation, throughMessage: last.sequence, delivery: delivery, now: now,
                revision: pending.revision)
            {
                if delivery != nil {
                    metrics.transcriptsPlanned.increment()
                    logger.info(
                        "transcript planned",
                        [
                            "conversation": conversation.rawValue, "messages": "\(pending.entries.count)",
                            "trigger": trigger.rawValue,
                        ]
                    )
                } else {
                    logger.warning(
                        "no customer in conversation; messages not archived", ["conversation": conversation.rawValue])
                }
                return delivery != nil
            }
            guard let again = try store.pendingTranscript(for: conversation, through: through) else { return false }
            pending = again
        }
        return false  // deletions keep coming: the next pass
    }

    /// The customer as the profile lookup found them, on the transcript and on their own
    /// lines (read with the customer as known before).
    private static func name(_ customer: Participant, in pending: inout PendingTranscript) {
        guard pending.customer?.ref == customer.ref else { return }
        pending.customer = customer
        for index in pending.entries.indices where pending.entries[index].message.sender == customer.ref {
            pending.entries[index].sender = customer
        }
    }

    /// The outbox entry for a stretch of conversation, or nil when there is no customer
    /// to file it under. The key depends only on the messages, so re-planning the same
    /// stretch (after a crash, on replay) yields the same delivery.
    static func plan(_ pending: PendingTranscript, trigger: ArchiveTrigger, target: String) -> NewDelivery? {
        guard let customer = pending.customer, let first = pending.entries.first, let last = pending.entries.last else {
            return nil
        }
        let key = IdempotencyKey(
            "archive:"
                + SHA256Digest.hex("\(pending.conversation.rawValue)\n\(first.message.id)\n\(last.message.id)").prefix(
                    32)
        )
        let lines = pending.entries.map { entry in
            Transcript.Line(
                sentAt: entry.message.sentAt, speaker: entry.sender?.displayName ?? entry.message.sender.id,
                role: entry.sender?.role ?? .other, text: entry.message.text
            )
        }
        let transcript = Transcript(
            conversation: pending.conversation, channel: pending.channel, customer: customer, trigger: trigger,
            lines: lines, key: key
        )
        guard let payload = try? transcript.encoded() else { return nil }
        return NewDelivery(
            target: target, operation: BottleCRMArchiver.archiveOperation, partition: customer.ref.description,
            idempotencyKey: key, payload: payload
        )
    }
}
