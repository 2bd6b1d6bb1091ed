/// The schema as named steps applied in order, each recorded in `schema_migrations` in
/// the same transaction. A step is never edited after it ships: add a new one.
struct Migration {
    let id: String
    let sql: String
}

enum Migrations {
    /// The event log file: append-only, written by the group committer alone.
    static let log: [Migration] = [
        Migration(
            id: "0001_event_log",
            sql: """
                CREATE TABLE inbound (
                    seq INTEGER PRIMARY KEY,
                    source TEXT NOT NULL,
                    dedupe_key TEXT,
                    received_at REAL NOT NULL,
                    body BLOB NOT NULL
                );
                CREATE UNIQUE INDEX inbound_dedupe ON inbound(source, dedupe_key) WHERE dedupe_key IS NOT NULL;
                CREATE INDEX inbound_received ON inbound(received_at);
                """
        ),
        // The group committer now writes `received_at` in sequence order (never less than
        // the record before), so a time range is found by binary search over `seq`: an
        // index paid on every append for a lookup that only `liaison replay` makes.
        Migration(id: "0002_time_found_by_sequence", sql: "DROP INDEX IF EXISTS inbound_received;"),
    ]

    /// The state file: what the pipeline derived from the log (with its cursor), the
    /// outbox and the delivery ledger.
    static let state: [Migration] = [
        Migration(
            id: "0001_conversations_outbox",
            sql: """
                CREATE TABLE inbound_rejections (
                    seq INTEGER PRIMARY KEY,
                    problem TEXT NOT NULL,
                    rejected_at REAL NOT NULL
                );
                CREATE TABLE cursors (name TEXT PRIMARY KEY, position INTEGER NOT NULL);
                CREATE TABLE participants (
                    ref TEXT PRIMARY KEY,
                    role TEXT NOT NULL,
                    display_name TEXT,
                    email TEXT,
                    phone TEXT,
                    updated_at REAL NOT NULL
                );
                CREATE TABLE conversations (
                    id TEXT PRIMARY KEY,
                    channel TEXT NOT NULL,
                    customer_ref TEXT,
                    pending INTEGER NOT NULL DEFAULT 0,
                    first_pending_at REAL,
                    last_message_at REAL,
                    close_requested INTEGER NOT NULL DEFAULT 0,
                    archived_through INTEGER NOT NULL DEFAULT 0,
                    employee_present INTEGER NOT NULL DEFAULT 0
                );
                CREATE INDEX conversations_pending ON conversations(pending) WHERE pending > 0;
                CREATE TABLE messages (
                    seq INTEGER PRIMARY KEY,
                    conversation TEXT NOT NULL,
                    message_id TEXT NOT NULL,
                    sender TEXT NOT NULL,
                    sent_at REAL NOT NULL,
                    text TEXT NOT NULL,
                    received_at REAL NOT NULL,
                    inbound_seq INTEGER NOT NULL,
                    UNIQUE (conversation, message_id)
                );
                CREATE TABLE deliveries (
                    id INTEGER PRIMARY KEY,
                    target TEXT NOT NULL,
                    operation TEXT NOT NULL,
                    partition_key TEXT NOT NULL,
                    idempotency_key TEXT NOT NULL UNIQUE,
                    payload BLOB NOT NULL,
                    status TEXT NOT NULL,
                    attempts INTEGER NOT NULL DEFAULT 0,
                    next_attempt_at REAL NOT NULL,
                    uncertain INTEGER NOT NULL DEFAULT 0,
                    last_error TEXT,
                    remote_id TEXT,
                    created_at REAL NOT NULL,
                    updated_at REAL NOT NULL
                );
                CREATE INDEX deliveries_due ON deliveries(status, next_attempt_at);
                CREATE INDEX deliveries_partition ON deliveries(partition_key, id);
                CREATE TABLE ledger (
                    idempotency_key TEXT PRIMARY KEY,
                    target TEXT NOT NULL,
                    remote_id TEXT NOT NULL,
                    recorded_at REAL NOT NULL
                );
                """
        ),
        Migration(
            id: "0002_crm_snapshots",
            sql: """
                CREATE TABLE crm_snapshots (
                    ref TEXT PRIMARY KEY,
                    fields TEXT NOT NULL,
                    deleted INTEGER NOT NULL DEFAULT 0,
                    updated_at REAL NOT NULL
                );
                """
        ),
        Migration(
            id: "0003_echoes",
            sql: """
                CREATE TABLE echoes (
                    system TEXT NOT NULL,
                    kind TEXT NOT NULL,
                    key TEXT NOT NULL,
                    expires_at REAL NOT NULL,
                    PRIMARY KEY (system, kind, key)
                );
                """
        ),
        Migration(
            id: "0004_digest_items",
            sql: """
                CREATE TABLE digest_items (
                    id INTEGER PRIMARY KEY,
                    key TEXT NOT NULL UNIQUE,
                    recipient TEXT NOT NULL,
                    line TEXT NOT NULL,
                    created_at REAL NOT NULL
                );
                CREATE INDEX digest_items_recipient ON digest_items(recipient, id);
                """
        ),
        Migration(
            id: "0005_identity",
            sql: """
                CREATE TABLE people (
                    ref TEXT PRIMARY KEY,
                    name TEXT, company TEXT, phone TEXT, email TEXT,
                    customer TEXT NOT NULL,
                    updated_at REAL NOT NULL
                );
                CREATE INDEX people_customer ON people(customer);
                CREATE TABLE identity_reviews (
                    id INTEGER PRIMARY KEY,
                    left_ref TEXT NOT NULL,
                    right_ref TEXT NOT NULL,
                    score REAL NOT NULL,
                    evidence TEXT NOT NULL,
                    status TEXT NOT NULL CHECK (status IN ('open', 'accepted', 'rejected')),
                    created_at REAL NOT NULL,
                    decided_at REAL,
                    decided_by TEXT,
                    merge_id INTEGER,
                    UNIQUE (left_ref, right_ref)
                );
                CREATE INDEX identity_reviews_status ON identity_reviews(status, id);
                CREATE TABLE identity_merges (
                    id INTEGER PRIMARY KEY,
                    at REAL NOT NULL,
                    actor TEXT NOT NULL,
                    moves TEXT NOT NULL,
                    undone_at REAL,
                    undone_by TEXT
                );
                """
        ),
        // The profile lookup goes from a CRM contact to the IM people filed to it.
        Migration(id: "0006_ledger_remote_id", sql: "CREATE INDEX ledger_remote_id ON ledger(remote_id);"),
        // A write about to be sent to a system without idempotency keys: until its outcome
        // is in the ledger, a later attempt must look before writing again.
        Migration(
            id: "0007_ledger_intents",
            sql: """
                CREATE TABLE ledger_intents (
                    idempotency_key TEXT PRIMARY KEY,
                    target TEXT NOT NULL,
                    intended_at REAL NOT NULL
                );
                """
        ),
        // A close covers the messages before it (up to a message seq), not whatever is
        // pending when the scheduler gets to it: a message after the close no longer undoes it.
        Migration(
            id: "0008_close_through",
            sql: """
                ALTER TABLE conversations ADD COLUMN close_through INTEGER NOT NULL DEFAULT 0;
                UPDATE conversations SET close_through =
                    (SELECT coalesce(max(seq), 0) FROM messages WHERE messages.conversation = conversations.id)
                WHERE close_requested = 1;
                ALTER TABLE conversations DROP COLUMN close_requested;
                """
        ),
        // Which log record a snapshot comes from: a replay of an earlier time range must
        // neither roll a snapshot back nor announce history as news.
        Migration(
            id: "0009_snapshot_sequence",
            sql: "ALTER TABLE crm_snapshots ADD COLUMN inbound_seq INTEGER NOT NULL DEFAULT 0;"
        ),
        // The record a person was linked to when first resolved, and when: an unmerge takes
        // back with a record the ones that were linked to it while the merge stood.
        Migration(
            id: "0010_people_links",
            sql: """
                ALTER TABLE people ADD COLUMN linked_to TEXT;
                ALTER TABLE people ADD COLUMN linked_at REAL;
                """
        ),
        // When the CRM says a snapshot's state was current: a late redelivery of an earlier
        // event neither rolls it back nor is announced.
        Migration(id: "0011_snapshot_observed", sql: "ALTER TABLE crm_snapshots ADD COLUMN observed_at REAL;"),
        // Since when an echo is expected: a change received before it is not our write.
        Migration(id: "0012_echo_since", sql: "ALTER TABLE echoes ADD COLUMN since REAL;"),
        // Deletions: the message an edit replaces (deleting the original deletes its edits),
        // and a conversation's revision, moved by a deletion, so that a transcript planned from
        // the text before it is not filed. And a room's customer is who speaks, not the first
        // customer who joined or was invited: rows given one who never spoke there are set again.
        Migration(
            id: "0013_redactions",
            sql: """
                ALTER TABLE messages ADD COLUMN replaces TEXT;
                CREATE INDEX messages_replaces ON messages(conversation, replaces) WHERE replaces IS NOT NULL;
                ALTER TABLE conversations ADD COLUMN revision INTEGER NOT NULL DEFAULT 0;
                UPDATE conversations SET customer_ref = (
                    SELECT m.sender FROM messages m JOIN participants p ON p.ref = m.sender
                    WHERE m.conversation = conversations.id AND p.role = 'customer' ORDER BY m.seq LIMIT 1)
                WHERE customer_ref IS NOT NULL AND customer_ref NOT IN
                    (SELECT sender FROM messages WHERE conversation = conversations.id);
                """
        ),
    ]

    /// Throws `StoreSchemaMismatch` unless the file has exactly `steps` applied; changes nothing.
    static func check(_ database: SQLiteDatabase, steps: [Migration], file: String) throws {
        let applied =
            (try? database.statement("SELECT id FROM schema_migrations").rows { $0.text(0) ?? "" }) ?? []
        let known = steps.map(\.id)
        let missing = known.filter { !applied.contains($0) }
        let unknown = applied.filter { !known.contains($0) }.sorted()
        guard missing.isEmpty, unknown.isEmpty else {
            throw StoreSchemaMismatch(file: file, missing: missing, unknown: unknown)
        }
    }

    /// Applies the steps `database` has not seen yet; returns their ids.
    @discardableResult
    static func migrate(_ database: SQLiteDatabase, steps: [Migration]) throws -> [String] {
        try database.execute(
            "CREATE TABLE IF NOT EXISTS schema_migrations (id TEXT PRIMARY KEY, applied_at TEXT NOT NULL DEFAULT CURRENT_TIMESTAMP)"
        )
        let applied = Set(try database.statement("SELECT id FROM schema_migrations").rows { $0.text(0) ?? "" })
        var done: [String] = []
        for step in steps where !applied.contains(step.id) {
            try database.transaction {
                try database.execute(step.sql)
                try database.statement("INSERT INTO schema_migrations (id) VALUES (?)").run([.text(step.id)])
            }
            done.append(step.id)
        }
        return done
    }
}
