import Foundation
import LiaisonCore

/// Turns polled Tryton parties, as the poller logged them, into CRM records.
///
/// A logged record is `{"model": "party.party", "baseline": bool, "record": {…}}`:
/// `baseline` marks the first poll ever, which learns the existing parties without
/// announcing them as new. An archived party (`active` false) counts as deleted; a party
/// the poller found gone is logged as `{"model": "party.party", "deleted": true,
/// "record": {"id": N}}`.
public struct TrytonChanges: InboundConnector {
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
    public static func logBody(_ party: TrytonParties.Polled, baseline: Bool) -> [UInt8] {
        Array(
            JSONValue.object([("model", .string("party.party")), ("baseline", .bool(baseline)), ("record", party.raw)])
                .serialized.utf8)
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
        return [
            .record(
                CRMRecord(ref: ref, fields: fields.compactMapValues { $0 }),
                created: !baseline && neverWritten)
        ]
    }
}
