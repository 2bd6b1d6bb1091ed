import Foundation
import LiaisonCore
import Testing

@Suite("Crypto and encodings")
struct CryptoTests {
    // RFC 4231, test cases 1, 2 and 6 (a key longer than the block is hashed first).
    @Test(
        "HMAC-SHA256 matches RFC 4231",
        arguments: [
            (
                [UInt8](repeating: 0x0b, count: 20), Array("Hi There".utf8),
                "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7"
            ),
            (
                Array("Jefe".utf8), Array("what do ya want for nothing?".utf8),
                "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
            ),
            (
                [UInt8](repeating: 0xaa, count: 131),
                Array("Test Using Larger Than Block-Size Key - Hash Key First".utf8),
                "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54"
            ),
        ])
    func hmac(key: [UInt8], message: [UInt8], expected: String) {
        #expect(Hex.encode(HMACSHA256.authenticationCode(key: key, message: message)) == expected)
        // A prepared key gives the same code, again and again, and over a message in parts.
        let prepared = HMACSHA256.Key(key)
        #expect(Hex.encode(prepared.code(message)) == expected)
        #expect(Hex.encode(prepared.code(message)) == expected)
        let split = message.count / 3
        let parts = (Array(message[..<split]), Array(message[split...]))
        let joined = parts.0.withUnsafeBytes { head in parts.1.withUnsafeBytes { prepared.code(head, $0) } }
        #expect(Hex.encode(joined) == expected)
    }

    @Test("a prepared key checks a hex code in place: either case, and nothing else")
    func matchesHex() {
        // RFC 4231, test case 2.
        let key = HMACSHA256.Key(Array("Jefe".utf8))
        let message = Array("what do ya want for nothing?".utf8)
        let code = "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        func check(_ hex: String, _ body: [UInt8] = message) -> Bool {
            var hex = hex
            return hex.withUTF8 { hex in body.withUnsafeBytes { key.matches(hex: hex, message: $0) } }
        }
        #expect(check(code))
        #expect(check(code.uppercased()))
        #expect(!check(code, Array("what do ya want for nothing!".utf8)), "another message")
        #expect(!check("4" + code.dropFirst()), "one digit off")
        #expect(!check(String(code.dropLast(2))), "too short")
        #expect(!check(code + "00"), "too long")
        #expect(!check(String(code.dropLast()) + "g"), "not a hex digit")
        // A non-digit whose low bits would give the right value is still refused.
        let last = code.last!
        let impostor = Character(UnicodeScalar(UInt8(ascii: "p") + UInt8(String(last), radix: 16)!))
        #expect(!check(String(code.dropLast()) + String(impostor)))
        #expect(!check(""))
    }

    @Test("hex decoding refuses odd lengths and non-hex characters")
    func hex() {
        #expect(Hex.decode("00ff10") == [0, 255, 16])
        #expect(Hex.decode("ABcd") == [0xab, 0xcd])
        #expect(Hex.decode("abc") == nil)
        #expect(Hex.decode("zz") == nil)
        #expect(Hex.decode("00fg") == nil, "a bad digit after good ones")
        #expect(Hex.decode("") == [])
        #expect(Hex.decode("sha256=0aF1".utf8.dropFirst(7)) == [0x0a, 0xf1], "a slice of a string's bytes")
        #expect(Hex.decode("10ab".utf8.reversed()) == [0xba, 0x01], "a collection with no contiguous storage")
    }

    @Test("constant-time comparison")
    func compare() {
        #expect(constantTimeEquals([1, 2, 3], [1, 2, 3]))
        #expect(!constantTimeEquals([1, 2, 3], [1, 2, 4]))
        #expect(!constantTimeEquals([1, 2], [1, 2, 3]))
    }
}

@Suite("ISO 8601")
struct ISO8601Tests {
    @Test(
        "parses what RFC 3339 allows",
        arguments: [
            ("2026-11-24T10:00:00Z", 1_795_514_400.0),
            ("2026-11-24T10:00:00.250Z", 1_795_514_400.25),
            ("2026-11-24T18:00:00+08:00", 1_795_514_400.0),
            ("2026-11-24 10:00:00z", 1_795_514_400.0),
            ("2024-02-29T00:00:00Z", 1_709_164_800.0),
            ("1970-01-01T00:00:00Z", 0.0),
        ])
    func parse(text: String, seconds: Double) throws {
        let date = try #require(ISO8601.parse(text))
        #expect(abs(date.timeIntervalSince1970 - seconds) < 0.0005)
    }

    @Test(
        "refuses what is not a time",
        arguments: [
            "", "2026-11-24", "2026-13-01T00:00:00Z", "2026-02-30T00:00:00Z", "2025-02-29T00:00:00Z",
            "2026-11-24T10:00:00", "2026-11-24T25:00:00Z", "2026-11-24T10:00:00.Z", "2026-11-24T10:00:00Zjunk",
        ])
    func refuse(text: String) {
        #expect(ISO8601.parse(text) == nil)
    }

    @Test("formats with milliseconds and round-trips")
    func format() {
        let date = Date(timeIntervalSince1970: 1_795_514_400.123)
        #expect(ISO8601.format(date) == "2026-11-24T10:00:00.123Z")
        #expect(ISO8601.format(Date(timeIntervalSince1970: 0)) == "1970-01-01T00:00:00.000Z")
        // A remote clock's nonsense is written as the nearest writable time, never a trap.
        #expect(ISO8601.format(Date(timeIntervalSince1970: -1e16)) == "0001-01-01T00:00:00.000Z")
        #expect(ISO8601.format(Date(timeIntervalSince1970: 9.3e15)) == "9999-12-31T23:59:59.999Z")
        #expect(ISO8601.parse(ISO8601.format(date)).map { abs($0.timeIntervalSince(date)) < 0.001 } == true)
    }
}

@Suite("Retry policy")
struct RetryPolicyTests {
    @Test("backoff grows exponentially within jitter bounds, capped")
    func backoff() throws {
        let policy = RetryPolicy(maxAttempts: 10, base: .milliseconds(100), cap: .seconds(2))
        var random = SplitMix64(seed: 42)
        for attempts in 1...9 {
            let delay = try #require(policy.delay(afterAttempts: attempts, retryAfter: nil, using: &random))
            let ceiling = min(Duration.milliseconds(100) * (1 << (attempts - 1)), .seconds(2))
            #expect(delay <= ceiling)
            #expect(delay >= ceiling / 2)
        }
    }

    @Test("Retry-After is honoured even above the cap, up to a day")
    func retryAfter() {
        let policy = RetryPolicy(maxAttempts: 5, base: .milliseconds(100), cap: .seconds(1))
        var random = SplitMix64(seed: 1)
        #expect(policy.delay(afterAttempts: 1, retryAfter: .seconds(30), using: &random) == .seconds(30))
        #expect(policy.delay(afterAttempts: 1, retryAfter: .seconds(Int.max), using: &random) == .seconds(86_400))
    }

    @Test("the budget runs out at maxAttempts")
    func deadLetter() {
        let policy = RetryPolicy(maxAttempts: 3, base: .milliseconds(100), cap: .seconds(1))
        var random = SplitMix64(seed: 1)
        #expect(policy.delay(afterAttempts: 2, retryAfter: nil, using: &random) != nil)
        #expect(policy.delay(afterAttempts: 3, retryAfter: nil, using: &random) == nil)
    }
}

@Suite("Identifiers")
struct IdentifierTests {
    @Test(
        "a ref's text is system:kind:id, and reads back as the same ref",
        arguments: [
            ("matrix", "user", "@alice:example.org"), ("bottlecrm", "contact", "7f3c-1"),
            ("generic:acme", "user", "客户-王伟"), ("x", "y", "z"),
        ])
    func refText(system: String, kind: String, id: String) {
        let ref = SystemRef(system: system, kind: kind, id: id)
        #expect(ref.description == system + ":" + kind + ":" + id)
        #expect(ref.description.utf8.count == system.utf8.count + kind.utf8.count + id.utf8.count + 2)
        if !system.contains(":") { #expect(SystemRef(ref.description) == ref) }
    }

    @Test("a conversation id is system:id, whatever the id holds")
    func conversationText() {
        #expect(ConversationID(system: "generic:bench", id: "c-1").rawValue == "generic:bench:c-1")
        #expect(ConversationID(system: "matrix", id: "!room:例子.cn").rawValue == "matrix:!room:例子.cn")
        #expect(ConversationID(system: "s", id: "").rawValue == "s:")
    }
}

@Suite("Log lines")
struct LogLineTests {
    let record = LogRecord(
        time: Date(timeIntervalSince1970: 1_795_514_400), level: .warning, label: "outbox",
        message: "delivery failed, will retry",
        metadata: [("reason", "HTTP 502 <html>\r\n<body>Bad\tGateway\u{1B}[2J</body>\n"), ("delivery", "7")])

    @Test("a text line stays one line, whatever a remote server put in a value, and nothing in it drives a terminal")
    func text() {
        let line = record.text
        #expect(!line.contains("\n") && !line.contains("\r") && !line.contains("\u{1B}"))
        #expect(line.hasSuffix(#"reason=HTTP 502 <html>\r\n<body>Bad\tGateway\u{1B}[2J</body>\n delivery=7"#), "\(line)")
        #expect("plain 李娜".singleLine == "plain 李娜")
    }

    @Test("a JSON line is one object on one line, its values escaped")
    func json() throws {
        let line = record.json
        #expect(!line.contains("\n") && !line.contains("\r"))
        let object = try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: String])
        #expect(object["reason"] == record.metadata[0].1)
        #expect(object["level"] == "warning" && object["logger"] == "outbox" && object["ts"] == "2026-11-24T10:00:00.000Z")
    }
}
