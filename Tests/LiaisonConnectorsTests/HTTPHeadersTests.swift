import LiaisonConnectors
import Testing

@Suite("HTTP headers")
struct HTTPHeadersTests {
    @Test("names in any case find the last value given; values are kept as sent, but for the spaces around them")
    func lookup() {
        var headers = HTTPHeaders()
        headers.add("Content-Type", "application/json")
        headers.add("X-Liaison-Signature", "sha256=AB")
        headers.add("x-liaison-signature", "sha256=cd")
        headers.add("X-Empty", "")
        headers.add("X-Name", "李娜 Li Na")
        headers.add("X-Padded", " \t sha256=ef \t")
        #expect(headers["content-type"] == "application/json")
        #expect(headers["CONTENT-TYPE"] == "application/json")
        #expect(headers["x-liaison-signature"] == "sha256=cd", "the last of a repeated name")
        #expect(headers["x-empty"] == "")
        #expect(headers["x-name"] == "李娜 Li Na")
        #expect(headers["x-padded"] == "sha256=ef", "RFC 9110 §5.5: not part of the value")
        #expect(headers["x-missing"] == nil)
        #expect(headers["content-typ"] == nil, "a prefix is not the name")
        #expect(
            headers.all.map(\.name) == [
                "content-type", "x-liaison-signature", "x-liaison-signature", "x-empty", "x-name", "x-padded",
            ])
        #expect(headers.withValue(of: "X-Liaison-Signature") { $0.map(Array.init) } == Array("sha256=cd".utf8))
        #expect(headers.withValue(of: "x-missing") { $0 == nil })
    }

    @Test("an empty set, a dictionary literal and a dictionary")
    func building() {
        #expect(HTTPHeaders().isEmpty)
        #expect(HTTPHeaders()["host"] == nil)
        let literal: HTTPHeaders = ["Authorization": "Bearer t"]
        #expect(literal["authorization"] == "Bearer t")
        let converted = HTTPHeaders(["A": "1", "b": "2"])
        #expect(converted["a"] == "1" && converted["B"] == "2")
        #expect(!converted.isEmpty)
    }
}
