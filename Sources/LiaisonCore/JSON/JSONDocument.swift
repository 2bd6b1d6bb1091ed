/// A JSON document (RFC 8259) read in place. One validating pass records where each value
/// lies in the bytes, in a flat index (one allocation); strings are built from the bytes
/// only when asked for (numbers are converted once to check their range, again when read). The ingest path checks and decodes webhook bodies this
/// way: a tree of `JSONValue`s costs an allocation per string, array and object, and its
/// release, for fields nobody reads.
///
///     let document = try JSONDocument(Array(#"{"id":"m1","sender":{"id":"u7"}}"#.utf8))
///     document.root["sender"]?["id"]?.string  // "u7"
///
/// Everything `JSONValue.parse` refuses, this refuses: `JSONValue.parse` is built on it.
public struct JSONDocument: Sendable {
    /// What a value is.
    public enum Kind: UInt8, Sendable {
        case null, bool, number, string, array, object

        /// For error messages: "a string", "an object".
        public var name: String {
            switch self {
            case .null: "null"
            case .bool: "a boolean"
            case .number: "a number"
            case .string: "a string"
            case .array: "an array"
            case .object: "an object"
            }
        }
    }

    /// One value, in document order (a container before its children).
    struct Token: Sendable {
        var kind: Kind
        /// Strings: has a backslash escape / has a byte above 0x7F. Booleans: true.
        var flags: UInt8
        /// Strings: the first byte after the opening quote; numbers: the first byte.
        var start: Int32
        /// Strings: the closing quote; numbers: one past the last byte.
        var end: Int32
        /// The index of the token after this value and everything inside it.
        var next: Int32

        static let escaped: UInt8 = 1
        static let nonASCII: UInt8 = 2
        static let isTrue: UInt8 = 1
    }

    /// The bytes and their index, shared by every `Value` (one reference to retain, not two).
    final class Storage: Sendable {
        let bytes: [UInt8]
        let tokens: [Token]

        init(bytes: [UInt8], tokens: [Token]) {
            self.bytes = bytes
            self.tokens = tokens
        }
    }

    let storage: Storage
    var bytes: [UInt8] { storage.bytes }
    var tokens: [Token] { storage.tokens }

    /// Parses exactly one JSON value (surrounded by optional whitespace).
    /// - Parameter maxDepth: nesting deeper than this is refused, so hostile input cannot exhaust the stack.
    public init(_ bytes: [UInt8], maxDepth: Int = 64) throws(JSONSyntaxError) {
        guard bytes.count < Int(Int32.max) else {
            throw JSONSyntaxError(offset: 0, problem: "document larger than 2 GiB")
        }
        let tokens = try bytes.withUnsafeBufferPointer { (buffer) throws(JSONSyntaxError) -> [Token] in
            var scanner = JSONScanner(bytes: buffer, maxDepth: maxDepth)
            scanner.skipWhitespace()
            try scanner.value(depth: 0)
            scanner.skipWhitespace()
            guard scanner.index == buffer.count else { throw scanner.error("unexpected data after the value") }
            return scanner.tokens
        }
        storage = Storage(bytes: bytes, tokens: tokens)
    }

    /// The document's top-level value.
    public var root: Value { Value(document: self, index: 0) }

    /// A value inside a document: a position, read on demand.
    public struct Value: Sendable {
        let document: JSONDocument
        let index: Int

        init(document: JSONDocument, index: Int) {
            self.document = document
            self.index = index
        }

        var token: Token { document.tokens[index] }

        public var kind: Kind { token.kind }
        public var isNull: Bool { kind == .null }

        /// The member named `key` of an object (the last one, if the name repeats); nil if
        /// there is none or this is not an object. Names compare by their UTF-8 bytes after
        /// unescaping (RFC 8259 §8.3), not by Unicode equivalence as `String ==` would.
        public subscript(key: String) -> Value? {
            guard kind == .object else { return nil }
            var key = key
            let member = key.withUTF8 { key in document.member(of: index, named: key) }
            return member.map { Value(document: document, index: $0) }
        }

        /// An object's members in document order; empty for anything else.
        public var members: [(key: String, value: Value)] {
            guard kind == .object else { return [] }
            var out: [(key: String, value: Value)] = []
            var member = index + 1
            while member < Int(token.next) {
                out.append((document.string(at: member), Value(document: document, index: member + 1)))
                member = Int(document.tokens[member + 1].next)
            }
            return out
        }

        /// An array's elements in order; empty for anything else.
        public var elements: [Value] {
            guard kind == .array else { return [] }
            var out: [Value] = []
            var element = index + 1
            while element < Int(token.next) {
                out.append(Value(document: document, index: element))
                element = Int(document.tokens[element].next)
            }
            return out
        }

        public var string: String? { kind == .string ? document.string(at: index) : nil }

        public var number: Double? {
            guard kind == .number else { return nil }
            let token = token
            return document.bytes.withUnsafeBufferPointer { buffer in
                Double(String(decoding: buffer[Int(token.start)..<Int(token.end)], as: UTF8.self))
            }
        }

        public var bool: Bool? { kind == .bool ? token.flags == Token.isTrue : nil }

        /// The value as a tree.
        public var tree: JSONValue {
            switch kind {
            case .null: .null
            case .bool: .bool(token.flags == Token.isTrue)
            case .number: .number(number ?? 0)
            case .string: .string(document.string(at: index))
            case .array: .array(elements.map(\.tree))
            case .object: .object(members.map { ($0.key, $0.value.tree) })
            }
        }
    }

    /// The string token at `index`, unescaped. The scanner validated it, so this cannot fail.
    func string(at index: Int) -> String {
        let token = tokens[index]
        return bytes.withUnsafeBufferPointer { buffer in
            let raw = UnsafeBufferPointer(rebasing: buffer[Int(token.start)..<Int(token.end)])
            guard token.flags & Token.escaped != 0 else { return String(decoding: raw, as: UTF8.self) }
            return String(decoding: Self.unescape(raw), as: UTF8.self)
        }
    }

    /// The index of the value of the last member named `name` in the object at `object`.
    func member(of object: Int, named name: UnsafeBufferPointer<UInt8>) -> Int? {
        tokens.withUnsafeBufferPointer { tokens in
            bytes.withUnsafeBufferPointer { bytes in
                var found: Int?
                var member = object + 1
                let end = Int(tokens[object].next)
                while member < end {
                    let token = tokens[member]
                    let count = Int(token.end - token.start)
                    if token.flags & Token.escaped != 0 {
                        if string(at: member).utf8.elementsEqual(name) { found = member + 1 }
                    } else if count == name.count {
                        let start = Int(token.start)
                        var offset = 0
                        while offset < count && bytes[start + offset] == name[offset] { offset += 1 }
                        if offset == count { found = member + 1 }
                    }
                    member = Int(tokens[member + 1].next)
                }
                return found
            }
        }
    }

    /// Decodes the escapes of a string the scanner has validated.
    static func unescape(_ raw: UnsafeBufferPointer<UInt8>) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(raw.count)
        var index = 0
        func hex4() -> UInt32 {
            var value: UInt32 = 0
            for byte in raw[index..<index + 4] { value = value << 4 | UInt32(Hex.digit(byte)) }
            index += 4
            return value
        }
        while index < raw.count {
            let byte = raw[index]
            index += 1
            guard byte == UInt8(ascii: "\\") else {
                out.append(byte)
                continue
            }
            let escape = raw[index]
            index += 1
            switch escape {
            case UInt8(ascii: "b"): out.append(0x08)
            case UInt8(ascii: "f"): out.append(0x0C)
            case UInt8(ascii: "n"): out.append(0x0A)
            case UInt8(ascii: "r"): out.append(0x0D)
            case UInt8(ascii: "t"): out.append(0x09)
            case UInt8(ascii: "u"):
                var scalar = hex4()
                if (0xD800...0xDBFF).contains(scalar) {
                    index += 2  // the scanner checked that "\u" and a low surrogate follow
                    scalar = 0x10000 + ((scalar - 0xD800) << 10) + (hex4() - 0xDC00)
                }
                out.append(contentsOf: UTF8.encode(Unicode.Scalar(scalar)!)!)
            default: out.append(escape)  // " \ /
            }
        }
        return out
    }
}

/// The validating pass: RFC 8259's grammar, UTF-8 in strings, escapes and surrogate
/// pairs, finite numbers, a depth limit. Records one token per value.
struct JSONScanner {
    let bytes: UnsafeBufferPointer<UInt8>
    let maxDepth: Int
    var index = 0
    var tokens: [JSONDocument.Token] = []

    init(bytes: UnsafeBufferPointer<UInt8>, maxDepth: Int) {
        self.bytes = bytes
        self.maxDepth = maxDepth
        // About one value per 8 bytes in webhook bodies; growth covers denser documents.
        tokens.reserveCapacity(bytes.count / 8 + 4)
    }

    func error(_ problem: String) -> JSONSyntaxError { JSONSyntaxError(offset: index, problem: problem) }

    mutating func skipWhitespace() {
        while index < bytes.count {
            switch bytes[index] {
            case 0x20, 0x09, 0x0A, 0x0D: index += 1
            default: return
            }
        }
    }

    private mutating func leaf(_ kind: JSONDocument.Kind, flags: UInt8 = 0, start: Int, end: Int) {
        tokens.append(
            JSONDocument.Token(
                kind: kind, flags: flags, start: Int32(start), end: Int32(end), next: Int32(tokens.count + 1)))
    }

    mutating func value(depth: Int) throws(JSONSyntaxError) {
        guard index < bytes.count else { throw error("unexpected end of input") }
        switch bytes[index] {
        case UInt8(ascii: "{"): try container(.object, depth: depth + 1)
        case UInt8(ascii: "["): try container(.array, depth: depth + 1)
        case UInt8(ascii: "\""): try string()
        case UInt8(ascii: "t"):
            try literal("true")
            leaf(.bool, flags: JSONDocument.Token.isTrue, start: index - 4, end: index)
        case UInt8(ascii: "f"):
            try literal("false")
            leaf(.bool, start: index - 5, end: index)
        case UInt8(ascii: "n"):
            try literal("null")
            leaf(.null, start: index - 4, end: index)
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"): try number()
        default: throw error("unexpected character")
        }
    }

    mutating func literal(_ word: StaticString) throws(JSONSyntaxError) {
        let count = word.utf8CodeUnitCount
        guard index + count <= bytes.count else { throw error("unexpected end of input") }
        for offset in 0..<count where bytes[index + offset] != word.utf8Start[offset] {
            throw error("unexpected character")
        }
        index += count
    }

    mutating func container(_ kind: JSONDocument.Kind, depth: Int) throws(JSONSyntaxError) {
        guard depth <= maxDepth else { throw error("nested too deeply") }
        let object = kind == .object
        let close = object ? UInt8(ascii: "}") : UInt8(ascii: "]")
        let slot = tokens.count
        tokens.append(JSONDocument.Token(kind: kind, flags: 0, start: Int32(index), end: 0, next: 0))
        index += 1
        skipWhitespace()
        if index < bytes.count, bytes[index] == close {
            index += 1
        } else {
            while true {
                skipWhitespace()
                if object {
                    guard index < bytes.count, bytes[index] == UInt8(ascii: "\"") else {
                        throw error("expected a member name")
                    }
                    try string()
                    skipWhitespace()
                    guard index < bytes.count, bytes[index] == UInt8(ascii: ":") else { throw error("expected ':'") }
                    index += 1
                    skipWhitespace()
                }
                try value(depth: depth)
                skipWhitespace()
                guard index < bytes.count else { throw error("unexpected end of input") }
                if bytes[index] == UInt8(ascii: ",") {
                    index += 1
                } else if bytes[index] == close {
                    index += 1
                    break
                } else {
                    throw error(object ? "expected ',' or '}'" : "expected ',' or ']'")
                }
            }
        }
        tokens[slot].end = Int32(index)
        tokens[slot].next = Int32(tokens.count)
    }

    mutating func number() throws(JSONSyntaxError) {
        let start = index
        if bytes[index] == UInt8(ascii: "-") { index += 1 }
        guard index < bytes.count else { throw error("unexpected end of input") }
        if bytes[index] == UInt8(ascii: "0") {
            index += 1
        } else if isDigit(bytes[index]) {
            while index < bytes.count, isDigit(bytes[index]) { index += 1 }
        } else {
            throw error("expected a digit")
        }
        if index < bytes.count, bytes[index] == UInt8(ascii: ".") {
            index += 1
            guard index < bytes.count, isDigit(bytes[index]) else { throw error("expected a digit") }
            while index < bytes.count, isDigit(bytes[index]) { index += 1 }
        }
        if index < bytes.count, bytes[index] == UInt8(ascii: "e") || bytes[index] == UInt8(ascii: "E") {
            index += 1
            if index < bytes.count, bytes[index] == UInt8(ascii: "+") || bytes[index] == UInt8(ascii: "-") {
                index += 1
            }
            guard index < bytes.count, isDigit(bytes[index]) else { throw error("expected a digit") }
            while index < bytes.count, isDigit(bytes[index]) { index += 1 }
        }
        guard let value = Double(String(decoding: UnsafeBufferPointer(rebasing: bytes[start..<index]), as: UTF8.self)),
            value.isFinite
        else {
            throw JSONSyntaxError(offset: start, problem: "number out of range")
        }
        leaf(.number, start: start, end: index)
    }

    func isDigit(_ byte: UInt8) -> Bool { byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9") }

    mutating func string() throws(JSONSyntaxError) {
        index += 1  // opening quote
        let start = index
        var flags: UInt8 = 0
        while true {
            guard index < bytes.count else { throw error("unterminated string") }
            let byte = bytes[index]
            switch byte {
            case UInt8(ascii: "\""):
                // Escapes are ASCII, so the raw bytes are valid UTF-8 exactly when the text is.
                if flags & JSONDocument.Token.nonASCII != 0,
                    !Self.isValidUTF8(UnsafeBufferPointer(rebasing: bytes[start..<index]))
                {
                    throw JSONSyntaxError(offset: start, problem: "invalid UTF-8 in string")
                }
                leaf(.string, flags: flags, start: start, end: index)
                index += 1
                return
            case UInt8(ascii: "\\"):
                flags |= JSONDocument.Token.escaped
                index += 1
                try escape()
            case 0..<0x20:
                throw error("control character in string")
            default:
                if byte >= 0x80 { flags |= JSONDocument.Token.nonASCII }
                index += 1
            }
        }
    }

    /// Checks the escape after a backslash (at `index`) and steps over it.
    private mutating func escape() throws(JSONSyntaxError) {
        guard index < bytes.count else { throw error("unexpected end of input") }
        let escape = bytes[index]
        index += 1
        switch escape {
        case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"), UInt8(ascii: "b"), UInt8(ascii: "f"),
            UInt8(ascii: "n"), UInt8(ascii: "r"), UInt8(ascii: "t"):
            return
        case UInt8(ascii: "u"):
            let scalar = try hex4()
            if (0xD800...0xDBFF).contains(scalar) {
                guard index + 1 < bytes.count, bytes[index] == UInt8(ascii: "\\"), bytes[index + 1] == UInt8(ascii: "u")
                else { throw error("unpaired surrogate") }
                index += 2
                guard (0xDC00...0xDFFF).contains(try hex4()) else { throw error("unpaired surrogate") }
            } else if (0xDC00...0xDFFF).contains(scalar) {
                throw error("unpaired surrogate")
            }
        default:
            throw error("invalid escape")
        }
    }

    private mutating func hex4() throws(JSONSyntaxError) -> UInt32 {
        guard index + 4 <= bytes.count else { throw error("unexpected end of input") }
        var value: UInt32 = 0
        for _ in 0..<4 {
            let digit = Hex.digit(bytes[index])
            guard digit != Hex.notADigit else { throw error("invalid \\u escape") }
            value = value << 4 | UInt32(digit)
            index += 1
        }
        return value
    }

    static func isValidUTF8(_ bytes: UnsafeBufferPointer<UInt8>) -> Bool {
        var iterator = bytes.makeIterator()
        var parser = Unicode.UTF8.ForwardParser()
        while true {
            switch parser.parseScalar(from: &iterator) {
            case .valid: continue
            case .emptyInput: return true
            case .error: return false
            }
        }
    }
}
