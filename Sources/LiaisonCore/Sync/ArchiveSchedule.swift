import Foundation

/// Why a conversation's pending messages are archived now.
public enum ArchiveTrigger: String, Sendable, Codable, CaseIterable {
    /// Realtime mode: a message arrived.
    case message
    /// Interval mode: the oldest pending message waited `interval_seconds`.
    case interval
    /// Someone closed the conversation.
    case closed
    /// Nobody spoke for `idle_timeout_seconds`.
    case idle
}

/// What the scheduler knows of one conversation.
public struct ConversationState: Sendable, Equatable {
    public var id: ConversationID
    /// Messages not yet part of an archived transcript.
    public var pendingMessages: Int
    public var firstPendingAt: Date?
    public var lastMessageAt: Date?
    /// The last message a close covers, while that stretch is not archived yet. Messages
    /// after it belong to the next stretch and do not undo the close.
    public var closedThrough: Int64?
    public var closeRequested: Bool { closedThrough != nil }

    public init(
        id: ConversationID, pendingMessages: Int, firstPendingAt: Date?, lastMessageAt: Date?,
        closedThrough: Int64? = nil
    ) {
        self.id = id
        self.pendingMessages = pendingMessages
        self.firstPendingAt = firstPendingAt
        self.lastMessageAt = lastMessageAt
        self.closedThrough = closedThrough
    }
}

/// Decides, for the configured mode, whether a conversation's pending messages are due.
/// Pure: the scheduler gives it the state and the time.
public struct ArchiveSchedule: Sendable, Equatable {
    public var mode: ArchiveMode
    public var interval: TimeInterval
    public var idleTimeout: TimeInterval

    public init(mode: ArchiveMode, interval: TimeInterval, idleTimeout: TimeInterval) {
        self.mode = mode
        self.interval = interval
        self.idleTimeout = idleTimeout
    }

    public init(_ settings: ArchiveSettings) {
        self.init(
            mode: settings.mode, interval: TimeInterval(settings.intervalSeconds),
            idleTimeout: TimeInterval(settings.idleTimeoutSeconds)
        )
    }

    public func trigger(for state: ConversationState, now: Date) -> ArchiveTrigger? {
        guard state.pendingMessages > 0 else { return nil }
        // A close flushes what is left in every mode.
        if state.closeRequested { return .closed }
        switch mode {
        case .realtime:
            return .message
        case .interval:
            guard let first = state.firstPendingAt else { return nil }
            return now.timeIntervalSince(first) >= interval ? .interval : nil
        case .onClose:
            guard let last = state.lastMessageAt else { return nil }
            return now.timeIntervalSince(last) >= idleTimeout ? .idle : nil
        }
    }

    /// The earliest time `trigger(for:now:)` could become non-nil without new input;
    /// the scheduler sleeps until then.
    public func nextCheck(for state: ConversationState) -> Date? {
        guard state.pendingMessages > 0, !state.closeRequested else { return nil }
        switch mode {
        case .realtime: return nil
        case .interval: return state.firstPendingAt.map { $0.addingTimeInterval(interval) }
        case .onClose: return state.lastMessageAt.map { $0.addingTimeInterval(idleTimeout) }
        }
    }
}
