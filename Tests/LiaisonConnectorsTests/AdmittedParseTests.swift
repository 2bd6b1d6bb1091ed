import Foundation
import LiaisonConnectors
import LiaisonCore
import Testing

/// What a connector parsed at admission travels with the record while it is in memory
/// (`InboundRecord.parsed`); decoding must come to the same events from it as from the body
/// read back from the log, and must actually start from it.
@Suite("The admission's parse, handed on to decoding")
struct AdmittedParseTests {
    /// Admits `request`, then decodes the record three ways: with the admission's parse (as
    /// from memory), without it (as read back from the log), and with the parse but the
    /// body replaced by bytes that are not JSON (only the parse can give the events).
    func check(_ connector: any InboundConnector, _ request: InboundRequest, sourceLocation: SourceLocation = #_sourceLocation) throws {
        let admission = try connector.admit(request).get()
        #expect(admission.parsed != nil, sourceLocation: sourceLocation)
        let stored = InboundRecord(
            sequence: 7, source: admission.source, dedupeKey: admission.dedupeKey, receivedAt: request.receivedAt,
            body: request.body, parsed: admission.parsed)
        var fromLog = stored
        fromLog.parsed = nil
        #expect(stored == fromLog, "equality is the record's, not the parse's", sourceLocation: sourceLocation)
        let fromBody = try connector.decode(fromLog)
        #expect(!fromBody.isEmpty, sourceLocation: sourceLocation)
        #expect(try connector.decode(stored) == fromBody, sourceLocation: sourceLocation)
        var bodyless = stored
        bodyless.body = Array("not json".utf8)
        #expect(try connector.decode(bodyless) == fromBody, sourceLocation: sourceLocation)
        bodyless.parsed = nil
        #expect(throws: DecodeError.self, sourceLocation: sourceLocation) { try connector.decode(bodyless) }
    }

    @Test("generic webhook: a message and a close")
    func generic() throws {
        let hook = GenericWebhook(
            name: "acme",
            settings: GenericSourceSettings(secret: GenericWebhookTests.secret, employees: try UserMatcher(pattern: "agent-.*")))
        let close = #"{"id":"c1","conversation":"t1","type":"close"}"#
        for body in [GenericWebhookTests.message, close] {
            try check(hook, GenericWebhookTests().request(body))
        }
    }

    @Test("Matrix transaction")
    func matrix() throws {
        let service = MatrixAppService(settings: MatrixAppServiceTests.settings)
        try check(service, MatrixAppServiceTests().request(MatrixAppServiceTests.transaction))
    }

    @Test("BottleCRM event")
    func bottleCRM() throws {
        let hook = BottleCRMWebhook(secret: BottleCRMWebhookTests.secret, tolerance: 300)
        try check(
            hook,
            InboundRequest(
                method: "POST", path: "/hooks/bottlecrm",
                headers: ["x-bottlecrm-signature": BottleCRMWebhookTests.vector], body: BottleCRMWebhookTests.body,
                receivedAt: BottleCRMWebhookTests.signedAt))
    }

    @Test("a parse some other connector made is not taken for this one's: the body is decoded")
    func foreignParse() throws {
        let hook = GenericWebhook(name: "acme", settings: GenericSourceSettings(secret: GenericWebhookTests.secret))
        let record = InboundRecord(
            sequence: 1, source: hook.source, dedupeKey: nil, receivedAt: Date(),
            body: Array(GenericWebhookTests.message.utf8), parsed: "a parse of something else")
        var plain = record
        plain.parsed = nil
        #expect(try hook.decode(record) == hook.decode(plain))
    }
}
