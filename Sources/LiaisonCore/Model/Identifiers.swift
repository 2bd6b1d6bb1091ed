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

    /// Written with every message the pipeline applies: copied into one allocation (see
    /// `colonJoined`).
    public var description: String { colonJoined(system, kind, id) }
}

/// A conversation's hub-wide id: the system it lives in and that system's id for it
/// (`matrix:!room`, `generic.acme:thread-42`).
public struct ConversationID: Hashable, Sendable, Codable, CustomStringConvertible {
    public let rawValue: String
    public init(_ rawValue: String) { self.rawValue = rawValue }
    public init(system: String, id: String) { self.rawValue = colonJoined(system, id) }
    public var description: String { rawValue }
}

/// The key that makes an outbound effect happen once: derived only from the events that
/// caused it, so a retry or a replay computes the same key.
public struct IdempotencyKey: Hashable, Sendable, Codable, CustomStringConvertible {
    public let rawValue: String
    public init(_ rawValue: String) { self.rawValue = rawValue }
    public var description: String { rawValue }
}

/// The parts joined by colons, their bytes copied into one new string: what the identifiers
/// above are made of for every record the pipeline applies, where interpolation or `+=`
/// cost several times the copy.
func colonJoined(_ first: String, _ second: String, _ third: String? = nil) -> String {
    let count = first.utf8.count + 1 + second.utf8.count + (third.map { 1 + $0.utf8.count } ?? 0)
    return String(unsafeUninitializedCapacity: count) { buffer in
        var used = 0
        func append(_ part: String) {
            var part = part
            part.withUTF8 { bytes in
                _ = UnsafeMutableBufferPointer(rebasing: buffer[used...]).initialize(from: bytes)
                used += bytes.count
            }
        }
        append(first)
        buffer[used] = UInt8(ascii: ":")
        used += 1
        append(second)
        if let third {
            buffer[used] = UInt8(ascii: ":")
            used += 1
            append(third)
        }
        return used
    }
}
