import Foundation
import LiaisonCore

/// Remembers which effects were already performed, and where they landed: the
/// idempotency key of a delivery (or of a step inside it, such as creating a contact)
/// mapped to the remote id. For systems without idempotency keys of their own, this is
/// what makes a retry safe.
public protocol DeliveryLedger: Sendable {
    func remoteID(for key: IdempotencyKey) async throws -> String?
    /// Records where the effect landed (and clears its intent).
    func record(_ key: IdempotencyKey, remoteID: String) async throws
    /// Notes, durably, that a write under `key` is about to be sent: if the process dies
    /// before `record`, the next attempt knows the write may have landed.
    func intend(_ key: IdempotencyKey) async throws
    /// When a write under `key` was last sent without its outcome being recorded, if one
    /// was: look for it in the remote system before writing again (`wasIntended`).
    func intendedAt(_ key: IdempotencyKey) async throws -> Date?
    /// Drops what is recorded under `key` (the remote record is gone).
    func forget(_ key: IdempotencyKey) async throws
    /// Notes that a record about to be created will come back as a change event
    /// (`keys` like `email:li.na@example.com`), so it is not announced as news.
    func expectEcho(kind: String, keys: [String], for duration: Duration) async throws
    /// The other records identity resolution counts as the same customer as `ref`
    /// (`bottlecrm:contact:…` for `matrix:user:@li.na:corp`).
    func sameCustomer(as ref: String) async throws -> [String]
}

extension DeliveryLedger {
    public func sameCustomer(as ref: String) async throws -> [String] { [] }

    /// Whether a write under `key` was sent before without its outcome being recorded: look
    /// for it in the remote system before writing again.
    ///
    /// An intent dated after `due` (when the attempt now under way was due) was made by an
    /// attempt whose outcome the outbox never recorded: the process died with its request
    /// under way. While that request is younger than `window` (its timeout) it may still be
    /// landing, and a look now could miss it and write it again: this throws `StillLanding`,
    /// and the attempt is retried once the window is over. (After an outcome the outbox
    /// recorded, it has already waited that long if the outcome was unknown.)
    public func wasIntended(
        _ key: IdempotencyKey, settling window: TimeInterval, due: Date, now: Date
    ) async throws -> Bool {
        guard let intended = try await intendedAt(key) else { return false }
        let left = window - now.timeIntervalSince(intended)
        if intended > due, left > 0 {
            throw StillLanding(key: key, retryAfter: .milliseconds(Int64((left * 1000).rounded(.up))))
        }
        return true
    }
}

/// A write under `key` was sent too recently to look for it yet (`wasIntended`).
public struct StillLanding: Error, CustomStringConvertible {
    public var key: IdempotencyKey
    public var retryAfter: Duration
    public var description: String {
        "a write under \(key.rawValue) was sent moments before the last attempt ended without its outcome; "
            + "it is looked for once it has had the time to land"
    }
}

/// How a record is recognised when it comes back as a change event.
public enum EchoKeys {
    /// Keys for a record that should be a person's own: the same mailbox, the same number.
    public static func of(email: String?, phone: String?) -> [String] {
        var keys: [String] = []
        if let email, !email.isEmpty { keys.append("email:" + (EmailAddress(email)?.normalized ?? email.lowercased())) }
        if let phone, !phone.isEmpty {
            keys.append("phone:" + (PhoneNumber(phone)?.e164 ?? phone.filter(\.isNumber)))
        }
        return keys
    }

    /// The key for a record's name (its words in any order, Hanzi read as Pinyin).
    public static func of(name: String?) -> [String] {
        guard let name, let key = PersonName(name)?.key else { return [] }
        return ["name:" + key]
    }

    /// The key for the record with this id in the echoing system.
    public static func of(id: String) -> [String] { ["id:" + id] }

    /// Every key a created record can be matched by.
    public static func of(_ record: CRMRecord) -> [String] {
        of(email: record.fields["email"], phone: record.fields["phone"]) + of(name: record.fields["name"])
            + of(id: record.ref.id)
    }
}

/// One system's outbound side: performs a delivery and says how it went. Never throws
/// for expected outcomes (refusals, rate limits, outages): those are `DeliveryOutcome`s.
public protocol OutboundConnector: Sendable {
    /// The `target` of the deliveries this connector performs.
    var target: String { get }
    func perform(_ delivery: Delivery, ledger: any DeliveryLedger, now: Date) async -> DeliveryOutcome
}
