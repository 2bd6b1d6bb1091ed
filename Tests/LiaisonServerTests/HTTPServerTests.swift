import Foundation
import LiaisonServer
import LiaisonTestSupport
import Synchronization
import Testing

@Suite("HTTP listener")
struct HTTPServerTests {
    @Test("listens on IPv6 as on IPv4, and names the address as a URL writes it")
    func ipv6() async throws {
        let server = HTTPServer(host: "::1", port: 0, threads: 1, maxBodyBytes: 1024) { request, respond in
            respond(.text(200, "\(request.method) \(request.path)"))
        }
        try server.start()
        #expect(server.port != 0)
        #expect(server.address == "[::1]:\(server.port)")
        // Foundation's URLSession refuses IPv6 literals here (NSURLErrorBadURL): ask over a socket.
        let reply = try Self.get("/hello", port: server.port)
        #expect(reply.hasPrefix("HTTP/1.1 200") && reply.hasSuffix("\r\n\r\nGET /hello"), "\(reply)")
        await server.stop()
    }

    @Test(
        "headers up to ~7 KiB are read; beyond the connection's memory they are refused (431), nothing is handled, and the refusal is told"
    )
    func headerSize() async throws {
        let handled = Atomic<Int>(0)
        let refused = Mutex<[Int]>([])
        let server = HTTPServer(
            host: "::1", port: 0, threads: 1, maxBodyBytes: 1024,
            refused: { status in refused.withLock { $0.append(status) } }
        ) { request, respond in
            handled.add(1, ordering: .relaxed)
            respond(.text(200, request.headers["x-padding"].map { "\($0.count)" } ?? "none"))
        }
        try server.start()
        let fits = try Self.get(
            "/", port: server.port, headers: "X-Padding: \(String(repeating: "a", count: 6_000))\r\n")
        #expect(fits.hasPrefix("HTTP/1.1 200") && fits.hasSuffix("\r\n\r\n6000"), "\(fits.prefix(200))")
        let tooBig = try Self.get(
            "/", port: server.port, headers: "X-Padding: \(String(repeating: "a", count: 12_000))\r\n")
        #expect(tooBig.hasPrefix("HTTP/1.1 431"), "\(tooBig.prefix(200))")
        #expect(handled.load(ordering: .relaxed) == 1)
        #expect(refused.withLock { $0 } == [431])
        // A header line without a colon: libmicrohttpd's own 400, told as well.
        let malformed = try Self.send(Array("GET / HTTP/1.0\r\nNo colon here\r\n\r\n".utf8), port: server.port)
        #expect(malformed.hasPrefix("HTTP/1.1 400"), "\(malformed.prefix(200))")
        #expect(refused.withLock { $0 } == [431, 400])
        #expect(handled.load(ordering: .relaxed) == 1)
        // A body announced over the limit by a client waiting for "100 Continue": refused at
        // once, never asked for.
        let waiting = try Self.send(
            Array("POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 10000000\r\nExpect: 100-continue\r\n\r\n".utf8),
            port: server.port)
        #expect(waiting.hasPrefix("HTTP/1.1 413"), "\(waiting.prefix(200))")
        #expect(!waiting.contains("100 Continue") && waiting.contains(#""code":"too_large""#), "\(waiting.prefix(300))")
        #expect(refused.withLock { $0 } == [431, 400, 413])
        #expect(handled.load(ordering: .relaxed) == 1)
        await server.stop()
    }

    @Test(
        "one connection carries many requests, each answered once with its own answer, even late and from another thread"
    )
    func keepAlive() async throws {
        let responders = Mutex<[String: HTTPResponder]>([:])
        let server = HTTPServer(host: "::1", port: 0, threads: 1, maxBodyBytes: 1024) { request, respond in
            switch request.path {
            case "/now": respond(.json(200, ["path": request.path]))
            case "/allow":
                respond(HTTPResponse(status: 405, contentType: "text/plain", headers: ["Allow": "POST"], body: []))
            default: responders.withLock { $0[request.path] = respond }
            }
        }
        try server.start()
        let connection = try KeepAliveConnection(port: server.port)

        let now = try connection.get("/now")
        #expect(now.status == 200 && now.body == #"{"path":"/now"}"#)
        #expect(now.headers["content-type"] == "application/json")
        let allow = try connection.get("/allow")
        #expect(
            allow.status == 405 && allow.headers["allow"] == "POST" && allow.headers["content-type"] == "text/plain")

        // Answered later, from another thread, while the connection is parked.
        try connection.send("/one")
        let first = try await Self.responder("/one", in: responders)
        DispatchQueue.global().asyncAfter(deadline: .now() + 0.05) { first(.text(200, "one")) }
        #expect(try connection.receive().body == "one")

        // A second answer to a request already answered does not answer the next one.
        try connection.send("/two")
        let second = try await Self.responder("/two", in: responders)
        first(.text(200, "stale"))
        second(.text(200, "two"))
        #expect(try connection.receive().body == "two")
        #expect(try connection.get("/now").status == 200)
        await server.stop()
    }

    @Test(
        "shutdown waits for the answers owed within its grace, then answers 503 to the rest; a later answer is dropped")
    func shutdown() async throws {
        let responders = Mutex<[String: HTTPResponder]>([:])
        let server = HTTPServer(host: "::1", port: 0, threads: 2, maxBodyBytes: 1024) { request, respond in
            responders.withLock { $0[request.path] = respond }
        }
        try server.start()
        let (prompt, forgotten) = (
            try KeepAliveConnection(port: server.port), try KeepAliveConnection(port: server.port)
        )
        try prompt.send("/prompt")
        try forgotten.send("/forgotten")
        let answer = try await Self.responder("/prompt", in: responders)
        let late = try await Self.responder("/forgotten", in: responders)
        DispatchQueue.global().asyncAfter(deadline: .now() + 0.1) { answer(.text(200, "in time")) }

        let started = ContinuousClock.now
        await server.stop(grace: .milliseconds(500))
        #expect(ContinuousClock.now - started >= .milliseconds(400), "it waited for the grace period")
        #expect(try prompt.receive().body == "in time")
        let refused = try forgotten.receive()
        #expect(refused.status == 503 && refused.body.contains("shutting_down"), "\(refused)")
        late(.text(200, "too late"))  // dropped: the connection is gone, nothing crashes
    }

    @Test(
        "once shutdown begins, a request on a kept-alive connection is answered 503 at once and the connection closed; new connections are refused"
    )
    func keepAliveDuringShutdown() async throws {
        let handled = Mutex<[String]>([])
        let responders = Mutex<[String: HTTPResponder]>([:])
        // Answers later, from another thread, as ingest does after a commit: the connection parks.
        let server = HTTPServer(host: "::1", port: 0, threads: 2, maxBodyBytes: 1024) { request, respond in
            handled.withLock { $0.append(request.path) }
            if request.path == "/held" {
                responders.withLock { $0[request.path] = respond }
            } else {
                DispatchQueue.global().asyncAfter(deadline: .now() + 0.02) { respond(.text(200, "ok")) }
            }
        }
        try server.start()
        let sender = try KeepAliveConnection(port: server.port)
        #expect(try sender.get("/before").status == 200)
        // In flight when the stop begins, and answered by its handler within the grace.
        let held = try KeepAliveConnection(port: server.port)
        try held.send("/held")
        let answer = try await Self.responder("/held", in: responders)
        let stopping = Task { await server.stop(grace: .seconds(5)) }
        _ = await eventually(timeout: .seconds(2), every: .milliseconds(5)) { server.isStopping }
        // Sent after it: not handed to the handler, not parked.
        let refused = try sender.get("/after")
        #expect(refused.status == 503 && refused.body.contains("shutting_down"), "\(refused)")
        #expect(refused.headers["connection"]?.lowercased() == "close")
        #expect(throws: POSIXError.self) { _ = try KeepAliveConnection(port: server.port) }
        answer(.text(200, "held"))
        #expect(try held.receive().body == "held")
        await stopping.value
        #expect(handled.withLock { $0 } == ["/before", "/held"])
    }

    /// The responder the handler kept for `path`, once the request has reached it.
    static func responder(_ path: String, in responders: borrowing Mutex<[String: HTTPResponder]>) async throws
        -> HTTPResponder
    {
        _ = await eventually(timeout: .seconds(2), every: .milliseconds(5)) { responders.withLock { $0[path] != nil } }
        guard let respond = responders.withLock({ $0[path] }) else { throw POSIXError(.ETIMEDOUT) }
        return respond
    }

    /// An HTTP/1.1 client on one kept-alive connection to [::1]:port.
    final class KeepAliveConnection {
        struct Answer {
            var status: Int
            var headers: [String: String]
            var body: String
        }
        let socket: Int32
        private var pending: [UInt8] = []

        init(port: Int) throws {
            socket = Glibc.socket(AF_INET6, Int32(SOCK_STREAM.rawValue), 0)
            var address = sockaddr_in6()
            address.sin6_family = sa_family_t(AF_INET6)
            address.sin6_port = in_port_t(UInt16(port).bigEndian)
            address.sin6_addr = in6addr_loopback
            var timeout = timeval(tv_sec: 10, tv_usec: 0)
            setsockopt(socket, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
            let connected = withUnsafePointer(to: &address) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                    connect(socket, $0, socklen_t(MemoryLayout<sockaddr_in6>.size))
                }
            }
            guard connected == 0 else {
                close(socket)
                throw POSIXError(.ECONNREFUSED)
            }
        }

        deinit { close(socket) }

        func get(_ path: String) throws -> Answer {
            try send(path)
            return try receive()
        }

        func send(_ path: String) throws {
            let request = Array("GET \(path) HTTP/1.1\r\nHost: [::1]\r\n\r\n".utf8)
            guard Glibc.send(socket, request, request.count, 0) == request.count else { throw POSIXError(.EIO) }
        }

        /// The next answer: its head, then as many bytes of body as Content-Length says.
        func receive() throws -> Answer {
            let separator = Array("\r\n\r\n".utf8)
            while true {
                if let end = pending.indices.first(where: { pending[$0...].starts(with: separator) }) {
                    let head = String(decoding: pending[..<end], as: UTF8.self).components(separatedBy: "\r\n")
                    var headers: [String: String] = [:]
                    for line in head.dropFirst() {
                        guard let colon = line.firstIndex(of: ":") else { continue }
                        headers[line[..<colon].lowercased()] = line[line.index(after: colon)...]
                            .trimmingCharacters(in: .whitespaces)
                    }
                    let length = headers["content-length"].flatMap(Int.init) ?? 0
                    let bodyStart = end + separator.count
                    if pending.count >= bodyStart + length {
                        let body = String(decoding: pending[bodyStart..<bodyStart + length], as: UTF8.self)
                        pending.removeFirst(bodyStart + length)
                        let status = head.first?.split(separator: " ").dropFirst().first.flatMap { Int($0) } ?? 0
                        return Answer(status: status, headers: headers, body: body)
                    }
                }
                var buffer = [UInt8](repeating: 0, count: 4096)
                let count = recv(socket, &buffer, buffer.count, 0)
                guard count > 0 else { throw POSIXError(.ECONNRESET) }
                pending += buffer[..<count]
            }
        }
    }

    /// A plain HTTP/1.0 GET to [::1]:port; the whole answer, head and body.
    static func get(_ path: String, port: Int, headers: String = "") throws -> String {
        try send(Array("GET \(path) HTTP/1.0\r\nHost: [::1]\r\n\(headers)\r\n".utf8), port: port)
    }

    /// Sends `request` as it is and reads the answer until the server closes the connection.
    static func send(_ request: [UInt8], port: Int) throws -> String {
        let socket = Glibc.socket(AF_INET6, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(socket) }
        var address = sockaddr_in6()
        address.sin6_family = sa_family_t(AF_INET6)
        address.sin6_port = in_port_t(UInt16(port).bigEndian)
        address.sin6_addr = in6addr_loopback
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                connect(socket, $0, socklen_t(MemoryLayout<sockaddr_in6>.size))
            }
        }
        guard connected == 0 else { throw POSIXError(.ECONNREFUSED) }
        guard Glibc.send(socket, request, request.count, 0) == request.count else { throw POSIXError(.EIO) }
        var answer: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 4096)
        while true {
            let count = recv(socket, &buffer, buffer.count, 0)
            guard count > 0 else { break }
            answer += buffer[..<count]
        }
        return String(decoding: answer, as: UTF8.self)
    }

    @Test("a body far beyond what is reserved for it up front arrives whole")
    func largeBody() async throws {
        let server = HTTPServer(host: "::1", port: 0, threads: 1, maxBodyBytes: 1 << 20) { request, respond in
            let sum = request.body.reduce(0) { ($0 &* 31 &+ Int($1)) & 0xFFFF_FFFF }
            respond(.text(200, "\(request.body.count) \(sum)"))
        }
        try server.start()
        let body = (0..<700_000).map { UInt8(truncatingIfNeeded: $0 &* 7) }
        let expected = body.reduce(0) { ($0 &* 31 &+ Int($1)) & 0xFFFF_FFFF }
        let head = Array("POST /big HTTP/1.0\r\nHost: [::1]\r\nContent-Length: \(body.count)\r\n\r\n".utf8)
        let reply = try Self.send(head + body, port: server.port)
        #expect(reply.hasPrefix("HTTP/1.0 200") || reply.hasPrefix("HTTP/1.1 200"), "\(reply.prefix(40))")
        #expect(reply.hasSuffix("\r\n\r\n700000 \(expected)"), "\(reply.suffix(40))")
        await server.stop()
    }

    @Test("a host that is not an address is refused before anything listens")
    func notAnAddress() {
        let server = HTTPServer(host: "example.com", port: 0, threads: 1, maxBodyBytes: 1024) { _, respond in
            respond(.text(200, ""))
        }
        #expect(throws: HTTPServerError.self) { try server.start() }
        #expect(server.port == 0)
    }
}
