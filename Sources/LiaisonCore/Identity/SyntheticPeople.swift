/// Realistic CRM/IM contact data with known truth, for tests and benchmarks of identity
/// resolution: Chinese and English names (Hanzi or Pinyin, either order, typos), phones
/// in the formats people type, e-mail variants (case, Gmail dots and +tags), company
/// names with and without legal forms, cities and branches, missing fields, and
/// look-alikes (same surname and company, another person).
public struct SyntheticPeople: Sendable {
    public struct Row: Sendable, Equatable {
        public var id: String
        public var name: String
        public var company: String
        public var phone: String
        public var email: String
    }

    public var left: [Row] = []
    public var right: [Row] = []
    /// `left id → right id` for every true pair.
    public var truth: [String: String] = [:]

    private struct Person {
        var surname: (hanzi: String, pinyin: String)
        var given: (hanzi: String, pinyin: String)
        var english: String?
        var company: Int
        var phone: String
        var mailbox: String
        var domain: String
    }

    static let surnames: [(String, String)] = [
        ("李", "Li"), ("王", "Wang"), ("张", "Zhang"), ("刘", "Liu"), ("陈", "Chen"), ("杨", "Yang"), ("黄", "Huang"),
        ("赵", "Zhao"), ("吴", "Wu"), ("周", "Zhou"), ("徐", "Xu"), ("孙", "Sun"), ("马", "Ma"), ("朱", "Zhu"), ("胡", "Hu"),
        ("郭", "Guo"), ("何", "He"), ("高", "Gao"), ("林", "Lin"), ("罗", "Luo"),
    ]
    static let givens: [(String, String)] = [
        ("娜", "Na"), ("伟", "Wei"), ("芳", "Fang"), ("敏", "Min"), ("静", "Jing"), ("磊", "Lei"), ("军", "Jun"),
        ("洋", "Yang"),
        ("勇", "Yong"), ("艳", "Yan"), ("杰", "Jie"), ("涛", "Tao"), ("明", "Ming"), ("超", "Chao"), ("秀英", "Xiuying"),
        ("桂英", "Guiying"), ("建华", "Jianhua"), ("志强", "Zhiqiang"), ("晓东", "Xiaodong"), ("海燕", "Haiyan"), ("丽华", "Lihua"),
        ("文博", "Wenbo"), ("子涵", "Zihan"), ("雨轩", "Yuxuan"), ("浩然", "Haoran"), ("思远", "Siyuan"),
    ]
    static let english = [
        "James", "Mary", "Robert", "Patricia", "John", "Jennifer", "Michael", "Linda", "David", "Elizabeth", "William",
        "Susan", "Richard", "Jessica", "Joseph", "Sarah", "Thomas", "Karen", "Daniel", "Nancy",
    ]
    /// 400 companies: 20 × 10 Chinese and 20 × 10 English, so colleagues are a few, not hundreds.
    static let companies: [String] = {
        let chinese = [
            "字节", "星河", "远景", "蓝海", "华信", "瑞丰", "金桥", "天宇", "博远", "恒通", "新元", "东方", "盛世", "中科", "鼎盛",
            "万向", "嘉禾", "广源", "众联", "泰和",
        ]
        let trades = ["科技", "数据", "能源", "物流", "软件", "贸易", "咨询", "电子", "教育", "医疗"]
        let names = [
            "Acme", "Globex", "Initech", "Umbrella", "Stark", "Wayne", "Hooli", "Vandelay", "Soylent", "Cyberdyne",
            "Aperture", "Tyrell", "Wonka", "Oscorp", "Gringotts", "Monarch", "Virtucon", "Massive", "Nakatomi",
            "Prestige",
        ]
        let kinds = [
            "Software", "Logistics", "Energy", "Trading", "Consulting", "Electronics", "Health", "Media", "Foods",
            "Labs",
        ]
        return chinese.flatMap { c in trades.map { c + $0 } } + names.flatMap { n in kinds.map { "\(n) \($0)" } }
    }()
    static let legal = ["有限公司", "股份有限公司", "有限责任公司", "集团", ""]
    static let legalEnglish = [" Co., Ltd.", " Inc.", " LLC", " Ltd", " Corp", ""]
    static let cities = ["北京", "上海", "深圳", "杭州", ""]

    /// - Parameters:
    ///   - count: people on the left; about 80 % of them appear on the right too, with as
    ///     many again of others (a tenth of them look-alikes of left people).
    public init(count: Int, using random: inout some RandomNumberGenerator) {
        var people: [Person] = []
        var used = Set<String>()
        func newPerson() -> Person {
            while true {
                let surname = Self.surnames.randomElement(using: &random)!
                let given = Self.givens.randomElement(using: &random)!
                let mobile =
                    "1\(Int.random(in: 3...9, using: &random))\(Int.random(in: 0...9, using: &random))"
                    + String(format8(Int.random(in: 0..<100_000_000, using: &random)))
                let english =
                    Int.random(in: 0..<10, using: &random) < 2 ? Self.english.randomElement(using: &random) : nil
                let mailbox =
                    (english.map { $0.lowercased() + "." } ?? "") + given.1.lowercased() + "." + surname.1.lowercased()
                    + "\(Int.random(in: 1...999, using: &random))"
                guard used.insert(mobile).inserted, used.insert(mailbox).inserted else { continue }
                return Person(
                    surname: surname, given: given, english: english,
                    company: Int.random(in: 0..<Self.companies.count, using: &random),
                    phone: mobile, mailbox: mailbox,
                    domain: ["gmail.com", "qq.com", "163.com", "example.com"].randomElement(using: &random)!)
            }
        }
        func format8(_ n: Int) -> String { let s = String(n); return String(repeating: "0", count: 8 - s.count) + s }

        func row(_ id: String, _ p: Person) -> Row {
            // Name: Hanzi, Pinyin in either order, English first name + surname; sometimes a typo, sometimes missing.
            var name: String
            switch Int.random(in: 0..<10, using: &random) {
            case 0..<4: name = p.surname.hanzi + p.given.hanzi
            case 4..<6: name = "\(p.surname.pinyin) \(p.given.pinyin)"
            case 6..<8: name = "\(p.given.pinyin) \(p.surname.pinyin)"
            default:
                name =
                    p.english.map { "\($0) \(p.surname.pinyin)" }
                    ?? "\(p.surname.pinyin.uppercased()), \(p.given.pinyin)"
            }
            if Int.random(in: 0..<20, using: &random) == 0, name.unicodeScalars.allSatisfy({ $0.isASCII }),
                name.count > 4
            {
                var characters = Array(name)
                let i = Int.random(in: 1..<(characters.count - 1), using: &random)
                characters.swapAt(i, i + 1)
                name = String(characters)
            }
            if Int.random(in: 0..<20, using: &random) == 0 { name = "" }
            // Phone: the formats people type; a fifth missing.
            let d = Array(p.phone)
            let phone: String
            switch Int.random(in: 0..<10, using: &random) {
            case 0: phone = "+86 \(String(d[0..<3]))-\(String(d[3..<7]))-\(String(d[7...]))"
            case 1: phone = "0086 \(p.phone)"
            case 2: phone = "(+86)\(String(d[0..<3])) \(String(d[3..<7])) \(String(d[7...]))"
            case 3: phone = "\(String(d[0..<3])) \(String(d[3..<7])) \(String(d[7...]))"
            case 4, 5: phone = p.phone
            case 6, 7: phone = "+86\(p.phone)"
            default: phone = ""
            }
            // E-mail: case, Gmail dots and +tags; a fifth missing.
            var email: String
            switch Int.random(in: 0..<10, using: &random) {
            case 0: email = "\(p.mailbox)@\(p.domain)".uppercased()
            case 1 where p.domain == "gmail.com": email = p.mailbox.replacingDots() + "+crm@gmail.com"
            case 2, 3: email = "  \(p.mailbox)@\(p.domain) "
            case 4...7: email = "\(p.mailbox)@\(p.domain)"
            default: email = ""
            }
            if email.isEmpty && phone.isEmpty && Int.random(in: 0..<2, using: &random) == 0 {
                email = "\(p.mailbox)@\(p.domain)"
            }
            // Company: legal forms, cities, branches; a tenth missing.
            let base = Self.companies[p.company]
            var company: String
            if base.unicodeScalars.allSatisfy({ $0.isASCII }) {
                company = base + Self.legalEnglish.randomElement(using: &random)!
            } else {
                company = Self.cities.randomElement(using: &random)! + base + Self.legal.randomElement(using: &random)!
                if Int.random(in: 0..<8, using: &random) == 0 { company += "（总部）" }
            }
            if Int.random(in: 0..<10, using: &random) == 0 { company = "" }
            return Row(id: id, name: name, company: company, phone: phone, email: email)
        }

        for index in 0..<count { people.append(newPerson()); left.append(row("L\(index)", people[index])) }
        var rightPeople: [(Person, String?)] = []
        for (index, person) in people.enumerated() where Int.random(in: 0..<10, using: &random) < 8 {
            rightPeople.append((person, "L\(index)"))
        }
        let others = count * 8 / 10
        for _ in 0..<others {
            var other = newPerson()
            if Int.random(in: 0..<10, using: &random) == 0, let twin = people.randomElement(using: &random) {
                // A look-alike: same surname and company, another person.
                other.surname = twin.surname
                other.company = twin.company
            }
            rightPeople.append((other, nil))
        }
        rightPeople.shuffle(using: &random)
        for (index, (person, leftID)) in rightPeople.enumerated() {
            right.append(row("R\(index)", person))
            if let leftID { truth[leftID] = "R\(index)" }
        }
    }

    /// Precision, recall and F1 of `links` (left id → right id) against the truth.
    public func score(_ links: [(left: String, right: String)]) -> (precision: Double, recall: Double, f1: Double) {
        let correct = links.filter { truth[$0.left] == $0.right }.count
        let precision = links.isEmpty ? 1 : Double(correct) / Double(links.count)
        let recall = truth.isEmpty ? 1 : Double(correct) / Double(truth.count)
        let f1 = precision + recall == 0 ? 0 : 2 * precision * recall / (precision + recall)
        return (precision, recall, f1)
    }
}

extension String {
    fileprivate func replacingDots() -> String {
        var out = ""
        for (index, character) in enumerated() {
            out.append(character)
            if character.isLetter, index % 3 == 1 { out.append(".") }
        }
        return out.replacingOccurrencesOfDoubleDots()
    }

    fileprivate func replacingOccurrencesOfDoubleDots() -> String {
        var out = ""
        for character in self where !(character == "." && out.last == ".") { out.append(character) }
        return out.hasSuffix(".") ? String(out.dropLast()) : out
    }
}
