import Foundation
import LiaisonCore

/// Archives transcripts in BottleCRM: finds the customer's contact (the one identity
/// resolution links them to, else by e-mail, then phone) or creates it, then files the
/// transcript as an interaction on it.
///
/// BottleCRM takes no idempotency key, so the ledger stands in for one: the contact and
/// the interaction are each recorded under a key once created, and each create is noted
/// as intended before it is sent. After an attempt whose outcome is unknown (a timeout,
/// a 5xx, or the process dying between the write and the ledger), BottleCRM is searched
/// before anything is written again: the contact's interactions for the transcript's
/// marker, the contacts for the one carrying the customer's ref.
public struct BottleCRMArchiver: OutboundConnector {
    public static let archiveOperation = "archive_transcript"
    public var target: String { "bottlecrm" }
    private let client: BottleCRMClient
    private let settings: BottleCRMSettings
    /// How long a create may take: the window in which its webhook arrives.
    private let timeout: TimeInterval

    public init(settings: BottleCRMSettings, timeout: TimeInterval) {
        self.settings = settings
        self.timeout = timeout
        client = BottleCRMClient(baseURL: settings.baseURL, token: settings.token, http: HTTPClient(timeout: timeout))
    }

    /// BottleCRM's limits, in Unicode scalars as Django counts them.
    static let maxBody = 10_000
    static let maxSubject = 200

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
            let found = try await contactID(
                for: transcript.customer, ledger: ledger, due: delivery.nextAttemptAt, now: now)
            switch found {
            case .ok(let id): contact = id
            case .failed(let outcome): return Self.classify(outcome, step: "find or create contact", now: now)
            }
            // A long transcript becomes several interactions, each written once under its own key.
            let parts = Self.parts(of: transcript)
            var firstID: String?
            for part in parts {
                if let written = try await ledger.remoteID(for: part.key) {
                    firstID = firstID ?? written
                    continue
                }
                var unsure = delivery.uncertain
                if !unsure {
                    unsure = try await ledger.wasIntended(
                        part.key, settling: timeout, due: delivery.nextAttemptAt, now: now)
                }
                if unsure, let found = try await existing(part.marker, contact: contact) {
                    try await ledger.record(part.key, remoteID: found)
                    firstID = firstID ?? found
                    continue
                }
                try await ledger.intend(part.key)
                let interaction = BottleCRMClient.NewInteraction(
                    kind: settings.interactionKind, direction: "inbound", subject: part.subject, body: part.body,
                    contact: contact, occurredAt: transcript.lines.lazy.map(\.sentAt).min().map { ISO8601.format(min($0, now)) }
                )
                switch await client.createInteraction(interaction) {
                case .ok(let id):
                    try await ledger.record(part.key, remoteID: id)
                    firstID = firstID ?? id
                case .failed(.response(404, _, let body)) where Self.noSuchRecord(body):
                    // The contact was deleted (or merged away) in BottleCRM: forget it, and
                    // the next attempt finds the customer's contact again, or creates it.
                    try await ledger.forget(Self.contactKey(transcript.customer))
                    try await ledger.record(Self.goneKey(contact), remoteID: contact)
                    return .retryable(
                        reason: "create interaction: contact \(contact) no longer exists in BottleCRM; "
                            + "the customer's contact is looked up again", after: nil, uncertain: false)
                case .failed(let outcome):
                    return Self.classify(outcome, step: "create interaction", now: now)
                }
            }
            let remoteID = firstID ?? ""
            try await ledger.record(delivery.idempotencyKey, remoteID: remoteID)
            return .delivered(remoteID: remoteID)
        } catch let failed as LookupFailed {
            // Still uncertain, so the retry looks again: after what the server asked for
            // (a 429's Retry-After), or as after any unknown outcome.
            let classified = Self.classify(failed.outcome, step: "look for an earlier write", now: now)
            guard case .retryable(let reason, let after, _) = classified else {
                return .retryable(reason: "look for an earlier write: \(classified)", after: nil, uncertain: true)
            }
            return .retryable(reason: reason, after: after, uncertain: true)
        } catch let gone as ContactGone {
            // Merged away, its interactions went to the contact it was merged into, which the
            // next attempt finds again (by e-mail or phone) and looks in: still uncertain.
            do {
                try await ledger.forget(Self.contactKey(transcript.customer))
                try await ledger.record(Self.goneKey(gone.contact), remoteID: gone.contact)
            } catch {
                return .retryable(reason: "ledger: \(error)", after: nil, uncertain: true)
            }
            return .retryable(
                reason: "look for an earlier write: contact \(gone.contact) no longer exists in BottleCRM; "
                    + "the customer's contact is looked up again", after: nil, uncertain: true)
        } catch let landing as StillLanding {
            return .retryable(reason: "\(landing)", after: landing.retryAfter, uncertain: true)
        } catch {
            return .retryable(reason: "ledger or look-up: \(error)", after: nil, uncertain: true)
        }
    }

    /// One interaction's worth of a transcript.
    public struct Part: Sendable {
        public var key: IdempotencyKey
        public var marker: String
        public var subject: String
        public var body: String
    }

    /// Splits a transcript into interactions that fit BottleCRM's body limit, at line
    /// boundaries; a single line longer than a part (a pasted log, say) is carried on over
    /// as many as it needs, nothing of it cut. Each part carries its own marker.
    public static func parts(of transcript: Transcript) -> [Part] {
        let lines = transcript.body.components(separatedBy: "\n").dropLast(2)  // the blank line and the marker
        let budget = maxBody - 200
        var chunks: [[String]] = [[]]
        var size = 0
        for line in lines {
            var rest = Substring.UnicodeScalarView(line.unicodeScalars)
            repeat {
                if size > 0, size + min(rest.count, budget) + 1 > budget {
                    chunks.append([])
                    size = 0
                }
                let piece = rest.prefix(budget - size)
                rest = rest.dropFirst(piece.count)
                chunks[chunks.count - 1].append(String(String.UnicodeScalarView(piece)))
                size += piece.count + 1
            } while !rest.isEmpty
        }
        let subject = String(String.UnicodeScalarView(transcript.subject.unicodeScalars.prefix(maxSubject - 12)))
        if chunks.count == 1 {
            return [Part(key: transcript.key, marker: transcript.marker, subject: subject, body: transcript.body)]
        }
        return chunks.enumerated().map { index, chunk in
            let key = IdempotencyKey("\(transcript.key.rawValue)#\(index + 1)")
            let marker = Transcript.markerPrefix + key.rawValue
            return Part(
                key: key, marker: marker, subject: "\(subject) (\(index + 1)/\(chunks.count))",
                body: (chunk + ["", marker]).joined(separator: "\n")
            )
        }
    }

    /// The interaction holding `marker`, if an earlier attempt wrote it: read page by page,
    /// newest first, through the contact's interactions (a dead letter replayed days later
    /// may have hundreds of newer ones above it), up to `lookupLimit`.
    private func existing(_ marker: String, contact: String) async throws -> String? {
        var offset = 0
        while offset < Self.lookupLimit {
            switch await client.interactions(contact: contact, offset: offset) {
            case .ok(let page):
                if let found = page.interactions.first(where: { $0.body?.hasSuffix(marker) == true }) {
                    return found.id
                }
                offset += page.interactions.count
                if page.interactions.isEmpty || offset >= (page.count ?? offset) { return nil }
            case .failed(.response(404, _, let body)) where Self.noSuchRecord(body):
                throw ContactGone(contact: contact)
            case .failed(let outcome): throw LookupFailed(outcome: outcome)
            }
        }
        return nil
    }

    /// The contact was deleted, or merged into another, in BottleCRM.
    private struct ContactGone: Error {
        let contact: String
    }

    /// How far back a look for an earlier write reads a contact's interactions.
    static let lookupLimit = 10_000

    /// The look for an earlier write could not be made: whether it landed is still unknown.
    private struct LookupFailed: Error {
        let outcome: HTTPOutcome
    }

    /// The customer's contact, found or created. Throws when the ledger cannot be read or
    /// written: going on would forget a contact and create it again next time.
    private func contactID(for customer: Participant, ledger: any DeliveryLedger, due: Date, now: Date)
        async throws
        -> BottleCRMClient.Reply<String>
    {
        let key = Self.contactKey(customer)
        if let known = try await ledger.remoteID(for: key) { return .ok(known) }
        // Identity resolution may already know this customer's contact (same phone, e-mail,
        // or a merge a person accepted): file there rather than search by e-mail or phone.
        let prefix = "\(target):contact:"
        for linked in try await ledger.sameCustomer(as: customer.ref.description) where linked.hasPrefix(prefix) {
            let id = String(linked.dropFirst(prefix.count))
            guard try await ledger.remoteID(for: Self.goneKey(id)) == nil else { continue }
            try await ledger.record(key, remoteID: id)
            return .ok(id)
        }
        var searches: [[String: String]] = []
        if let email = customer.email, !email.isEmpty { searches.append(["email": email]) }
        if let phone = customer.phone, !phone.isEmpty { searches.append(["phone": phone]) }
        let (first, last) = Self.split(customer.displayName ?? customer.ref.id)
        // A create this ledger sent before, whose answer was lost: the contact carries the
        // customer's ref. BottleCRM cannot filter on it, so the contacts by that name are read
        // and compared. Only then: a contact some other store created for the same IM user
        // is not taken when the customer's e-mail and phone say otherwise.
        if try await ledger.wasIntended(key, settling: timeout, due: due, now: now) {
            searches.append(["name": first])
        }
        for query in searches {
            // By e-mail or phone, BottleCRM's own normalised matching; by name, the list.
            let reply =
                query["name"] == nil ? await client.duplicates(query) : await client.findContacts(query)
            switch reply {
            case .ok(let found):
                let ref = customer.ref.description
                if let match = found.first(where: { Self.matches($0, query) || $0.sourceRef == ref }) {
                    try await ledger.record(key, remoteID: match.id)
                    return .ok(match.id)
                }
            case .failed(let outcome):
                return .failed(outcome)
            }
        }
        try await ledger.intend(key)
        // BottleCRM announces the contact we create with a webhook: it is not news. It sends
        // it inside the create call, before answering, and retries one it could not deliver
        // for up to ~8.6 hours (1 min, 5 min, 30 min, 2 h, 6 h). The e-mail and phone say
        // which contact is ours for that long; a customer with neither is known by name only
        // while the create is under way (a namesake's contact later is news), then by id.
        let keys = EchoKeys.of(email: customer.email, phone: customer.phone)
        if keys.isEmpty {
            try? await ledger.expectEcho(
                kind: "contact", keys: EchoKeys.of(name: BottleCRMWebhook.personName(first: first, last: last)),
                for: .seconds(timeout + 60))
        } else {
            try? await ledger.expectEcho(kind: "contact", keys: keys, for: Self.echoLifetime)
        }
        var contact = BottleCRMClient.NewContact(
            firstName: first, lastName: last, email: customer.email, phone: customer.phone,
            sourceRef: customer.ref.description)
        var created = await client.createContact(contact)
        // An e-mail or a phone BottleCRM will not take as written (a generic webhook's free text:
        // "138-0013-8000 转 801") would refuse every transcript of the customer for good: the
        // contact is created without it. (An e-mail that exists is no such refusal: the
        // contact is there, and the next attempt finds it.)
        if case .failed(.response(400, _, let body)) = created {
            let refused = Self.refusedFields(body)
            if !refused.isEmpty, refused.isSubset(of: ["email", "phone"]) {
                if refused.contains("email") { contact.email = nil }
                if refused.contains("phone") { contact.phone = nil }
                created = await client.createContact(contact)
            }
        }
        if case .ok(let id) = created {
            try? await ledger.expectEcho(kind: "contact", keys: EchoKeys.of(id: id), for: Self.echoLifetime)
            try await ledger.record(key, remoteID: id)
        }
        return created
    }

    /// The fields a 400 refused as malformed (`{"errors": {"phone": ["Enter a valid …"]}}`);
    /// a duplicate e-mail is not malformed.
    static func refusedFields(_ body: Data) -> Set<String> {
        guard case .object(let errors)? = (try? JSONValue.parse(Array(body)))?["errors"] else { return [] }
        var fields: Set<String> = []
        for (field, messages) in errors {
            guard case .array(let list) = messages else { continue }
            let text = list.compactMap(\.string).joined(separator: " ")
            if text.contains("already exists") { return [] }
            fields.insert(field)
        }
        return fields
    }

    /// How long the webhook of a contact we created may still come: BottleCRM's retries.
    static let echoLifetime = Duration.seconds(9 * 3600)

    /// Where the customer's contact id is recorded.
    static func contactKey(_ customer: Participant) -> IdempotencyKey { contactKey(ref: customer.ref.description) }

    /// Where the contact id of the customer known by `ref` is recorded.
    public static func contactKey(ref: String) -> IdempotencyKey { IdempotencyKey("bottlecrm:contact:\(ref)") }

    /// BottleCRM's answer for a record that does not exist (not a 404 for a wrong path, which
    /// says nothing about the contact).
    static func noSuchRecord(_ body: Data) -> Bool {
        (try? JSONValue.parse(Array(body)))?["detail"]?.string == "No such record."
    }

    /// A contact BottleCRM answered 404 for: not to be filed to again.
    static func goneKey(_ contact: String) -> IdempotencyKey { IdempotencyKey("bottlecrm:gone:contact:\(contact)") }

    /// BottleCRM's list filters are substring matches; only the same mailbox or the same
    /// number (compared in E.164) counts.
    static func matches(_ contact: BottleCRMClient.Contact, _ query: [String: String]) -> Bool {
        if let email = query["email"] {
            guard let stored = contact.email else { return false }
            return (EmailAddress(stored)?.normalized ?? stored.lowercased())
                == (EmailAddress(email)?.normalized ?? email.lowercased())
        }
        if let phone = query["phone"], let stored = contact.phone {
            if let a = PhoneNumber(stored), let b = PhoneNumber(phone) { return a.e164 == b.e164 }
            return stored.filter(\.isNumber) == phone.filter(\.isNumber)
        }
        return false
    }

    /// First and last name for a contact; BottleCRM requires both. The last name is the
    /// family name, which a Han name gives first: 李娜 → 娜 / 李, 欧阳娜娜 → 娜娜 / 欧阳.
    public static func split(_ name: String) -> (first: String, last: String) {
        let trimmed = name.trimmingCharacters(in: .whitespacesAndNewlines)
        if let (family, given) = ChineseName.split(trimmed) { return (given, family) }
        let words = trimmed.split(whereSeparator: \.isWhitespace)
        if words.count >= 2 {
            return (String(words.dropLast().joined(separator: " ")), String(words.last!))
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
