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
        var profilesDown: ProfileUnavailable?
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
        _ conversation: ConversationID, trigger: ArchiveTrigger, through: Int64?, profilesDown: inout ProfileUnavailable?,
        now: Date
    ) async throws -> Bool {
        guard var pending = try store.pendingTranscript(for: conversation, through: through),
            !pending.entries.isEmpty
        else { return false }
        // Each customer the stretch is filed under, named from the profile source first.
        var named: [Participant] = []
        var unnamed: Set<String> = []  // others in the group the stretch is not filed under
        for (index, customer) in Self.customers(of: pending).enumerated() {
            guard let profiles, profiles.mightEnrich(customer) else { continue }
            var enriched = customer
            do {
                // Failed earlier in this round: not asked again, and the same failure.
                if let down = profilesDown { throw down }
                enriched = try await profiles.enrich(customer)
            } catch {
                profilesDown =
                    profilesDown ?? (error as? ProfileUnavailable) ?? ProfileUnavailable(reason: "\(error)")
                // With neither e-mail nor phone the CRM contact could only be created by name,
                // and would stay the customer's contact for good: wait for the profile instead.
                if customer.email == nil && customer.phone == nil {
                    // A refusal lasts until the configuration is fixed: said as an error.
                    let refused = (error as? ProfileUnavailable)?.refused == true
                    // Another customer of a group does not hold the conversation's own back for
                    // that long: the stretch is filed without them. An outage passes: it waits.
                    guard index == 0 || !refused else {
                        unnamed.insert(customer.ref.description)
                        (refused ? logger.error : logger.warning)(
                            "customer profile unavailable; transcript not filed under this customer",
                            ["conversation": conversation.rawValue, "customer": customer.ref.description,
                             "problem": "\(error)"])
                        continue
                    }
                    (refused ? logger.error : logger.warning)(
                        "customer profile unavailable; transcript postponed",
                        ["conversation": conversation.rawValue, "problem": "\(error)"])
                    return false
                }
            }
            if enriched != customer {
                try store.save(enriched, now: now)
                named.append(enriched)
            }
        }
        // A message deleted after the read (the lookup above may have taken a while) makes the
        // plan stale: it holds the text. Nothing is filed then; the stretch is read and planned
        // again at once, without another lookup.
        for _ in 0..<3 {
            for customer in named { Self.name(customer, in: &pending) }
            guard let last = pending.entries.last else { return false }
            let deliveries = try oncePerPerson(
                Self.plan(pending, trigger: trigger, target: target).filter { !unnamed.contains($0.partition) })
            if try store.scheduleArchive(
                of: conversation, throughMessage: last.sequence, deliveries: deliveries, now: now,
                revision: pending.revision)
            {
                if deliveries.isEmpty {
                    logger.warning(
                        "no customer in conversation; messages not archived", ["conversation": conversation.rawValue])
                } else {
                    metrics.transcriptsPlanned.increment(by: deliveries.count)
                    logger.info(
                        "transcript planned",
                        [
                            "conversation": conversation.rawValue, "messages": "\(pending.entries.count)",
                            "trigger": trigger.rawValue, "customers": "\(deliveries.count)",
                        ]
                    )
                }
                return !deliveries.isEmpty
            }
            guard let again = try store.pendingTranscript(for: conversation, through: through) else { return false }
            pending = again
        }
        return false  // deletions keep coming: the next pass
    }

    /// The deliveries of a group's stretch, one a person: a customer that identity resolution
    /// counts as one already filed under (two accounts of one person), or whose CRM contact is
    /// one already filed to, is left out, so that no record holds the stretch twice.
    private func oncePerPerson(_ deliveries: [NewDelivery]) throws -> [NewDelivery] {
        guard deliveries.count > 1 else { return deliveries }
        var kept: [NewDelivery] = []
        var people: Set<String> = []
        var contacts: Set<String> = []
        for delivery in deliveries {
            let ref = delivery.partition
            let contact = try store.ledgerEntry(BottleCRMArchiver.contactKey(ref: ref))
            guard !people.contains(ref), !(contact.map(contacts.contains) ?? false) else { continue }
            kept.append(delivery)
            people.insert(ref)
            people.formUnion(try store.sameCustomer(as: ref))
            if let contact { contacts.insert(contact) }
        }
        return kept
    }

    /// Whom a stretch is filed under: the conversation's customer, then each other customer
    /// who speaks in it, in the order they first do.
    static func customers(of pending: PendingTranscript) -> [Participant] {
        guard let customer = pending.customer else { return [] }
        var customers = [customer]
        for entry in pending.entries {
            guard let speaker = entry.sender, speaker.role == .customer,
                !customers.contains(where: { $0.ref == speaker.ref })
            else { continue }
            customers.append(speaker)
        }
        return customers
    }

    /// The customer as the profile lookup found them, on the transcript and on their own
    /// lines (read with the customer as known before).
    private static func name(_ customer: Participant, in pending: inout PendingTranscript) {
        if pending.customer?.ref == customer.ref { pending.customer = customer }
        for index in pending.entries.indices where pending.entries[index].message.sender == customer.ref {
            pending.entries[index].sender = customer
        }
    }

    /// The outbox entries for a stretch of conversation: one filed under the conversation's
    /// customer, and one under each other customer who speaks in it (a group with several of
    /// a client's people: each one's record holds the conversation). None when there is no
    /// customer to file it under. The keys depend only on the messages (and, for the others,
    /// on whom), so re-planning the same stretch (after a crash, on replay) yields the same.
    public static func plan(_ pending: PendingTranscript, trigger: ArchiveTrigger, target: String) -> [NewDelivery] {
        guard let customer = pending.customer, let first = pending.entries.first, let last = pending.entries.last else {
            return []
        }
        let stretch = SHA256Digest.hex("\(pending.conversation.rawValue)\n\(first.message.id)\n\(last.message.id)")
            .prefix(32)
        let lines = pending.entries.map { entry in
            Transcript.Line(
                sentAt: entry.message.sentAt, speaker: entry.sender?.displayName ?? entry.message.sender.id,
                role: entry.sender?.role ?? .other, text: entry.message.text
            )
        }
        return customers(of: pending).compactMap { filedUnder in
            let key = IdempotencyKey(
                filedUnder.ref == customer.ref
                    ? "archive:\(stretch)"
                    : "archive:\(stretch):" + SHA256Digest.hex(filedUnder.ref.description).prefix(16))
            let transcript = Transcript(
                conversation: pending.conversation, channel: pending.channel, customer: filedUnder, trigger: trigger,
                lines: lines, key: key
            )
            guard let payload = try? transcript.encoded() else { return nil }
            return NewDelivery(
                target: target, operation: BottleCRMArchiver.archiveOperation, partition: filedUnder.ref.description,
                idempotencyKey: key, payload: payload
            )
        }
    }
}
