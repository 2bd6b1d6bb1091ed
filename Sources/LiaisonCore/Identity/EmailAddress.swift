import Foundation

/// An e-mail address reduced to what identifies a mailbox: trimmed, lower-cased, and for
/// providers that ignore them (Gmail), without dots and `+tags` in the local part.
/// Nil for text that is obviously not an address. Internationalized addresses
/// (`张三@例子.公司`) are addresses.
public struct EmailAddress: Sendable, Hashable, Codable, CustomStringConvertible {
    public let normalized: String

    public init?(_ text: String) {
        let trimmed = text.trimmedWhitespace.lowercased()
        guard !trimmed.unicodeScalars.contains(where: { $0.properties.isWhitespace }) else { return nil }
        let parts = trimmed.split(separator: "@", omittingEmptySubsequences: false)
        guard parts.count == 2, !parts[0].isEmpty, !parts[1].isEmpty else { return nil }
        var local = String(parts[0])
        var domain = String(parts[1])
        let labels = domain.split(separator: ".", omittingEmptySubsequences: false)
        guard labels.count >= 2, labels.allSatisfy({ !$0.isEmpty && !$0.hasPrefix("-") && !$0.hasSuffix("-") }),
            let top = labels.last, top.count >= 2, top.allSatisfy(\.isLetter),
            !local.hasPrefix("."), !local.hasSuffix("."), !local.contains("..")
        else { return nil }
        if domain == "googlemail.com" { domain = "gmail.com" }
        if domain == "gmail.com" {
            local = String(local.prefix { $0 != "+" }).replacingOccurrences(of: ".", with: "")
            guard !local.isEmpty else { return nil }
        }
        normalized = "\(local)@\(domain)"
    }

    public var description: String { normalized }

    /// The name a mailbox spells out, as in `jennifer.zhiqiang.lin385@…` or `wei_zhang@…`:
    /// two to four alphabetic words of two letters or more once digits and a `+tag` are
    /// dropped. Nil for mailboxes such as `sales@`, `coolcat88@` or `j.smith@`.
    public static func nameHint(_ text: String) -> PersonName? {
        let trimmed = text.trimmedWhitespace
        guard let at = trimmed.lastIndex(of: "@") else { return nil }
        let local = trimmed[..<at].prefix { $0 != "+" }
        let words = local.split(whereSeparator: { $0 == "." || $0 == "_" || $0 == "-" })
            .map { $0.filter { !$0.isNumber } }
        guard (2...4).contains(words.count), words.allSatisfy({ $0.count >= 2 && $0.allSatisfy(\.isLetter) }) else {
            return nil
        }
        return PersonName(words.joined(separator: " "))
    }
}
