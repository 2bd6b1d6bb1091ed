import Foundation
import LiaisonCore

extension SQLiteStore {
    static func enqueue(_ d: NewDelivery, now: Date, in db: SQLiteDatabase) throws {
        // The idempotency key is unique: planning the same effect twice enqueues it once.
        try db.statement(
            """
            INSERT OR IGNORE INTO deliveries
                (target, operation, partition_key, idempotency_key, payload, status, next_attempt_at, created_at, updated_at)
            VALUES (?, ?, ?, ?, ?, 'pending', ?, ?, ?)
            """
        ).run([
            .text(d.target), .text(d.operation), .text(d.partition), .text(d.idempotencyKey.rawValue), .blob(d.payload),
            .real(now.timeIntervalSince1970), .real(now.timeIntervalSince1970), .real(now.timeIntervalSince1970),
        ])
    }

    private static let deliveryColumns = """
        id, target, operation, partition_key, idempotency_key, payload, status, attempts, next_attempt_at,
        uncertain, last_error, remote_id, created_at
        """

    private static func delivery(_ row: SQLiteRow) -> Delivery {
        Delivery(
            id: row.int(0), target: row.text(1) ?? "", operation: row.text(2) ?? "", partition: row.text(3) ?? "",
            idempotencyKey: IdempotencyKey(row.text(4) ?? ""), payload: row.blob(5),
            status: DeliveryStatus(rawValue: row.text(6) ?? "") ?? .pending, attempts: Int(row.int(7)),
            nextAttemptAt: row.date(8) ?? .distantPast, uncertain: row.int(9) != 0, lastError: row.text(10),
            remoteID: row.text(11), createdAt: row.date(12) ?? .distantPast
        )
    }

    /// `d` is the head of its partition: its oldest pending delivery, the only one that may run.
    private static let partitionHead = """
        d.status = 'pending'
          AND NOT EXISTS (SELECT 1 FROM deliveries e
                          WHERE e.partition_key = d.partition_key AND e.status = 'pending' AND e.id < d.id)
        """

    public func dueDeliveries(now: Date, limit: Int, excludingPartitions: Set<String>) throws -> [Delivery] {
        try read { db in
            // Only a due head may run.
            let heads = try db.statement(
                """
                SELECT \(Self.deliveryColumns) FROM deliveries d
                WHERE \(Self.partitionHead) AND d.next_attempt_at <= ?
                ORDER BY d.next_attempt_at, d.id LIMIT ?
                """
            ).rows(
                [.real(now.timeIntervalSince1970), .integer(Int64(limit + excludingPartitions.count))], Self.delivery)
            return Array(heads.filter { !excludingPartitions.contains($0.partition) }.prefix(limit))
        }
    }

    public func markDelivered(_ id: Int64, remoteID: String, now: Date) throws {
        try write { db in
            try db.statement(
                """
                UPDATE deliveries SET status = 'delivered', attempts = attempts + 1, remote_id = ?, uncertain = 0,
                    last_error = NULL, updated_at = ? WHERE id = ?
                """
            ).run([.text(remoteID), .real(now.timeIntervalSince1970), .integer(id)])
        }
    }

    public func markRetry(_ id: Int64, error: String, uncertain: Bool, nextAttemptAt: Date, now: Date) throws {
        try write { db in
            // Once uncertain, a delivery stays so until it succeeds: an earlier write may have landed.
            try db.statement(
                """
                UPDATE deliveries SET attempts = attempts + 1, last_error = ?, uncertain = max(uncertain, ?),
                    next_attempt_at = ?, updated_at = ? WHERE id = ?
                """
            ).run([
                .text(error), .integer(uncertain ? 1 : 0), .real(nextAttemptAt.timeIntervalSince1970),
                .real(now.timeIntervalSince1970), .integer(id),
            ])
        }
    }

    public func markDead(_ id: Int64, error: String, now: Date) throws {
        try write { db in
            try db.statement(
                "UPDATE deliveries SET status = 'dead', attempts = attempts + 1, last_error = ?, updated_at = ? WHERE id = ?"
            ).run([.text(error), .real(now.timeIntervalSince1970), .integer(id)])
        }
    }

    public func nextDeliveryDue(excludingPartitions busy: Set<String>) throws -> Date? {
        try read { db in
            // Only a partition's head can run next: one waiting behind a head that backs off,
            // or behind an attempt in flight, is not due whatever its own time says.
            let heads = try db.statement(
                """
                SELECT d.partition_key, d.next_attempt_at FROM deliveries d WHERE \(Self.partitionHead)
                ORDER BY d.next_attempt_at, d.id LIMIT ?
                """
            ).rows([.integer(Int64(busy.count + 1))]) { row in (partition: row.text(0) ?? "", due: row.date(1)) }
            return heads.first { !busy.contains($0.partition) }?.due ?? nil
        }
    }

    public func delivery(id: Int64) throws -> Delivery? {
        try read { db in
            try db.statement("SELECT \(Self.deliveryColumns) FROM deliveries WHERE id = ?").first(
                [.integer(id)], Self.delivery)
        }
    }

    public func deliveries(status: DeliveryStatus, limit: Int) throws -> [Delivery] {
        try read { db in
            try db.statement("SELECT \(Self.deliveryColumns) FROM deliveries WHERE status = ? ORDER BY id LIMIT ?")
                .rows([.text(status.rawValue), .integer(Int64(limit))], Self.delivery)
        }
    }

    public func requeueDead(ids: [Int64]?, now: Date) throws -> Int {
        try write { db in
            let reset = "status = 'pending', attempts = 0, next_attempt_at = ?, updated_at = ?"
            let time: [SQLiteValue] = [.real(now.timeIntervalSince1970), .real(now.timeIntervalSince1970)]
            guard let ids else {
                try db.statement("UPDATE deliveries SET \(reset) WHERE status = 'dead'").run(time)
                return db.changes
            }
            var count = 0
            for id in ids {
                try db.statement("UPDATE deliveries SET \(reset) WHERE status = 'dead' AND id = ?").run(
                    time + [.integer(id)])
                count += db.changes
            }
            return count
        }
    }

    public func ledgerEntry(_ key: IdempotencyKey) throws -> String? {
        try read { db in
            try db.statement("SELECT remote_id FROM ledger WHERE idempotency_key = ?").first([.text(key.rawValue)]) {
                $0.text(0)
            } ?? nil
        }
    }

    public func expectEcho(system: String, kind: String, keys: [String], from: Date, until: Date) throws {
        try write { db in
            // Expected again while it stands: since the first time, until the later end.
            let insert = try db.statement(
                """
                INSERT INTO echoes (system, kind, key, since, expires_at) VALUES (?, ?, ?, ?, ?)
                ON CONFLICT (system, kind, key) DO UPDATE SET
                    since = CASE WHEN echoes.expires_at < excluded.since THEN excluded.since ELSE echoes.since END,
                    expires_at = max(echoes.expires_at, excluded.expires_at)
                """)
            for key in keys {
                try insert.run([
                    .text(system), .text(kind), .text(key), .real(from.timeIntervalSince1970),
                    .real(until.timeIntervalSince1970),
                ])
            }
        }
    }

    public func isExpectedEcho(system: String, kind: String, keys: [String], now: Date) throws -> Bool {
        guard !keys.isEmpty else { return false }
        return try write { db in
            try db.statement("DELETE FROM echoes WHERE expires_at < ?").run([.real(now.timeIntervalSince1970)])
            // Kept until it expires, not taken: the pipeline applies the event in a later
            // transaction, and a crash in between must find the echo again.
            for key in keys {
                // Standing when the event came: a record someone else made before our create
                // began is theirs (an echo expected from before migration 0012 has no start).
                let known =
                    try db.statement(
                        "SELECT 1 FROM echoes WHERE system = ? AND kind = ? AND key = ? AND (since IS NULL OR since <= ?)"
                    )
                    .first([.text(system), .text(kind), .text(key), .real(now.timeIntervalSince1970)]) { _ in true }
                    ?? false
                if known { return true }
            }
            return false
        }
    }

    public func pendingDigests() throws -> [String: [DigestLine]] {
        try read { db in
            var digests: [String: [DigestLine]] = [:]
            let rows = try db.statement("SELECT recipient, id, key, line FROM digest_items ORDER BY id").rows { row in
                (row.text(0) ?? "", DigestLine(id: row.int(1), key: row.text(2) ?? "", line: row.text(3) ?? ""))
            }
            for (recipient, line) in rows {
                digests[recipient, default: []].append(line)
            }
            return digests
        }
    }

    public func flushDigest(recipient: String, throughID: Int64, delivery: NewDelivery, now: Date) throws {
        try write { db in
            try Self.enqueue(delivery, now: now, in: db)
            try db.statement("DELETE FROM digest_items WHERE recipient = ? AND id <= ?")
                .run([.text(recipient), .integer(throughID)])
        }
    }

    public func recordLedger(_ key: IdempotencyKey, target: String, remoteID: String, now: Date) throws {
        try write { db in
            try db.statement(
                "INSERT OR REPLACE INTO ledger (idempotency_key, target, remote_id, recorded_at) VALUES (?, ?, ?, ?)"
            ).run([.text(key.rawValue), .text(target), .text(remoteID), .real(now.timeIntervalSince1970)])
            try db.statement("DELETE FROM ledger_intents WHERE idempotency_key = ?").run([.text(key.rawValue)])
        }
    }

    public func recordIntent(_ key: IdempotencyKey, target: String, now: Date) throws {
        try write { db in
            // The last intent's time: a write sent then may still be landing until a timeout later.
            try db.statement(
                """
                INSERT INTO ledger_intents (idempotency_key, target, intended_at) VALUES (?, ?, ?)
                ON CONFLICT(idempotency_key) DO UPDATE SET intended_at = excluded.intended_at
                """
            ).run([.text(key.rawValue), .text(target), .real(now.timeIntervalSince1970)])
        }
    }

    public func forgetLedger(_ key: IdempotencyKey) throws {
        try write { db in
            try db.statement("DELETE FROM ledger WHERE idempotency_key = ?").run([.text(key.rawValue)])
        }
    }

    public func intentTime(_ key: IdempotencyKey) throws -> Date? {
        try read { db in
            try db.statement("SELECT intended_at FROM ledger_intents WHERE idempotency_key = ?")
                .first([.text(key.rawValue)]) { $0.date(0) } ?? nil
        }
    }

    public func queueDepths() throws -> QueueDepths {
        let cursor = try self.cursor(Self.pipelineCursor)
        // The log is appended to and never thinned, so its last sequence less the cursor is
        // the backlog, without counting it.
        let last = try readLog { db in try db.statement("SELECT max(seq) FROM inbound").first { $0.int(0) } ?? 0 }
        return try read { db in
            func count(_ sql: String) throws -> Int { Int(try db.statement(sql).first { $0.int(0) } ?? 0) }
            return QueueDepths(
                pipeline: Int(max(last - cursor, 0)),
                outbox: try count("SELECT count(*) FROM deliveries WHERE status = 'pending'"),
                deadLetters: try count("SELECT count(*) FROM deliveries WHERE status = 'dead'"),
                conversationsWithPending: try count("SELECT count(*) FROM conversations WHERE pending > 0"))
        }
    }

    public func status() throws -> StoreStatus {
        let cursor = try self.cursor(Self.pipelineCursor)
        let (records, unprocessed) = try readLog { db in
            (
                Int(try db.statement("SELECT count(*) FROM inbound").first { $0.int(0) } ?? 0),
                Int(
                    try db.statement("SELECT count(*) FROM inbound WHERE seq > ?").first([.integer(cursor)]) {
                        $0.int(0)
                    } ?? 0)
            )
        }
        return try read { db in
            func count(_ sql: String, _ values: [SQLiteValue] = []) throws -> Int {
                Int(try db.statement(sql).first(values) { $0.int(0) } ?? 0)
            }
            return StoreStatus(
                inboundRecords: records,
                inboundRejected: try count("SELECT count(*) FROM inbound_rejections"),
                inboundUnprocessed: unprocessed,
                conversations: try count("SELECT count(*) FROM conversations"),
                conversationsWithPending: try count("SELECT count(*) FROM conversations WHERE pending > 0"),
                messages: try count("SELECT count(*) FROM messages"),
                deliveriesPending: try count(
                    "SELECT count(*) FROM deliveries WHERE status = 'pending' AND attempts = 0"),
                deliveriesRetrying: try count(
                    "SELECT count(*) FROM deliveries WHERE status = 'pending' AND attempts > 0"),
                deliveriesDelivered: try count("SELECT count(*) FROM deliveries WHERE status = 'delivered'"),
                deliveriesDead: try count("SELECT count(*) FROM deliveries WHERE status = 'dead'"),
                oldestPendingDeliveryAt: try db.statement(
                    "SELECT min(created_at) FROM deliveries WHERE status = 'pending'"
                )
                .first { $0.date(0) } ?? nil
            )
        }
    }
}
