import Foundation
import LiaisonConnectors
import LiaisonCore
import Testing

@Suite("Tryton polling")
struct TrytonTests {
    @Test("Tryton's JSON datetimes decode as UTC, with microseconds")
    func dates() throws {
        let value = try JSONValue.parse(
            Array(
                #"{"__class__":"datetime","year":2026,"month":11,"day":24,"hour":10,"minute":0,"second":1,"microsecond":250000}"#
                    .utf8))
        let date = try #require(TrytonParties.decodeDate(value))
        #expect(abs(date.timeIntervalSince1970 - 1_795_514_401.25) < 0.000_001)
        #expect(TrytonParties.decodeDate(.string("2026-11-24")) == nil)
        #expect(TrytonParties.decodeDate(nil) == nil)
    }

    @Test(
        "a time is written with every field in range, before 1970 too (a poll's overlap past a cursor at its start: Tryton answered 500 for good)",
        arguments: [-9.999_999, -86_400.5, 0, 1_795_514_401.25])
    func encodedDates(seconds: Double) throws {
        let value = TrytonParties.encode(Date(timeIntervalSince1970: seconds))
        for (field, range) in [("month", 1...12), ("day", 1...31), ("hour", 0...23), ("minute", 0...59), ("second", 0...59), ("microsecond", 0...999_999)] {
            let number = try #require(value[field]?.number)
            #expect(range.contains(Int(number)), "\(field) = \(number)")
        }
        let back = try #require(TrytonParties.decodeDate(value))
        #expect(abs(back.timeIntervalSince1970 - seconds) < 0.000_002)
    }

    static func party(_ fields: String, baseline: Bool = false) -> InboundRecord {
        let body = #"{"model":"party.party","baseline":\#(baseline),"record":{"id":7,"name":"Alice Smith",\#(fields)}}"#
        return InboundRecord(source: "tryton", dedupeKey: "party.party:7:1", receivedAt: Date(), body: Array(body.utf8))
    }

    @Test("a polled party becomes a CRM record with its e-mail and phone; never written means created")
    func decode() throws {
        let mechanisms =
            #""contact_mechanisms":[{"id":1,"type":"email","value":"alice@example.com"},{"id":2,"type":"mobile","value":"+14155550100"},{"id":3,"type":"website","value":"x"}]"#
        let created = try TrytonChanges().decode(Self.party(#""write_date":null,\#(mechanisms)"#))
        let ref = SystemRef(system: "tryton", kind: "party", id: "7")
        #expect(
            created == [
                .record(
                    CRMRecord(
                        ref: ref,
                        fields: ["name": "Alice Smith", "email": "alice@example.com", "phone": "+14155550100"]),
                    created: true)
            ])
        let written =
            #""create_date":{"__class__":"datetime","year":2026,"month":11,"day":24,"hour":9,"minute":0,"second":1,"microsecond":0},"#
            + #""write_date":{"__class__":"datetime","year":2026,"month":11,"day":24,"hour":10,"minute":0,"second":1,"microsecond":0}"#
        let stamp =
            #"{"__class__":"datetime","year":2026,"month":11,"day":24,"hour":9,"minute":0,"second":1,"microsecond":5}"#
        guard
            case .record(_, let fresh)? = try TrytonChanges().decode(
                Self.party(#""create_date":\#(stamp),"write_date":\#(stamp)"#)
            ).first
        else { Issue.record("no record"); return }
        #expect(fresh, "a party whose write_date equals its create_date was just created")
        guard case .record(_, let isNew)? = try TrytonChanges().decode(Self.party(written)).first else {
            Issue.record("no record"); return
        }
        #expect(!isNew)
        // Created inside the poll's window and written again before the poll came: new.
        let windowStart = #""since":1795510800000000,"#  // 2026-11-24T09:00:00Z, just before the create_date
        let editedSoon = #"{"model":"party.party","baseline":false,\#(windowStart)"record":{"id":7,"name":"A",\#(written)}}"#
        guard
            case .record(_, let editedNew)? = try TrytonChanges().decode(
                InboundRecord(source: "tryton", dedupeKey: nil, receivedAt: Date(), body: Array(editedSoon.utf8))
            ).first
        else { Issue.record("no record"); return }
        #expect(editedNew)
        let lateWindow = editedSoon.replacingOccurrences(of: "1795510800000000", with: "1795514400000000")
        guard
            case .record(_, let oldParty)? = try TrytonChanges().decode(
                InboundRecord(source: "tryton", dedupeKey: nil, receivedAt: Date(), body: Array(lateWindow.utf8))
            ).first
        else { Issue.record("no record"); return }
        #expect(!oldParty, "created before the window: an edit of a party seen before")
        // The first poll only learns what exists.
        guard
            case .record(_, let baselineNew)? = try TrytonChanges().decode(
                Self.party(#""write_date":null"#, baseline: true)
            ).first
        else { Issue.record("no record"); return }
        #expect(!baselineNew)
        #expect(throws: DecodeError.self) {
            try TrytonChanges().decode(
                InboundRecord(source: "tryton", dedupeKey: nil, receivedAt: Date(), body: Array("{}".utf8)))
        }
    }

    @Test("an archived party, or one the poller found gone, is a deletion")
    func deletions() throws {
        let ref = SystemRef(system: "tryton", kind: "party", id: "7")
        let deleted: [CanonicalEvent] = [.record(CRMRecord(ref: ref, fields: [:], deleted: true), created: false)]
        #expect(try TrytonChanges().decode(Self.party(#""active":0,"write_date":null"#)) == deleted)
        #expect(try TrytonChanges().decode(Self.party(#""active":false"#)) == deleted)
        let gone = InboundRecord(
            source: "tryton", dedupeKey: "party.party:7:deleted:1", receivedAt: Date(),
            body: TrytonChanges.deletionBody(party: 7))
        #expect(try TrytonChanges().decode(gone) == deleted)
        guard case .record(let alive, _)? = try TrytonChanges().decode(Self.party(#""active":1"#)).first else {
            Issue.record("no record"); return
        }
        #expect(!alive.deleted)
    }
}
