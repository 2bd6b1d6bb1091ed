import Foundation
import LiaisonCore
import Testing

@Suite("JSON parser")
struct JSONValueTests {
    @Test("parses every kind of value")
    func values() throws {
        let text =
            #" {"s":"a\"b\\c\/d\n\u00e9\ud83d\ude00","n":-12.5e2,"z":0,"t":true,"f":false,"x":null,"a":[1,[],{}],"o":{"k":"v"}} "#
        let value = try JSONValue.parse(Array(text.utf8))
        #expect(value["s"]?.string == "a\"b\\c/d\né😀")
        #expect(value["n"]?.number == -1250)
        #expect(value["z"]?.number == 0)
        #expect(value["t"] == .bool(true))
        #expect(value["f"] == .bool(false))
        #expect(value["x"] == .null)
        #expect(value["a"] == .array([.number(1), .array([]), .object([])]))
        #expect(value["o"]?["k"]?.string == "v")
        #expect(value["missing"] == nil)
        #expect(try JSONValue.parse(Array("\"中文\"".utf8)) == .string("中文"))
    }

    @Test(
        "refuses what RFC 8259 refuses",
        arguments: [
            "", " ", "{", "}", "[1,]", "{\"a\":1,}", "{a:1}", "{'a':1}", "01", "1.", ".5", "-", "1e", "+1", "tru",
            "nul",
            "\"unterminated", "\"\\x\"", "\"\\u12\"", "\"\\ud800\"", "\"\\udc00\"", "\"a\u{01}b\"", "[1] 2", "NaN",
            "1e999",
            "{\"a\" 1}", "[1 2]",
        ])
    func invalid(text: String) {
        #expect(throws: JSONSyntaxError.self) { try JSONValue.parse(Array(text.utf8)) }
    }

    @Test("refuses invalid UTF-8 and hostile nesting")
    func hostile() {
        #expect(throws: JSONSyntaxError.self) { try JSONValue.parse([0x22, 0xC3, 0x28, 0x22]) }
        #expect(throws: JSONSyntaxError.self) {
            try JSONValue.parse(Array((String(repeating: "[", count: 100) + String(repeating: "]", count: 100)).utf8))
        }
        #expect(
            (try? JSONValue.parse(Array((String(repeating: "[", count: 50) + String(repeating: "]", count: 50)).utf8)))
                != nil)
    }

    @Test("reads back what JSONSerialization writes, for generated documents")
    func agreesWithFoundation() throws {
        var generator = SystemRandomNumberGenerator()
        func random(_ depth: Int) -> JSONValue {
            switch Int.random(in: 0..<(depth > 3 ? 4 : 6), using: &generator) {
            case 0: return .number(Double(Int.random(in: -1_000_000...1_000_000, using: &generator)))
            case 1:
                return .string(
                    String(
                        (0..<Int.random(in: 0..<12, using: &generator)).map { _ in
                            "aé中\"\\\n\t😀/ ".randomElement(using: &generator)!
                        }))
            case 2: return .bool(Bool.random(using: &generator))
            case 3: return .null
            case 4: return .array((0..<Int.random(in: 0..<4, using: &generator)).map { _ in random(depth + 1) })
            default:
                return .object((0..<Int.random(in: 0..<4, using: &generator)).map { ("k\($0)", random(depth + 1)) })
            }
        }
        func foundation(_ value: JSONValue) -> Any {
            switch value {
            case .null: return NSNull()
            case .bool(let flag): return flag
            case .number(let number): return Int(number)
            case .string(let text): return text
            case .array(let items): return items.map(foundation)
            case .object(let members):
                return Dictionary(uniqueKeysWithValues: members.map { ($0.key, foundation($0.value)) })
            }
        }
        func sorted(_ value: JSONValue) -> JSONValue {
            switch value {
            case .array(let items): return .array(items.map(sorted))
            case .object(let members):
                return .object(members.sorted { $0.key < $1.key }.map { ($0.key, sorted($0.value)) })
            default: return value
            }
        }
        for _ in 0..<300 {
            let document = JSONValue.object([("root", random(0))])
            let data = try JSONSerialization.data(withJSONObject: foundation(document))
            let ours = try JSONValue.parse(Array(data))
            #expect(sorted(ours) == sorted(document), "\(String(decoding: data, as: UTF8.self))")
        }
    }
}
