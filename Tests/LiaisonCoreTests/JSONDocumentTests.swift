import LiaisonCore
import Testing

@Suite("JSON document, read in place")
struct JSONDocumentTests {
    func document(_ text: String) throws -> JSONDocument { try JSONDocument(Array(text.utf8)) }

    @Test("reads members, elements and every kind of value")
    func reads() throws {
        let root = try document(
            #"{"id":"m1","n":-2.5e1,"t":true,"f":false,"x":null,"a":[1,"two",{"k":[]}],"o":{"k":"v"},"e":"","u":"李娜"}"#
        ).root
        #expect(root.kind == .object)
        #expect(root["id"]?.string == "m1")
        #expect(root["n"]?.number == -25)
        #expect(root["t"]?.bool == true)
        #expect(root["f"]?.bool == false)
        #expect(root["x"]?.isNull == true)
        #expect(root["o"]?["k"]?.string == "v")
        #expect(root["e"]?.string == "")
        #expect(root["u"]?.string == "李娜")
        #expect(root["a"]?.elements.map(\.kind) == [.number, .string, .object])
        #expect(root["a"]?.elements[2]["k"]?.elements.isEmpty == true)
        #expect(root.members.map(\.key) == ["id", "n", "t", "f", "x", "a", "o", "e", "u"])
        #expect(root["missing"] == nil)
        #expect(root["id"]?.number == nil, "a string is not a number")
        #expect(root["a"]?["k"] == nil, "an array has no members")
        #expect(root["i"] == nil, "a prefix of a name is not the name")
    }

    @Test("a repeated name reads as its last value, as JSONValue does, escaped or not")
    func repeatedName() throws {
        let root = try document(#"{"id":"first","other":1,"id":"last"}"#).root
        #expect(root["id"]?.string == "last")
        #expect(try document(#"{"id":1,"\u0069d":2}"#).root["id"]?.number == 2)
        #expect(try document(#"{"\u0069d":1,"id":2}"#).root["id"]?.number == 2)
        #expect(try JSONValue.parse(Array(#"{"id":"first","id":"last"}"#.utf8))["id"]?.string == "last")
    }

    @Test("escapes are decoded, in values and in names")
    func escapes() throws {
        let root = try document(#"{"s":"a\"b\\c\/d\n\u00e9\ud83d\ude00","n\u0061me":"x","tab\t":"y"}"#).root
        #expect(root["s"]?.string == "a\"b\\c/d\né😀")
        #expect(root["name"]?.string == "x")
        #expect(root["tab\t"]?.string == "y")
    }

    @Test("the tree it gives equals what JSONValue built for the same text")
    func tree() throws {
        let text = #"{"a":[1,2.5,{"b":null}],"c":"\u4e2d","d":{"e":[true,false]}}"#
        let expected = JSONValue.object([
            ("a", .array([.number(1), .number(2.5), .object([("b", .null)])])), ("c", .string("中")),
            ("d", .object([("e", .array([.bool(true), .bool(false)]))])),
        ])
        #expect(try document(text).root.tree == expected)
    }

    @Test(
        "refuses malformed UTF-8: overlong forms, encoded surrogates, truncated sequences, stray continuation bytes",
        arguments: [
            [0xC0, 0xAF], [0xE0, 0x80, 0xAF], [0xED, 0xA0, 0x80], [0xE4, 0xB8], [0x80], [0xF4, 0x90, 0x80, 0x80],
        ]
            as [[UInt8]])
    func invalidUTF8(bytes: [UInt8]) {
        #expect(throws: JSONSyntaxError.self) { try JSONDocument([0x22] + bytes + [0x22]) }
        #expect(throws: JSONSyntaxError.self) { try JSONDocument(Array(#"{""#.utf8) + bytes + Array(#"":1}"#.utf8)) }
    }

    @Test(
        "refuses a high surrogate not followed by a low one",
        arguments: [#""\ud800\u0041""#, #""\ud800\ud800""#, #""\ud800x""#, #""\ud800\n""#])
    func surrogates(text: String) {
        #expect(throws: JSONSyntaxError.self) { try document(text) }
    }

    @Test("nesting: 64 levels are read, 65 refused")
    func depth() throws {
        func nested(_ levels: Int) -> String {
            String(repeating: "[", count: levels) + String(repeating: "]", count: levels)
        }
        #expect(try document(nested(64)).root.kind == .array)
        #expect(throws: JSONSyntaxError.self) { try document(nested(65)) }
    }

    @Test("documents denser than its first guess (a value every 2 bytes) and the smallest ones read whole")
    func density() throws {
        let count = 5_000
        let dense = try document("[" + (0..<count).map { String($0 % 10) }.joined(separator: ",") + "]").root
        #expect(dense.elements.count == count)
        #expect(dense.elements.enumerated().allSatisfy { $0.element.number == Double($0.offset % 10) })
        let nested = try document(#"{"a":{"b":{"c":[{"d":"e"},{"d":"f"}]}},"g":1}"#).root
        #expect(nested["a"]?["b"]?["c"]?.elements.compactMap { $0["d"]?.string } == ["e", "f"])
        #expect(nested["g"]?.number == 1)
        #expect(try document("0").root.number == 0)
        #expect(try document(#""""#).root.string == "")
        #expect(try document(" [] ").root.elements.isEmpty)
        #expect(throws: JSONSyntaxError.self) { try document("") }
    }

    @Test("accepts every length of UTF-8 sequence")
    func validUTF8() throws {
        #expect(try document("\"é中😀\"").root.string == "é中😀")
    }

    @Test("damaged bodies are refused or read consistently, never a crash (seeded mutations)")
    func mutations() throws {
        var random = SplitMix64(seed: 7)
        let seeds = [
            #"{"id":"m1","conversation":"c1","sender":{"id":"u1","name":"Li \u5a1c","role":"customer"},"text":"a\"b\\c","sent_at":"2026-11-24T10:00:00Z"}"#,
            #"[1,-2.5e3,true,false,null,{"k":["\ud83d\ude00",{}]},"é中"]"#,
        ].map { Array($0.utf8) }
        let alphabet =
            Array(#"{}[]":,\"u0123456789abcdefABCDEF-+.eE tfnrl"#.utf8) + [
                0x00, 0x1F, 0x80, 0xC3, 0xE4, 0xED, 0xF0, 0xFF,
            ]
        var accepted = 0
        for round in 0..<20_000 {
            var bytes = seeds[round % seeds.count]
            for _ in 0...Int.random(in: 0..<3, using: &random) {
                let at = Int.random(in: 0..<bytes.count, using: &random)
                switch Int.random(in: 0..<3, using: &random) {
                case 0: bytes[at] = alphabet.randomElement(using: &random)!
                case 1: bytes.remove(at: at)
                default: bytes.insert(alphabet.randomElement(using: &random)!, at: at)
                }
                if bytes.isEmpty { break }
            }
            guard let document = try? JSONDocument(bytes) else { continue }
            accepted += 1
            // Whatever is accepted reads back whole, and says the same once written out again.
            let tree = document.root.tree
            #expect(
                try JSONValue.parse(Array(tree.serialized.utf8)) == tree, "\(String(decoding: bytes, as: UTF8.self))")
        }
        #expect(accepted > 100, "the mutations must leave some documents valid, or this tests only refusals")
    }
}
