import Foundation
import Synchronization

/// One SQLite connection used by one thread at a time. This is the store's only
/// `@unchecked Sendable`: the connection is reachable solely through `withDatabase`,
/// which holds the lock for the whole closure, and the handle never escapes it
/// (SQLite connections are opened with NOMUTEX, so this lock is what serializes them).
final class SerializedDatabase: @unchecked Sendable {
    private let lock = NSLock()
    private let database: SQLiteDatabase

    init(_ database: SQLiteDatabase) {
        self.database = database
    }

    func withDatabase<T>(_ body: (SQLiteDatabase) throws -> T) rethrows -> T {
        lock.lock()
        defer { lock.unlock() }
        return try body(database)
    }
}

/// Callbacks registered at start-up and called from the commit thread.
final class HookList: Sendable {
    private let hooks = Mutex<[@Sendable (Int) -> Void]>([])

    func add(_ hook: @escaping @Sendable (Int) -> Void) { hooks.withLock { $0.append(hook) } }

    func callAll(_ value: Int) { for hook in hooks.withLock({ $0 }) { hook(value) } }
}
