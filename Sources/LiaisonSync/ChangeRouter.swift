import Foundation
import LiaisonConnectors
import LiaisonCore
import LiaisonStore

/// Decides who hears about a CRM change and turns it into outbox entries: today, one
/// notice in the configured Matrix room for the kinds of change configured.
public struct ChangeRouter: Sendable {
    public let settings: NotifySettings

    public init(settings: NotifySettings) {
        self.settings = settings
    }

    /// - Parameter cause: the log record the change came from; the notice's idempotency
    ///   key derives from it, so re-applying the record (a replay) enqueues nothing new.
    public func deliveries(for change: RecordChange, cause: InboundRecord) -> [NewDelivery] {
        guard settings.changes.contains(change.kind) else { return [] }
        let link = settings.recordLink.map {
            $0.replacingOccurrences(of: "{kind}", with: change.ref.kind).replacingOccurrences(
                of: "{id}", with: change.ref.id)
        }
        let notice = ChangeNotice.render(change, language: settings.language, link: link)
        let encoder = JSONEncoder()
        encoder.outputFormatting = .sortedKeys
        guard let payload = try? encoder.encode(MatrixNotifier.Payload(room: settings.room, notice: notice)) else {
            return []
        }
        let key =
            "notice:"
            + SHA256Digest.hex("\(cause.source)\n\(cause.sequence)\n\(change.ref)\n\(settings.room)").prefix(32)
        return [
            NewDelivery(
                target: "matrix", operation: MatrixNotifier.notifyOperation, partition: change.ref.description,
                idempotencyKey: IdempotencyKey(key), payload: Array(payload)
            )
        ]
    }
}
