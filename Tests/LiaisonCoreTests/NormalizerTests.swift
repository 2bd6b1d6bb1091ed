import LiaisonCore
import Testing

@Suite("Phone numbers (libphonenumber)")
struct PhoneNumberTests {
    @Test(
        "one Chinese mobile number, however it is written",
        arguments: [
            "+86 138-0013-8000", "0086 13800138000", "(+86)138 0013 8000", "138 0013 8000", "+8613800138000",
            " 13800138000 ",
            "＋86 138 0013 8000",
        ])
    func chineseMobile(text: String) throws {
        let number = try #require(PhoneNumber(text))
        #expect(number.e164 == "+8613800138000")
        #expect(number.isValid)
    }

    @Test("landlines keep their extension")
    func landline() throws {
        let number = try #require(PhoneNumber("010-6552 9988 ext. 123"))
        #expect(number.e164 == "+861065529988")
        #expect(number.extensionNumber == "123")
        #expect(number.description == "+861065529988 ext. 123")
    }

    @Test("the default region applies to national numbers only")
    func region() throws {
        #expect(PhoneNumber("(415) 555-0100", region: "US")?.e164 == "+14155550100")
        #expect(PhoneNumber("+1 415 555 0100", region: "CN")?.e164 == "+14155550100")
    }

    @Test(
        "text that is no number is refused; a well-formed but unassignable one is marked",
        arguments: [
            "", "   ", "not a phone", "@alice:localhost",
        ])
    func refused(text: String) {
        #expect(PhoneNumber(text) == nil)
    }

    @Test("an impossible number parses but is not valid")
    func invalid() {
        #expect(PhoneNumber("+86 123")?.isValid == false)
    }
}

@Suite("E-mail addresses")
struct EmailAddressTests {
    @Test(
        "trimmed, lower-cased; Gmail ignores dots and +tags",
        arguments: [
            ("  Li.Na@Example.COM ", "li.na@example.com"),
            ("li.na+crm@gmail.com", "lina@gmail.com"),
            ("L.I.N.A@GoogleMail.com", "lina@gmail.com"),
            ("li.na+crm@example.com", "li.na+crm@example.com"),
            ("张三@例子.公司", "张三@例子.公司"),
        ] as [(String, String?)])
    func normalize(text: String, expected: String?) {
        #expect(EmailAddress(text)?.normalized == expected)
    }

    @Test(
        "obviously invalid addresses are refused",
        arguments: [
            "", "li.na", "@example.com", "li.na@", "li.na@example", "li..na@example.com", ".li@example.com",
            "li@exa mple.com", "li@-example.com", "li@example.c0m", "a@b@c.com",
        ])
    func refused(text: String) {
        #expect(EmailAddress(text) == nil)
    }
}

@Suite("Company names")
struct CompanyNameTests {
    @Test(
        "legal forms, branches, brackets, cities and width are not what identifies a company",
        arguments: [
            ("北京字节跳动科技有限公司", "字节跳动科技"),
            ("字节跳动科技有限公司（总部）", "字节跳动科技"),
            ("字节跳动科技股份有限公司", "字节跳动科技"),
            ("字节跳动科技有限公司北京分公司", "字节跳动科技"),
            ("上海市字节跳动科技有限责任公司", "字节跳动科技"),
            ("阿里巴巴集团", "阿里巴巴"),
            ("字节跳动科技北京分公司", "字节跳动科技"),
            ("ByteDance Co., Ltd.", "bytedance"),
            ("BYTEDANCE LTD", "bytedance"),
            ("Acme, Inc.", "acme"),
            ("Acme Corp", "acme"),
            ("Acme LLC", "acme"),
            ("Ａｃｍｅ　Ｉｎｃ．", "acme"),
            ("Acme (Hong Kong) Limited", "acme"),
        ])
    func normalize(text: String, key: String) {
        #expect(CompanyName(text)?.key == key)
    }

    @Test("a name that is only a legal form identifies nothing")
    func empty() {
        #expect(CompanyName("") == nil)
        #expect(CompanyName("有限公司") == nil)
        #expect(CompanyName("Inc.") == nil)
    }

    @Test("different companies stay different")
    func distinct() {
        #expect(CompanyName("北京百度网讯科技有限公司")?.key != CompanyName("北京字节跳动科技有限公司")?.key)
    }
}

@Suite("Phone numbers: the fast path agrees with libphonenumber")
struct PhoneFastPathTests {
    @Test("every mobile prefix, in every shape people type, in CN and elsewhere", arguments: ["CN", "US", "HK"])
    func agrees(region: String) {
        // The numbers of the generated data sets first: one of them found 179's carrier codes.
        let fixed = [
            "+8617941003533", "17941003533", "179 5700 2582", "(+86)179 5700 2582", "(+86) 138-0013-8000",
            "+44 (0)20 7031 3000", "(010) 1234 5678", "+1 (650) 253-0000", "(+1)650.253.0000", "010-12345678",
            "+86 10 1234 5678 ext. 12", "138 0013 8000#12", "(+86138) 0013 8000", "(+8613800138000",
        ]
        for shape in fixed {
            #expect(
                PhoneNumber(shape, region: region)?.e164 == PhoneNumber(libphonenumber: shape, region: region)?.e164)
        }
        var random = SplitMix64(seed: 7)
        for prefix in 100...199 {
            for _ in 0..<20 {
                let rest = String(Int.random(in: 0..<100_000_000, using: &random))
                let digits = "\(prefix)" + String(repeating: "0", count: 8 - rest.count) + rest
                let d = Array(digits)
                let shapes = [
                    "+86 \(String(d[0..<3]))-\(String(d[3..<7]))-\(String(d[7...]))", "0086 \(digits)", "+86\(digits)",
                    "\(String(d[0..<3])) \(String(d[3..<7])) \(String(d[7...]))", digits, "86\(digits)",
                    "+86 0\(digits)", "+86\(digits.dropLast())", "(+86)\(digits)", "+86.\(digits)",
                ]
                for shape in shapes {
                    let fast = PhoneNumber(shape, region: region)
                    let reference = PhoneNumber(libphonenumber: shape, region: region)
                    #expect(fast?.e164 == reference?.e164, "\(shape) in \(region)")
                    #expect(fast?.extensionNumber == reference?.extensionNumber, "\(shape) in \(region)")
                }
            }
        }
    }
}

@Suite("Person names")
struct PersonNameTests {
    @Test(
        "a CRM's first and last fields make a Chinese name family name first, whichever field holds it",
        arguments: [
            ("娜", "李", "李娜"), ("李", "娜", "李娜"), ("王", "小明", "王小明"), ("小明", "王", "王小明"),
            ("娜娜", "欧阳", "欧阳娜娜"), ("欧阳", "娜", "欧阳娜"),
            // Nothing tells (both common family names, or both longer): the fields' meaning.
            ("王", "李", "李王"), ("秀英", "建华", "建华秀英"),
        ])
    func written(first: String, last: String, name: String) {
        #expect(ChineseName.written(first: first, last: last) == name)
    }

    @Test("names not wholly in Han characters are not reordered")
    func notChinese() {
        #expect(ChineseName.written(first: "Li", last: "Na") == nil)
        #expect(ChineseName.written(first: "娜", last: "Li") == nil)
        #expect(ChineseName.written(first: "", last: "李") == nil)
        #expect(ChineseName.split("Li Na") == nil)
        #expect(ChineseName.split("李") == nil)
    }

    @Test(
        "Hanzi and Pinyin, any order, any case, are one name",
        arguments: [
            "李娜", "Li Na", "Na Li", "LI, Na", "li  na", "Lǐ Nà",
        ])
    func same(text: String) {
        #expect(PersonName(text)?.key == "li na")
    }

    @Test(
        "a Han given name's syllables run together, as people write them in Pinyin",
        arguments: [
            ("李秀英", "Li Xiuying"), ("郭海燕", "Haiyan Guo"), ("王建华", "WANG, Jianhua"),
            // Family names read as family names, not as the character's common reading.
            ("曾志伟", "Zeng Zhiwei"), ("单田芳", "Shan Tianfang"), ("解晓东", "Xie Xiaodong"),
            // Two-character family names; names in words, either way round (a CRM's first
            // and last fields read back), or a character a word.
            ("欧阳娜娜", "Ouyang Nana"), ("娜娜 欧阳", "Nana Ouyang"), ("秀英 李", "Li Xiuying"),
            ("李 秀英", "Xiuying Li"), ("李 秀 英", "Li Xiuying"), ("建华 王", "王建华"),
        ])
    func givenName(hanzi: String, pinyin: String) {
        #expect(PersonName(hanzi)?.key == PersonName(pinyin)?.key)
        #expect(PersonName(hanzi) != nil)
    }

    @Test("one name's words among the other's: an English name beside the Chinese one")
    func contained() throws {
        let full = try #require(PersonName("Daniel Haiyan Liu"))
        #expect(full.contains(try #require(PersonName("刘海燕"))))
        #expect(full.contains(try #require(PersonName("Daniel Liu"))))
        #expect(!full.contains(try #require(PersonName("Liu"))))  // one word says too little
        #expect(!full.contains(try #require(PersonName("Daniel Wang"))))
        #expect(!full.contains(full))
    }

    @Test("a mailbox that spells a name gives it; others do not")
    func mailboxNames() {
        #expect(EmailAddress.nameHint("daniel.haiyan.liu333@gmail.com")?.key == "daniel haiyan liu")
        #expect(EmailAddress.nameHint("wei_zhang+crm@qq.com")?.key == "wei zhang")
        #expect(EmailAddress.nameHint("sales@acme.com") == nil)
        #expect(EmailAddress.nameHint("coolcat88@163.com") == nil)
        #expect(EmailAddress.nameHint("j.smith@acme.com") == nil)
        #expect(EmailAddress.nameHint("not an address") == nil)
    }

    @Test("a typo is close, another person is not")
    func similarity() throws {
        let name = try #require(PersonName("Zhang Wei"))
        #expect(name.similarity(to: try #require(PersonName("Zhang Wie"))) > 0.9)
        #expect(name.similarity(to: try #require(PersonName("张伟"))) == 1)
        #expect(name.similarity(to: try #require(PersonName("Wang Fang"))) < 0.8)
    }

    @Test("Jaro-Winkler matches its published examples")
    func jaroWinkler() {
        // Winkler (1990): MARTHA/MARHTA 0.961, DWAYNE/DUANE 0.84, DIXON/DICKSONX 0.813.
        #expect(abs(JaroWinkler.similarity("MARTHA", "MARHTA") - 0.961) < 0.001)
        #expect(abs(JaroWinkler.similarity("DWAYNE", "DUANE") - 0.84) < 0.001)
        #expect(abs(JaroWinkler.similarity("DIXON", "DICKSONX") - 0.813) < 0.001)
        #expect(JaroWinkler.similarity("", "") == 1)
        #expect(JaroWinkler.similarity("abc", "") == 0)
    }
}
