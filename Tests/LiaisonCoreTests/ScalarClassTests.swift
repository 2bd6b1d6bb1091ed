import Testing

@testable import LiaisonCore

@Suite("Scalar classes: the ASCII fast paths agree with Unicode's tables")
struct ScalarClassTests {
    static let punctuation: Set<Unicode.GeneralCategory> = [
        .connectorPunctuation, .dashPunctuation, .openPunctuation, .closePunctuation, .initialPunctuation,
        .finalPunctuation, .otherPunctuation,
    ]
    static let alphanumeric: Set<Unicode.GeneralCategory> = [
        .uppercaseLetter, .lowercaseLetter, .titlecaseLetter, .modifierLetter, .otherLetter, .decimalNumber,
        .letterNumber, .otherNumber, .nonspacingMark, .spacingMark, .enclosingMark,
    ]

    @Test("every ASCII scalar, and a few beyond")
    func agree() {
        let beyond: [UInt32] = [0xA0, 0x3000, 0xFF08, 0x4E00, 0x00E9, 0x2014, 0x300C]
        for value in Array(0..<0x80) + beyond {
            let scalar = Unicode.Scalar(value)!
            let category = scalar.properties.generalCategory
            #expect(scalar.isAlphanumeric == Self.alphanumeric.contains(category), "U+\(String(value, radix: 16))")
            #expect(scalar.isPunctuation == Self.punctuation.contains(category), "U+\(String(value, radix: 16))")
            #expect(scalar.isWhitespaceFast == scalar.properties.isWhitespace, "U+\(String(value, radix: 16))")
        }
    }
}
