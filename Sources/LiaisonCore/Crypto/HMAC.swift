import COpenSSL

/// HMAC-SHA256 (RFC 2104) on libcrypto's SHA-256.
public enum HMACSHA256 {
    /// A key prepared once: the SHA-256 states after the inner and outer padded keys.
    /// Each code then costs only the hashing of the message; OpenSSL 3's one-shot `HMAC()`
    /// looks the algorithm up and allocates contexts on every call, which on a webhook
    /// path costs more than hashing the body. Immutable, so one key serves every thread.
    public struct Key: Sendable {
        private let inner: SHA256_CTX
        private let outer: SHA256_CTX

        public init(_ key: some Collection<UInt8>) {
            var block = [UInt8](repeating: 0, count: 64)
            if key.count > 64 {
                var digest = SHA256Digest.hash(Array(key))
                block.replaceSubrange(0..<32, with: digest)
                digest.withUnsafeMutableBytes { OPENSSL_cleanse($0.baseAddress, $0.count) }
            } else {
                block.replaceSubrange(0..<key.count, with: key)
            }
            func state(xor pad: UInt8) -> SHA256_CTX {
                var context = SHA256_CTX()
                SHA256_Init(&context)
                let padded = block.map { $0 ^ pad }
                padded.withUnsafeBytes { _ = SHA256_Update(&context, $0.baseAddress, $0.count) }
                return context
            }
            inner = state(xor: 0x36)
            outer = state(xor: 0x5c)
            block.withUnsafeMutableBytes { OPENSSL_cleanse($0.baseAddress, $0.count) }
        }

        public init(_ key: String) { self.init(Array(key.utf8)) }

        /// The 32-byte code of the concatenated parts.
        public func code(_ parts: UnsafeRawBufferPointer...) -> [UInt8] {
            [UInt8](unsafeUninitializedCapacity: 32) { digest, count in
                code(parts, into: digest.baseAddress!)
                count = 32
            }
        }

        /// Writes the 32-byte code of the concatenated parts to `digest`.
        private func code(_ parts: [UnsafeRawBufferPointer], into digest: UnsafeMutablePointer<UInt8>) {
            var context = inner
            for part in parts where part.count > 0 { SHA256_Update(&context, part.baseAddress, part.count) }
            _ = SHA256_Final(digest, &context)
            context = outer
            SHA256_Update(&context, digest, 32)
            _ = SHA256_Final(digest, &context)
        }

        public func code(_ message: [UInt8]) -> [UInt8] { message.withUnsafeBytes { code($0) } }

        /// Whether `hex` (either case) is the code of `message`, compared in constant time.
        /// Nothing is allocated: this runs for every signed webhook.
        public func matches(hex: UnsafeBufferPointer<UInt8>, message: UnsafeRawBufferPointer) -> Bool {
            guard hex.count == 64 else { return false }
            return withUnsafeTemporaryAllocation(of: UInt8.self, capacity: 32) { digest in
                code([message], into: digest.baseAddress!)
                var difference: UInt8 = 0
                for index in 0..<32 {
                    let high = Hex.digit(hex[2 * index])
                    let low = Hex.digit(hex[2 * index + 1])
                    difference |= (high | low) & 0xF0  // not a hex digit
                    difference |= (high << 4 | low & 0x0F) ^ digest[index]
                }
                return difference == 0
            }
        }
    }

    public static func authenticationCode(key: some Collection<UInt8>, message: [UInt8]) -> [UInt8] {
        Key(key).code(message)
    }
}

/// SHA-256 through libcrypto.
public enum SHA256Digest {
    public static func hash(_ bytes: [UInt8]) -> [UInt8] {
        var output = [UInt8](repeating: 0, count: 32)
        var length: UInt32 = 0
        bytes.withUnsafeBufferPointer { input in
            output.withUnsafeMutableBufferPointer { out in
                _ = EVP_Digest(input.baseAddress, input.count, out.baseAddress, &length, EVP_sha256(), nil)
            }
        }
        return output
    }

    public static func hex(_ text: String) -> String { Hex.encode(hash(Array(text.utf8))) }
}

/// Compares two byte strings in time that depends only on their length, so a forged
/// signature cannot be guessed byte by byte from response times.
public func constantTimeEquals(_ a: [UInt8], _ b: [UInt8]) -> Bool {
    guard a.count == b.count else { return false }
    var difference: UInt8 = 0
    for index in a.indices { difference |= a[index] ^ b[index] }
    return difference == 0
}

public enum Hex {
    private static let digits = Array("0123456789abcdef".utf8)

    public static func encode(_ bytes: [UInt8]) -> String {
        var out = [UInt8]()
        out.reserveCapacity(bytes.count * 2)
        for byte in bytes {
            out.append(digits[Int(byte >> 4)])
            out.append(digits[Int(byte & 0x0f)])
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// Decodes lower- or upper-case hex; nil on odd length or a non-hex character.
    public static func decode(_ text: String) -> [UInt8]? { decode(Substring(text)) }

    public static func decode(_ text: Substring) -> [UInt8]? {
        var text = text
        return text.withUTF8 { decode(buffer: $0) }
    }

    /// Decodes hex given as UTF-8 bytes.
    public static func decode(_ bytes: some Collection<UInt8>) -> [UInt8]? {
        if let decoded = bytes.withContiguousStorageIfAvailable({ decode(buffer: $0) }) { return decoded }
        return Array(bytes).withUnsafeBufferPointer { decode(buffer: $0) }
    }

    /// On every signed webhook's path: one pass, no optionals, one allocation.
    public static func decode(buffer utf8: UnsafeBufferPointer<UInt8>) -> [UInt8]? {
        guard utf8.count % 2 == 0 else { return nil }
        var invalid: UInt8 = 0
        let out = [UInt8](unsafeUninitializedCapacity: utf8.count / 2) { out, initialized in
            for index in 0..<utf8.count / 2 {
                let high = digit(utf8[2 * index])
                let low = digit(utf8[2 * index + 1])
                invalid |= (high | low) & 0xF0
                out[index] = high << 4 | low & 0x0F
            }
            initialized = utf8.count / 2
        }
        return invalid == 0 ? out : nil
    }

    /// What `digit` gives for a byte that is not a hex digit.
    static let notADigit: UInt8 = 0xFF

    /// A hex digit's value, or `notADigit` (also for the JSON scanner's `\u` escapes).
    @inline(__always)
    static func digit(_ c: UInt8) -> UInt8 {
        switch c {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): c &- UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): c &- UInt8(ascii: "a") &+ 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): c &- UInt8(ascii: "A") &+ 10
        default: notADigit
        }
    }
}
