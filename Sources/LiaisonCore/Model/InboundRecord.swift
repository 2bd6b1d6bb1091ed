import Foundation

/// A request that was accepted into the durable event log, exactly as it arrived.
/// Parsing into canonical events happens later, in the pipeline, so that ingest stays
/// cheap and a better decoder can re-read old records on replay.
public struct InboundRecord: Sendable, Hashable {
    /// Position in the log; assigned by the store.
    public var sequence: Int64
    /// The connector that accepted it: `matrix`, `generic.acme`.
    public var source: String
    /// Unique per source when the sender gives one (Matrix txnId, a delivery header);
    /// a second record with the same key is acknowledged and ignored.
    public var dedupeKey: String?
    public var receivedAt: Date
    public var body: [UInt8]
    /// What the connector made of the body when it admitted the request, carried with the
    /// record while the record is in memory so that the pipeline does not parse the body a
    /// second time. Not part of the record: the log stores the body alone, a record read
    /// back from the file has none, and equality and hashing ignore it. Only the connector
    /// that made it reads it, and it must decode to what the body decodes to.
    public var parsed: (any Sendable)?

    public init(
        sequence: Int64 = 0, source: String, dedupeKey: String?, receivedAt: Date, body: [UInt8],
        parsed: (any Sendable)? = nil
    ) {
        self.sequence = sequence
        self.source = source
        self.dedupeKey = dedupeKey
        self.receivedAt = receivedAt
        self.body = body
        self.parsed = parsed
    }

    public static func == (lhs: InboundRecord, rhs: InboundRecord) -> Bool {
        lhs.sequence == rhs.sequence && lhs.source == rhs.source && lhs.dedupeKey == rhs.dedupeKey
            && lhs.receivedAt == rhs.receivedAt && lhs.body == rhs.body
    }

    public func hash(into hasher: inout Hasher) {
        hasher.combine(sequence)
        hasher.combine(source)
        hasher.combine(dedupeKey)
        hasher.combine(receivedAt)
        hasher.combine(body)
    }
}

/// The outcome of appending to the log.
public enum AppendOutcome: Sendable, Equatable {
    case stored(sequence: Int64)
    case duplicate
}
