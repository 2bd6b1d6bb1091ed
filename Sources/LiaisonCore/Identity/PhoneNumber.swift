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

    /// The text as libphonenumber is given it: trimmed, and when it holds nothing but
    /// digits, a leading `+` and the separators people type (space, `-`, `.`), without
    /// those separators: they mean nothing to the parser and cost it a third of its time.
    /// Nil when there is no digit at all.
    static func prepared(_ text: String) -> String? {
        let trimmed = text.trimmedWhitespace
        guard trimmed.utf8.contains(where: { (0x30...0x39).contains($0) }) else { return nil }
        var plain: [UInt8] = []
        plain.reserveCapacity(trimmed.utf8.count)
        for (index, byte) in trimmed.utf8.enumerated() {
            switch byte {
            case 0x30...0x39: plain.append(byte)
            case UInt8(ascii: "+") where index == 0: plain.append(byte)
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

    private init?(prepared trimmed: String, region: String) {
        var e164 = [CChar](repeating: 0, count: 64)
        var ext = [CChar](repeating: 0, count: 64)
        let status = cpn_parse(trimmed, region, &e164, e164.count, &ext, ext.count, nil)
        guard status == CPN_OK else { return nil }
        self.e164 = String(cString: e164)
        let extensionText = String(cString: ext)
        extensionNumber = extensionText.isEmpty ? nil : extensionText
    }

    public var description: String { extensionNumber.map { "\(e164) ext. \($0)" } ?? e164 }
}
