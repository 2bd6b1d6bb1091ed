import CSQLite
import Foundation

/// An SQLite failure: the call, SQLite's code and message. SQL arguments are never part
/// of it, so no customer data ends up in a log through an error.
public struct SQLiteError: Error, CustomStringConvertible, Sendable {
    public let code: Int32
    public let message: String
    public let context: String
    public var description: String { "\(context): \(message) (SQLite code \(code))" }
}

/// One SQLite connection. Not thread-safe by itself: `SQLiteStore` owns each connection
/// behind a lock and never lets the handle escape its closures.
final class SQLiteDatabase {
    private(set) var handle: OpaquePointer?
    private var statements: [StatementKey: SQLiteStatement] = [:]

    /// Process-wide set-up, once, before the first connection (see the C shim).
    private static let configured: Void = { _ = csqlite_disable_memory_statistics() }()

    init(path: String, readOnly: Bool = false) throws {
        Self.configured
        let flags = readOnly ? SQLITE_OPEN_READONLY : (SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE)
        let code = sqlite3_open_v2(path, &handle, flags | SQLITE_OPEN_NOMUTEX, nil)
        guard code == SQLITE_OK else {
            let message = handle.map { String(cString: sqlite3_errmsg($0)) } ?? "out of memory"
            sqlite3_close_v2(handle)
            handle = nil
            throw SQLiteError(code: code, message: message, context: "open \(path)")
        }
        sqlite3_busy_timeout(handle, 10_000)
        sqlite3_extended_result_codes(handle, 1)
    }

    deinit {
        statements.removeAll()
        sqlite3_close_v2(handle)
    }

    func execute(_ sql: String) throws {
        var error: UnsafeMutablePointer<CChar>?
        let code = sqlite3_exec(handle, sql, nil, nil, &error)
        if code != SQLITE_OK {
            let message = error.map { String(cString: $0) } ?? "unknown error"
            sqlite3_free(error)
            throw SQLiteError(code: code, message: message, context: "execute")
        }
    }

    /// A prepared statement, cached by its SQL text for the life of the connection.
    func statement(_ sql: String) throws -> SQLiteStatement {
        if let cached = statements[StatementKey(sql: sql)] {
            cached.reset()
            return cached
        }
        var raw: OpaquePointer?
        let code = sqlite3_prepare_v3(handle, sql, -1, UInt32(SQLITE_PREPARE_PERSISTENT), &raw, nil)
        guard code == SQLITE_OK, let raw else { throw error(code, "prepare") }
        let statement = SQLiteStatement(raw, database: self)
        statements[StatementKey(sql: sql)] = statement
        return statement
    }

    /// SQL text as a cache key, hashed by its length and its first and last 32 bytes rather
    /// than all of it: statements are looked up for every row written, and texts of a few
    /// hundred bytes cost more to hash than the lookup saves. Equality compares the whole text
    /// byte for byte, as SQLite reads it (not `String`'s Unicode equivalence, which the hash
    /// would not agree with).
    private struct StatementKey: Hashable {
        let sql: String

        // The texts are read in place (`utf8.withContiguousStorageIfAvailable`), not copied
        // into a variable for `withUTF8`: that copy is a retain and a release per lookup.
        // Statement texts are native strings: the fallbacks are for completeness.
        static func == (lhs: StatementKey, rhs: StatementKey) -> Bool {
            let equal = lhs.sql.utf8.withContiguousStorageIfAvailable { left in
                rhs.sql.utf8.withContiguousStorageIfAvailable { right in
                    // The same literal is the same memory: most lookups end at the address.
                    left.count == right.count
                        && (left.count == 0 || left.baseAddress == right.baseAddress
                            || memcmp(left.baseAddress!, right.baseAddress!, left.count) == 0)
                }
            }
            return (equal ?? nil) ?? lhs.sql.utf8.elementsEqual(rhs.sql.utf8)
        }

        func hash(into hasher: inout Hasher) {
            func combine(_ bytes: UnsafeBufferPointer<UInt8>) {
                hasher.combine(bytes.count)
                hasher.combine(bytes: UnsafeRawBufferPointer(UnsafeBufferPointer(rebasing: bytes.prefix(32))))
                hasher.combine(bytes: UnsafeRawBufferPointer(UnsafeBufferPointer(rebasing: bytes.suffix(32))))
            }
            if sql.utf8.withContiguousStorageIfAvailable(combine) == nil {
                var sql = sql
                sql.withUTF8(combine)
            }
        }
    }

    /// Runs `body` in one transaction: committed if it returns, rolled back if it throws.
    /// BEGIN and COMMIT are prepared once, like any statement: on the group committer's
    /// path they run for every batch.
    func transaction<T>(_ body: () throws -> T) throws -> T {
        try statement("BEGIN IMMEDIATE").run()
        do {
            let result = try body()
            try statement("COMMIT").run()
            return result
        } catch {
            try? execute("ROLLBACK")
            throw error
        }
    }

    var changes: Int { Int(sqlite3_changes(handle)) }
    var lastInsertRowID: Int64 { sqlite3_last_insert_rowid(handle) }

    func error(_ code: Int32, _ context: String) -> SQLiteError {
        SQLiteError(code: code, message: String(cString: sqlite3_errmsg(handle)), context: context)
    }
}

/// A value bound to or read from a statement.
enum SQLiteValue {
    case null
    case integer(Int64)
    case real(Double)
    case text(String)
    case blob([UInt8])
}

final class SQLiteStatement {
    private let raw: OpaquePointer
    private unowned let database: SQLiteDatabase
    /// The text and blob parameters of the last `bind`, which SQLite reads in place
    /// (`SQLITE_STATIC`) instead of copying each into an allocation of its own. They stay
    /// valid until the next `bind`, which binds every parameter again.
    private var parameterBytes = UnsafeMutableRawBufferPointer.allocate(byteCount: 512, alignment: 8)

    init(_ raw: OpaquePointer, database: SQLiteDatabase) {
        self.raw = raw
        self.database = database
    }

    deinit {
        sqlite3_finalize(raw)
        parameterBytes.deallocate()
    }

    func reset() {
        sqlite3_reset(raw)
        sqlite3_clear_bindings(raw)
    }

    @discardableResult
    func bind(_ values: [SQLiteValue]) -> SQLiteStatement {
        // SQLite ignores a value past the last parameter and leaves a missing one NULL: a
        // statement changed without its values would write the wrong thing without a word.
        assert(
            values.count == Int(sqlite3_bind_parameter_count(raw)),
            "\(values.count) values for \(sqlite3_bind_parameter_count(raw)) parameters: \(String(cString: sqlite3_sql(raw)))")
        var needed = 0
        for value in values {
            switch value {
            case .text(let v): needed += v.utf8.count
            case .blob(let v): needed += v.count
            case .null, .integer, .real: continue
            }
        }
        if needed > parameterBytes.count {
            // Nothing bound points here any more: every parameter is bound again below.
            parameterBytes.deallocate()
            parameterBytes = .allocate(byteCount: needed.roundedUpToPowerOfTwo, alignment: 8)
        }
        let base = parameterBytes.baseAddress!
        var used = 0
        for (offset, value) in values.enumerated() {
            let index = Int32(offset + 1)
            switch value {
            case .null: sqlite3_bind_null(raw, index)
            case .integer(let v): sqlite3_bind_int64(raw, index, v)
            case .real(let v): sqlite3_bind_double(raw, index, v)
            case .text(var v):
                // With its length, so that text with a NUL in it is kept whole.
                let count = v.withUTF8 { bytes in
                    if let source = bytes.baseAddress { (base + used).copyMemory(from: source, byteCount: bytes.count) }
                    return bytes.count
                }
                sqlite3_bind_text64(
                    raw, index, (base + used).assumingMemoryBound(to: CChar.self), UInt64(count), nil,
                    UInt8(SQLITE_UTF8))
                used += count
            case .blob(let v):
                v.withUnsafeBytes { bytes in
                    if let source = bytes.baseAddress { (base + used).copyMemory(from: source, byteCount: bytes.count) }
                }
                sqlite3_bind_blob64(raw, index, base + used, UInt64(v.count), nil)
                used += v.count
            }
        }
        return self
    }

    /// Steps once; true while a row is available.
    func step() throws -> Bool {
        switch sqlite3_step(raw) {
        case SQLITE_ROW: return true
        case SQLITE_DONE: return false
        case let code: throw database.error(code, "step")
        }
    }

    /// Runs a statement that returns no rows.
    func run(_ values: [SQLiteValue] = []) throws {
        bind(values)
        defer { sqlite3_reset(raw) }
        while try step() {}
    }

    /// Reads every row.
    func rows<T>(_ values: [SQLiteValue] = [], _ read: (SQLiteRow) throws -> T) throws -> [T] {
        bind(values)
        defer { sqlite3_reset(raw) }
        var out: [T] = []
        while try step() { out.append(try read(SQLiteRow(raw: raw))) }
        return out
    }

    func first<T>(_ values: [SQLiteValue] = [], _ read: (SQLiteRow) throws -> T) throws -> T? {
        bind(values)
        defer { sqlite3_reset(raw) }
        return try step() ? try read(SQLiteRow(raw: raw)) : nil
    }
}

/// The current row of a statement, read by column index.
struct SQLiteRow {
    let raw: OpaquePointer

    func isNull(_ column: Int32) -> Bool { sqlite3_column_type(raw, column) == SQLITE_NULL }
    func int(_ column: Int32) -> Int64 { sqlite3_column_int64(raw, column) }
    func double(_ column: Int32) -> Double { sqlite3_column_double(raw, column) }

    func text(_ column: Int32) -> String? {
        guard let pointer = sqlite3_column_text(raw, column) else { return nil }
        let count = Int(sqlite3_column_bytes(raw, column))
        return String(decoding: UnsafeRawBufferPointer(start: pointer, count: count), as: UTF8.self)
    }

    func blob(_ column: Int32) -> [UInt8] {
        let count = Int(sqlite3_column_bytes(raw, column))
        guard count > 0, let pointer = sqlite3_column_blob(raw, column) else { return [] }
        return Array(UnsafeRawBufferPointer(start: pointer, count: count))
    }

    func date(_ column: Int32) -> Date? {
        isNull(column) ? nil : Date(timeIntervalSince1970: double(column))
    }
}

extension Int {
    fileprivate var roundedUpToPowerOfTwo: Int { self <= 1 ? 1 : 1 << (Int.bitWidth - (self - 1).leadingZeroBitCount) }
}
