import Foundation

/// A company name reduced to what identifies the company: full-width folded, case
/// folded, and without legal-form suffixes (有限公司, Co., Ltd., Inc.…), branch markers
/// (（总部）, 北京分公司), a leading city, brackets and punctuation.
///
///     CompanyName("北京字节跳动科技有限公司（总部）").key  // "字节跳动科技"
///     CompanyName("ByteDance Co., Ltd.").key             // "bytedance"
public struct CompanyName: Sendable, Hashable {
    public let key: String

    /// Nil when nothing identifying is left (an empty name, or only a legal form).
    public init?(_ text: String) {
        var name = Self.withoutBrackets(text.precomposedStringWithCompatibilityMapping.lowercased())
        // A branch: 字节跳动科技有限公司北京分公司 → 字节跳动科技有限公司 (the city goes with it).
        if name.hasSuffix("分公司") {
            name = String(name.dropLast(3))
            for city in Self.cities where name.hasSuffix(city) {
                name = String(name.dropLast(city.count))
                break
            }
        }
        var changed = true
        while changed {
            changed = false
            let trimmed = name.trimmed { Self.separators.contains($0) }
            if Self.suffixes.contains(trimmed) { return nil }  // a legal form and nothing else
            for suffix in Self.suffixes where trimmed.hasSuffix(suffix) && trimmed.count > suffix.count {
                name = String(trimmed.dropLast(suffix.count))
                changed = true
                break
            }
        }
        for city in Self.cities where name.hasPrefix(city) && name.count > city.count + 1 {
            name = String(name.dropFirst(city.count))
            if name.hasPrefix("市") { name.removeFirst() }
            break
        }
        let key = String(name.unicodeScalars.filter { CharacterSet.alphanumerics.contains($0) }.map(Character.init))
        guard !key.isEmpty else { return nil }
        self.key = key
    }

    private static let separators = CharacterSet.whitespacesAndNewlines.union(.punctuationCharacters)

    /// Drops what stands in brackets — (总部), (Hong Kong), [HK], 【…】 — brackets included.
    static func withoutBrackets(_ text: String) -> String {
        var out = ""
        var depth = 0
        for character in text {
            switch character {
            case "(", "[", "【":
                depth += 1
            case ")", "]", "】":
                depth = max(depth - 1, 0)
                out.append(" ")
            default:
                if depth == 0 { out.append(character) }
            }
        }
        return out
    }

    /// Longest first, so "股份有限公司" goes before "有限公司".
    static let suffixes: [String] = [
        "股份有限公司", "有限责任公司", "集团有限公司", "有限公司", "集团公司", "集团", "公司",
        "co., ltd.", "co., ltd", "co.,ltd.", "co.,ltd", "co ltd", "co. ltd.", "company limited", "corporation",
        "limited", "ltd.", "ltd", "incorporated", "inc.", "inc", "llc", "l.l.c.", "corp.", "corp", "gmbh", "s.a.",
        "plc",
        "group", "co.", "co",
    ].sorted { $0.count > $1.count }

    static let cities: [String] = [
        "北京", "上海", "天津", "重庆", "深圳", "广州", "杭州", "南京", "苏州", "成都", "武汉", "西安", "厦门", "青岛",
        "大连", "宁波", "长沙", "郑州", "济南", "合肥", "福州", "沈阳", "哈尔滨", "昆明", "香港", "台北",
    ].sorted { $0.count > $1.count }
}
