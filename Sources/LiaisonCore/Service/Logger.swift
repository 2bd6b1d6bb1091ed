import Foundation

/// One log line: a level, a message and key-value metadata. Secrets never go in here:
/// callers log ids and counts, not tokens or message text.
public struct LogRecord: Sendable {
    public var time: Date
    public var level: LogLevel
    public var label: String
    public var message: String
    public var metadata: [(String, String)]

    public init(time: Date, level: LogLevel, label: String, message: String, metadata: [(String, String)]) {
        self.time = time
        self.level = level
        self.label = label
        self.message = message
        self.metadata = metadata
    }
}

/// A structured logger; where lines go (JSON on stderr, text on a TTY, a test buffer)
/// is the sink's business.
///
///     logger.info("delivery dead", ["delivery": "\(id)", "attempts": "\(n)"])
public struct Logger: Sendable {
    public typealias Sink = @Sendable (LogRecord) -> Void

    public var label: String
    public var level: LogLevel
    private let sink: Sink
    private let clock: @Sendable () -> Date

    public init(
        label: String, level: LogLevel = .info, clock: @escaping @Sendable () -> Date = Date.init, sink: @escaping Sink
    ) {
        self.label = label
        self.level = level
        self.sink = sink
        self.clock = clock
    }

    /// Discards everything.
    public static let silent = Logger(label: "silent", level: .error) { _ in }

    public func with(label: String) -> Logger {
        Logger(label: label, level: level, clock: clock, sink: sink)
    }

    public func log(_ level: LogLevel, _ message: String, _ metadata: KeyValuePairs<String, String> = [:]) {
        guard level >= self.level else { return }
        sink(
            LogRecord(
                time: clock(), level: level, label: label, message: message,
                metadata: metadata.map { ($0.key, $0.value) }))
    }

    public func debug(_ message: String, _ metadata: KeyValuePairs<String, String> = [:]) {
        log(.debug, message, metadata)
    }
    public func info(_ message: String, _ metadata: KeyValuePairs<String, String> = [:]) {
        log(.info, message, metadata)
    }
    public func warning(_ message: String, _ metadata: KeyValuePairs<String, String> = [:]) {
        log(.warning, message, metadata)
    }
    public func error(_ message: String, _ metadata: KeyValuePairs<String, String> = [:]) {
        log(.error, message, metadata)
    }
}

extension LogRecord {
    /// `{"ts":"…","level":"info","logger":"outbox","msg":"…","delivery":"12"}`
    public var json: String {
        var object: [String: String] = [
            "ts": time.iso8601Milliseconds, "level": level.rawValue, "logger": label, "msg": message,
        ]
        for (key, value) in metadata where object[key] == nil { object[key] = value }
        let data =
            (try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys, .withoutEscapingSlashes]))
            ?? Data()
        return String(decoding: data, as: UTF8.self)
    }

    /// `10:00:00.123 INFO  outbox  delivered  delivery=12`, on one line whatever the values
    /// hold (a remote server's error page, a terminal's escape sequences).
    public var text: String {
        let fields = metadata.map { "\($0.0)=\($0.1.singleLine)" }.joined(separator: " ")
        let level = self.level.rawValue.uppercased().padding(toLength: 7, withPad: " ", startingAt: 0)
        return "\(time.iso8601Milliseconds) \(level) [\(label)] \(message.singleLine)\(fields.isEmpty ? "" : "  " + fields)"
    }
}

extension String {
    /// The text with its control characters escaped (`\n`, `\r`, `\t`, `\u{1B}`): one line,
    /// nothing a terminal acts on. Text from outside (a CRM's answer) goes through it before
    /// it is printed for people.
    public var singleLine: String {
        guard unicodeScalars.contains(where: { $0.properties.generalCategory == .control }) else { return self }
        var out = ""
        for scalar in unicodeScalars {
            guard scalar.properties.generalCategory == .control else {
                out.unicodeScalars.append(scalar)
                continue
            }
            switch scalar {
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            default: out += "\\u{" + String(scalar.value, radix: 16, uppercase: true) + "}"
            }
        }
        return out
    }
}

extension Date {
    public var iso8601Milliseconds: String { ISO8601.format(self) }
}
