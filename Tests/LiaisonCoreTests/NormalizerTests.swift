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
