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
        // Its first 256 characters, as a person's name (see `PersonName`).
        let text = JaroWinkler.comparedPart(of: text)
        // Unicode scalars, not Characters: after NFKC the names compare the same, at a
        // fraction of the cost (this runs for every record of a million-row file).
        var name = Self.withoutBrackets(
            Array(text.compatibilityFolded.lowercased().unicodeScalars))
        // A branch: 字节跳动科技有限公司北京分公司 → 字节跳动科技有限公司 (the city goes with it).
        if name.hasSuffix(Self.branch) {
            name.removeLast(Self.branch.count)
            if let city = Self.cities.first(where: { name.hasSuffix($0) }) { name.removeLast(city.count) }
        }
        var changed = true
        while changed {
            changed = false
            name = Self.trimmingSeparators(name)
            // Only the legal forms ending in the name's last character can match.
            guard let last = name.last else { return nil }
            let candidates = Self.suffixesByLast[last] ?? []
            if candidates.contains(name) { return nil }  // a legal form and nothing else
            if let suffix = candidates.first(where: { name.count > $0.count && name.hasSuffix($0) }) {
                name.removeLast(suffix.count)
                changed = true
            }
        }
        if let first = name.first, !first.isASCII,
            let city = Self.cities.first(where: { name.count > $0.count + 1 && name.hasPrefix($0) })
        {
            name.removeFirst(city.count)
            if name.first == "市" { name.removeFirst() }
        }
        var key = String.UnicodeScalarView()
        key.append(contentsOf: name.filter(\.isAlphanumeric))
        guard !key.isEmpty else { return nil }
        self.key = String(key)
    }

    private static let branch = Array("分公司".unicodeScalars)
    /// The legal forms by their last character, longest first within each.
    private static let suffixesByLast = Dictionary(grouping: suffixes, by: { $0.last! })

    private static func trimmingSeparators(_ name: [Unicode.Scalar]) -> [Unicode.Scalar] {
        func separator(_ scalar: Unicode.Scalar) -> Bool { scalar.isWhitespaceFast || scalar.isPunctuation }
        guard let start = name.firstIndex(where: { !separator($0) }) else { return [] }
        let end = name.lastIndex(where: { !separator($0) })!
        return start == 0 && end == name.count - 1 ? name : Array(name[start...end])
    }

    /// Drops what stands in brackets — (总部), (Hong Kong), [HK], 【…】 — brackets included.
    static func withoutBrackets(_ text: [Unicode.Scalar]) -> [Unicode.Scalar] {
        var out: [Unicode.Scalar] = []
        out.reserveCapacity(text.count)
        var depth = 0
        for scalar in text {
            switch scalar {
            case "(", "[", "【":
                depth += 1
            case ")", "]", "】":
                depth = max(depth - 1, 0)
                out.append(" ")
            default:
                if depth == 0 { out.append(scalar) }
            }
        }
        return out
    }

    /// Longest first, so "股份有限公司" goes before "有限公司".
    static let suffixes: [[Unicode.Scalar]] = [
        "股份有限公司", "有限责任公司", "集团有限公司", "有限公司", "集团公司", "集团", "公司",
        "co., ltd.", "co., ltd", "co.,ltd.", "co.,ltd", "co ltd", "co. ltd.", "company limited", "corporation",
        "limited", "ltd.", "ltd", "incorporated", "inc.", "inc", "llc", "l.l.c.", "corp.", "corp", "gmbh", "s.a.",
        "plc",
        "group", "co.", "co",
    ].map { Array($0.unicodeScalars) }.sorted { $0.count > $1.count }

    static let cities: [[Unicode.Scalar]] = [
        "北京", "上海", "天津", "重庆", "深圳", "广州", "杭州", "南京", "苏州", "成都", "武汉", "西安", "厦门", "青岛",
        "大连", "宁波", "长沙", "郑州", "济南", "合肥", "福州", "沈阳", "哈尔滨", "昆明", "香港", "台北",
    ].map { Array($0.unicodeScalars) }.sorted { $0.count > $1.count }
}

extension Array where Element: Equatable {
    func hasPrefix(_ prefix: [Element]) -> Bool { count >= prefix.count && self[..<prefix.count].elementsEqual(prefix) }
    func hasSuffix(_ suffix: [Element]) -> Bool {
        count >= suffix.count && self[(count - suffix.count)...].elementsEqual(suffix)
    }
}
