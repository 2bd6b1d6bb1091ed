import Foundation
import Synchronization

/// A person's name for comparison: Hanzi read as Pinyin (ICU's Han-Latin transform),
/// accents and case dropped, and the words sorted, so "李娜", "Li Na", "Na Li" and
/// "LI, Na" are one key.
public struct PersonName: Sendable, Hashable {
    public let key: String
    public let tokens: [String]
    /// The name's Han characters as written, in order (sorted, like the tokens, when the
    /// name was given in two parts), or nil for a name without any. Pinyin drops the tones
    /// and the characters: 张伟 and 章伟 are both "wei zhang", 王力 and 李旺 both "li wang".
    /// Two names written in Han characters are the same only if these are.
    public let han: String?

    public init?(_ given: String) {
        // No name is longer; a "name" of hundreds of kilobytes in a signed webhook must not
        // cost the pipeline minutes of comparisons.
        let text = JaroWinkler.comparedPart(of: given)
        let latin: String
        if text.utf8.allSatisfy({ $0 < 0x80 }) {
            latin = text  // most names in CRMs: no transform needed (ICU costs ~100 µs a name)
        } else if text.unicodeScalars.contains(where: { $0.properties.isIdeographic }) {
            latin = Self.pinyin(text)
        } else {
            latin = text.folding(options: [.diacriticInsensitive, .widthInsensitive, .caseInsensitive], locale: nil)
        }
        let words: [String]
        if latin.utf8.allSatisfy({ $0 < 0x80 }) {
            // ASCII: lower-case and split the bytes at once.
            var current: [UInt8] = []
            var found: [String] = []
            for byte in latin.utf8 {
                switch byte {
                case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "0")...UInt8(ascii: "9"): current.append(byte)
                case UInt8(ascii: "A")...UInt8(ascii: "Z"): current.append(byte + 32)
                default:
                    if !current.isEmpty { found.append(String(decoding: current, as: UTF8.self)) }
                    current.removeAll(keepingCapacity: true)
                }
            }
            if !current.isEmpty { found.append(String(decoding: current, as: UTF8.self)) }
            words = found
        } else {
            words = latin.lowercased().unicodeScalars.split(whereSeparator: { !$0.isAlphanumeric }).map {
                String(String.UnicodeScalarView($0))
            }
        }
        self.init(words: words, han: Self.hanCharacters(text))
    }

    /// A name from its words, already lower-case letters and digits.
    init?(words: [String], han: String? = nil) {
        guard !words.isEmpty else { return nil }
        tokens = words.sorted()
        key = tokens.joined(separator: " ")
        self.han = han
    }

    /// The Han characters of `text`, each part's in order and the parts sorted ("秀英 李" and
    /// "李 秀英" alike); nil when there are none.
    static func hanCharacters(_ text: String) -> String? {
        guard text.unicodeScalars.contains(where: { $0.properties.isIdeographic }) else { return nil }
        let parts = text.compatibilityFolded.split(whereSeparator: { $0.isWhitespace }).map { part in
            String(String.UnicodeScalarView(part.unicodeScalars.filter { $0.properties.isIdeographic }))
        }
        return parts.filter { !$0.isEmpty }.sorted().joined(separator: " ")
    }

    /// The same name: the same words, and, written in Han characters on both sides, the
    /// same characters.
    public func sameName(as other: PersonName) -> Bool {
        guard key == other.key else { return false }
        guard let han, let otherHan = other.han else { return true }
        return han == otherHan
    }

    /// A Han name in Pinyin as people write it: the family name, then the given name's
    /// syllables run together — 李秀英 → "li xiuying", as "Li Xiuying"; 欧阳娜娜 → "ouyang
    /// nana". A name in two words keeps them, whichever comes first ("秀英 李", a CRM's first
    /// and last fields read back).
    static func pinyin(_ text: String) -> String {
        let folded = text.compatibilityFolded
        guard let (family, given) = ChineseName.split(folded) else {
            // Mixed text: each Han character becomes its own word.
            return folded.unicodeScalars.filter { !$0.isWhitespaceFast }
                .map { $0.properties.isIdeographic ? " \(syllable($0)) " : String($0) }.joined()
                .folding(options: [.diacriticInsensitive, .widthInsensitive], locale: nil)
        }
        let familyScalars = Array(family.unicodeScalars)
        let reading =
            familyScalars.count == 1
            ? surnameReadings[familyScalars[0]] ?? syllable(familyScalars[0]) : familyScalars.map(syllable).joined()
        return reading + " " + given.unicodeScalars.map(syllable).joined()
    }

    /// One Han character in toneless Pinyin. ICU's Han-Latin transform costs tens of
    /// microseconds a call; names repeat a few thousand characters, so each is read once.
    static func syllable(_ scalar: Unicode.Scalar) -> String {
        if let known = syllables.withLock({ $0[scalar] }) { return known }
        let latin = String(scalar).applyingTransform(StringTransform("Han-Latin; Latin-ASCII"), reverse: false)
        let syllable = (latin ?? String(scalar)).filter { !$0.isWhitespace }
        syllables.withLock { $0[scalar] = syllable }
        return syllable
    }

    private static let syllables = Mutex<[Unicode.Scalar: String]>([:])

    /// Family names read differently from the character's common reading (曾 is "Zeng" as
    /// a family name, "ceng" in ICU's Han-Latin).
    static let surnameReadings: [Unicode.Scalar: String] = [
        "曾": "zeng", "单": "shan", "仇": "qiu", "解": "xie", "区": "ou", "朴": "piao", "查": "zha", "乐": "yue",
        "缪": "miao", "覃": "qin", "翟": "zhai", "盖": "ge", "种": "chong", "召": "shao",
    ]

    /// Whether every word of `other` (two words at least) is one of this name's, which has more.
    public func contains(_ other: PersonName) -> Bool {
        other.tokens.count >= 2 && tokens.count > other.tokens.count && other.tokens.allSatisfy(tokens.contains)
    }

    /// Jaro-Winkler similarity of the two keys (0…1), tolerant of small typos.
    public func similarity(to other: PersonName) -> Double {
        JaroWinkler.similarity(key, other.key)
    }
}

/// The Jaro-Winkler string similarity (1 = equal), of the first `compared` scalars of each:
/// no name or street address is longer, and the cost grows with the product of the lengths
/// (a signed webhook may carry a "name" of hundreds of kilobytes).
public enum JaroWinkler {
    public static let compared = 256

    /// The part of `text` that comparisons read: its first `compared` scalars.
    public static func comparedPart(of text: String) -> String {
        text.utf8.count > compared ? String(String.UnicodeScalarView(text.unicodeScalars.prefix(compared))) : text
    }

    public static func similarity(_ a: String, _ b: String) -> Double {
        let s = Array(a.unicodeScalars.prefix(compared))
        let t = Array(b.unicodeScalars.prefix(compared))
        if s.isEmpty && t.isEmpty { return 1 }
        guard !s.isEmpty, !t.isEmpty else { return 0 }
        let window = max(max(s.count, t.count) / 2 - 1, 0)
        var sMatched = [Bool](repeating: false, count: s.count)
        var tMatched = [Bool](repeating: false, count: t.count)
        var matches = 0
        for i in s.indices {
            let low = max(0, i - window)
            let high = min(t.count - 1, i + window)
            guard low <= high else { continue }
            for j in low...high where !tMatched[j] && s[i] == t[j] {
                sMatched[i] = true
                tMatched[j] = true
                matches += 1
                break
            }
        }
        guard matches > 0 else { return 0 }
        var transpositions = 0
        var k = 0
        for i in s.indices where sMatched[i] {
            while !tMatched[k] { k += 1 }
            if s[i] != t[k] { transpositions += 1 }
            k += 1
        }
        let m = Double(matches)
        let jaro = (m / Double(s.count) + m / Double(t.count) + (m - Double(transpositions) / 2) / m) / 3
        var prefix = 0
        while prefix < min(4, s.count, t.count), s[prefix] == t[prefix] { prefix += 1 }
        return jaro + Double(prefix) * 0.1 * (1 - jaro)
    }
}
