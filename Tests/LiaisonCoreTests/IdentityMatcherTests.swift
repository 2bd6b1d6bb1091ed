import LiaisonCore
import Testing

@Suite("Identity matching")
struct IdentityMatcherTests {
    let matcher = IdentityMatcher()

    func record(_ id: String, _ name: String?, _ company: String? = nil, phone: String? = nil, email: String? = nil)
        -> IdentityRecord
    {
        IdentityRecord(id: id, name: name, company: company, phone: phone, email: email)
    }

    @Test(
        "the same person written differently links",
        arguments: [
            (
                "李娜", "北京字节跳动科技有限公司", "+86 138-0013-8000", "li.na@example.com",
                "Li Na", "字节跳动科技有限公司（总部）", "13800138000", "LI.NA@example.com"
            ),
            ("Zhang Wei", nil, nil, "zhangwei+crm@gmail.com", "Wei Zhang", nil, nil, "zhang.wei@gmail.com"),
            ("Wang Fang", nil, "(+86)139 0000 1111", nil, "王芳", nil, "0086 13900001111", nil),
            ("Chen Jie", "Acme Inc.", nil, nil, "陈杰", "ACME Co., Ltd.", nil, nil),
        ] as [(String, String?, String?, String?, String, String?, String?, String?)])
    func links(a: String, ac: String?, ap: String?, ae: String?, b: String, bc: String?, bp: String?, be: String?) {
        let result = matcher.compare(record("a", a, ac, phone: ap, email: ae), record("b", b, bc, phone: bp, email: be))
        #expect(result.decision == .link, "\(result.score) \(result.evidence)")
    }

    @Test("a shared surname or company alone never links")
    func notAlone() {
        let sameCompany = matcher.compare(record("a", "Li Na", "Acme Inc."), record("b", "Li Wei", "Acme Ltd"))
        #expect(sameCompany.decision == .distinct, "\(sameCompany.score)")
        let companyOnly = matcher.compare(record("a", nil, "Acme Inc."), record("b", nil, "ACME"))
        #expect(companyOnly.decision != .link)
        let sameNameOnly = matcher.compare(record("a", "Li Na"), record("b", "李娜"))
        #expect(sameNameOnly.decision == .review, "a common name with nothing else is for a person to decide")
    }

    @Test(
        "namesakes at one company with their own mobiles or mailboxes, or names that only read alike, are for a person")
    func namesakes() {
        let twoMobiles = matcher.compare(
            record("a", "王伟", "华为技术有限公司", phone: "13800138000"),
            record("b", "王伟", "华为技术有限公司", phone: "13900139000"))
        #expect(twoMobiles.decision == .review, "\(twoMobiles.score) \(twoMobiles.evidence)")
        let twoMailboxes = matcher.compare(
            record("a", "Wang Wei", "Huawei", email: "wang.wei@huawei.com"),
            record("b", "Wang Wei", "Huawei", email: "wangwei2@huawei.com"))
        #expect(twoMailboxes.decision == .review, "\(twoMailboxes.score) \(twoMailboxes.evidence)")
        // 张伟 and 章伟 read "Zhang Wei" alike: the same reading, not the same name.
        let readAlike = matcher.compare(record("a", "张伟", "华为技术有限公司"), record("b", "章伟", "华为技术有限公司"))
        #expect(readAlike.decision == .review, "\(readAlike.score) \(readAlike.evidence)")
        #expect(readAlike.evidence.first { $0.field == "name" }?.level == "similar")
        // Written the same, or once in Pinyin: the same name.
        let same = matcher.compare(record("a", "张伟", "华为技术有限公司"), record("b", "Zhang Wei", "华为"))
        #expect(same.evidence.first { $0.field == "name" }?.level == "exact")
    }

    @Test("overlong names are compared on their first 256 characters")
    func overlongNames() {
        let long = String(repeating: "Wang Wei ", count: 40_000)
        #expect(JaroWinkler.similarity(long + "a", long + "b") == 1)
        #expect(JaroWinkler.similarity("Zhang Wei", "Zhang Wen") < 1)
        let pair = matcher.compare(
            record("a", long, phone: "13800138000"), record("b", long + " Jr", phone: "13800138000"))
        #expect(pair.decision == .link)
    }

    func registry(
        _ id: String, _ name: String?, born: String? = nil, nationalID: String? = nil, address: String? = nil,
        postcode: String? = nil
    ) -> IdentityRecord {
        IdentityRecord(
            id: id, name: name, company: nil, phone: nil, email: nil,
            extra: ExtraFields(birthDate: born, nationalID: nationalID, postcode: postcode, address: address))
    }

    @Test("registry fields: a national id links alone, a birth date or an address never does")
    func registryFields() {
        let a = registry(
            "a", "mitchell green", born: "19560409", nationalID: "1804974", address: "7 wallaby place", postcode: "2119"
        )
        // A typo in the name and the id (digits swapped): still the same person.
        let typo = registry(
            "b", "mitchel green", born: "1956-04-09", nationalID: "1809474", address: "7 wallaby pl", postcode: "2119")
        let result = matcher.compare(a, typo)
        #expect(result.decision == .link, "\(result.evidence)")
        #expect(result.evidence.first { $0.field == "national_id" }?.level == "similar")
        #expect(result.evidence.first { $0.field == "birth_date" }?.level == "exact")
        #expect(
            matcher.compare(registry("x", nil, nationalID: "1804974"), registry("y", "someone", nationalID: "1804974"))
                .decision == .link)
        // Same birth date, same street: a household, not a person.
        let household = matcher.compare(
            a, registry("c", "sarah jones", born: "19560409", address: "7 wallaby place", postcode: "2119"))
        #expect(household.decision != .link, "\(household.score)")
        // Twins: alike names, one birthday, one home, no identifier.
        let twins = matcher.compare(
            registry("t1", "zhang wei", born: "20010203", address: "12 river road", postcode: "2000"),
            registry("t2", "zhang wen", born: "20010203", address: "12 river road", postcode: "2000"))
        #expect(twins.evidence.first { $0.field == "name" }?.level == "similar")
        #expect(twins.decision == .review, "\(twins.score)")
        #expect(
            matcher.compare(registry("d", nil, born: "19560409"), registry("e", nil, born: "19560409")).decision
                != .link)
        // CRM records without such fields explain only their own fields.
        #expect(matcher.compare(record("a", "Li Na"), record("b", "Li Na")).evidence.count == 4)
    }

    @Test("one typo: a changed character or two neighbours swapped, nothing more")
    func oneTypo() {
        let ids = ["1804974", "1804975", "1809474", "1840974"]
        let a = registry("a", nil, nationalID: ids[0])
        #expect(
            matcher.compare(a, registry("b", nil, nationalID: ids[1])).evidence.last { $0.field == "national_id" }?
                .level == "similar")
        #expect(
            matcher.compare(a, registry("c", nil, nationalID: ids[2])).evidence.last { $0.field == "national_id" }?
                .level == "similar")
        #expect(
            matcher.compare(a, registry("d", nil, nationalID: "9999999")).evidence.last { $0.field == "national_id" }?
                .level == "different")
        #expect(ExtraFields(birthDate: "not a date").birthDate == nil)
        #expect(ExtraFields(nationalID: " ab-12 3 ").nationalID == "AB123")
    }

    @Test("one switchboard with other extensions is not one person")
    func extensions() {
        let a = record("a", "Li Na", phone: "+86 10 6552 9988 ext. 101")
        let b = record("b", "Wang Fang", phone: "+86 10 6552 9988 ext. 102")
        let result = matcher.compare(a, b)
        #expect(result.evidence.first { $0.field == "phone" }?.level == "switchboard")
        #expect(result.decision == .distinct, "\(result.score)")
        let same = matcher.compare(a, record("c", "李娜", phone: "010 6552 9988 转 101"))
        #expect(same.evidence.first { $0.field == "phone" }?.level == "exact", "\(same.evidence)")
        #expect(same.decision == .link)
        #expect(PhoneNumber("010-6552 9988 分机 101")?.extensionNumber == "101")
    }

    @Test("the explanation adds up to the score, field by field")
    func explanation() {
        let result = matcher.compare(
            record("a", "Li Na", "Acme", email: "li.na@example.com"),
            record("b", "Li Na", "Other", email: "li.na@example.com"))
        #expect(result.evidence.map(\.field) == ["email", "phone", "name", "company"])
        #expect(result.evidence.map(\.level) == ["exact", "missing", "exact", "different"])
        #expect(abs(result.evidence.reduce(0) { $0 + $1.weight } - result.score) < 1e-9)
    }

    @Test("linking blocks on keys, gives at most one link per left record, and sends the rest to review")
    func link() {
        let left = [record("L1", "Li Na", email: "li.na@example.com"), record("L2", "Nobody Here")]
        let right = [
            record("R1", "李娜", email: "LI.NA@example.com"), record("R2", "Li Na", email: "li.na@example.com"),
            record("R3", "Someone Else", phone: "+8613800138000"),
        ]
        let results = matcher.link(left, right)
        #expect(results.filter { $0.decision == .link }.map(\.left) == ["L1"])
        #expect(results.filter { $0.left == "L1" }.count == 2)
        #expect(results.allSatisfy { $0.left != "L2" })
    }
}

extension IdentityMatcherTests {
    @Test("dedupe clusters the same person through chains of links, and only them")
    func dedupe() {
        let records = [
            record("3", "Li Na", email: "li.na@example.com"),
            record("1", "李娜", phone: "+8613800138000", email: "LI.NA@example.com"),
            record("2", "Na Li", phone: "138 0013 8000"),
            record("4", "Li Na", "Acme"),
            record("5", "Wang Fang", email: "wang.fang@example.com"),
        ]
        let clusters = Dictionary(uniqueKeysWithValues: matcher.dedupe(records).map { ($0.id, $0.cluster) })
        #expect(clusters == ["1": "1", "2": "1", "3": "1", "4": "4", "5": "5"])
    }

    @Test("a placeholder e-mail on more records than any person has (noemail@…) joins none of them")
    func placeholders() {
        let shared = (0...BlockIndex.commonLimit).map { n in
            record("p\(n)", "Person \(n) Surname\(n % 97)", email: "noemail@company.com")
        }
        let records = shared + [record("a", "Li Na", email: "li.na@example.com"), record("b", "Li Na", email: "LI.NA@example.com")]
        let clusters = Dictionary(uniqueKeysWithValues: matcher.dedupe(records).map { ($0.id, $0.cluster) })
        #expect(Set(shared.map { clusters[$0.id] }).count == shared.count, "each its own")
        #expect(clusters["b"] == "a", "a real shared e-mail still links")
        // Online, as the hub's resolver meets them one by one.
        var index = IdentityIndex()
        for person in shared { index.insert(person) }
        let newcomer = record("q", "Person 5 Surname5", email: "noemail@company.com")
        #expect(!index.matches(for: newcomer, using: matcher).contains { $0.decision == .link })
        let twin = record("r", "Li Na", email: "li.na@example.com")
        index.insert(record("a", "Li Na", email: "li.na@example.com"))
        #expect(index.matches(for: twin, using: matcher).first?.decision == .link)
        // A stored record's placeholder does not count against a newcomer's real e-mail either.
        index.insert(record("p-zw", "Zhang Wei", "Acme", phone: "+86 139 0013 9000", email: "noemail@company.com"))
        let real = record("zw", "Zhang Wei", "Acme", phone: "+86 139 0013 9000", email: "zhang.wei@acme.example")
        let found = index.matches(for: real, using: matcher).first { $0.right == "p-zw" }
        #expect(found?.decision == .link, "\(String(describing: found))")
        #expect(found?.evidence.first { $0.field == "email" }?.level == "missing")
    }
}

@Suite("CSV")
struct CSVTableTests {
    @Test("a UTF-8 byte-order mark (Excel) is not part of the first header; text after a closing quote is refused")
    func byteOrderMark() throws {
        let table = try CSVTable(bytes: [0xEF, 0xBB, 0xBF] + Array("id,name\n1,Li Na\n".utf8))
        #expect(table.header == ["id", "name"])
        #expect(table.rows.first?.fields == ["1", "Li Na"])
        #expect(throws: CSVError(line: 2, problem: "text after the closing quote of a quoted field")) {
            try CSVTable(bytes: Array("id,name\n\"1\" ,x\n".utf8))
        }
    }

    @Test("quoted fields, doubled quotes, embedded newlines and CRLF")
    func parse() throws {
        let text = "id,name,company\r\n1,\"Li, Na\",\"Acme \"\"Big\"\" Co\"\r\n2,\"two\nlines\",x\n"
        let table = try CSVTable(bytes: Array(text.utf8))
        #expect(table.header == ["id", "name", "company"])
        #expect(table.rows.map(\.fields) == [["1", "Li, Na", "Acme \"Big\" Co"], ["2", "two\nlines", "x"]])
        #expect(table.rows.map(\.line) == [2, 3])
    }

    @Test(
        "malformed input names its line",
        arguments: [
            ("id,name\n1,a\n2,\"open\n3,c\n", 3, "unbalanced quotes"),
            ("id,name\n1,a\n2,b,c\n", 3, "3 fields where the header has 2"),
            ("id,name\n1,a\"b\n", 2, "a quote inside an unquoted field"),
        ])
    func malformed(text: String, line: Int, problem: String) {
        #expect {
            _ = try CSVTable(bytes: Array(text.utf8))
        } throws: { error in
            guard let error = error as? CSVError else { return false }
            return error.line == line && error.problem.hasPrefix(problem)
        }
    }

    @Test("bad UTF-8 names its line; --skip-bad lists rows instead of stopping")
    func recover() throws {
        #expect {
            try CSVTable(bytes: Array("id,name\n1,a\n2,".utf8) + [0xC3, 0x28] + Array("\n".utf8))
        } throws: { error in
            // And what to do about it: Excel's "CSV" in Chinese Windows is GBK.
            guard let error = error as? CSVError else { return false }
            return error.line == 3 && error.problem.hasPrefix("not valid UTF-8") && error.problem.contains("GB18030")
        }
        let table = try CSVTable(bytes: Array("id,name\n1,a\n2,b,c\n3,d\n".utf8), skipBad: true)
        #expect(table.rows.map(\.fields) == [["1", "a"], ["3", "d"]])
        #expect(table.skipped == [CSVError(line: 3, problem: "3 fields where the header has 2")])
    }
}

@Suite("Identity index")
struct IdentityIndexTests {
    let matcher = IdentityMatcher()

    @Test("a record that changes back and forth keeps one block entry per key, and its old keys stop finding it")
    func replacedRecordsLeaveOldBlocks() {
        var index = IdentityIndex()
        let lina = IdentityRecord(id: "crm:1", name: "Li Na", company: nil, phone: "+86 138 0013 8000", email: nil)
        let moved = IdentityRecord(id: "crm:1", name: "Li Na", company: nil, phone: "+86 139 0000 1111", email: nil)
        index.insert(lina)
        let entries = index.blockEntries
        // Others sharing the name arrive between the changes, so a change is never the
        // block's last entry: the case that used to append the record again.
        for round in 0..<40 {
            index.insert(round.isMultiple(of: 2) ? moved : lina)
            index.insert(IdentityRecord(id: "im:\(round)", name: "Li Na", company: nil, phone: nil, email: nil))
        }
        index.insert(moved)
        #expect(index.count == 41)
        #expect(index.blockEntries == entries + 40 * 1, "each newcomer adds its one name key; the changes add nothing")

        let caller = IdentityRecord(id: "im:x", name: nil, company: nil, phone: "13800138000", email: nil)
        #expect(index.matches(for: caller, using: matcher).isEmpty, "the old phone no longer finds crm:1")
        let newCaller = IdentityRecord(id: "im:y", name: nil, company: nil, phone: "13900001111", email: nil)
        #expect(index.matches(for: newCaller, using: matcher).map(\.right) == ["crm:1"])
    }
}
