import CMicroHTTPD
import Foundation
import Synchronization

/// Why the listener could not start.
public struct HTTPServerError: Error, CustomStringConvertible {
    public let description: String
}

/// The HTTP listener: libmicrohttpd with a pool of polling threads. Handlers may answer later
/// from another thread (after a group commit): the connection is suspended meanwhile,
/// so no thread waits on a request. Nothing above this type sees a C pointer.
public final class HTTPServer: Sendable {
    let handler: HTTPHandler
    let maxBodyBytes: Int
    private let largerBody: (@Sendable (HTTPRequest) -> Int?)?

    /// The largest body `request` (its method, path and headers, read so far) may have.
    func bodyLimit(for request: HTTPRequest) -> Int {
        guard let larger = largerBody?(request) else { return maxBodyBytes }
        return max(larger, maxBodyBytes)
    }
    /// Told the status of each answer libmicrohttpd gives by itself, before any handler
    /// sees the request (431 for headers beyond `connectionMemory`, 414, 400 for what is
    /// not HTTP): those never reach `handler`, so this is where they are counted.
    let refused: @Sendable (_ status: Int) -> Void
    /// Where libmicrohttpd's error log reaches `refused` (`cmhd_log`); freed after the daemon.
    private nonisolated(unsafe) let logTarget: UnsafeMutablePointer<cmhd_log_target>
    /// The MHD daemon's address (0 when stopped), kept as an integer so the type stays Sendable.
    private let daemonAddress = Atomic<Int>(0)
    /// Every open connection's context: shutdown waits for the answers they are owed, and
    /// answers what is still owed after the grace period (MHD refuses to stop while a
    /// connection is parked). Written when a connection opens or closes, not per request.
    private let connections = Mutex<[ObjectIdentifier: ConnectionContext]>([:])
    public let host: String
    private let requestedPort: Int
    private let threads: Int
    private let boundPort = Atomic<Int>(0)
    /// Set when `stop` begins: a request that arrives after it, on a connection kept alive,
    /// is answered 503 at once instead of going to the handler and parking (libmicrohttpd
    /// aborts the process if stopped while a connection is parked).
    private let stopping = Atomic<Bool>(false)
    public var isStopping: Bool { stopping.load(ordering: .acquiring) }

    /// What a request gets once shutdown has begun; the connection closes after it, so that
    /// the sender reconnects, to another instance or to this one restarted.
    static var shuttingDown: HTTPResponse {
        var response = HTTPResponse.error(503, code: "shutting_down", message: "the server is shutting down; retry")
        response.headers["Connection"] = "close"
        return response
    }

    /// - Parameters:
    ///   - maxBodyBytes: the largest body a request may have, unless `largerBody`, asked with
    ///     the request's method, path and headers before its body is read, allows more.
    public init(
        host: String, port: Int, threads: Int, maxBodyBytes: Int,
        largerBody: (@Sendable (HTTPRequest) -> Int?)? = nil,
        refused: @escaping @Sendable (_ status: Int) -> Void = { _ in }, handler: @escaping HTTPHandler
    ) {
        self.host = host
        self.requestedPort = port
        self.threads = threads
        self.maxBodyBytes = maxBodyBytes
        self.largerBody = largerBody
        self.refused = refused
        self.handler = handler
        logTarget = .allocate(capacity: 1)
        logTarget.initialize(to: cmhd_log_target(refused: refusedByLibrary, cls: nil))
        logTarget.pointee.cls = Unmanaged.passUnretained(self).toOpaque()
    }

    /// The port actually bound (useful with port 0).
    public var port: Int { boundPort.load(ordering: .acquiring) }

    /// Each connection's memory pool in libmicrohttpd: the request line and headers, the read
    /// buffer (bodies stream through it in chunks) and the answer's headers. libmicrohttpd
    /// zeroes the whole pool after every request, so its size is paid per request: 8 KiB
    /// holds ~7 KiB of headers (nginx's usual limit is 8 KiB) and costs half of 16 KiB.
    /// Headers beyond it are refused by libmicrohttpd (431).
    static let connectionMemory = 8 * 1024

    /// host:port as a URL writes it (an IPv6 host in brackets), with the port bound once started.
    public var address: String {
        let port = self.port == 0 ? requestedPort : self.port
        return host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)"
    }

    public func start() throws {
        // poll(), not epoll: a parked request costs epoll two epoll_ctl calls (out of the set
        // and back), poll nothing; webhook senders hold tens of connections, not thousands.
        var flags =
            MHD_USE_POLL_INTERNAL_THREAD.rawValue | MHD_ALLOW_SUSPEND_RESUME.rawValue
            | MHD_USE_TURBO.rawValue
        let context = Unmanaged.passUnretained(self).toOpaque()
        func start<Address>(_ address: inout Address) -> OpaquePointer? {
            withUnsafePointer(to: &address) { pointer in
                pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { socketAddress in
                    cmhd_start(
                        flags, socketAddress, UInt32(threads), 60, Self.connectionMemory, accessHandler,
                        requestCompleted, connectionNotified, context, logTarget)
                }
            }
        }
        let started: OpaquePointer?
        if host.contains(":") {
            var address = sockaddr_in6()
            address.sin6_family = sa_family_t(AF_INET6)
            address.sin6_port = in_port_t(UInt16(requestedPort).bigEndian)
            guard inet_pton(AF_INET6, host, &address.sin6_addr) == 1 else {
                throw HTTPServerError(description: "listen address '\(host)' is not an IPv6 address")
            }
            flags |= MHD_USE_IPv6.rawValue
            started = start(&address)
        } else {
            var address = sockaddr_in()
            address.sin_family = sa_family_t(AF_INET)
            address.sin_port = in_port_t(UInt16(requestedPort).bigEndian)
            guard inet_pton(AF_INET, host, &address.sin_addr) == 1 else {
                throw HTTPServerError(description: "listen address '\(host)' is not an IPv4 address")
            }
            started = start(&address)
        }
        guard let started else {
            throw HTTPServerError(description: "cannot listen on \(address) (in use, or not allowed)")
        }
        let port = Int(cmhd_bound_port(started))
        boundPort.store(port, ordering: .releasing)
        daemonAddress.store(Int(bitPattern: UnsafeMutableRawPointer(started)), ordering: .releasing)
    }

    func opened(_ context: ConnectionContext) {
        connections.withLock { $0[ObjectIdentifier(context)] = context }
    }

    func closed(_ context: ConnectionContext) {
        connections.withLock { $0[ObjectIdentifier(context)] = nil }
    }

    private var openConnections: [ConnectionContext] { connections.withLock { Array($0.values) } }

    /// Stops accepting, waits (up to `grace`) for answers still owed, answers 503 to
    /// whatever is left and to any request that arrives meanwhile, then closes.
    public func stop(grace: Duration = .seconds(10)) async {
        guard let running = OpaquePointer(bitPattern: daemonAddress.load(ordering: .acquiring)) else { return }
        stopping.store(true, ordering: .releasing)
        let listener = MHD_quiesce_daemon(running)
        // Refuse connections from now on (a quiesced socket still completes them into its
        // backlog); it is closed only after the daemon, whose threads may still hold it.
        if listener >= 0 { _ = Glibc.shutdown(listener, Int32(SHUT_RDWR)) }
        defer { if listener >= 0 { _ = Glibc.close(listener) } }
        let deadline = ContinuousClock.now + grace
        while openConnections.contains(where: \.isAwaited) && ContinuousClock.now < deadline {
            try? await Task.sleep(for: .milliseconds(5))
        }
        // Answer what is still owed, then let MHD send it, so that no connection is still
        // parked and no answer is cut off by the daemon closing its connection. Again while
        // a request that passed the check above just before it was set is still owed one.
        let flushDeadline = ContinuousClock.now + .seconds(2)
        repeat {
            for context in openConnections { context.respondIfAwaited(Self.shuttingDown) }
            try? await Task.sleep(for: .milliseconds(5))
        } while openConnections.contains(where: \.owesDelivery) && ContinuousClock.now < flushDeadline
        guard let daemon = OpaquePointer(bitPattern: daemonAddress.exchange(0, ordering: .acquiringAndReleasing)) else {
            return
        }
        MHD_stop_daemon(daemon)
    }

    deinit {
        if let daemon = OpaquePointer(bitPattern: daemonAddress.exchange(0, ordering: .acquiringAndReleasing)) {
            MHD_stop_daemon(daemon)
        }
        logTarget.deinitialize(count: 1)
        logTarget.deallocate()
    }
}
