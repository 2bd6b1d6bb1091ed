import Foundation
import LiaisonCore

/// A lookup by e-mail or phone that records of several customers share: each is named by
/// one of its records, to be looked up by that ref.
public struct AmbiguousLookup: Error, Sendable {
    public let candidates: [String]
}

extension SQLiteStore {
    /// The ledger key under which the archiver records a customer's CRM contact.
    static let contactKeyPrefix = "bottlecrm:contact:"

    /// Whether the hub has archived to this BottleCRM contact, kept its snapshot, or resolved it.
    private static func knownContact(_ ref: SystemRef, in db: SQLiteDatabase) throws -> Bool {
        let archived =
            try db.statement(
                "SELECT 1 FROM ledger WHERE remote_id = ? AND idempotency_key LIKE ? LIMIT 1"
            ).first([.text(ref.id), .text(contactKeyPrefix + "%")], { _ in true }) ?? false
        if archived { return true }
        let snapshot =
            try db.statement("SELECT 1 FROM crm_snapshots WHERE ref = ?").first(
                [.text(ref.description)], { _ in true }) ?? false
        return try snapshot || person(ref.description, in: db) != nil
    }

    public func customerProfile(_ lookup: CustomerLookup, interactions limit: Int) throws -> CustomerProfile? {
        try read { db in
            // 1. Every ref the lookup names: IM participants and CRM contacts, linked through the ledger.
            var imRefs: Set<String> = []
            var contactIDs: Set<String> = []
            /// CRM records other than BottleCRM contacts (leads, Tryton parties), by ref.
            var otherCRMRefs: Set<String> = []
            /// CRM records found by their snapshot's e-mail or phone, any system and kind.
            var snapshotRefs: [String] = []
            switch lookup {
            case .ref(let ref) where ref.system == "bottlecrm" && ref.kind == "contact":
                // Only a contact the hub has seen: filed to, heard of, or resolved.
                if try Self.knownContact(ref, in: db) { contactIDs.insert(ref.id) }
            case .ref(let ref) where try Self.person(ref.description, in: db) != nil:
                if try Self.participant(ref, in: db) != nil {
                    imRefs.insert(ref.description)
                } else {
                    otherCRMRefs.insert(ref.description)
                }
            case .ref(let ref):
                if try Self.participant(ref, in: db) != nil { imRefs.insert(ref.description) }
            case .email(let email):
                imRefs.formUnion(
                    try db.statement("SELECT ref FROM participants WHERE lower(email) = lower(?)").rows([.text(email)])
                    {
                        $0.text(0) ?? ""
                    })
                snapshotRefs += try db.statement(
                    "SELECT ref FROM crm_snapshots WHERE deleted = 0 AND lower(json_extract(fields, '$.email')) = lower(?)"
                ).rows([.text(email)]) { $0.text(0) ?? "" }
            case .phone(let phone):
                let digits = phone.filter(\.isNumber)
                guard digits.count >= 5 else { return nil }
                let wanted = PhoneNumber(phone)
                // Narrowed in SQL, then compared in E.164: not every CRM record through
                // libphonenumber on each request. The pattern is the number's last 8 digits
                // with anything between and around them, so that no way of writing it
                // (separators, a country code, an extension after) is left out.
                let national = wanted.map { String($0.e164.filter(\.isNumber).suffix(8)) } ?? String(digits.suffix(8))
                let pattern = "%" + national.map { "\($0)%" }.joined()
                imRefs.formUnion(
                    try db.statement("SELECT ref, phone FROM participants WHERE phone LIKE ?")
                        .rows([.text(pattern)]) { row in Self.samePhone(row.text(1), wanted, digits) ? row.text(0) ?? "" : "" }
                )
                snapshotRefs += try db.statement(
                    "SELECT ref, json_extract(fields, '$.phone') FROM crm_snapshots WHERE deleted = 0 AND json_extract(fields, '$.phone') LIKE ?"
                )
                .rows([.text(pattern)]) { row in Self.samePhone(row.text(1), wanted, digits) ? row.text(0) ?? "" : "" }
            }
            // A BottleCRM contact joins the ledger's links; any other record (a lead, a
            // Tryton party) keeps its own system and kind.
            for ref in snapshotRefs {
                guard let systemRef = SystemRef(ref) else { continue }
                if systemRef.system == "bottlecrm" && systemRef.kind == "contact" {
                    contactIDs.insert(systemRef.id)
                } else {
                    otherCRMRefs.insert(ref)
                }
            }
            imRefs.remove("")
            contactIDs.remove("")
            for ref in imRefs {
                if let id = try db.statement("SELECT remote_id FROM ledger WHERE idempotency_key = ?")
                    .first([.text(Self.contactKeyPrefix + ref)], { $0.text(0) }) ?? nil
                {
                    contactIDs.insert(id)
                }
            }
            for id in contactIDs {
                imRefs.formUnion(
                    try db.statement(
                        "SELECT idempotency_key FROM ledger WHERE remote_id = ? AND idempotency_key LIKE ?"
                    )
                    .rows([.text(id), .text(Self.contactKeyPrefix + "%")]) {
                        String(($0.text(0) ?? "").dropFirst(Self.contactKeyPrefix.count))
                    })
            }
            // Identity resolution: every record resolved to the same customer. An e-mail or a
            // phone that records of several customers share (a switchboard, info@) names none
            // of them: answering with one person's name and another's phone would show an
            // agent a customer who does not exist, and one customer's data to another's agent.
            var customers: [(customer: String, ref: String)] = []
            for ref in imRefs.sorted() + contactIDs.sorted().map({ Self.contactKeyPrefix + $0 }) + otherCRMRefs.sorted()
            {
                if let known = try Self.person(ref, in: db), !customers.contains(where: { $0.customer == known.customer }) {
                    customers.append((known.customer, ref))
                }
            }
            if customers.count > 1, case .ref = lookup {} else if customers.count > 1 {
                throw AmbiguousLookup(candidates: customers.map(\.ref))
            }
            let customer = customers.first?.customer
            if let customer {
                for ref in try Self.refs(ofCustomer: customer, in: db) {
                    guard let systemRef = SystemRef(ref) else { continue }
                    if systemRef.system == "bottlecrm" && systemRef.kind == "contact" {
                        contactIDs.insert(systemRef.id)
                    } else if try Self.participant(systemRef, in: db) != nil {
                        imRefs.insert(ref)
                    } else {
                        otherCRMRefs.insert(ref)
                    }
                }
            }
            guard !imRefs.isEmpty || !contactIDs.isEmpty || !otherCRMRefs.isEmpty else { return nil }

            // 2. The profile: the IM side first, the CRM's last known state over it.
            var profile = CustomerProfile()
            profile.customer = customer
            for ref in imRefs.sorted() {
                guard let systemRef = SystemRef(ref), let person = try Self.participant(systemRef, in: db) else {
                    continue
                }
                profile.name = profile.name ?? person.displayName
                profile.email = profile.email ?? person.email
                profile.phone = profile.phone ?? person.phone
            }
            let crmRefs =
                contactIDs.sorted().map { SystemRef(system: "bottlecrm", kind: "contact", id: $0) }
                + otherCRMRefs.sorted().compactMap(SystemRef.init)
            for ref in crmRefs {
                guard
                    let fields = try db.statement("SELECT fields FROM crm_snapshots WHERE ref = ? AND deleted = 0")
                        .first([.text(ref.description)], { $0.text(0) }) ?? nil,
                    let decoded = try? JSONDecoder().decode([String: String].self, from: Data(fields.utf8))
                else { continue }
                profile.name = decoded["name"] ?? profile.name
                profile.email = decoded["email"] ?? profile.email
                profile.phone = decoded["phone"] ?? profile.phone
                profile.company = decoded["company"] ?? profile.company
                profile.stage = decoded["status"] ?? decoded["stage"] ?? profile.stage
                profile.owner = decoded["owner"] ?? profile.owner
            }
            profile.refs = imRefs.sorted() + crmRefs.map(\.description)

            // 3. The transcripts filed for the customer, newest first.
            if !imRefs.isEmpty {
                let placeholders = Array(repeating: "?", count: imRefs.count).joined(separator: ", ")
                profile.interactions = try db.statement(
                    """
                    SELECT payload, updated_at, remote_id FROM deliveries
                    WHERE operation = 'archive_transcript' AND status = 'delivered' AND partition_key IN (\(placeholders))
                    ORDER BY id DESC LIMIT ?
                    """
                ).rows(imRefs.sorted().map(SQLiteValue.text) + [.integer(Int64(limit))]) { row in
                    let transcript = try? Transcript.decoded(from: row.blob(0))
                    return CustomerProfile.Interaction(
                        at: row.date(1) ?? .distantPast, channel: transcript?.channel ?? "",
                        subject: transcript?.subject ?? "", remoteID: row.text(2))
                }
            }
            return profile
        }
    }

    /// The same number, compared in E.164 (libphonenumber), or as digits when either side
    /// does not parse.
    private static func samePhone(_ stored: String?, _ wanted: PhoneNumber?, _ digits: String) -> Bool {
        guard let stored else { return false }
        if let wanted, let found = PhoneNumber(stored) { return wanted.e164 == found.e164 }
        return stored.filter(\.isNumber) == digits
    }
}
