import LiaisonCore
import LiaisonServer
import Synchronization
import Testing

@Suite("Router")
struct RouterTests {
    /// Routes a request and returns the answer with what the chosen handler saw.
    func route(_ method: String, _ path: String) -> (response: HTTPResponse, matched: String?, source: String?) {
        let seen = Mutex<(String?, String?)>((nil, nil))
        var router = Router()
        router.refuseUnmatched(under: "/_matrix/") { status, message in
            .json(status, ["errcode": "M_UNRECOGNIZED", "error": message])
        }
        for (routeMethod, pattern) in [
            ("GET", "/healthz"), ("POST", "/hooks/generic/{source}"), ("GET", "/api/v1/customers/{key}"),
            ("PUT", "/_matrix/app/v1/transactions/{txnId}"),
        ] {
            router.on(routeMethod, pattern) { _, parameters, respond in
                seen.withLock { $0 = (pattern, parameters["source"] ?? parameters["key"] ?? parameters["txnId"]) }
                respond(HTTPResponse(status: 200))
            }
        }
        let answer = Mutex<HTTPResponse?>(nil)
        router.handle(HTTPRequest(method: method, path: path)) { response in answer.withLock { $0 = response } }
        let (matched, source) = seen.withLock { $0 }
        return (answer.withLock { $0 }!, matched, source)
    }

    @Test("a path matches its route segment by segment, parameters included")
    func matches() {
        #expect(route("GET", "/healthz").matched == "/healthz")
        let hook = route("POST", "/hooks/generic/acme")
        #expect(hook.matched == "/hooks/generic/{source}")
        #expect(hook.source == "acme")
        #expect(route("PUT", "/_matrix/app/v1/transactions/42").source == "42")
    }

    @Test("repeated and trailing slashes do not count; a parameter is percent-decoded")
    func slashesAndEscapes() {
        #expect(route("POST", "//hooks//generic/acme/").source == "acme")
        #expect(route("GET", "/api/v1/customers/li.na%40example.com").source == "li.na@example.com")
        #expect(route("GET", "/api/v1/customers/%E6%9D%8E").source == "李")
        #expect(route("GET", "/api/v1/customers/%zz").source == "%zz", "an invalid escape is kept as sent")
        #expect(route("GET", "/%68ealthz").matched == nil, "fixed segments are compared as sent, not decoded")
    }

    @Test(
        "a path with a segment more, less or different is not found",
        arguments: ["/healthz/extra", "/hooks/generic", "/hooks/generic/a/b", "/hook/generic/a", "/", "", "/healthy"])
    func notFound(path: String) {
        let answer = route("POST", path)
        #expect(answer.response.status == 404)
        #expect(answer.matched == nil)
    }

    @Test("another method is 405 with Allow; a GET route answers HEAD")
    func methods() {
        let wrong = route("DELETE", "/healthz")
        #expect(wrong.response.status == 405)
        #expect(wrong.response.headers["Allow"] == "GET, HEAD")
        #expect(wrong.matched == nil)
        #expect(route("HEAD", "/healthz").matched == "/healthz")
        #expect(route("GET", "/hooks/generic/acme").response.headers["Allow"] == "POST")
    }

    @Test("under a prefix with its own refusals, unmatched requests are answered in that API's shape")
    func refusals() throws {
        let unknown = route("GET", "/_matrix/app/v1/thirdparty/protocol/irc").response
        #expect(unknown.status == 404)
        let body = try JSONValue.parse(unknown.body)
        #expect(body["errcode"]?.string == "M_UNRECOGNIZED")
        let wrong = route("GET", "/_matrix/app/v1/transactions/7").response
        #expect(wrong.status == 405 && wrong.headers["Allow"] == "PUT")
        #expect(try JSONValue.parse(wrong.body)["errcode"]?.string == "M_UNRECOGNIZED")
        // Elsewhere, the hub's own shape.
        #expect(try JSONValue.parse(route("GET", "/nowhere").response.body)["error"]?["code"]?.string == "not_found")
    }

    @Test("several parameters, one path under several methods, and a method no route has")
    func tableShapes() {
        let seen = Mutex<[String]>([])
        var router = Router()
        router.on("GET", "/api/v1/{kind}/{key}/notes") { _, parameters, respond in
            seen.withLock { $0 = ["get", parameters["kind"] ?? "-", parameters["key"] ?? "-"] }
            respond(HTTPResponse(status: 200))
        }
        router.on("DELETE", "/api/v1/{kind}/{key}/notes") { _, parameters, respond in
            seen.withLock { $0 = ["delete", parameters["kind"] ?? "-", parameters["key"] ?? "-"] }
            respond(HTTPResponse(status: 200))
        }
        func answer(_ method: String, _ path: String) -> HTTPResponse {
            let answer = Mutex<HTTPResponse?>(nil)
            router.handle(HTTPRequest(method: method, path: path)) { response in answer.withLock { $0 = response } }
            return answer.withLock { $0 }!
        }
        #expect(answer("GET", "/api/v1/contacts/42/notes").status == 200)
        #expect(seen.withLock { $0 } == ["get", "contacts", "42"])
        #expect(answer("DELETE", "/api/v1/leads/7/notes").status == 200)
        #expect(seen.withLock { $0 } == ["delete", "leads", "7"])
        let brew = answer("BREW", "/api/v1/contacts/42/notes")
        #expect(brew.status == 405)
        #expect(brew.headers["Allow"] == "GET, HEAD, DELETE")
        #expect(answer("POST", "/api/v1/contacts/42").status == 404, "a segment short")
        #expect(answer("GET", "/api/v1/contacts/42/notes/1").status == 404, "a segment more")
    }
}
