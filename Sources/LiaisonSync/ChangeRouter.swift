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

    /// Where a change goes.
    public func recipients(of change: RecordChange) -> [MatrixNotifier.Recipient] {
        guard settings.changes.contains(change.kind) else { return [] }
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

    /// `"u-1, u-2"` → `["u-1", "u-2"]`.
    private static func ids(_ text: String) -> [String] {
        text.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
    }

    /// - Parameter cause: the log record the change came from; the notices' idempotency
    ///   keys derive from it, so re-applying the record (a replay) enqueues nothing new.
    public func deliveries(for change: RecordChange, cause: InboundRecord) -> [NewDelivery] {
        let link = settings.recordLink.map {
            $0.replacingOccurrences(of: "{kind}", with: change.ref.kind).replacingOccurrences(
                of: "{id}", with: change.ref.id)
        }
        let notice = ChangeNotice.render(change, language: settings.language, link: link)
        let encoder = JSONEncoder()
        encoder.outputFormatting = .sortedKeys
        return recipients(of: change).compactMap { recipient in
            guard let payload = try? encoder.encode(MatrixNotifier.Payload(recipient: recipient, notice: notice)) else {
                return nil
            }
            let key =
                "notice:"
                + SHA256Digest.hex("\(cause.source)\n\(cause.sequence)\n\(change.ref)\n\(recipient)").prefix(32)
            return NewDelivery(
                target: "matrix", operation: MatrixNotifier.notifyOperation, partition: change.ref.description,
                idempotencyKey: IdempotencyKey(key), payload: Array(payload))
        }
    }
}
