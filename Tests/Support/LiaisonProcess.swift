import Foundation

/// The real `liaison` binary as a child process, for end-to-end tests.
public final class LiaisonProcess: @unchecked Sendable {
    // @unchecked: the Process is only touched from the test that owns this object.
    public let process = Process()
    public let logURL: URL

    /// The binary `swift build` produced: `LIAISON_BINARY`, else `.build/debug/liaison`.
    public static var binary: URL {
        if let path = ProcessInfo.processInfo.environment["LIAISON_BINARY"] { return URL(fileURLWithPath: path) }
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent()
        return root.appendingPathComponent(".build/debug/liaison")
    }

    public init(arguments: [String], environment: [String: String] = [:], log: URL) throws {
        logURL = log
        _ = FileManager.default.createFile(atPath: log.path, contents: nil)
        let handle = try FileHandle(forWritingTo: log)
        handle.seekToEndOfFile()
        process.executableURL = Self.binary
        process.arguments = arguments
        process.environment = ProcessInfo.processInfo.environment.merging(environment) { _, new in new }
        process.standardError = handle
        process.standardOutput = handle
        try process.run()
    }

    /// Runs the binary to completion and returns its exit code and output.
    public static func run(_ arguments: [String], environment: [String: String] = [:]) throws -> (
        code: Int32, output: String
    ) {
        let process = Process()
        process.executableURL = binary
        process.arguments = arguments
        process.environment = ProcessInfo.processInfo.environment.merging(environment) { _, new in new }
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = pipe
        try process.run()
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return (process.terminationStatus, String(decoding: data, as: UTF8.self))
    }

    public var log: String { (try? String(contentsOf: logURL, encoding: .utf8)) ?? "" }

    public func signal(_ number: Int32) { kill(process.processIdentifier, number) }

    /// SIGTERM, then waits for a clean exit; returns the exit status.
    @discardableResult
    public func terminate(timeout: Duration = .seconds(15)) async -> Int32 {
        guard process.isRunning else { return process.terminationStatus }
        signal(SIGTERM)
        let exited = await eventually(timeout: timeout) { !process.isRunning }
        if !exited { signal(SIGKILL) }
        _ = await eventually(timeout: .seconds(5)) { !process.isRunning }
        return process.terminationStatus
    }

    public func killHard() async {
        signal(SIGKILL)
        _ = await eventually(timeout: .seconds(5)) { !process.isRunning }
    }
}

/// A free TCP port on 127.0.0.1 (bound and released; good enough for tests).
public func freePort() -> Int {
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    defer { close(fd) }
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_addr.s_addr = inet_addr("127.0.0.1")
    address.sin_port = 0
    var length = socklen_t(MemoryLayout<sockaddr_in>.size)
    _ = withUnsafeMutablePointer(to: &address) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, length) }
    }
    _ = withUnsafeMutablePointer(to: &address) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
    }
    return Int(UInt16(bigEndian: address.sin_port))
}
