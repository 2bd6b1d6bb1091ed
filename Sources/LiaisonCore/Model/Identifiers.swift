/// A reference to a record in a connected system: `matrix:user:@alice:example.org`,
/// `bottlecrm:contact:7f3c…`. Identity resolution maps refs to customers.
public struct SystemRef: Hashable, Sendable, Codable, CustomStringConvertible {
    public let system: String
    public let kind: String
    public let id: String

    public init(system: String, kind: String, id: String) {
        self.system = system
        self.kind = kind
        self.id = id
    }

    /// Parses `system:kind:id`; the id may itself contain colons (Matrix ids do).
    public init?(_ text: String) {
        let parts = text.split(separator: ":", maxSplits: 2, omittingEmptySubsequences: false)
        guard parts.count == 3, !parts[0].isEmpty, !parts[1].isEmpty, !parts[2].isEmpty else { return nil }
        self.init(system: String(parts[0]), kind: String(parts[1]), id: String(parts[2]))
    }

    public var description: String { "\(system):\(kind):\(id)" }
}

/// A conversation's hub-wide id: the system it lives in and that system's id for it
/// (`matrix:!room`, `generic.acme:thread-42`).
public struct ConversationID: Hashable, Sendable, Codable, CustomStringConvertible {
    public let rawValue: String
    public init(_ rawValue: String) { self.rawValue = rawValue }
    public init(system: String, id: String) { self.rawValue = "\(system):\(id)" }
    public var description: String { rawValue }
}

/// The key that makes an outbound effect happen once: derived only from the events that
/// caused it, so a retry or a replay computes the same key.
public struct IdempotencyKey: Hashable, Sendable, Codable, CustomStringConvertible {
    public let rawValue: String
    public init(_ rawValue: String) { self.rawValue = rawValue }
    public var description: String { rawValue }
}
