import Foundation
import LiaisonConnectors
import LiaisonCore
import LiaisonTestSupport
import Testing

@Suite("Matrix application service")
struct MatrixAppServiceTests {
    static let settings = MatrixSettings(
        homeserver: URL(string: "http://127.0.0.1:8008")!, asToken: "as", hsToken: "hs-secret",
        botUser: "@liaison_bot:localhost", employees: try! UserMatcher(users: ["@agent:localhost"]), customers: nil,
        profiles: ["@alice:localhost": ProfileOverride(name: "Alice Smith", email: "alice@example.com", phone: nil)],
        closeCommand: "!close"
    )
    let service = MatrixAppService(settings: Self.settings)

    func request(_ body: String, token: String? = "hs-secret", txn: String = "t1") -> InboundRequest {
        InboundRequest(
            method: "PUT", path: "/_matrix/app/v1/transactions/\(txn)",
            headers: token.map { ["authorization": "Bearer \($0)"] } ?? [:], body: Array(body.utf8)
        )
    }

    @Test("the homeserver token is required", arguments: [nil, "wrong", "hs-secre"])
    func token(token: String?) {
        guard case .failure(let rejection) = service.admit(request(#"{"events":[]}"#, token: token)) else {
            Issue.record("admitted without the right token")
            return
        }
        #expect(rejection.status == 403)
        #expect(rejection.code == "M_FORBIDDEN")
    }

    @Test(
        "the Bearer scheme is matched whatever its case; another scheme is not a token",
        arguments: [
            ("Bearer hs-secret", true), ("bearer hs-secret", true), ("BEARER  hs-secret", true),
            ("Basic hs-secret", false), ("Bearer", false), ("Bearerhs-secret", false), ("hs-secret", false),
        ])
    func bearer(header: String, admitted: Bool) {
        var request = request(#"{"events":[]}"#, token: nil)
        request.headers = ["authorization": header]
        if case .success = service.admit(request) {
            #expect(admitted, "\(header)")
        } else {
            #expect(!admitted, "\(header)")
        }
    }

    @Test("older homeservers may send the token as ?access_token=")
    func queryToken() throws {
        var request = request(#"{"events":[]}"#, token: nil)
        request.query = ["access_token": "hs-secret"]
        #expect(throws: Never.self) { try service.admit(request).get() }
        request.query = ["access_token": "wrong"]
        #expect(throws: InboundRejection.self) { try service.admit(request).get() }
    }

    @Test("a transaction is admitted with its txnId as the dedupe key")
    func admit() throws {
        let admission = try service.admit(request(#"{"events":[]}"#, txn: "abc%20def")).get()
        #expect(admission == Admission(source: "matrix", dedupeKey: "abc def"))
    }

    @Test("a body that is not a transaction is refused", arguments: ["not json", "{}", #"{"events":{}}"#, "[]"])
    func malformed(body: String) {
        guard case .failure(let rejection) = service.admit(request(body)) else {
            Issue.record("admitted a malformed body")
            return
        }
        #expect(rejection.status == 400)
    }

    static let transaction = """
        {"events":[
          {"type":"m.room.member","state_key":"@alice:localhost","sender":"@alice:localhost","room_id":"!r",
           "event_id":"$1","origin_server_ts":1795514400000,"content":{"membership":"join","displayname":"alice"}},
          {"type":"m.room.message","sender":"@alice:localhost","room_id":"!r","event_id":"$2",
           "origin_server_ts":1795514401000,"content":{"msgtype":"m.text","body":"Budget is 50k"}},
          {"type":"m.room.message","sender":"@agent:localhost","room_id":"!r","event_id":"$3",
           "origin_server_ts":1795514402000,"content":{"msgtype":"m.image","body":"quote.png"}},
          {"type":"m.room.message","sender":"@liaison_bot:localhost","room_id":"!r","event_id":"$4",
           "origin_server_ts":1795514403000,"content":{"msgtype":"m.notice","body":"bot noise"}},
          {"type":"m.room.message","sender":"@agent:localhost","room_id":"!r","event_id":"$5",
           "origin_server_ts":1795514404000,"content":{"msgtype":"m.text","body":"!close"}},
          {"type":"m.reaction","sender":"@alice:localhost","room_id":"!r","event_id":"$6","content":{}},
          {"type":"m.room.message","sender":"@alice:localhost","room_id":"!r","event_id":"$7",
           "origin_server_ts":1795514405000,"content":{"body":12}}
        ]}
        """

    @Test("room events become participants, messages and a close; bots and noise are dropped")
    func decode() throws {
        let events = try service.decode(
            InboundRecord(
                sequence: 1, source: "matrix", dedupeKey: "t1", receivedAt: Date(), body: Array(Self.transaction.utf8))
        )
        let room = ConversationID("matrix:!r")
        let alice = SystemRef(system: "matrix", kind: "user", id: "@alice:localhost")
        let agent = SystemRef(system: "matrix", kind: "user", id: "@agent:localhost")
        let aliceProfile = Participant(
            ref: alice, role: .customer, displayName: "Alice Smith", email: "alice@example.com")
        #expect(
            events == [
                .participant(aliceProfile, conversation: room),
                .participant(aliceProfile, conversation: room),
                .message(
                    Message(
                        id: "$2", conversation: room, sender: alice, sentAt: Date(timeIntervalSince1970: 1_795_514_401),
                        text: "Budget is 50k")),
                .participant(Participant(ref: agent, role: .employee), conversation: room),
                .message(
                    Message(
                        id: "$3", conversation: room, sender: agent, sentAt: Date(timeIntervalSince1970: 1_795_514_402),
                        text: "[image: quote.png]")),
                .close(room, at: Date(timeIntervalSince1970: 1_795_514_404)),
            ])
    }

    @Test("a reply is filed without the quoted message its client put before it, and a !close sent as a reply closes")
    func replies() throws {
        let body = #"""
            {"events":[
              {"type":"m.room.message","sender":"@alice:localhost","room_id":"!r","event_id":"$20",
               "origin_server_ts":1795514400000,"content":{"msgtype":"m.text",
               "body":"> <@agent:localhost> Which plan?\n> Basic or Pro\n\nPro, please\n> not a quote",
               "m.relates_to":{"m.in_reply_to":{"event_id":"$19"}}}},
              {"type":"m.room.message","sender":"@agent:localhost","room_id":"!r","event_id":"$21",
               "origin_server_ts":1795514401000,"content":{"msgtype":"m.text",
               "body":"> <@alice:localhost> Pro, please\n\n!close",
               "m.relates_to":{"m.in_reply_to":{"event_id":"$20"}}}},
              {"type":"m.room.message","sender":"@alice:localhost","room_id":"!r","event_id":"$22",
               "origin_server_ts":1795514402000,"content":{"msgtype":"m.text","body":"> quoting, not replying\n\nhi"}},
              {"type":"m.room.message","sender":"@alice:localhost","room_id":"!r","event_id":"$23",
               "origin_server_ts":1795514403000,"content":{"msgtype":"m.text","body":"> you said 30 days\n\nbut it says 14",
               "m.relates_to":{"m.in_reply_to":{"event_id":"$19"}}}}
            ]}
            """#
        let events = try service.decode(
            InboundRecord(sequence: 3, source: "matrix", dedupeKey: "t3", receivedAt: Date(), body: Array(body.utf8)))
        let texts = events.compactMap { event -> String? in
            if case .message(let message) = event { return message.text }
            return nil
        }
        #expect(
            texts == [
                "Pro, please\n> not a quote", "> quoting, not replying\n\nhi", "> you said 30 days\n\nbut it says 14",
            ])
        #expect(events.contains(.close(ConversationID("matrix:!r"), at: Date(timeIntervalSince1970: 1_795_514_401))))
    }

    @Test("a redaction (either form), an edit with what it replaces, a sticker and a message the hub cannot read are told")
    func redactionsStickersEncrypted() throws {
        let body = """
            {"events":[
              {"type":"m.room.redaction","sender":"@alice:localhost","room_id":"!r","event_id":"$8","redacts":"$2",
               "origin_server_ts":1795514406000,"content":{}},
              {"type":"m.room.redaction","sender":"@agent:localhost","room_id":"!r","event_id":"$9",
               "origin_server_ts":1795514407000,"content":{"redacts":"$3"}},
              {"type":"m.room.message","sender":"@alice:localhost","room_id":"!r","event_id":"$13",
               "origin_server_ts":1795514405500,"content":{"msgtype":"m.text","body":"* card 4111",
               "m.new_content":{"msgtype":"m.text","body":"card 4111 1111"},
               "m.relates_to":{"rel_type":"m.replace","event_id":"$2"}}},
              {"type":"m.sticker","sender":"@alice:localhost","room_id":"!r","event_id":"$10",
               "origin_server_ts":1795514408000,"content":{"body":"thumbs up","url":"mxc://x/y"}},
              {"type":"m.room.encrypted","sender":"@alice:localhost","room_id":"!r","event_id":"$11",
               "origin_server_ts":1795514409000,"content":{"algorithm":"m.megolm.v1.aes-sha2","ciphertext":"AwgA"}},
              {"type":"m.room.encrypted","sender":"@liaison_bot:localhost","room_id":"!r","event_id":"$12",
               "origin_server_ts":1795514410000,"content":{"algorithm":"m.megolm.v1.aes-sha2","ciphertext":"AwgB"}}
            ]}
            """
        let events = try service.decode(
            InboundRecord(sequence: 2, source: "matrix", dedupeKey: "t2", receivedAt: Date(), body: Array(body.utf8)))
        let room = ConversationID("matrix:!r")
        let alice = SystemRef(system: "matrix", kind: "user", id: "@alice:localhost")
        let aliceProfile = Participant(
            ref: alice, role: .customer, displayName: "Alice Smith", email: "alice@example.com")
        #expect(
            events == [
                .redacted(room, messageID: "$2"),
                .redacted(room, messageID: "$3"),
                .participant(aliceProfile, conversation: room),
                .message(
                    Message(
                        id: "$13", conversation: room, sender: alice, sentAt: Date(timeIntervalSince1970: 1_795_514_405.5),
                        text: "(edited) card 4111 1111", replaces: "$2")),
                .participant(aliceProfile, conversation: room),
                .message(
                    Message(
                        id: "$10", conversation: room, sender: alice, sentAt: Date(timeIntervalSince1970: 1_795_514_408),
                        text: "[sticker: thumbs up]")),
                .unreadable(room, reason: "encrypted"),
            ])
    }
}

@Suite("Synapse third-party ids")
struct SynapseProfilesTests {
    @Test("reads the display name and the first e-mail and phone (in E.164) from a Synapse user")
    func parse() {
        let body =
            #"{"name":"@alice:x","displayname":"Alice Smith","threepids":[{"medium":"email","address":"a@x.org","validated_at":1},{"medium":"msisdn","address":"8613800138000"},{"medium":"email","address":"b@x.org"}]}"#
        let found = SynapseProfiles.details(Array(body.utf8))
        #expect(found?.name == "Alice Smith")
        #expect(found?.email == "a@x.org")
        #expect(found?.phone == "+8613800138000")
        let bare = SynapseProfiles.details(Array(#"{"displayname":"","threepids":[]}"#.utf8))
        #expect(bare != nil && bare?.name == nil && bare?.email == nil)
        #expect(SynapseProfiles.details(Array("not json".utf8)) == nil)
        #expect(SynapseProfiles.details(Array("[]".utf8)) == nil)
    }
}

@Suite("Matrix display names")
struct MatrixDisplayNamesTests {
    @Test("a customer seen without a name gets the homeserver's display name; an unknown one stays as it was; a named one costs no request")
    func names() async throws {
        let homeserver = try MatrixSimulator(asToken: "as-token")
        homeserver.setDisplayName("张伟", of: "@zw:corp")
        let settings = MatrixSettings(
            homeserver: homeserver.homeserver, asToken: "as-token", hsToken: "hs", botUser: "@bot:corp",
            employees: try UserMatcher(users: []), customers: nil, profiles: [:], closeCommand: "!close")
        let names = MatrixDisplayNames(settings: settings, timeout: 2)
        func customer(_ id: String, name: String? = nil) -> Participant {
            Participant(ref: SystemRef(system: "matrix", kind: "user", id: id), role: .customer, displayName: name)
        }
        #expect(try await names.enrich(customer("@zw:corp")).displayName == "张伟")
        #expect(try await names.enrich(customer("@nobody:corp")) == customer("@nobody:corp"))
        let asked = homeserver.profileLookups
        #expect(try await names.enrich(customer("@zw:corp", name: "Zhang Wei")).displayName == "Zhang Wei")
        #expect(homeserver.profileLookups == asked)
        // A token the homeserver refuses is told apart from an outage: it takes a person to fix.
        var wrongToken = settings
        wrongToken.asToken = "revoked"
        await #expect {
            try await MatrixDisplayNames(settings: wrongToken, timeout: 2).enrich(customer("@zw:corp"))
        } throws: { error in
            guard let unavailable = error as? ProfileUnavailable else { return false }
            return unavailable.refused && unavailable.reason.contains("HTTP 401")
        }
        await homeserver.stop()

        // The homeserver is gone: the caller hears that the source is unavailable.
        await #expect {
            try await names.enrich(customer("@zw:corp"))
        } throws: { error in (error as? ProfileUnavailable)?.refused == false }
    }
}
