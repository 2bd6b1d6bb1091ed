import Foundation

/// An e-mail address reduced to what identifies a mailbox: trimmed, lower-cased, and for
/// providers that ignore them (Gmail), without dots and `+tags` in the local part.
/// Nil for text that is obviously not an address. Internationalized addresses
/// (`张三@例子.公司`) are addresses.
public struct EmailAddress: Sendable, Hashable, Codable, CustomStringConvertible {
    public let normalized: String

    public init?(_ text: String) {
        // On UTF-8 bytes: the separators (@ . + -) are ASCII, so non-ASCII text passes through.
        let bytes = Array(text.trimmedWhitespace.lowercased().utf8)
        guard let at = bytes.firstIndex(of: UInt8(ascii: "@")), at > 0, at < bytes.count - 1,
            bytes.lastIndex(of: UInt8(ascii: "@")) == at
        else { return nil }
        if bytes.contains(where: { $0 == 0x20 || (0x09...0x0D).contains($0) }) || !bytes.allSatisfy({ $0 < 0x80 }),
            String(decoding: bytes, as: UTF8.self).unicodeScalars.contains(where: { $0.properties.isWhitespace })
        {
            return nil
        }
        let dot = UInt8(ascii: "."), dash = UInt8(ascii: "-")
        var local = Array(bytes[..<at])
        var domain = Array(bytes[(at + 1)...])
        let labels = domain.split(separator: dot, omittingEmptySubsequences: false)
        guard labels.count >= 2, labels.allSatisfy({ !$0.isEmpty && $0.first != dash && $0.last != dash }),
            let top = labels.last, Self.isTopLevel(top),
            local.first != dot, local.last != dot,
            !zip(local, local.dropFirst()).contains(where: { $0 == dot && $1 == dot })
        else { return nil }
        if domain.elementsEqual("googlemail.com".utf8) { domain = Array("gmail.com".utf8) }
        if domain.elementsEqual("gmail.com".utf8) {
            local = local.prefix { $0 != UInt8(ascii: "+") }.filter { $0 != dot }
            guard !local.isEmpty else { return nil }
        }
        normalized = String(decoding: local + [UInt8(ascii: "@")] + domain, as: UTF8.self)
    }

    /// A top-level domain: two letters or more (`com`, `cn`, or an internationalized `公司`).
    private static func isTopLevel(_ label: ArraySlice<UInt8>) -> Bool {
        guard label.allSatisfy({ $0 < 0x80 }) else {
            let text = String(decoding: label, as: UTF8.self)
            return text.count >= 2 && text.allSatisfy(\.isLetter)
        }
        return label.count >= 2 && label.allSatisfy { (UInt8(ascii: "a")...UInt8(ascii: "z")).contains($0) }
    }

    public var description: String { normalized }

    /// The name a mailbox spells out, as in `jennifer.zhiqiang.lin385@…` or `wei_zhang@…`:
    /// two to four alphabetic words of two letters or more once digits and a `+tag` are
    /// dropped. Nil for mailboxes such as `sales@`, `coolcat88@` or `j.smith@`.
    public static func nameHint(_ text: String) -> PersonName? {
        let bytes = text.utf8
        guard let at = bytes.lastIndex(of: UInt8(ascii: "@")) else { return nil }
        let local = bytes[..<at].prefix { $0 != UInt8(ascii: "+") }
        let words = local.split(whereSeparator: {
            $0 == UInt8(ascii: ".") || $0 == UInt8(ascii: "_") || $0 == UInt8(ascii: "-")
        })
        .map { $0.filter { !(UInt8(ascii: "0")...UInt8(ascii: "9")).contains($0) } }
        func letter(_ byte: UInt8) -> Bool { (0x41...0x5A).contains(byte) || (0x61...0x7A).contains(byte) }
        guard (2...4).contains(words.count), words.allSatisfy({ $0.count >= 2 && $0.allSatisfy(letter) }) else {
            return nil
        }
        return PersonName(words: words.map { String(decoding: $0.map { $0 | 0x20 }, as: UTF8.self) })
    }
}
