/// Realistic CRM/IM contact data with known truth, for tests and benchmarks of identity
/// resolution: Chinese and English names (Hanzi or Pinyin, either order, typos), phones
/// in the formats people type, e-mail variants (case, Gmail dots and +tags), company
/// names with and without legal forms, cities and branches, missing fields, and
/// look-alikes (same surname and company, another person). Names and companies are drawn
/// from pools as varied as real ones (a hundred family names, most people under a few of
/// them; given names of one or two characters), so namesakes are as common as in life.
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

    /// Family names, most common first (drawn with falling weights, as in real data: a few
    /// are very common). 许 and 徐 are both "Xu".
    static let surnames: [(String, String)] = pairs(
        ChineseName.commonFamilyNamesInOrder,
        "li wang zhang liu chen yang huang zhao wu zhou xu sun ma zhu hu guo he gao lin luo liang song zheng xie han "
            + "tang feng yu dong xiao cheng cao yuan deng xu fu shen peng su lu jiang cai jia ding wei xue ye yu pan du "
            + "dai xia zhong wang tian ren jiang fan fang shi yao tan liao zou xiong jin hao kong bai cui kang mao qiu "
            + "qin jiang shi gu hou shao meng long duan lei qian tang yin yi chang wu qiao he lai gong")
    /// Characters of given names: a given name is one of them, or (mostly) two.
    static let givenCharacters: [(String, String)] = pairs(
        "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华文建志晓海燕子雨浩思博涵轩然远东梓欣宇佳琪晨阳鑫宁凯",
        "wei fang na min jing li qiang lei jun yang yong yan jie juan tao ming chao xiu xia ping gang gui ying hua "
            + "wen jian zhi xiao hai yan zi yu hao si bo han xuan ran yuan dong zi xin yu jia qi chen yang xin ning kai"
    )
    static let english = [
        "James", "Mary", "Robert", "Patricia", "John", "Jennifer", "Michael", "Linda", "David", "Elizabeth", "William",
        "Susan", "Richard", "Jessica", "Joseph", "Sarah", "Thomas", "Karen", "Daniel", "Nancy", "Kevin", "Grace",
        "Eric", "Amy", "Jason", "Cindy", "Frank", "Helen", "Tony", "Lily", "Jack", "Vivian", "Leo", "Emma", "Ryan",
        "Cathy", "Alex", "Iris", "Peter", "Sophia",
    ]
    /// Companies: Chinese brands of two characters with a trade (科技, 物流…) and English brands
    /// with a kind (Software, Logistics…), interleaved, so the first N are a mix; a data set
    /// draws from as many as a CRM of its size would know (`companyCount`).
    static let companies: [String] = {
        let characters = Array("星河远景蓝海华信瑞丰金桥天宇博通新元东方盛世中科鼎万向嘉禾广源众联泰和")
        let trades = ["科技", "数据", "能源", "物流", "软件", "贸易", "咨询", "电子", "教育", "医疗"]
        let first = [
            "Acme", "Globex", "Initech", "Umbrella", "Stark", "Wayne", "Hooli", "Vandelay", "Soylent", "Cyberdyne",
            "Aperture", "Tyrell", "Wonka", "Oscorp", "Gringotts", "Monarch", "Virtucon", "Massive", "Nakatomi",
            "Prestige", "Nova", "Blue", "Silver", "North", "Bright", "Apex", "Crown", "Delta", "Echo", "Summit",
        ]
        let second = ["", "tek", "ware", "line", "point", "stone", "field", "gate", "wave", "bridge"]
        let kinds = [
            "Software", "Logistics", "Energy", "Trading", "Consulting", "Electronics", "Health", "Media", "Foods",
            "Labs",
        ]
        var chinese: [String] = []
        for b in characters.indices {
            for a in characters.indices where a != b {
                for trade in trades { chinese.append("\(characters[a])\(characters[b])\(trade)") }
            }
        }
        var english: [String] = []
        for suffix in second {
            for name in first { for kind in kinds { english.append("\(name)\(suffix) \(kind)") } }
        }
        return zip(chinese, english).flatMap { [$0, $1] }
    }()
    /// How many companies a data set of `people` draws from: a few colleagues each.
    static func companyCount(people: Int) -> Int { min(companies.count, max(400, people / 25)) }

    static func pairs(_ hanzi: String, _ pinyin: String) -> [(String, String)] {
        Array(zip(hanzi.map(String.init), pinyin.split(separator: " ").map(String.init)))
    }

    static let legal = ["有限公司", "股份有限公司", "有限责任公司", "集团", ""]
    static let legalEnglish = [" Co., Ltd.", " Inc.", " LLC", " Ltd", " Corp", ""]
    static let cities = ["北京", "上海", "深圳", "杭州", ""]

    /// - Parameters:
    ///   - count: people on the left; about 80 % of them appear on the right too.
    ///   - others: people only on the right (a tenth of them look-alikes of left people);
    ///     as many as 80 % of `count` by default.
    public init(count: Int, others: Int? = nil, using random: inout some RandomNumberGenerator) {
        var people: [Person] = []
        var used = Set<String>()
        let companyCount = Self.companyCount(people: count)
        // Falling weights: the i-th most common family name weighs 1/(i+2).
        let surnameWeights = Self.surnames.indices.map { 1 / Double($0 + 2) }
        let surnameTotal = surnameWeights.reduce(0, +)
        func surname() -> (String, String) {
            var draw = Double.random(in: 0..<surnameTotal, using: &random)
            for (index, weight) in surnameWeights.enumerated() {
                draw -= weight
                if draw < 0 { return Self.surnames[index] }
            }
            return Self.surnames[0]
        }
        func given() -> (String, String) {
            let a = Self.givenCharacters.randomElement(using: &random)!
            guard Int.random(in: 0..<10, using: &random) >= 3 else { return a }
            let b = Self.givenCharacters.randomElement(using: &random)!
            return (a.0 + b.0, a.1 + b.1)
        }
        func newPerson() -> Person {
            while true {
                let surname = surname()
                let given = given()
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
                    company: Int.random(in: 0..<companyCount, using: &random),
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
        for _ in 0..<(others ?? count * 8 / 10) {
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
