import CPhoneNumber
import Foundation
import Synchronization

/// A phone number in E.164 (`+8613800138000`), with its extension, as libphonenumber
/// reads it. `+86 138-0013-8000`, `0086 13800138000`, `(+86)138 0013 8000` and, with
/// region CN, `138 0013 8000` are one number.
public struct PhoneNumber: Sendable, Hashable, Codable, CustomStringConvertible {
    public let e164: String
    public let extensionNumber: String?
    /// libphonenumber knows the number as assignable in its region (not only well formed).
    /// Worked out when asked: matching needs only the E.164 form, and validating costs as
    /// much again as parsing.
    public var isValid: Bool {
        var e164 = [CChar](repeating: 0, count: 64)
        var ext = [CChar](repeating: 0, count: 64)
        var valid: Int32 = 0
        return cpn_parse(self.e164, "ZZ", &e164, e164.count, &ext, ext.count, &valid) == CPN_OK && valid != 0
    }

    /// Nil when the text is not a phone number at all.
    /// - Parameter region: ISO 3166 alpha-2 region for numbers written without a country code.
    public init?(_ text: String, region: String = "CN") {
        guard let trimmed = Self.prepared(text) else { return nil }
        self.init(prepared: trimmed, region: region)
    }

    /// Straight through libphonenumber, as written (trimmed), without the preparation or
    /// the fast path: what tests compare those with.
    public init?(libphonenumber text: String, region: String) {
        let trimmed = text.trimmedWhitespace
        guard trimmed.utf8.contains(where: { (0x30...0x39).contains($0) }) else { return nil }
        self.init(prepared: trimmed, region: region, fastPath: false)
    }

    /// A Chinese mobile number in the shapes people type: `+86` and eleven digits
    /// `1[3-9]…`, or, read in region CN, `0086` and those digits or the eleven digits
    /// alone. libphonenumber parses these to `+86` and the same digits, at 7–13 µs a
    /// number, half the cost of normalising a CRM record; here it is a byte check.
    /// `179…` is left to libphonenumber: 179xx are carrier-selection codes that CN's
    /// national-prefix rule (`0|(1(?:[12]\d|79)\d\d)`) may strip. Tests compare the two
    /// over every prefix and shape.
    static func chineseMobile(_ prepared: String, region: String) -> String? {
        var digits = Substring(prepared)
        if digits.hasPrefix("+86") {
            digits = digits.dropFirst(3)
        } else if region == "CN" {
            if digits.hasPrefix("0086") { digits = digits.dropFirst(4) }
        } else {
            return nil
        }
        let bytes = digits.utf8
        guard bytes.count == 11, bytes.allSatisfy({ (0x30...0x39).contains($0) }), bytes.first == UInt8(ascii: "1"),
            let second = bytes.dropFirst().first, (UInt8(ascii: "3")...UInt8(ascii: "9")).contains(second),
            !digits.hasPrefix("179")
        else { return nil }
        return "+86" + digits
    }

    /// The text as libphonenumber is given it: trimmed, and when it holds nothing but
    /// digits, a leading `+` (or a country code in brackets, `(+86)`) and the separators
    /// people type (space, `-`, `.`), without those separators: they mean nothing to the
    /// parser and cost it a third of its time. Nil when there is no digit at all.
    static func prepared(_ text: String) -> String? {
        var trimmed = text.trimmedWhitespace
        // How Chinese speakers write an extension: 转 ("transfer to") or 分机 ("extension").
        if !trimmed.utf8.allSatisfy({ $0 < 0x80 }) {
            for marker in ["分机号", "分机", "转"] where trimmed.contains(marker) {
                trimmed = trimmed.replacingOccurrences(of: marker, with: " ext. ")
            }
        }
        guard trimmed.utf8.contains(where: { (0x30...0x39).contains($0) }) else { return nil }
        var bytes = Substring(trimmed).utf8
        var plain: [UInt8] = []
        plain.reserveCapacity(bytes.count)
        // `(+86)…`: the brackets around a leading country code only.
        if bytes.first == UInt8(ascii: "("), bytes.dropFirst().first == UInt8(ascii: "+"),
            let close = bytes.firstIndex(of: UInt8(ascii: ")")),
            case let code = bytes[bytes.index(bytes.startIndex, offsetBy: 2)..<close],
            (1...3).contains(code.count), code.allSatisfy({ (0x30...0x39).contains($0) })
        {
            plain.append(UInt8(ascii: "+"))
            plain.append(contentsOf: code)
            bytes = bytes[bytes.index(after: close)...]
        }
        for (index, byte) in bytes.enumerated() {
            switch byte {
            case 0x30...0x39: plain.append(byte)
            case UInt8(ascii: "+") where index == 0 && plain.isEmpty: plain.append(byte)
            case UInt8(ascii: " "), UInt8(ascii: "-"), UInt8(ascii: "."): continue
            default: return trimmed  // brackets, letters, an extension: as written
            }
        }
        return String(decoding: plain, as: UTF8.self)
    }

    /// A cache of parsed numbers for one run over many records (a file being linked):
    /// a number written the same way twice is parsed once.
    public final class Cache: Sendable {
        private let known = Mutex<[String: PhoneNumber?]>([:])
        public init() {}

        public func number(_ text: String, region: String) -> PhoneNumber? {
            guard let prepared = PhoneNumber.prepared(text) else { return nil }
            let key = region + "|" + prepared
            if let hit = known.withLock({ $0[key] }) { return hit }
            let parsed = PhoneNumber(prepared: prepared, region: region)
            known.withLock { $0[key] = .some(parsed) }
            return parsed
        }
    }

    private init?(prepared trimmed: String, region: String, fastPath: Bool = true) {
        if fastPath, let mobile = Self.chineseMobile(trimmed, region: region) {
            e164 = mobile
            extensionNumber = nil
            return
        }
        var e164 = [CChar](repeating: 0, count: 64)
        var ext = [CChar](repeating: 0, count: 64)
        let status = cpn_parse(trimmed, region, &e164, e164.count, &ext, ext.count, nil)
        guard status == CPN_OK else { return nil }
        func text(_ buffer: [CChar]) -> String {
            String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
        }
        self.e164 = text(e164)
        let extensionText = text(ext)
        extensionNumber = extensionText.isEmpty ? nil : extensionText
    }

    public var description: String { extensionNumber.map { "\(e164) ext. \($0)" } ?? e164 }
}
