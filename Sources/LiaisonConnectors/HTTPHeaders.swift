/// A request's headers as received, in one buffer: names compared without regard to ASCII
/// case, a repeated name answering with its last value.
///
/// A dictionary of strings cost every request an allocation per long name or value and a
/// hash per header, though a handler reads two or three of them; here collecting is one
/// copy into a buffer that keeps its capacity, and a string is made only for a header read.
public struct HTTPHeaders: Sendable, ExpressibleByDictionaryLiteral, CustomStringConvertible {
    /// Entries one after another: name length (2 bytes), value length (4 bytes), the name
    /// lower-cased, the value.
    private var bytes: [UInt8] = []

    public init() {}

    public init(dictionaryLiteral elements: (String, String)...) {
        for (name, value) in elements { add(name, value) }
    }

    public init(_ headers: [String: String]) {
        for (name, value) in headers { add(name, value) }
    }

    /// Makes room for `byteCount` bytes of names and values.
    public mutating func reserve(_ byteCount: Int) { bytes.reserveCapacity(byteCount) }

    public mutating func add(_ name: String, _ value: String) {
        var (name, value) = (name, value)
        name.withUTF8 { name in value.withUTF8 { value in add(name: name, value: value) } }
    }

    /// Adds a header from raw bytes (libmicrohttpd's, for instance); names longer than
    /// 65,535 bytes are cut there, which no server lets through anyway. Spaces and tabs
    /// around the value are not part of it (RFC 9110 §5.5); libmicrohttpd drops only the
    /// leading ones.
    public mutating func add(name: UnsafeBufferPointer<UInt8>, value: UnsafeBufferPointer<UInt8>) {
        var value = value[...]
        while let last = value.last, last == 0x20 || last == 0x09 { value.removeLast() }
        while let first = value.first, first == 0x20 || first == 0x09 { value.removeFirst() }
        let nameCount = min(name.count, Int(UInt16.max))
        let valueCount = min(value.count, Int(UInt32.max))
        withUnsafeBytes(of: UInt16(nameCount).littleEndian) { bytes.append(contentsOf: $0) }
        withUnsafeBytes(of: UInt32(valueCount).littleEndian) { bytes.append(contentsOf: $0) }
        for byte in name.prefix(nameCount) { bytes.append(Self.lowercased(byte)) }
        bytes.append(contentsOf: value.prefix(valueCount))
    }

    /// The credentials of `Authorization: Bearer <token>`; the scheme's name is
    /// case-insensitive (RFC 9110 §11.1). Nil without one, or for any other scheme.
    public var bearerToken: String? {
        guard let authorization = self["authorization"] else { return nil }
        let scheme = "bearer "
        guard authorization.utf8.count > scheme.utf8.count,
            authorization.prefix(scheme.count).lowercased() == scheme
        else { return nil }
        return String(authorization.dropFirst(scheme.count).drop { $0 == " " })
    }

    /// The last value given for `name` (any case), or nil.
    public subscript(name: String) -> String? {
        withValue(of: name) { value in value.map { String(decoding: $0, as: UTF8.self) } }
    }

    /// Calls `body` with the last value given for `name` (any case) in place, or with nil.
    public func withValue<Result>(of name: String, _ body: (UnsafeBufferPointer<UInt8>?) -> Result) -> Result {
        var name = name
        return name.withUTF8 { wanted in
            bytes.withUnsafeBufferPointer { buffer in
                var found: Range<Int>?
                forEachEntry(in: buffer) { entryName, value in
                    if entryName.count == wanted.count
                        && zip(entryName, wanted).allSatisfy({ $0 == Self.lowercased($1) })
                    {
                        found = value
                    }
                }
                return body(found.map { UnsafeBufferPointer(rebasing: buffer[$0]) })
            }
        }
    }

    /// Every header, names lower-cased, in the order received.
    public var all: [(name: String, value: String)] {
        bytes.withUnsafeBufferPointer { buffer in
            var result: [(name: String, value: String)] = []
            forEachEntry(in: buffer) { name, value in
                result.append(
                    (
                        String(decoding: name, as: UTF8.self),
                        String(decoding: UnsafeBufferPointer(rebasing: buffer[value]), as: UTF8.self)
                    ))
            }
            return result
        }
    }

    public var isEmpty: Bool { bytes.isEmpty }

    public var description: String { all.map { "\($0.name): \($0.value)" }.joined(separator: "\n") }

    private func forEachEntry(
        in buffer: UnsafeBufferPointer<UInt8>, _ body: (_ name: UnsafeBufferPointer<UInt8>, _ value: Range<Int>) -> Void
    ) {
        var offset = 0
        while offset + 6 <= buffer.count {
            let nameCount = Int(buffer[offset]) | Int(buffer[offset + 1]) << 8
            var valueCount = 0
            for shift in 0..<4 { valueCount |= Int(buffer[offset + 2 + shift]) << (8 * shift) }
            let nameStart = offset + 6
            let valueStart = nameStart + nameCount
            body(UnsafeBufferPointer(rebasing: buffer[nameStart..<valueStart]), valueStart..<valueStart + valueCount)
            offset = valueStart + valueCount
        }
    }

    private static func lowercased(_ byte: UInt8) -> UInt8 {
        (UInt8(ascii: "A")...UInt8(ascii: "Z")).contains(byte) ? byte | 0x20 : byte
    }
}
