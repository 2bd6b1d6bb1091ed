@preconcurrency import Dispatch
import Foundation
import LiaisonCore
import Synchronization

/// Runs the hub's services together. The first to exit (or fail), SIGTERM or SIGINT
/// shuts the rest down: each is cancelled, drains what it holds and returns.
public struct ServiceGroup: Sendable {
    private let services: [any Service]
    private let logger: Logger
    private let signals: [Int32]

    public init(services: [any Service], logger: Logger, signals: [Int32] = [SIGTERM, SIGINT]) {
        self.services = services
        self.logger = logger
        self.signals = signals
    }

    public func run() async throws {
        let watch = SignalWatch(signals, logger: logger)
        defer { watch.cancel() }
        let stream = watch.first
        try await withThrowingTaskGroup(of: Void.self) { group in
            for service in services {
                group.addTask {
                    do {
                        try await service.run()
                    } catch is CancellationError {
                    } catch {
                        logger.error("service failed", ["service": service.name, "error": "\(error)"])
                        throw error
                    }
                }
            }
            group.addTask {
                for await signal in stream {
                    logger.info("shutting down", ["signal": signal == SIGTERM ? "SIGTERM" : "SIGINT"])
                    return
                }
            }
            defer { group.cancelAll() }
            _ = try await group.next()
            group.cancelAll()
            while !group.isEmpty { _ = try await group.next() }
        }
    }

}

/// The shutdown signals, watched for the whole run: the first starts the drain (`first`);
/// a second one, while the drain waits on a slow CRM, ends the process at once, as an
/// operator pressing Ctrl-C twice means. That is safe: what was acknowledged is in the log,
/// and a write in flight was noted before it was sent (the ledger looks before writing again).
private final class SignalWatch: Sendable {
    let first: AsyncStream<Int32>
    private let sources: [any DispatchSourceSignal]

    init(_ signals: [Int32], logger: Logger) {
        let (stream, continuation) = AsyncStream<Int32>.makeStream()
        let received = Atomic<Int>(0)
        first = stream
        sources = signals.map { number -> any DispatchSourceSignal in
            signal(number, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: number, queue: .global())
            source.setEventHandler {
                if received.add(1, ordering: .relaxed).newValue > 1 {
                    logger.warning("second signal: exiting without waiting for the drain")
                    // Not exit(): its clean-up handlers (OpenSSL's) would run under threads still
                    // inside a TLS call to the slow CRM.
                    _exit(1)
                }
                continuation.yield(number)
            }
            source.resume()
            return source
        }
    }

    func cancel() { sources.forEach { $0.cancel() } }
}

/// The HTTP listener as a service: listens until cancelled, then stops accepting and
/// drains the answers it still owes.
public struct HTTPService: Service {
    public var name: String { "http" }
    public let server: HTTPServer
    private let logger: Logger

    public init(server: HTTPServer, logger: Logger) {
        self.server = server
        self.logger = logger
    }

    public func run() async throws {
        logger.info("listening", ["address": server.address])
        while !Task.isCancelled {
            try? await Task.sleep(for: .seconds(3600))
        }
        await server.stop()
        logger.info("listener stopped")
    }
}
