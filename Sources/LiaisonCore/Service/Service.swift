import Foundation

/// A long-running part of the hub (HTTP listener, pipeline, scheduler, outbox worker).
/// `run()` returns when the task is cancelled, after draining what it holds.
public protocol Service: Sendable {
    var name: String { get }
    func run() async throws
}

extension Thread {
    /// Names the calling thread for the kernel (what top, ps and perf show), 15 bytes at most.
    /// Foundation's `Thread.name` does not reach the kernel on Linux.
    public static func nameCurrent(_ name: String) {
        let truncated = String(decoding: name.utf8.prefix(15), as: UTF8.self)
        try? truncated.write(toFile: "/proc/thread-self/comm", atomically: false, encoding: .utf8)
    }
}
