import Foundation
import LiaisonCore

extension SQLiteStore {
    public func apply(_ batch: [DecodedRecord], cursor: String?, now: Date) throws -> ApplyResult {
        // Messages and conversation counters derive from the log: replayed after a crash,
        // so written without the fsync, unless the batch queues something to send.
        if batch.contains(where: \.isDurableEffect) {
            return try write { db in try apply(batch, cursor: cursor, now: now, in: db) }
        }
        return try derivedWrite { db in try apply(batch, cursor: cursor, now: now, in: db) }
    }

    private func apply(_ batch: [DecodedRecord], cursor: String?, now: Date, in db: SQLiteDatabase) throws
        -> ApplyResult
    {
        var result = ApplyResult()
        var work = BatchWork(now: now)
        for record in batch {
            switch record.meaning {
            case let .events(events, channel):
                // A replay (no cursor) that now decodes a record refused before clears its refusal.
                // The pipeline's first pass cannot meet one, and skips the statement.
                if cursor == nil {
                    try db.statement("DELETE FROM inbound_rejections WHERE seq = ?").run([.integer(record.sequence)])
                }
                for index in events.indices {
                    try work.apply(
                        events[index], earlier: events[..<index], channel: channel, inbound: record.sequence,
                        into: &result, in: db)
                }
                for delivery in record.effects { try Self.enqueue(delivery, now: now, in: db) }
                for item in record.digest {
                    try db.statement(
                        "INSERT OR IGNORE INTO digest_items (key, recipient, line, created_at) VALUES (?, ?, ?, ?)"
                    ).run([
                        .text(item.key), .text(item.recipient), .text(item.line), .real(now.timeIntervalSince1970),
                    ])
                }
            case let .unusable(problem):
                try db.statement(
                    "INSERT OR REPLACE INTO inbound_rejections (seq, problem, rejected_at) VALUES (?, ?, ?)"
                )
                .run([.integer(record.sequence), .text(problem), .real(now.timeIntervalSince1970)])
                result.unusable += 1
            }
        }
        try work.flush(in: db)
        if let cursor, let last = batch.last { try Self.advance(cursor, to: last.sequence, in: db) }
        return result
    }

    /// One batch's writes, with what repeats within the batch done once: a participant
    /// seen in many messages is upserted once, a conversation's counters are updated once.
    private struct BatchWork {
        /// What the batch has written of a conversation's row. A customer, once the row has
        /// one, is never replaced (`coalesce`): after an ensure with a customer, no other
        /// ensure in the batch can change the row.
        struct Written {
            var ensured = false
            var hasCustomer = false
            var employeePresent = false
        }

        let now: Date
        /// Said again, a participant is not written again.
        var participants = LatestParticipants()
        /// The conversations the batch has written, looked up once per event.
        var written: [ConversationID: Written] = [:]
        /// New messages per conversation, not yet added to its counters.
        var pendingCounts: [ConversationID: Int] = [:]
        /// The statement that runs for every message, looked up once a batch.
        private var insertMessage: SQLiteStatement?

        init(now: Date) { self.now = now }

        /// - Parameter earlier: the events before this one in its log record (read by a close only).
        mutating func apply(
            _ event: CanonicalEvent, earlier: @autoclosure () -> ArraySlice<CanonicalEvent>, channel: String,
            inbound: Int64, into result: inout ApplyResult, in db: SQLiteDatabase
        ) throws {
            switch event {
            case let .participant(participant, conversation):
                if participants.update(participant) {
                    try SQLiteStore.upsert(participant, now: now, in: db)
                    result.participants.append(.init(sequence: inbound, participant: participant))
                }
                guard let conversation else { return }
                switch participant.role {
                // Being in the room does not make someone its customer: the customer is who
                // speaks (below). A person invited by mistake, or a customer who only reads,
                // would otherwise have every transcript of the room filed on their record.
                case .customer: try ensure(conversation, channel: channel, customer: nil, in: db)
                case .employee: try markEmployeePresent(conversation, channel: channel, in: db)
                case .other: break
                }
            case let .message(message):
                guard try insert(message, inbound: inbound, in: db) else { return }
                let role =
                    try participants.role(of: message.sender) ?? SQLiteStore.participant(message.sender, in: db)?.role
                try ensure(
                    message.conversation, channel: channel, customer: role == .customer ? message.sender : nil, in: db)
                if role == .employee { try markEmployeePresent(message.conversation, channel: channel, in: db) }
                pendingCounts[message.conversation, default: 0] += 1
                result.newMessages += 1
                result.touchedConversations.insert(message.conversation)
            case let .staffed(conversation):
                try markEmployeePresent(conversation, channel: channel, in: db)
            case let .record(record, _):
                try SQLiteStore.saveSnapshot(record, inbound: inbound, now: now, in: db)
            case let .redacted(conversation, messageID):
                // Only what is not archived yet can still be kept from the CRM: the message and
                // its edits. The log keeps the event as received (the record of what came in).
                // The revision tells a transcript planned from the text before that it is stale.
                try db.statement(
                    """
                    UPDATE messages SET text = ?3
                    WHERE seq IN (
                            SELECT seq FROM messages WHERE conversation = ?1 AND message_id = ?2
                            UNION ALL SELECT seq FROM messages WHERE conversation = ?1 AND replaces = ?2)
                        AND text != ?3 AND seq > (SELECT archived_through FROM conversations WHERE id = ?1)
                    """
                ).run([.text(conversation.rawValue), .text(messageID), .text(Message.deletedText)])
                if db.changes > 0 {
                    try db.statement("UPDATE conversations SET revision = revision + 1 WHERE id = ?")
                        .run([.text(conversation.rawValue)])
                    result.touchedConversations.insert(conversation)
                }
            case .unreadable:
                break  // reported by the pipeline; nothing to keep
            case let .close(conversation, _):
                try flush(conversation, in: db)
                // The close covers the messages logged before it, not what arrives after
                // (the next stretch): those of earlier records, and those its own record
                // carries before it (found by id: replayed, the record's later messages are
                // stored too). Replayed, an old close covers only what is archived.
                var through =
                    try db.statement(
                        "SELECT coalesce(max(seq), 0) FROM messages WHERE conversation = ? AND inbound_seq < ?"
                    ).first([.text(conversation.rawValue), .integer(inbound)]) { $0.int(0) } ?? 0
                for case .message(let message) in earlier() where message.conversation == conversation {
                    let seq = try db.statement("SELECT seq FROM messages WHERE conversation = ? AND message_id = ?")
                        .first([.text(conversation.rawValue), .text(message.id)]) { $0.int(0) }
                    through = max(through, seq ?? 0)
                }
                try db.statement(
                    """
                    UPDATE conversations SET close_through = max(close_through, ?1)
                    WHERE id = ?2 AND ?1 > archived_through
                    """
                ).run([.integer(through), .text(conversation.rawValue)])
                if db.changes > 0 { result.touchedConversations.insert(conversation) }
            }
        }

        /// A conversation is one once the business is in it (an employee, or a business
        /// channel): rooms where only customers talk are kept but never archived to a CRM.
        private mutating func markEmployeePresent(_ id: ConversationID, channel: String, in db: SQLiteDatabase) throws {
            guard written[id]?.employeePresent != true else { return }
            try Self.ensure(id, channel: channel, customer: nil, row: &written[id, default: Written()], in: db)
            try db.statement("UPDATE conversations SET employee_present = 1 WHERE id = ? AND employee_present = 0")
                .run([.text(id.rawValue)])
            written[id, default: Written()].employeePresent = true
        }

        private mutating func ensure(_ id: ConversationID, channel: String, customer: SystemRef?, in db: SQLiteDatabase)
            throws
        {
            try Self.ensure(id, channel: channel, customer: customer, row: &written[id, default: Written()], in: db)
        }

        /// False when the message was already known (a replay or a redelivery). `now`, the
        /// hub's clock, times the schedule: IM timestamps may be skewed or late.
        private mutating func insert(_ m: Message, inbound: Int64, in db: SQLiteDatabase) throws -> Bool {
            if insertMessage == nil {
                insertMessage = try db.statement(
                    """
                    INSERT OR IGNORE INTO messages
                        (conversation, message_id, sender, sent_at, text, received_at, inbound_seq, replaces)
                    VALUES (?, ?, ?, ?, ?, ?, ?, ?)
                    """)
            }
            try insertMessage?.run([
                .text(m.conversation.rawValue), .text(m.id), .text(m.sender.description),
                .real(m.sentAt.timeIntervalSince1970), .text(m.text), .real(now.timeIntervalSince1970),
                .integer(inbound), m.replaces.map { .text($0) } ?? .null,
            ])
            return db.changes > 0
        }

        /// Inserts the conversation's row, or gives it its customer, unless that would change nothing.
        private static func ensure(
            _ id: ConversationID, channel: String, customer: SystemRef?, row: inout Written, in db: SQLiteDatabase
        ) throws {
            guard !row.hasCustomer, !row.ensured || customer != nil else { return }
            try SQLiteStore.ensureConversation(id, channel: channel, customer: customer, in: db)
            row.ensured = true
            row.hasCustomer = customer != nil
        }

        /// Adds the batch's new messages to the conversations' counters.
        mutating func flush(in db: SQLiteDatabase) throws {
            for conversation in Array(pendingCounts.keys) { try flush(conversation, in: db) }
        }

        private mutating func flush(_ conversation: ConversationID, in db: SQLiteDatabase) throws {
            guard let count = pendingCounts.removeValue(forKey: conversation) else { return }
            try db.statement(
                """
                UPDATE conversations SET pending = pending + ?1,
                    first_pending_at = CASE WHEN pending = 0 THEN ?2 ELSE first_pending_at END,
                    last_message_at = max(coalesce(last_message_at, 0), ?2)
                WHERE id = ?3
                """
            ).run([.integer(Int64(count)), .real(now.timeIntervalSince1970), .text(conversation.rawValue)])
        }
    }

    fileprivate static func upsert(_ p: Participant, now: Date, in db: SQLiteDatabase) throws {
        // What is known is kept when a later event knows less (a membership without a name).
        try db.statement(
            """
            INSERT INTO participants (ref, role, display_name, email, phone, updated_at) VALUES (?, ?, ?, ?, ?, ?)
            ON CONFLICT(ref) DO UPDATE SET role = excluded.role,
                display_name = coalesce(excluded.display_name, display_name),
                email = coalesce(excluded.email, email), phone = coalesce(excluded.phone, phone),
                updated_at = excluded.updated_at
            """
        ).run([
            .text(p.ref.description), .text(p.role.rawValue), optional(p.displayName), optional(p.email),
            optional(p.phone), .real(now.timeIntervalSince1970),
        ])
    }

    fileprivate static func ensureConversation(
        _ id: ConversationID, channel: String, customer: SystemRef?, in db: SQLiteDatabase
    ) throws {
        try db.statement(
            """
            INSERT INTO conversations (id, channel, customer_ref) VALUES (?, ?, ?)
            ON CONFLICT(id) DO UPDATE SET customer_ref = coalesce(customer_ref, excluded.customer_ref)
            """
        ).run([.text(id.rawValue), .text(channel), customer.map { .text($0.description) } ?? .null])
    }

    public func conversationsWithPendingMessages() throws -> [ConversationState] {
        try read { db in
            // Messages wait for a customer: an agent's opening lines are filed with the
            // customer's first reply, not dropped for want of someone to file them under.
            try db.statement(
                """
                SELECT id, pending, first_pending_at, last_message_at,
                    CASE WHEN close_through > archived_through THEN close_through ELSE 0 END
                FROM conversations
                WHERE pending > 0 AND employee_present = 1 AND customer_ref IS NOT NULL
                ORDER BY id
                """
            ).rows { row in
                ConversationState(
                    id: ConversationID(row.text(0) ?? ""), pendingMessages: Int(row.int(1)),
                    firstPendingAt: row.date(2), lastMessageAt: row.date(3),
                    closedThrough: row.int(4) > 0 ? row.int(4) : nil
                )
            }
        }
    }

    public func pendingTranscript(for conversation: ConversationID, through last: Int64?) throws -> PendingTranscript? {
        try read { db in
            guard
                let (channel, customerRef, through, revision) = try db.statement(
                    "SELECT channel, customer_ref, archived_through, revision FROM conversations WHERE id = ?"
                ).first([.text(conversation.rawValue)], { ($0.text(0) ?? "", $0.text(1), $0.int(2), $0.int(3)) })
            else { return nil }
            let entries = try db.statement(
                """
                SELECT m.seq, m.message_id, m.sender, m.sent_at, m.text, p.role, p.display_name, p.email, p.phone
                FROM messages m LEFT JOIN participants p ON p.ref = m.sender
                WHERE m.conversation = ? AND m.seq > ? AND m.seq <= ? ORDER BY m.seq
                """
            ).rows([.text(conversation.rawValue), .integer(through), .integer(last ?? Int64.max)]) {
                row -> PendingTranscript.Entry in
                let sender =
                    SystemRef(row.text(2) ?? "") ?? SystemRef(system: "unknown", kind: "user", id: row.text(2) ?? "")
                let message = Message(
                    id: row.text(1) ?? "", conversation: conversation, sender: sender,
                    sentAt: row.date(3) ?? .distantPast, text: row.text(4) ?? ""
                )
                let participant = row.text(5).flatMap(ParticipantRole.init(rawValue:)).map { role in
                    Participant(
                        ref: sender, role: role, displayName: row.text(6), email: row.text(7), phone: row.text(8))
                }
                return PendingTranscript.Entry(sequence: row.int(0), message: message, sender: participant)
            }
            let customer = try customerRef.flatMap(SystemRef.init).flatMap { try Self.participant($0, in: db) }
            return PendingTranscript(
                conversation: conversation, channel: channel, customer: customer, entries: entries, revision: revision)
        }
    }

    @discardableResult
    public func scheduleArchive(
        of conversation: ConversationID, throughMessage: Int64, deliveries: [NewDelivery], now: Date, revision: Int64?
    ) throws -> Bool {
        try write { db in
            if let revision {
                let current = try db.statement("SELECT revision FROM conversations WHERE id = ?")
                    .first([.text(conversation.rawValue)]) { $0.int(0) }
                guard current == revision else { return false }
            }
            for delivery in deliveries { try Self.enqueue(delivery, now: now, in: db) }
            // Messages that arrived while the transcript was planned stay pending.
            try db.statement(
                """
                UPDATE conversations SET archived_through = max(archived_through, ?1),
                    pending = (SELECT count(*) FROM messages WHERE conversation = ?2 AND seq > max(archived_through, ?1)),
                    first_pending_at = (SELECT min(received_at) FROM messages WHERE conversation = ?2 AND seq > max(archived_through, ?1))
                WHERE id = ?2
                """
            ).run([.integer(throughMessage), .text(conversation.rawValue)])
            return true
        }
    }

    public func snapshot(_ ref: SystemRef) throws -> (record: CRMRecord, sequence: Int64)? {
        try read { db in
            let select = try db.statement(
                "SELECT fields, deleted, inbound_seq, observed_at FROM crm_snapshots WHERE ref = ?")
            return try select.first([.text(ref.description)]) { row in
                let data = Data((row.text(0) ?? "{}").utf8)
                let fields = (try? JSONDecoder().decode([String: String].self, from: data)) ?? [:]
                let record = CRMRecord(ref: ref, fields: fields, deleted: row.int(1) != 0, observedAt: row.date(3))
                return (record, row.int(2))
            }
        }
    }

    public func liveSnapshots(system: String, kind: String) throws -> [(ref: SystemRef, updatedAt: Date)] {
        try read { db in
            let prefix = "\(system):\(kind):"
            return try db.statement(
                "SELECT ref, updated_at FROM crm_snapshots WHERE substr(ref, 1, length(?1)) = ?1 AND deleted = 0 ORDER BY ref"
            )
            .rows([.text(prefix)]) { row in
                (
                    SystemRef(row.text(0) ?? "") ?? SystemRef(system: system, kind: kind, id: ""),
                    row.date(1) ?? .distantPast
                )
            }
        }
    }

    /// Keeps the record as its snapshot unless the snapshot comes from a later log record
    /// (a replay of an earlier time range brings history, not the current state).
    fileprivate static func saveSnapshot(_ record: CRMRecord, inbound: Int64, now: Date, in db: SQLiteDatabase) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = .sortedKeys
        let fields = String(decoding: try encoder.encode(record.fields), as: UTF8.self)
        try db.statement(
            """
            INSERT INTO crm_snapshots (ref, fields, deleted, updated_at, inbound_seq, observed_at)
            VALUES (?, ?, ?, ?, ?, ?)
            ON CONFLICT(ref) DO UPDATE SET deleted = excluded.deleted, updated_at = excluded.updated_at,
                -- A deletion that says nothing but the id keeps what was last known.
                fields = CASE WHEN excluded.deleted = 1 AND excluded.fields = '{}' THEN fields ELSE excluded.fields END,
                inbound_seq = excluded.inbound_seq, observed_at = coalesce(excluded.observed_at, observed_at)
            WHERE excluded.inbound_seq >= crm_snapshots.inbound_seq
              AND (excluded.observed_at IS NULL OR crm_snapshots.observed_at IS NULL
                   OR excluded.observed_at >= crm_snapshots.observed_at)
            """
        ).run([
            .text(record.ref.description), .text(fields), .integer(record.deleted ? 1 : 0),
            .real(now.timeIntervalSince1970), .integer(inbound),
            record.observedAt.map { .real($0.timeIntervalSince1970) } ?? .null,
        ])
    }

    public func save(_ participant: Participant, now: Date) throws {
        try write { db in try Self.upsert(participant, now: now, in: db) }
    }

    static func participant(_ ref: SystemRef, in db: SQLiteDatabase) throws -> Participant? {
        try db.statement("SELECT role, display_name, email, phone FROM participants WHERE ref = ?")
            .first([.text(ref.description)]) { row in
                Participant(
                    ref: ref, role: ParticipantRole(rawValue: row.text(0) ?? "") ?? .other, displayName: row.text(1),
                    email: row.text(2), phone: row.text(3)
                )
            }
    }
}

func optional(_ text: String?) -> SQLiteValue { text.map(SQLiteValue.text) ?? .null }
