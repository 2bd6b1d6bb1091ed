import Foundation
import LiaisonConnectors
import LiaisonCore
import LiaisonStore

/// Decides who hears about a CRM change and turns it into outbox entries: the team room,
/// the record's owners (old and new on a hand-over) and the watchers, each once.
public struct ChangeRouter: Sendable {
    public let settings: NotifySettings

    public init(settings: NotifySettings) {
        self.settings = settings
    }

    /// The kinds of this change that are announced: a stage move that is also a hand-over
    /// is announced when either kind is.
    func announced(_ change: RecordChange) -> Set<ChangeKind> { change.kinds.intersection(settings.changes) }

    /// Where a change goes.
    public func recipients(of change: RecordChange) -> [MatrixNotifier.Recipient] {
        guard !announced(change).isEmpty else { return [] }
        var recipients: [MatrixNotifier.Recipient] = settings.room.map { [.room($0)] } ?? []
        var owners: [String] = []
        for field in change.changes where field.field == "owner" {
            owners += [field.old, field.new].compactMap { $0 }.flatMap(Self.ids)
        }
        owners += change.owners.flatMap(Self.ids)
        var users = owners.compactMap { settings.owners[$0] } + settings.watchers
        var seen: Set<String> = []
        users = users.filter { seen.insert($0).inserted }
        recipients += users.map(MatrixNotifier.Recipient.user)
        return recipients
    }

    /// The change as people read it: CRM user ids in the owner field become the Matrix
    /// users they are mapped to (`notify.owners`), which Matrix clients show by name.
    func readable(_ change: RecordChange) -> RecordChange {
        var change = change
        func names(_ text: String?) -> String? {
            text.map { Self.ids($0).map { settings.owners[$0] ?? $0 }.joined(separator: ", ") }
        }
        for index in change.changes.indices where change.changes[index].field == "owner" {
            change.changes[index].old = names(change.changes[index].old)
            change.changes[index].new = names(change.changes[index].new)
        }
        return change
    }

    /// `"u-1, u-2"` → `["u-1", "u-2"]`.
    private static func ids(_ text: String) -> [String] {
        text.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
    }

    /// What a change causes: notices now for realtime kinds, lines for the next digest
    /// for the others.
    /// - Parameter cause: the log record the change came from; the keys derive from it,
    ///   so re-applying the record (a replay) enqueues nothing new.
    public func route(_ change: RecordChange, cause: InboundRecord) -> (deliveries: [NewDelivery], digest: [DigestItem])
    {
        let recipients = recipients(of: change)
        let kinds = announced(change)
        var change = readable(change)
        // Headed by the first kind announced (a hand-over, when stage moves are not).
        if let first = kinds.min() { change.kind = first }
        func key(_ recipient: MatrixNotifier.Recipient) -> String {
            SHA256Digest.hex("\(cause.source)\n\(cause.sequence)\n\(change.ref)\n\(recipient)").prefix(32).description
        }
        guard !kinds.isDisjoint(with: settings.realtime) else {
            let line = ChangeNotice.summary(change, language: settings.language)
            return (
                [], recipients.map { DigestItem(key: "digest-line:" + key($0), recipient: $0.description, line: line) }
            )
        }
        let link = settings.recordLink.map {
            $0.replacingOccurrences(of: "{kind}", with: change.ref.kind).replacingOccurrences(
                of: "{id}", with: change.ref.id)
        }
        let notice = ChangeNotice.render(change, language: settings.language, link: link)
        let deliveries = recipients.compactMap { recipient in
            Self.delivery(notice, to: recipient, key: "notice:" + key(recipient), partition: change.ref.description)
        }
        return (deliveries, [])
    }

    /// A digest of waiting lines for one recipient.
    /// A digest's lines in groups that each fit one Matrix event (65,536 bytes, its plain
    /// and HTML bodies and JSON framing included): a bulk edit of a thousand records is
    /// several digests, not one the homeserver refuses for good.
    public static func digestGroups(_ lines: [DigestLine], budget: Int = 40_000) -> [[DigestLine]] {
        var groups: [[DigestLine]] = []
        var size = budget
        for line in lines {
            // Plain and escaped HTML, with room for bullets, tags and JSON escapes.
            let cost = line.line.utf8.count + ChangeNotice.escape(line.line).utf8.count + 32
            if size + cost > budget || groups.isEmpty {
                groups.append([])
                size = 0
            }
            groups[groups.count - 1].append(line)
            size += cost
        }
        return groups
    }

    public func digest(for recipient: String, lines: [DigestLine]) -> NewDelivery? {
        guard let target = MatrixNotifier.Recipient(recipient), !lines.isEmpty else { return nil }
        let notice = ChangeNotice.digest(lines.map(\.line), language: settings.language)
        // Named by its lines' keys, not their rows: a row's number comes back once the
        // table has been emptied by a flush, and a later digest would be taken for this one.
        let key = "digest:" + SHA256Digest.hex(([recipient] + lines.map(\.key)).joined(separator: "\n")).prefix(32)
        return Self.delivery(notice, to: target, key: key, partition: "digest:\(recipient)")
    }

    private static func delivery(
        _ notice: ChangeNotice, to recipient: MatrixNotifier.Recipient, key: String, partition: String
    ) -> NewDelivery? {
        let encoder = JSONEncoder()
        encoder.outputFormatting = .sortedKeys
        guard let payload = try? encoder.encode(MatrixNotifier.Payload(recipient: recipient, notice: notice)) else {
            return nil
        }
        return NewDelivery(
            target: "matrix", operation: MatrixNotifier.notifyOperation, partition: partition,
            idempotencyKey: IdempotencyKey(key), payload: Array(payload))
    }
}
