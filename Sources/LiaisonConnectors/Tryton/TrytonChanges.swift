import Foundation
import LiaisonCore

/// Turns polled Tryton parties, as the poller logged them, into CRM records.
///
/// A logged record is `{"model": "party.party", "baseline": bool, "since": µs, "record": {…}}`:
/// `baseline` marks the first poll ever, which learns the existing parties without
/// announcing them as new; `since` is when the poll's window began (µs since 1970), so a
/// party created in it is new even if it was written again before the poll came. An archived party (`active` false) counts as deleted; a party
/// the poller found gone is logged as `{"model": "party.party", "deleted": true,
/// "record": {"id": N}}`.
public final class TrytonChanges: InboundConnector {
    public var source: String { "tryton" }
    public var channel: String { "Tryton" }

    public init() {}

    /// Nothing reaches Tryton's source over HTTP: the poller appends to the log itself.
    public func admit(_ request: InboundRequest) -> Result<Admission, InboundRejection> {
        .failure(
            InboundRejection(
                status: 404, code: "not_found", message: "Tryton is polled, not pushed", reason: "unknown_route"))
    }

    /// The log entry for a polled party.
    public static func logBody(_ party: TrytonParties.Polled, baseline: Bool, since: Date? = nil) -> [UInt8] {
        var entry: [(key: String, value: JSONValue)] = [("model", .string("party.party")), ("baseline", .bool(baseline))]
        if let since { entry.append(("since", .number((since.timeIntervalSince1970 * 1_000_000).rounded(.down)))) }
        entry.append(("record", party.raw))
        return Array(JSONValue.object(entry).serialized.utf8)
    }

    /// The log entry for a party that no longer exists.
    public static func deletionBody(party id: Int64) -> [UInt8] {
        Array(
            JSONValue.object([
                ("model", .string("party.party")), ("deleted", .bool(true)),
                ("record", .object([("id", .number(Double(id)))])),
            ]).serialized.utf8)
    }

    public func decode(_ record: InboundRecord) throws -> [CanonicalEvent] {
        guard let entry = try? JSONValue.parse(record.body), entry["model"]?.string == "party.party",
            let party = entry["record"], let id = party["id"]?.number
        else { throw DecodeError("not a polled Tryton party") }
        let ref = SystemRef(system: source, kind: "party", id: String(Int64(id)))
        // Archived (`active` 0 on SQLite, false elsewhere) or gone: deleted for the hub.
        if entry["deleted"] == .bool(true) || party["active"] == .number(0) || party["active"] == .bool(false) {
            return [.record(CRMRecord(ref: ref, fields: [:], deleted: true), created: false)]
        }
        var fields: [String: String] = [:]
        fields["name"] = party["name"]?.string
        if case .array(let mechanisms)? = party["contact_mechanisms"] {
            for mechanism in mechanisms {
                // Read with `active_test` off, archived mechanisms come along: they are gone.
                if mechanism["active"] == .number(0) || mechanism["active"] == .bool(false) { continue }
                guard let type = mechanism["type"]?.string, let value = mechanism["value"]?.string, !value.isEmpty
                else { continue }
                switch type {
                case "email" where fields["email"] == nil: fields["email"] = value
                case "phone" where fields["phone"] == nil, "mobile" where fields["phone"] == nil:
                    fields["phone"] = value
                default: break
                }
            }
        }
        // Who made the change: the last writer, else the creator.
        fields[changedByField] = party["write_uid"]?["rec_name"]?.string ?? party["create_uid"]?["rec_name"]?.string
        let baseline = entry["baseline"] == .bool(true)
        // A new party's write_date equals its create_date (other models leave it null).
        let neverWritten =
            party["write_date"] == nil || party["write_date"] == .null
            || party["write_date"] == party["create_date"]
        // Created inside the poll's window, and perhaps edited since: new all the same.
        let createdInWindow =
            entry["since"]?.number.map { since in
                TrytonParties.decodeDate(party["create_date"]).map { $0.timeIntervalSince1970 * 1_000_000 >= since }
                    ?? false
            } ?? false
        return [
            .record(
                CRMRecord(ref: ref, fields: fields.compactMapValues { $0 }),
                created: !baseline && (neverWritten || createdInWindow))
        ]
    }
}
