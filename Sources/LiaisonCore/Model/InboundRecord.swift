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

    public init(sequence: Int64 = 0, source: String, dedupeKey: String?, receivedAt: Date, body: [UInt8]) {
        self.sequence = sequence
        self.source = source
        self.dedupeKey = dedupeKey
        self.receivedAt = receivedAt
        self.body = body
    }
}

/// The outcome of appending to the log.
public enum AppendOutcome: Sendable, Equatable {
    case stored(sequence: Int64)
    case duplicate
}
