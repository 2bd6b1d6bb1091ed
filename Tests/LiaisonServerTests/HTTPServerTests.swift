import Foundation
import LiaisonServer
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

    @Test("headers up to ~7 KiB are read; beyond the connection's memory they are refused (431) and nothing is handled")
    func headerSize() async throws {
        let handled = Atomic<Int>(0)
        let server = HTTPServer(host: "::1", port: 0, threads: 1, maxBodyBytes: 1024) { request, respond in
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
        await server.stop()
    }

    /// A plain HTTP/1.0 GET to [::1]:port; the whole answer, head and body.
    static func get(_ path: String, port: Int, headers: String = "") throws -> String {
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
        let request = Array("GET \(path) HTTP/1.0\r\nHost: [::1]\r\n\(headers)\r\n".utf8)
        guard send(socket, request, request.count, 0) == request.count else { throw POSIXError(.EIO) }
        var answer: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 4096)
        while true {
            let count = recv(socket, &buffer, buffer.count, 0)
            guard count > 0 else { break }
            answer += buffer[..<count]
        }
        return String(decoding: answer, as: UTF8.self)
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
