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
        return text.trimmed { $0.properties.isWhitespace }
    }
}

extension Unicode.Scalar {
    /// A letter, mark or digit (what `CharacterSet.alphanumerics` holds), without Foundation.
    var isAlphanumeric: Bool {
        switch properties.generalCategory {
        case .uppercaseLetter, .lowercaseLetter, .titlecaseLetter, .modifierLetter, .otherLetter, .decimalNumber,
            .letterNumber, .otherNumber, .nonspacingMark, .spacingMark, .enclosingMark:
            return true
        default: return false
        }
    }

    /// Punctuation of any kind (what `CharacterSet.punctuationCharacters` holds).
    var isPunctuation: Bool {
        switch properties.generalCategory {
        case .connectorPunctuation, .dashPunctuation, .openPunctuation, .closePunctuation, .initialPunctuation,
            .finalPunctuation, .otherPunctuation:
            return true
        default: return false
        }
    }
}
