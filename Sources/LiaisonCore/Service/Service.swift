/// A long-running part of the hub (HTTP listener, pipeline, scheduler, outbox worker).
/// `run()` returns when the task is cancelled, after draining what it holds.
public protocol Service: Sendable {
    var name: String { get }
    func run() async throws
}
