import Foundation
import LiaisonConnectors
import LiaisonCore
import Testing

@Suite("BottleCRM signed webhooks")
struct BottleCRMWebhookTests {
    static let secret = "whsec_test_secret"
    static let body = Array(#"{"event":"lead.updated","data":{"id":"l-1"}}"#.utf8)
    /// Computed independently with Python's hmac, the way BottleCRM's webhooks/tasks.py signs.
    static let vector = "t=1795514400,v1=3fe38f13ca3dc58400fbdf693a065c38a01b72a283e54a7926932771bbd3b26c"
    static let signedAt = Date(timeIntervalSince1970: 1_795_514_400)

    @Test("verifies BottleCRM's t=…,v1=… signature byte for byte")
    func matchesVector() {
        #expect(BottleCRMWebhook.sign(body: Self.body, secret: Self.secret, timestamp: 1_795_514_400) == Self.vector)
        #expect(
            BottleCRMWebhook.verify(
                header: Self.vector, body: Self.body, secret: Self.secret, now: Self.signedAt, tolerance: 300) == .valid
        )
    }

    @Test(
        "refuses tampered bodies, wrong secrets, malformed headers and stale or future timestamps",
        arguments: [
            (vector, #"{"event":"lead.updated","data":{"id":"l-2"}}"#, secret, 0.0, BottleCRMWebhook.Verdict.invalid),
            (vector, #"{"event":"lead.updated","data":{"id":"l-1"}}"#, "whsec_other", 0.0, .invalid),
            ("v1=3fe38f13", #"{"event":"lead.updated","data":{"id":"l-1"}}"#, secret, 0.0, .invalid),
            ("t=1795514400", #"{"event":"lead.updated","data":{"id":"l-1"}}"#, secret, 0.0, .invalid),
            ("garbage", #"{"event":"lead.updated","data":{"id":"l-1"}}"#, secret, 0.0, .invalid),
            (vector, #"{"event":"lead.updated","data":{"id":"l-1"}}"#, secret, 301.0, .stale),
            (vector, #"{"event":"lead.updated","data":{"id":"l-1"}}"#, secret, -301.0, .stale),
            (vector, #"{"event":"lead.updated","data":{"id":"l-1"}}"#, secret, 299.0, .valid),
        ])
    func refusals(header: String, body: String, secret: String, skew: Double, verdict: BottleCRMWebhook.Verdict) {
        #expect(
            BottleCRMWebhook.verify(
                header: header, body: Array(body.utf8), secret: secret, now: Self.signedAt.addingTimeInterval(skew),
                tolerance: 300
            ) == verdict)
    }

    @Test("a rotated secret: any matching v1 passes")
    func rotation() {
        let header = "t=1795514400,v1=" + String(repeating: "0", count: 64) + "," + Self.vector.split(separator: ",")[1]
        #expect(
            BottleCRMWebhook.verify(
                header: header, body: Self.body, secret: Self.secret, now: Self.signedAt, tolerance: 300) == .valid)
    }

    @Test("admission: signature, freshness and shape checked; the event id is the dedupe key, else the delivery header")
    func admit() throws {
        let hook = BottleCRMWebhook(secret: Self.secret, tolerance: 300)
        func request(_ headers: [String: String], at: Date = Self.signedAt) -> InboundRequest {
            InboundRequest(method: "POST", path: "/hooks/bottlecrm", headers: HTTPHeaders(headers), body: Self.body, receivedAt: at)
        }
        let ok = try hook.admit(request(["x-bottlecrm-signature": Self.vector, "x-bottlecrm-delivery": "d-9"])).get()
        #expect(ok == Admission(source: "bottlecrm", dedupeKey: "d-9"))
        // A redelivery is a new delivery id with the same (signed) event id: the same key.
        let event = Array(#"{"id":"e-7","event":"lead.updated","data":{"id":"l-1"}}"#.utf8)
        for delivery in ["d-10", "d-11"] {
            let admitted = try hook.admit(
                InboundRequest(
                    method: "POST", path: "/hooks/bottlecrm",
                    headers: [
                        "x-bottlecrm-signature": BottleCRMWebhook.sign(
                            body: event, secret: Self.secret, timestamp: 1_795_514_400),
                        "x-bottlecrm-delivery": delivery,
                    ], body: event, receivedAt: Self.signedAt)
            ).get()
            #expect(admitted.dedupeKey == "e-7")
        }
        for (headers, reason) in [([:], "unsigned"), (["x-bottlecrm-signature": "t=1,v1=00"], "bad_signature")] {
            guard case .failure(let rejection) = hook.admit(request(headers)) else {
                Issue.record("admitted"); continue
            }
            #expect(rejection.status == 401 && rejection.reason == reason)
        }
        guard
            case .failure(let stale) = hook.admit(
                request(["x-bottlecrm-signature": Self.vector], at: Self.signedAt.addingTimeInterval(3600)))
        else { Issue.record("stale admitted"); return }
        #expect(stale.status == 401 && stale.reason == "stale_signature")
    }

    @Test(
        "a signed body the pipeline could not decode is refused with 400, not stored",
        arguments: [
            #"{"event":"contact.updated","data":{"id":null}}"#, #"{"event":"contact.updated","data":{}}"#,
            #"{"event":"contact.updated","data":{"id":"  "}}"#, #"{"event":"ping","data":{"id":"x"}}"#,
            #"{"event":"contact.","data":{"id":"x"}}"#, #"{"data":{"id":"x"}}"#, "[]",
        ])
    func undecodable(body: String) {
        let hook = BottleCRMWebhook(secret: Self.secret, tolerance: 300)
        let bytes = Array(body.utf8)
        let signature = BottleCRMWebhook.sign(body: bytes, secret: Self.secret, timestamp: 1_795_514_400)
        let request = InboundRequest(
            method: "POST", path: "/hooks/bottlecrm", headers: ["x-bottlecrm-signature": signature], body: bytes,
            receivedAt: Self.signedAt)
        guard case .failure(let rejection) = hook.admit(request) else { Issue.record("admitted \(body)"); return }
        #expect(rejection.status == 400 && rejection.reason == "malformed", "\(rejection)")
        #expect(throws: DecodeError.self) {
            try hook.decode(InboundRecord(source: "bottlecrm", dedupeKey: nil, receivedAt: Date(), body: bytes))
        }
    }

    @Test("a lead event becomes a record in canonical fields")
    func decode() throws {
        let payload = #"""
            {"id":"e-1","event":"lead.updated","created_at":"2026-11-24T10:00:00Z","org_id":"o",
             "data":{"id":"l-1","title":"API plan","first_name":"Li","last_name":"Na","email":"li.na@example.com",
                     "phone":null,"company_name":"Acme","status":"in process","stage_id":null,
                     "opportunity_amount":"50000.00","currency":"CNY","close_date":"2026-12-31",
                     "assigned_to":["u-2","u-1"],"created_at":"x","updated_at":"y"}}
            """#
        let hook = BottleCRMWebhook(secret: Self.secret, tolerance: 300)
        let events = try hook.decode(
            InboundRecord(source: "bottlecrm", dedupeKey: "d", receivedAt: Date(), body: Array(payload.utf8)))
        let expected = CRMRecord(
            ref: SystemRef(system: "bottlecrm", kind: "lead", id: "l-1"),
            fields: [
                "name": "Li Na", "email": "li.na@example.com", "company": "Acme", "status": "in process",
                "amount": "50000.00 CNY", "close_date": "2026-12-31", "owner": "u-1, u-2",
            ],
            // The event's time (its `created_at`), as BottleCRM writes it with each delivery.
            observedAt: ISO8601.parse("2026-11-24T10:00:00Z"))
        #expect(events == [.record(expected, created: false)])
        let deleted = #"{"event":"contact.deleted","data":{"id":"c-1","first_name":"A","last_name":"B"}}"#
        guard
            case .record(let record, let created)? = try hook.decode(
                InboundRecord(source: "bottlecrm", dedupeKey: nil, receivedAt: Date(), body: Array(deleted.utf8))
            ).first
        else { Issue.record("no record"); return }
        #expect(record.deleted && !created && record.ref.kind == "contact")
        let comment = #"{"event":"interaction.created","data":{"id":"i-1"}}"#
        #expect(
            try hook.decode(
                InboundRecord(source: "bottlecrm", dedupeKey: nil, receivedAt: Date(), body: Array(comment.utf8))
            ).isEmpty)
    }
}
