import Foundation
import LiaisonConnectors
import LiaisonCore
import Testing

@Suite("Generic signed webhook")
struct GenericWebhookTests {
    static let secret = "0123456789abcdef-secret"
    let hook = GenericWebhook(
        name: "acme",
        settings: GenericSourceSettings(secret: Self.secret, employees: try! UserMatcher(pattern: "agent-.*"))
    )

    func request(_ body: String, signature: String?? = .none, delivery: String? = nil) -> InboundRequest {
        var headers: [String: String] = [:]
        switch signature {
        case .none: headers["x-liaison-signature"] = GenericWebhook.sign(body: Array(body.utf8), secret: Self.secret)
        case .some(.some(let given)): headers["x-liaison-signature"] = given
        case .some(.none): break
        }
        if let delivery { headers["x-liaison-delivery"] = delivery }
        return InboundRequest(method: "POST", path: "/hooks/generic/acme", headers: HTTPHeaders(headers), body: Array(body.utf8))
    }

    static let message =
        #"{"id":"m1","conversation":"t1","sender":{"id":"c-1","name":"Li Na","email":"li.na@example.com"},"text":"hi","sent_at":"2026-11-24T10:00:00Z"}"#

    @Test("a correctly signed message is admitted; the delivery header is the dedupe key")
    func admit() throws {
        #expect(try hook.admit(request(Self.message)).get() == Admission(source: "generic.acme", dedupeKey: nil))
        #expect(try hook.admit(request(Self.message, delivery: "d-1")).get().dedupeKey == "d-1")
    }

    @Test(
        "unsigned or wrongly signed requests are refused with 401",
        arguments: [
            (String?.none, "unsigned"), ("sha256=00", "bad_signature"), ("sha1=abcd", "bad_signature"),
            ("sha256=" + String(repeating: "0", count: 64), "bad_signature"), ("sha256=zz", "bad_signature"),
        ])
    func signature(header: String?, reason: String) {
        guard case .failure(let rejection) = hook.admit(request(Self.message, signature: .some(header))) else {
            Issue.record("admitted")
            return
        }
        #expect(rejection.status == 401)
        #expect(rejection.reason == reason)
    }

    @Test("a signature over other bytes is refused")
    func tampered() {
        let signature = GenericWebhook.sign(body: Array(Self.message.utf8), secret: Self.secret)
        let tampered = Self.message.replacingOccurrences(of: "\"hi\"", with: "\"ho\"")
        let result = hook.admit(request(tampered, signature: .some(signature)))
        #expect(throws: InboundRejection.self) { try result.get() }
    }

    @Test(
        "malformed or out-of-schema bodies are refused with 400 and the field named",
        arguments: [
            ("{", "body is not valid JSON"),
            (#"{"conversation":"t1","text":"x","sender":{"id":"a"}}"#, "id: required"),
            (#"{"id":"","conversation":"t1","text":"x","sender":{"id":"a"}}"#, "id: required"),
            ("[1,2]", "body must be a JSON object"),
            (#"{"id":"m","conversation":"t1","text":"x","sender":"bob"}"#, "sender: must be an object"),
            (#"{"id":"m","conversation":"t1","type":"typing"}"#, "type: must be message or close"),
            (#"{"id":"m","conversation":"t1","sender":{"id":"a"}}"#, "text: a message needs text"),
            (#"{"id":"m","conversation":"t1","text":"x"}"#, "sender: a message needs a sender"),
            (
                #"{"id":"m","conversation":"t1","text":"x","sender":{"id":"a"},"sent_at":"yesterday"}"#,
                "sent_at: not an RFC 3339 time (2026-11-24T10:00:00Z) or Unix milliseconds"
            ),
            (#"{"id":"m","conversation":"t1","text":"x","sender":{"id":"a","role":"boss"}}"#, "sender.role"),
            (#"{"id":"m","conversation":"t1","text":5,"sender":{"id":"a"}}"#, "text: must be a string, not a number"),
            (#"{"id":"m","conversation":"t1","text":" \n","sender":{"id":"a"}}"#, "text: empty"),
            // A time no transcript can write (it stopped the hub at delivery), or seconds for milliseconds.
            (#"{"id":"m","conversation":"t1","text":"x","sender":{"id":"a"},"sent_at":-1e19}"#, "sent_at: Unix milliseconds out of range"),
            (#"{"id":"m","conversation":"t1","text":"x","sender":{"id":"a"},"sent_at":1e300}"#, "sent_at: Unix milliseconds out of range"),
            (#"{"id":"m","conversation":"t1","text":"x","sender":{"id":"a"},"sent_at":1795514400}"#, "sent_at: Unix milliseconds expected"),
        ])
    func malformed(body: String, problem: String) {
        guard case .failure(let rejection) = hook.admit(request(body)) else {
            Issue.record("admitted \(body)")
            return
        }
        #expect(rejection.status == 400)
        #expect(rejection.message.hasPrefix(problem), "\(rejection.message)")
    }

    @Test("a body logged before admission checked its time and text still decodes, its time written within range")
    func loggedBeforeTheChecks() throws {
        for body in [
            #"{"id":"m","conversation":"t1","text":"  ","sender":{"id":"a"},"sent_at":1795514400}"#,
            #"{"id":"m","conversation":"t1","text":"x","sender":{"id":"a"},"sent_at":-1e19}"#,
        ] {
            let events = try hook.decode(
                InboundRecord(sequence: 1, source: "generic.acme", dedupeKey: nil, receivedAt: Date(), body: Array(body.utf8)))
            guard case .message(let message)? = events.last else { Issue.record("\(events)"); continue }
            #expect(ISO8601.format(message.sentAt).count == 24, "written, not trapped")
        }
    }

    @Test("decoding yields the sender with its role and the message")
    func decode() throws {
        let record = InboundRecord(
            sequence: 3, source: "generic.acme", dedupeKey: nil, receivedAt: Date(), body: Array(Self.message.utf8))
        let events = try hook.decode(record)
        let ref = SystemRef(system: "generic.acme", kind: "user", id: "c-1")
        let conversation = ConversationID("generic.acme:t1")
        #expect(
            events == [
                .participant(
                    Participant(ref: ref, role: .customer, displayName: "Li Na", email: "li.na@example.com"),
                    conversation: conversation),
                .staffed(conversation),
                .message(
                    Message(
                        id: "m1", conversation: conversation, sender: ref,
                        sentAt: Date(timeIntervalSince1970: 1_795_514_400), text: "hi")),
            ])
        let agent = #"{"id":"m2","conversation":"t1","sender":{"id":"agent-7"},"text":"ok","sent_at":1795514400000}"#
        let agentEvents = try hook.decode(
            InboundRecord(source: "generic.acme", dedupeKey: nil, receivedAt: Date(), body: Array(agent.utf8)))
        guard case .participant(let person, _) = agentEvents.first else { Issue.record("no participant"); return }
        #expect(person.role == .employee)
        let close = #"{"id":"c","conversation":"t1","type":"close"}"#
        #expect(
            try hook.decode(
                InboundRecord(
                    source: "generic.acme", dedupeKey: nil, receivedAt: Date(timeIntervalSince1970: 5),
                    body: Array(close.utf8)))
                == [.close(conversation, at: Date(timeIntervalSince1970: 5))])
    }
}
