import Foundation

extension StringProtocol {
    /// The text without leading and trailing scalars matching `drop`. Pure Swift: Foundation's
    /// `trimmingCharacters(in:)` bridges through NSString, which dominated normalising names.
    func trimmed(where drop: (Unicode.Scalar) -> Bool) -> String {
        let scalars = unicodeScalars
        guard let start = scalars.firstIndex(where: { !drop($0) }) else { return "" }
        let end = scalars.lastIndex(where: { !drop($0) })!
        if start == scalars.startIndex, scalars.index(after: end) == scalars.endIndex { return String(self) }
        var out = String.UnicodeScalarView()
        out.append(contentsOf: scalars[start...end])
        return String(out)
    }

    /// NFKC (full-width letters folded, compatibility characters replaced), skipping the
    /// Foundation call for text it cannot change: ASCII and common Han characters.
    public var compatibilityFolded: String {
        let plain = unicodeScalars.allSatisfy { $0.value < 0x80 || (0x4E00...0x9FFF).contains($0.value) }
        return plain ? String(self) : String(self).precomposedStringWithCompatibilityMapping
    }

    /// Without leading and trailing white space.
    public var trimmedWhitespace: String {
        // Most fields start and end with a visible ASCII character: nothing to trim.
        let text = String(self)
        if let first = text.utf8.first, let last = text.utf8.last, (0x21...0x7E).contains(first),
            (0x21...0x7E).contains(last)
        {
            return text
        }
        return text.trimmed { $0.isWhitespaceFast }
    }
}

extension Unicode.Scalar {
    /// White space, with ASCII answered without the property tables.
    var isWhitespaceFast: Bool {
        if value < 0x80 { return value == 0x20 || (0x09...0x0D).contains(value) }
        return properties.isWhitespace
    }

    /// A letter, mark or digit (what `CharacterSet.alphanumerics` holds), without Foundation.
    var isAlphanumeric: Bool {
        if value < 0x80 {  // ASCII without the property tables (most of the text matched)
            return (0x30...0x39).contains(value) || (0x41...0x5A).contains(value) || (0x61...0x7A).contains(value)
        }
        switch properties.generalCategory {
        case .uppercaseLetter, .lowercaseLetter, .titlecaseLetter, .modifierLetter, .otherLetter, .decimalNumber,
            .letterNumber, .otherNumber, .nonspacingMark, .spacingMark, .enclosingMark:
            return true
        default: return false
        }
    }

    /// Punctuation of any kind (what `CharacterSet.punctuationCharacters` holds).
    var isPunctuation: Bool {
        if value < 0x80 {
            // ASCII punctuation (P*): !"#%&'()*,-./:;?@[\]_{}; not $+<=>^`|~ (symbols).
            switch value {
            case 0x21...0x23, 0x25...0x2A, 0x2C...0x2F, 0x3A, 0x3B, 0x3F, 0x40, 0x5B...0x5D, 0x5F, 0x7B, 0x7D:
                return true
            default: return false
            }
        }
        switch properties.generalCategory {
        case .connectorPunctuation, .dashPunctuation, .openPunctuation, .closePunctuation, .initialPunctuation,
            .finalPunctuation, .otherPunctuation:
            return true
        default: return false
        }
    }
}
