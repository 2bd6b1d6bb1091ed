/// Chinese names as CRMs hold them. A CRM has a first-name and a last-name field, and people
/// do not agree which of them takes the family name: Liaison files 李娜 as first 娜, last 李
/// (the fields' meaning), a salesperson types 王 into the first field because it comes
/// first. Read back, the family name is told by its shape, not by the field it sits in.
public enum ChineseName {
    /// The family name of two Han name parts: 0 or 1. A two-character family name (欧阳)
    /// beside another part; else the one-character part beside a longer one (most family
    /// names are one character, most given names two); else, both one character, the one
    /// that is a common family name. When nothing tells, `otherwise`.
    public static func familyIndex(_ a: String, _ b: String, otherwise: Int) -> Int {
        let (compoundA, compoundB) = (compoundFamilyNames.contains(a), compoundFamilyNames.contains(b))
        if compoundA != compoundB { return compoundA ? 0 : 1 }
        let (countA, countB) = (a.count, b.count)
        if countA == 1, countB > 1 { return 0 }
        if countB == 1, countA > 1 { return 1 }
        if countA == 1, countB == 1 {
            let (commonA, commonB) = (commonFamilyNames.contains(a), commonFamilyNames.contains(b))
            if commonA != commonB { return commonA ? 0 : 1 }
        }
        return otherwise
    }

    /// A name from a CRM's first and last fields as it is written: family name first, no
    /// space (娜 + 李 → 李娜, 王 + 小明 → 王小明); nil unless both parts are Han characters.
    public static func written(first: String, last: String) -> String? {
        guard isHan(first), isHan(last) else { return nil }
        return familyIndex(first, last, otherwise: 1) == 0 ? first + last : last + first
    }

    /// Family and given name of a Han name: its leading two-character family name (欧阳娜娜),
    /// else its first character; in words ("李 秀英", "秀英 李"), the word that is the family
    /// name by its shape, else the first. Nil unless the name is Han characters (and spaces)
    /// of two characters at least.
    public static func split(_ name: String) -> (family: String, given: String)? {
        let words = name.split(whereSeparator: { $0.isWhitespace }).map(String.init)
        guard words.allSatisfy(isHan) else { return nil }
        if words.count == 2 {
            let family = familyIndex(words[0], words[1], otherwise: 0)
            return (words[family], words[1 - family])
        }
        let compact = words.joined()
        guard compact.count >= 2 else { return nil }
        if compact.count >= 3, compoundFamilyNames.contains(String(compact.prefix(2))) {
            return (String(compact.prefix(2)), String(compact.dropFirst(2)))
        }
        return (String(compact.prefix(1)), String(compact.dropFirst()))
    }

    /// Whether `text` is Han characters only (at least one).
    public static func isHan(_ text: String) -> Bool {
        !text.isEmpty && text.unicodeScalars.allSatisfy { $0.properties.isIdeographic }
    }

    /// The hundred most common family names, most common first (许 and 徐 are both "Xu").
    static let commonFamilyNamesInOrder =
        "李王张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗梁宋郑谢韩唐冯于董萧程曹袁邓许傅沈彭苏卢蒋蔡贾丁魏薛叶余潘杜戴夏钟汪田任姜范方石姚谭廖邹熊金郝孔白崔康毛邱秦江史顾侯邵孟龙段雷钱汤尹易常武乔贺赖龚"
    static let commonFamilyNames = Set(commonFamilyNamesInOrder.map(String.init))
    /// Two-character family names still in use.
    static let compoundFamilyNames: Set<String> = [
        "欧阳", "司马", "诸葛", "上官", "东方", "皇甫", "尉迟", "公孙", "慕容", "令狐", "夏侯", "司徒", "端木", "宇文",
        "长孙", "轩辕", "西门", "独孤", "南宫", "百里",
    ]
}
