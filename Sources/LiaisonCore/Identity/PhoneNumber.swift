import CPhoneNumber
import Foundation

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
        let trimmed = text.trimmedWhitespace
        guard !trimmed.isEmpty, trimmed.unicodeScalars.contains(where: { ("0"..."9").contains($0) }) else { return nil }
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
