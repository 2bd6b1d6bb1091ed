import Foundation
import LiaisonConnectors
import LiaisonCore
import Synchronization

/// A delivery ledger in memory, as the outbox keeps it in the store. `crashAfterWrites`
/// makes `record` fail, as if the process died between a remote write and its ledger line.
public final class MemoryLedger: DeliveryLedger {
    private let entries = Mutex<[IdempotencyKey: String]>([:])
    private let intents = Mutex<[IdempotencyKey: Date]>([:])
    private let echoes = Mutex<[String]>([])
    public let crashAfterWrites = Mutex(false)
    /// What identity resolution would say: ref → the other refs of its customer.
    public let linked = Mutex<[String: [String]]>([:])

    public init() {}

    public struct Crashed: Error {}

    public func remoteID(for key: IdempotencyKey) async throws -> String? { entries.withLock { $0[key] } }

    public func record(_ key: IdempotencyKey, remoteID: String) async throws {
        if crashAfterWrites.withLock({ $0 }) { throw Crashed() }
        entries.withLock { $0[key] = remoteID }
        intents.withLock { $0[key] = nil }
    }

    /// Intents are dated by the wall clock: a test that retries at once after a "crash"
    /// passes a later `now`, as the outbox would retry (`DeliveryLedger.wasIntended`).
    public func intend(_ key: IdempotencyKey) async throws { intents.withLock { $0[key] = Date() } }

    public func intendedAt(_ key: IdempotencyKey) async throws -> Date? { intents.withLock { $0[key] } }

    public func forget(_ key: IdempotencyKey) async throws { entries.withLock { $0[key] = nil } }

    public func expectEcho(kind: String, keys: [String], for duration: Duration) async throws {
        echoes.withLock { $0 += keys.map { "\(kind) \($0)" } }
    }

    public var expectedEchoes: [String] { echoes.withLock { $0 } }

    public func sameCustomer(as ref: String) async throws -> [String] { linked.withLock { $0[ref] ?? [] } }
}
