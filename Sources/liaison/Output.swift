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
