import Foundation
import LiaisonCore
import Synchronization

/// The embedded store: a directory with two SQLite files in WAL mode.
///
/// - `events.db`, the durable event log: append-only, written only by the group committer,
///   so an ingest never waits behind other writes (SQLite has one writer per file).
/// - `state.db`: what the pipeline derived from the log (with the log cursor, in the same
///   transactions), the outbox and the delivery ledger.
///
/// Each file has one writer connection and one reader connection, each behind its own
/// lock; handles never leave this type.
public final class SQLiteStore: Store {
    /// The pipeline's position in the inbound log.
    public static let pipelineCursor = "pipeline"

    let logWriter: SerializedDatabase
    let logReader: SerializedDatabase
    let stateWriter: SerializedDatabase
    let stateReader: SerializedDatabase
    /// Closing stops it; a stopped committer refuses appends (`StoreClosed`).
    private let committer: GroupCommitter
    /// Held by the hub from open to close (`StoreAccess.hub`).
    private let lock: Mutex<StoreLock?>
    /// Called after each group commit (the pipeline waits on it).
    private let appendHooks = HookList()
    /// How far the pipeline is behind the log; holds ingest back past its limit.
    public let backlog: LogBacklog
    /// The log's newest records, for the pipeline to read without SQLite.
    let recent = RecentLog()
    public let directory: String

    /// Opens and migrates the store in `directory`.
    /// - Parameters:
    ///   - maxBatch: the most records one group commit takes.
    ///   - access: whether a missing store is created, and whether this process holds it alone.
    ///   - backlog: the pipeline's distance behind the log, and the brake on ingest.
    public init(
        directory: String, maxBatch: Int = 4096, access: StoreAccess = .create, backlog: LogBacklog = LogBacklog()
    ) throws {
        self.directory = directory
        self.backlog = backlog
        if access == .existing {
            guard FileManager.default.fileExists(atPath: "\(directory)/events.db") else {
                throw StoreMissing(directory: directory)
            }
        } else {
            do {
                try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
            } catch {
                throw StoreUnusable(directory: directory, problem: "cannot be created (\(error.localizedDescription))")
            }
        }
        lock = Mutex(access == .hub ? try StoreLock(directory: directory) : nil)
        let migrate = access != .existing
        let (logWriter, logReader) = try Self.open("\(directory)/events.db", migrations: Migrations.log, migrate: migrate)
        let (stateWriter, stateReader) = try Self.open(
            "\(directory)/state.db", migrations: Migrations.state, migrate: migrate)
        // The pipeline's writes land all over the messages index (a leaf per conversation) and
        // rewrite the same pages batch after batch: a 32 MB page cache keeps them (SQLite's
        // default is 2 MB), and a checkpoint every 10,000 pages (40 MB of WAL; the default is
        // 1,000) copies each of those pages into the file a tenth as often. `liaison bench
        // pipeline`, new messages: 9.75–10.14 µs a record at best before, 8.09–8.86 after.
        try stateWriter.withDatabase { try $0.execute("PRAGMA cache_size=-32000; PRAGMA wal_autocheckpoint=10000;") }
        self.logWriter = logWriter
        self.logReader = logReader
        self.stateWriter = stateWriter
        self.stateReader = stateReader
        committer = GroupCommitter(
            maxBatch: maxBatch, backlog: backlog,
            write: { [logWriter, recent, tail = LogTail()] records in
                try logWriter.withDatabase { try Self.insert(&records, into: $0, after: tail, recent: recent) }
            },
            committed: { [appendHooks] records in appendHooks.callAll(records) }
        )
    }

    /// Opens one file of the store; migrates it, or (`migrate` false, for tools) checks that
    /// its schema is this binary's.
    private static func open(_ path: String, migrations: [Migration], migrate: Bool) throws
        -> (SerializedDatabase, SerializedDatabase)
    {
        let writer = try SQLiteDatabase(path: path)
        // FULL: a commit is on disk before it is acknowledged (the durability promise).
        try writer.execute("PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL;")
        if migrate {
            try Migrations.migrate(writer, steps: migrations)
        } else {
            try Migrations.check(writer, steps: migrations, file: path)
        }
        let reader = try SQLiteDatabase(path: path)
        try reader.execute("PRAGMA query_only=ON;")
        return (SerializedDatabase(writer), SerializedDatabase(reader))
    }

    /// Holds the store as a hub does, for a tool that must not run beside one (a replay that
    /// resolves identities): false when a hub holds it. Held until `close`.
    public func holdAlone() -> Bool {
        lock.withLock { held in
            if held != nil { return true }
            held = try? StoreLock(directory: directory)
            return held != nil
        }
    }

    /// Stops the group committer after it has committed what it holds.
    public func close() {
        committer.stop()
        lock.withLock { $0 = nil }
    }

    deinit { close() }

    /// Registers a hook called after every group commit, with the number of records it made
    /// durable in one transaction and one fsync.
    public func onAppend(_ hook: @escaping @Sendable (_ records: Int) -> Void) {
        appendHooks.add(hook)
    }

    /// A transaction on the state file.
    func write<T>(_ body: (SQLiteDatabase) throws -> T) throws -> T {
        try stateWriter.withDatabase { database in try database.transaction { try body(database) } }
    }

    /// A write whose loss in a power cut costs nothing but redoing it: state derived
    /// from the durable log, behind a cursor that would move back with it. It skips the
    /// fsync (synchronous=NORMAL); the next durable commit to the file flushes it too.
    func derivedWrite<T>(_ body: (SQLiteDatabase) throws -> T) throws -> T {
        try stateWriter.withDatabase { database in
            try database.execute("PRAGMA synchronous=NORMAL")
            defer { try? database.execute("PRAGMA synchronous=FULL") }
            return try database.transaction { try body(database) }
        }
    }

    /// A consistent read of the state file.
    func read<T>(_ body: (SQLiteDatabase) throws -> T) throws -> T {
        try Self.read(stateReader, body)
    }

    func readLog<T>(_ body: (SQLiteDatabase) throws -> T) throws -> T {
        try Self.read(logReader, body)
    }

    private static func read<T>(_ connection: SerializedDatabase, _ body: (SQLiteDatabase) throws -> T) throws -> T {
        try connection.withDatabase { database in
            try database.statement("BEGIN").run()
            defer { try? database.statement("COMMIT").run() }
            return try body(database)
        }
    }

    // MARK: Event log

    public func append(
        _ record: InboundRecord, completion: @escaping @Sendable (Result<AppendOutcome, any Error>) -> Void
    ) {
        committer.append(record, completion: completion)
    }

    /// Appends a batch in one transaction. `received_at` never goes back along the log:
    /// two HTTP threads stamp their requests a few microseconds apart and may queue them
    /// in the other order, and a clock may be set back; a record is stamped no earlier than
    /// the one before it, so that a time range is a range of sequences (`inbound(receivedFrom:to:)`).
    /// Each record stored is given its sequence and time in place; once committed, they go
    /// to `recent` as the file now has them, and `records` is left empty (with room for as
    /// many, since the committer hands its buffer back to the queue).
    private static func insert(
        _ records: inout [InboundRecord], into database: SQLiteDatabase, after tail: LogTail, recent: RecentLog
    ) throws -> [AppendOutcome] {
        var latest = -Double.infinity
        let outcomes: [AppendOutcome] = try database.transaction {
            let insert = try database.statement(
                "INSERT OR IGNORE INTO inbound (source, dedupe_key, received_at, body) VALUES (?, ?, ?, ?)"
            )
            latest =
                try tail.receivedAt
                ?? database.statement("SELECT received_at FROM inbound ORDER BY seq DESC LIMIT 1").first {
                    $0.double(0)
                } ?? -Double.infinity
            return try records.indices.map { index -> AppendOutcome in
                latest = max(latest, records[index].receivedAt.timeIntervalSince1970)
                try insert.run([
                    .text(records[index].source), records[index].dedupeKey.map(SQLiteValue.text) ?? .null,
                    .real(latest), .blob(records[index].body),
                ])
                guard database.changes > 0 else { return .duplicate }
                records[index].sequence = database.lastInsertRowID
                records[index].receivedAt = Date(timeIntervalSince1970: latest)
                return .stored(sequence: records[index].sequence)
            }
        }
        // Only once committed: a batch rolled back leaves the log's end where it was.
        tail.receivedAt = latest
        var committed: [InboundRecord] = []
        committed.reserveCapacity(max(16, records.count))
        swap(&committed, &records)
        if outcomes.contains(.duplicate) {
            committed = zip(committed, outcomes).filter { $0.1 != .duplicate }.map(\.0)
        }
        recent.committed(committed)
        return outcomes
    }

    /// The time of the log's last record, kept by the committer between batches (it alone
    /// appends) so that a batch does not read it back; nil until the first batch has.
    private final class LogTail: @unchecked Sendable {
        var receivedAt: Double?
    }

    private static let inboundColumns = "seq, source, dedupe_key, received_at, body"

    private static func inboundRecord(_ row: SQLiteRow) -> InboundRecord {
        InboundRecord(
            sequence: row.int(0), source: row.text(1) ?? "", dedupeKey: row.text(2),
            receivedAt: row.date(3) ?? .distantPast, body: row.blob(4)
        )
    }

    public func inbound(after sequence: Int64, limit: Int) throws -> [InboundRecord] {
        if let held = recent.records(after: sequence, limit: limit) { return held }
        return try readLog { db in
            try db.statement("SELECT \(Self.inboundColumns) FROM inbound WHERE seq > ? ORDER BY seq LIMIT ?")
                .rows([.integer(sequence), .integer(Int64(limit))], Self.inboundRecord)
        }
    }

    /// The records received in `start..<end`. The log's times rise with its sequence
    /// (`insert`), so the range's ends are found by binary search over `seq`, a few dozen
    /// primary-key lookups however long the log. Times are also checked row by row: a log
    /// written before the committer kept its times in order may have a few out of order by
    /// microseconds, which can then be missed at the range's edges, never wrongly included.
    public func inbound(receivedFrom start: Date, to end: Date, after: Int64, limit: Int) throws -> [InboundRecord] {
        try readLog { db in
            let (from, to) = (start.timeIntervalSince1970, end.timeIntervalSince1970)
            let pastLast = (try db.statement("SELECT max(seq) FROM inbound").first { $0.int(0) } ?? 0) + 1
            let first = max(try Self.firstSequence(receivedAtOrAfter: from, before: pastLast, in: db), after + 1)
            let past = try Self.firstSequence(receivedAtOrAfter: to, before: pastLast, in: db)
            guard first < past else { return [] }
            return try db.statement(
                """
                SELECT \(Self.inboundColumns) FROM inbound
                WHERE seq >= ? AND seq < ? AND received_at >= ? AND received_at < ? ORDER BY seq LIMIT ?
                """
            ).rows([.integer(first), .integer(past), .real(from), .real(to), .integer(Int64(limit))], Self.inboundRecord)
        }
    }

    /// The least sequence from which on every record was received at `time` or later (`end`,
    /// one past the log's last, if none was), by bisecting the sequences: the first row at
    /// or after a midpoint says which half the boundary is in, gaps or not.
    private static func firstSequence(receivedAtOrAfter time: Double, before end: Int64, in db: SQLiteDatabase) throws
        -> Int64
    {
        let next = try db.statement("SELECT seq, received_at FROM inbound WHERE seq >= ? ORDER BY seq LIMIT 1")
        var (low, high) = (Int64(0), end)
        while low < high {
            let middle = low + (high - low) / 2
            guard let (sequence, receivedAt) = try next.first([.integer(middle)], { ($0.int(0), $0.double(1)) }),
                receivedAt < time
            else {
                high = middle
                continue
            }
            low = sequence + 1
        }
        return low
    }

    public func moveCursor(_ name: String, to position: Int64) throws {
        try write { db in try Self.advance(name, to: position, in: db) }
    }

    public func resetCursor(_ name: String, to position: Int64) throws {
        try write { db in
            try db.statement(
                "INSERT INTO cursors (name, position) VALUES (?, ?) ON CONFLICT(name) DO UPDATE SET position = excluded.position"
            ).run([.text(name), .integer(position)])
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
