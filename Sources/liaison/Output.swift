import Foundation
import LiaisonCore
import Synchronization

/// Where the CLI writes: results on stdout, errors and logs on stderr.
enum Output {
    private static let lock = Mutex(())

    static func out(_ text: String) {
        lock.withLock { _ in FileHandle.standardOutput.write(Data((text + "\n").utf8)) }
    }

    static func err(_ text: String) {
        lock.withLock { _ in FileHandle.standardError.write(Data((text + "\n").utf8)) }
    }

    static func json(_ value: some Encodable) {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        encoder.dateEncodingStrategy = .iso8601
        out((try? encoder.encode(value)).map { String(decoding: $0, as: UTF8.self) } ?? "{}")
    }

    /// A logger writing one JSON object a line, or readable text when stderr is a terminal.
    static func logger(_ settings: LogSettings) -> Logger {
        let useJSON = settings.format == .json || (settings.format == .auto && isatty(STDERR_FILENO) == 0)
        return Logger(label: "liaison", level: settings.level) { record in
            err(useJSON ? record.json : record.text)
        }
    }
}

/// What a long command is doing, on stderr when it is a terminal: the phase, and a bar
/// for phases that count records. Silent otherwise (logs and pipes get the summary only).
final class Progress: Sendable {
    private struct State {
        var phase = ""
        var total = 0
        var done = 0
        var shown = -1
    }
    private let enabled: Bool
    private let state = Mutex(State())
    /// `LIAISON_TIMING=1`: each phase's wall time on stderr when it ends (for profiling).
    private let timing = ProcessInfo.processInfo.environment["LIAISON_TIMING"] == "1"
    private let started = Mutex<(String, ContinuousClock.Instant)?>(nil)

    init(enabled: Bool = isatty(STDERR_FILENO) != 0) { self.enabled = enabled }

    private func lap(_ next: String?) {
        guard timing else { return }
        let now = ContinuousClock.now
        started.withLock { current in
            if let (name, start) = current { Output.err("timing \(name): \(now - start)") }
            current = next.map { ($0, now) }
        }
    }

    func phase(_ name: String, total: Int = 0) {
        lap(name)
        guard enabled else { return }
        state.withLock { state in
            state = State(phase: name, total: total)
            draw(&state)
        }
    }

    func advance(_ count: Int) {
        guard enabled else { return }
        state.withLock { state in
            state.done += count
            draw(&state)
        }
    }

    func finish() {
        lap(nil)
        guard enabled else { return }
        FileHandle.standardError.write(Data("\r\u{1B}[K".utf8))
    }

    private func draw(_ state: inout State) {
        var line = "\r\u{1B}[K\(state.phase)"
        if state.total > 0 {
            let percent = min(100, state.done * 100 / state.total)
            guard percent != state.shown else { return }
            state.shown = percent
            let filled = percent / 4
            line +=
                " [\(String(repeating: "#", count: filled))\(String(repeating: ".", count: 25 - filled))] \(percent)%"
        }
        FileHandle.standardError.write(Data(line.utf8))
    }
}
