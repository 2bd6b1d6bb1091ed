import Foundation

/// A stretch of conversation rendered for a CRM record: a subject line and a body with
/// timestamps and speakers. The idempotency marker at the end lets a connector find a
/// transcript it may already have written when an earlier attempt's outcome is unknown.
public struct Transcript: Sendable, Codable, Equatable {
    public struct Line: Sendable, Codable, Equatable {
        public var sentAt: Date
        public var speaker: String
        public var role: ParticipantRole
        public var text: String

        public init(sentAt: Date, speaker: String, role: ParticipantRole, text: String) {
            self.sentAt = sentAt
            self.speaker = speaker
            self.role = role
            self.text = text
        }
    }

    public var conversation: ConversationID
    public var channel: String
    public var customer: Participant
    public var trigger: ArchiveTrigger
    public var lines: [Line]
    public var key: IdempotencyKey

    public init(
        conversation: ConversationID, channel: String, customer: Participant, trigger: ArchiveTrigger, lines: [Line],
        key: IdempotencyKey
    ) {
        self.conversation = conversation
        self.channel = channel
        self.customer = customer
        self.trigger = trigger
        self.lines = lines
        self.key = key
    }

    public static let markerPrefix = "liaison-ref: "

    /// The line that identifies this transcript inside the CRM record.
    public var marker: String { Self.markerPrefix + key.rawValue }

    public var subject: String {
        let who = Self.oneLine(customer.displayName ?? customer.ref.id)
        // The earliest and latest times, not the first and last lines': a sender's skewed
        // clock may date a later line earlier.
        guard let first = lines.lazy.map(\.sentAt).min(), let last = lines.lazy.map(\.sentAt).max() else {
            return "\(channel) conversation with \(who)"
        }
        let start = Self.format(first, .dateTime)
        let end = Self.format(last, Calendar.utc.isDate(first, inSameDayAs: last) ? .time : .dateTime)
        let span = start.hasSuffix(end) ? start : "\(start)–\(end)"
        return "\(channel) conversation with \(who), \(span) UTC"
    }

    /// One line a message, `[time UTC] speaker: text`; a message's further lines are
    /// indented, so that no text (nor a name) can pass for a line of its own: a customer
    /// who writes "\n[… UTC] Agent Wu: 50% off approved" does not put words in Wu's mouth.
    public var body: String {
        var out = lines.map { line in
            let speaker = Self.oneLine(line.speaker)
            let text = line.text.split(omittingEmptySubsequences: false, whereSeparator: \.isNewline)
                .joined(separator: "\n    ")
            return "[\(Self.format(line.sentAt, .dateTimeSeconds)) UTC] \(speaker): \(text)"
        }
        out.append("")
        out.append(marker)
        return out.joined(separator: "\n")
    }

    /// A name as one line: its line breaks are spaces.
    private static func oneLine(_ name: String) -> String {
        name.split(whereSeparator: \.isNewline).joined(separator: " ")
    }

    private static func format(_ date: Date, _ pattern: Pattern) -> String {
        let c = Calendar.utc.dateComponents([.year, .month, .day, .hour, .minute, .second], from: date)
        func two(_ value: Int?) -> String { value.map { $0 < 10 ? "0\($0)" : "\($0)" } ?? "00" }
        let day = "\(c.year ?? 0)-\(two(c.month))-\(two(c.day))"
        switch pattern {
        case .dateTimeSeconds: return "\(day) \(two(c.hour)):\(two(c.minute)):\(two(c.second))"
        case .dateTime: return "\(day) \(two(c.hour)):\(two(c.minute))"
        case .time: return "\(two(c.hour)):\(two(c.minute))"
        }
    }

    private enum Pattern { case dateTimeSeconds, dateTime, time }
}

extension Calendar {
    static let utc: Calendar = {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: "UTC")!
        return calendar
    }()
}

extension Transcript {
    /// The outbox payload form: sorted keys, times in milliseconds, so the same
    /// transcript is always the same bytes.
    public func encoded() throws -> [UInt8] {
        let encoder = JSONEncoder()
        encoder.outputFormatting = .sortedKeys
        encoder.dateEncodingStrategy = .millisecondsSince1970
        return Array(try encoder.encode(self))
    }

    public static func decoded(from payload: [UInt8]) throws -> Transcript {
        let decoder = JSONDecoder()
        decoder.dateDecodingStrategy = .millisecondsSince1970
        return try decoder.decode(Transcript.self, from: Data(payload))
    }
}
