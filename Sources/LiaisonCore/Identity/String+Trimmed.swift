extension StringProtocol {
    /// The text without leading and trailing scalars matching `drop`. Pure Swift: Foundation's
    /// `trimmingCharacters(in:)` bridges through NSString, which dominated normalising names.
    func trimmed(where drop: (Unicode.Scalar) -> Bool) -> String {
        let scalars = unicodeScalars
        guard let start = scalars.firstIndex(where: { !drop($0) }) else { return "" }
        let end = scalars.lastIndex(where: { !drop($0) })!
        var out = String.UnicodeScalarView()
        out.append(contentsOf: scalars[start...end])
        return String(out)
    }

    /// Without leading and trailing white space.
    public var trimmedWhitespace: String { trimmed { $0.properties.isWhitespace } }
}
