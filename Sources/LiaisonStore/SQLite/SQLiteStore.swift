import Foundation
import LiaisonCore
import Synchronization

/// The embedded store: one SQLite file in WAL mode. One writer connection (shared by the
/// group committer and every other write, as SQLite allows one writer at a time) and one
/// reader connection, each behind its own lock; handles never leave this type.
public final class SQLiteStore: Store {
    /// The pipeline's position in the inbound log.
    public static let pipelineCursor = "pipeline"

    let writer: SerializedDatabase
    let reader: SerializedDatabase
    private let committer: Mutex<GroupCommitter?>
    /// Called after each group commit (the pipeline waits on it).
    private let appendHooks = HookList()
    public let path: String

    /// Opens (creating if needed) and migrates the database at `path`.
    /// - Parameter maxBatch: the most records one group commit takes.
    public init(path: String, maxBatch: Int = 4096) throws {
        self.path = path
        if path != ":memory:" {
            let directory = URL(fileURLWithPath: path).deletingLastPathComponent().path
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        }
        let writeConnection = try SQLiteDatabase(path: path)
        // FULL: a commit is on disk before the webhook is answered (the durability promise).
        try writeConnection.execute("PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL; PRAGMA foreign_keys=ON;")
        try Migrations.migrate(writeConnection)
        let readConnection = try SQLiteDatabase(path: path)
        try readConnection.execute("PRAGMA query_only=ON;")
        writer = SerializedDatabase(writeConnection)
        reader = SerializedDatabase(readConnection)
        committer = Mutex(nil)
        let committer = GroupCommitter(
            maxBatch: maxBatch,
            write: { [writer] records in try writer.withDatabase { try Self.insert(records, into: $0) } },
            committed: { [appendHooks] in appendHooks.callAll() }
        )
        self.committer.withLock { $0 = committer }
    }

    /// Stops the group committer after it has committed what it holds.
    public func close() {
        let committer = self.committer.withLock { committer in
            defer { committer = nil }
            return committer
        }
        committer?.stop()
    }

    deinit { close() }

    /// Registers a hook called after every group commit.
    public func onAppend(_ hook: @escaping @Sendable () -> Void) {
        appendHooks.add(hook)
    }

    func write<T>(_ body: (SQLiteDatabase) throws -> T) throws -> T {
        try writer.withDatabase { database in try database.transaction { try body(database) } }
    }

    func read<T>(_ body: (SQLiteDatabase) throws -> T) throws -> T {
        try reader.withDatabase { database in
            try database.execute("BEGIN")
            defer { try? database.execute("COMMIT") }
            return try body(database)
        }
    }

    // MARK: Event log

    public func append(_ record: InboundRecord, completion: @escaping @Sendable (Result<AppendOutcome, any Error>) -> Void) {
        guard let committer = committer.withLock({ $0 }) else {
            completion(.failure(StoreClosed()))
            return
        }
        committer.append(record, completion: completion)
    }

    private static func insert(_ records: [InboundRecord], into database: SQLiteDatabase) throws -> [AppendOutcome] {
        try database.transaction {
            let insert = try database.statement(
                "INSERT OR IGNORE INTO inbound (source, dedupe_key, received_at, body) VALUES (?, ?, ?, ?)"
            )
            return try records.map { record in
                try insert.run([
                    .text(record.source), record.dedupeKey.map(SQLiteValue.text) ?? .null,
                    .real(record.receivedAt.timeIntervalSince1970), .blob(record.body),
                ])
                return database.changes == 0 ? .duplicate : .stored(sequence: database.lastInsertRowID)
            }
        }
    }

    private static let inboundColumns = "seq, source, dedupe_key, received_at, body"

    private static func inboundRecord(_ row: SQLiteRow) -> InboundRecord {
        InboundRecord(
            sequence: row.int(0), source: row.text(1) ?? "", dedupeKey: row.text(2),
            receivedAt: row.date(3) ?? .distantPast, body: row.blob(4)
        )
    }

    public func inbound(after sequence: Int64, limit: Int) throws -> [InboundRecord] {
        try read { db in
            try db.statement("SELECT \(Self.inboundColumns) FROM inbound WHERE seq > ? ORDER BY seq LIMIT ?")
                .rows([.integer(sequence), .integer(Int64(limit))], Self.inboundRecord)
        }
    }

    public func inbound(receivedFrom start: Date, to end: Date) throws -> [InboundRecord] {
        try read { db in
            try db.statement(
                "SELECT \(Self.inboundColumns) FROM inbound WHERE received_at >= ? AND received_at < ? ORDER BY seq"
            ).rows([.real(start.timeIntervalSince1970), .real(end.timeIntervalSince1970)], Self.inboundRecord)
        }
    }

    public func cursor(_ name: String) throws -> Int64 {
        try read { db in try Self.cursor(name, in: db) }
    }

    private static func cursor(_ name: String, in db: SQLiteDatabase) throws -> Int64 {
        try db.statement("SELECT position FROM cursors WHERE name = ?").first([.text(name)]) { $0.int(0) } ?? 0
    }

    static func advance(_ name: String?, to position: Int64, in db: SQLiteDatabase) throws {
        guard let name else { return }
        try db.statement(
            "INSERT INTO cursors (name, position) VALUES (?, ?) ON CONFLICT(name) DO UPDATE SET position = max(position, excluded.position)"
        ).run([.text(name), .integer(position)])
    }
}
