import Foundation
import LiaisonCore

/// Archives transcripts in BottleCRM: finds the customer's contact (by e-mail, then
/// phone) or creates it, then files the transcript as an interaction on it.
///
/// BottleCRM takes no idempotency key, so the ledger stands in for one: the contact and
/// the interaction are each recorded under a key once created, and after an attempt
/// whose outcome is unknown, the contact's interactions are searched for the
/// transcript's marker before anything is written again.
public struct BottleCRMArchiver: OutboundConnector {
    public static let archiveOperation = "archive_transcript"
    public var target: String { "bottlecrm" }
    private let client: BottleCRMClient
    private let settings: BottleCRMSettings

    public init(settings: BottleCRMSettings, timeout: TimeInterval) {
        self.settings = settings
        client = BottleCRMClient(baseURL: settings.baseURL, token: settings.token, http: HTTPClient(timeout: timeout))
    }

    public func perform(_ delivery: Delivery, ledger: any DeliveryLedger, now: Date) async -> DeliveryOutcome {
        guard delivery.operation == Self.archiveOperation else {
            return .permanent(reason: "bottlecrm cannot perform '\(delivery.operation)'")
        }
        let transcript: Transcript
        do {
            transcript = try Transcript.decoded(from: delivery.payload)
        } catch {
            return .permanent(reason: "payload is not a transcript: \(error)")
        }
        do {
            if let done = try await ledger.remoteID(for: delivery.idempotencyKey) { return .delivered(remoteID: done) }
            let contact: String
            switch await contactID(for: transcript.customer, ledger: ledger) {
            case .ok(let id): contact = id
            case .failed(let outcome): return Self.classify(outcome, step: "find or create contact", now: now)
            }
            if delivery.uncertain, let found = try await existing(transcript, contact: contact) {
                try await ledger.record(delivery.idempotencyKey, remoteID: found)
                return .delivered(remoteID: found)
            }
            let interaction = BottleCRMClient.NewInteraction(
                kind: settings.interactionKind, direction: "inbound", subject: String(transcript.subject.prefix(250)),
                body: transcript.body, contact: contact
            )
            switch await client.createInteraction(interaction) {
            case .ok(let id):
                try await ledger.record(delivery.idempotencyKey, remoteID: id)
                return .delivered(remoteID: id)
            case .failed(let outcome):
                return Self.classify(outcome, step: "create interaction", now: now)
            }
        } catch {
            return .retryable(reason: "ledger: \(error)", after: nil, uncertain: true)
        }
    }

    /// The interaction holding this transcript's marker, if an earlier attempt wrote it.
    private func existing(_ transcript: Transcript, contact: String) async throws -> String? {
        switch await client.interactions(contact: contact) {
        case .ok(let list): return list.first { $0.body?.contains(transcript.marker) == true }?.id
        case .failed: throw LookupFailed()
        }
    }

    private struct LookupFailed: Error {}

    private func contactID(for customer: Participant, ledger: any DeliveryLedger) async -> BottleCRMClient.Reply<String> {
        let key = IdempotencyKey("bottlecrm:contact:\(customer.ref)")
        if let known = try? await ledger.remoteID(for: key) { return .ok(known) }
        var searches: [[String: String]] = []
        if let email = customer.email, !email.isEmpty { searches.append(["email": email]) }
        if let phone = customer.phone, !phone.isEmpty { searches.append(["phone": phone]) }
        for query in searches {
            switch await client.findContacts(query) {
            case .ok(let found):
                if let match = found.first(where: { Self.matches($0, query) }) {
                    try? await ledger.record(key, remoteID: match.id)
                    return .ok(match.id)
                }
            case .failed(let outcome):
                return .failed(outcome)
            }
        }
        let (first, last) = Self.split(customer.displayName ?? customer.ref.id)
        let created = await client.createContact(
            BottleCRMClient.NewContact(
                firstName: first, lastName: last, email: customer.email, phone: customer.phone,
                sourceRef: customer.ref.description
            )
        )
        if case .ok(let id) = created { try? await ledger.record(key, remoteID: id) }
        return created
    }

    /// The list filters may be loose (substring); only an exact match counts.
    static func matches(_ contact: BottleCRMClient.Contact, _ query: [String: String]) -> Bool {
        if let email = query["email"] { return contact.email?.lowercased() == email.lowercased() }
        if let phone = query["phone"] { return digits(contact.phone) == digits(phone) }
        return false
    }

    private static func digits(_ text: String?) -> String { (text ?? "").filter(\.isNumber) }

    /// First and last name for a contact; BottleCRM requires both.
    public static func split(_ name: String) -> (first: String, last: String) {
        let trimmed = name.trimmingCharacters(in: .whitespacesAndNewlines)
        let words = trimmed.split(whereSeparator: \.isWhitespace)
        if words.count >= 2 {
            return (String(words.dropLast().joined(separator: " ")), String(words.last!))
        }
        // A name in Han characters is family name first: 李娜 → 李 / 娜.
        if let first = trimmed.unicodeScalars.first, trimmed.count >= 2,
            first.properties.isIdeographic
        {
            return (String(trimmed.dropFirst()), String(trimmed.prefix(1)))
        }
        return (trimmed.isEmpty ? "Unknown" : trimmed, "-")
    }

    /// Maps a failed call to a delivery outcome.
    static func classify(_ outcome: HTTPOutcome, step: String, now: Date) -> DeliveryOutcome {
        switch outcome {
        case let .failed(reason, maybeApplied):
            return .retryable(reason: "\(step): \(reason)", after: nil, uncertain: maybeApplied)
        case let .response(status, _, body):
            let detail = String(decoding: body.prefix(300), as: UTF8.self)
            let reason = "\(step): HTTP \(status) \(detail)"
            switch status {
            case 429, 503: return .retryable(reason: reason, after: outcome.retryAfter(now: now), uncertain: false)
            // A 5xx may come after the row was saved (BottleCRM does this): look before retrying.
            case 500...599: return .retryable(reason: reason, after: outcome.retryAfter(now: now), uncertain: true)
            case 408: return .retryable(reason: reason, after: nil, uncertain: true)
            default: return .permanent(reason: reason)
            }
        }
    }
}
