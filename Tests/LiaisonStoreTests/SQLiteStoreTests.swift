import Foundation
import LiaisonCore
import Testing

@testable import LiaisonStore

/// A store in a fresh temporary file, closed and removed at the end.
func withStore<T>(backlog: LogBacklog = LogBacklog(), _ body: (SQLiteStore) async throws -> T) async throws -> T {
    let directory = FileManager.default.temporaryDirectory.appendingPathComponent("liaison-store-\(UUID().uuidString)")
    let store = try SQLiteStore(directory: directory.path, backlog: backlog)
    defer {
        store.close()
        try? FileManager.default.removeItem(at: directory)
    }
    return try await body(store)
}

let t0 = Date(timeIntervalSince1970: 1_795_514_400)
let room = ConversationID("matrix:!r")
let alice = Participant(
    ref: SystemRef(system: "matrix", kind: "user", id: "@alice:x"), role: .customer, displayName: "Alice",
    email: "a@x.org")
let agent = Participant(
    ref: SystemRef(system: "matrix", kind: "user", id: "@agent:x"), role: .employee, displayName: "Agent")

func message(_ id: String, from sender: Participant, at offset: TimeInterval, _ text: String = "hello")
    -> [CanonicalEvent]
{
    [
        .participant(sender, conversation: room),
        .message(
            Message(id: id, conversation: room, sender: sender.ref, sentAt: t0.addingTimeInterval(offset), text: text)),
    ]
}

@Suite("SQLite store")
struct SQLiteStoreTests {
    @Test("a record that queues something to send is applied with the fsync; one that only derives state, without")
    func durableEffects() {
        let plain = DecodedRecord(sequence: 1, meaning: .events([], channel: "Matrix"))
        #expect(!plain.isDurableEffect)
        var notice = plain
        notice.effects = [
            NewDelivery(
                target: "matrix", operation: "notice", partition: "p", idempotencyKey: IdempotencyKey("n1"),
                payload: [1])
        ]
        #expect(notice.isDurableEffect)
        var digest = plain
        digest.digest = [DigestItem(key: "d1", recipient: "room:!team:x", line: "Li Na: email a → b")]
        #expect(digest.isDurableEffect)
    }

    @Test("an intent is dated by its last sending, and cleared by the ledger line that records its outcome")
    func intents() async throws {
        try await withStore { store in
            let key = IdempotencyKey("bottlecrm:contact:matrix:user:@li.na:corp")
            #expect(try store.intentTime(key) == nil)
            try store.recordIntent(key, target: "bottlecrm", now: t0)
            #expect(try store.intentTime(key) == t0)
            try store.recordIntent(key, target: "bottlecrm", now: t0.addingTimeInterval(30))
            #expect(try store.intentTime(key) == t0.addingTimeInterval(30))
            try store.recordLedger(key, target: "bottlecrm", remoteID: "c-1", now: t0.addingTimeInterval(31))
            #expect(try store.intentTime(key) == nil)
            #expect(try store.ledgerEntry(key) == "c-1")
        }
    }

    @Test("appends are durable, ordered, and deduplicated by source and key")
    func appendAndDedupe() async throws {
        try await withStore { store in
            let first = try await store.append(
                InboundRecord(source: "matrix", dedupeKey: "t1", receivedAt: t0, body: [1]))
            let again = try await store.append(
                InboundRecord(source: "matrix", dedupeKey: "t1", receivedAt: t0, body: [2]))
            let otherSource = try await store.append(
                InboundRecord(source: "generic.a", dedupeKey: "t1", receivedAt: t0, body: [3]))
            let unkeyed = try await store.append(
                InboundRecord(source: "generic.a", dedupeKey: nil, receivedAt: t0, body: [4]))
            #expect(first == .stored(sequence: 1))
            #expect(again == .duplicate)
            #expect(otherSource == .stored(sequence: 2))
            #expect(unkeyed == .stored(sequence: 3))
            #expect(try store.inbound(after: 0, limit: 10).map(\.body) == [[1], [3], [4]])
            #expect(try store.inbound(after: 2, limit: 10).map(\.sequence) == [3])
        }
    }

    @Test("times never go back along the log, and a time range is found by sequence: its start in, its end out")
    func timeRanges() async throws {
        try await withStore { store in
            #expect(try store.inbound(receivedFrom: t0, to: t0.addingTimeInterval(60), after: 0, limit: 10).isEmpty)
            // Stamped out of order, as two HTTP threads may queue their requests, or after
            // the clock was set back.
            let offsets: [TimeInterval] = [0, 10, 5, 20, 30, 25, 40]
            for (n, offset) in offsets.enumerated() {
                _ = try await store.append(
                    InboundRecord(
                        source: "generic.a", dedupeKey: "k\(n)", receivedAt: t0.addingTimeInterval(offset),
                        body: [UInt8(n)]))
            }
            let stored = try store.inbound(after: 0, limit: 10).map { $0.receivedAt.timeIntervalSince(t0) }
            #expect(stored == [0, 10, 10, 20, 30, 30, 40])
            func received(_ from: TimeInterval, _ to: TimeInterval) throws -> [UInt8] {
                try store.inbound(receivedFrom: t0.addingTimeInterval(from), to: t0.addingTimeInterval(to), after: 0, limit: 100)
                    .map { $0.body[0] }
            }
            // Read page by page: each page starts after the last one's last record.
            var pages: [[UInt8]] = []
            var last: Int64 = 0
            while case let page = try store.inbound(
                receivedFrom: t0.addingTimeInterval(10), to: t0.addingTimeInterval(40), after: last, limit: 2),
                !page.isEmpty
            {
                pages.append(page.map { $0.body[0] })
                last = page.last!.sequence
            }
            #expect(pages == [[1, 2], [3, 4], [5]])
            #expect(try received(0, 10) == [0])
            #expect(try received(10, 30) == [1, 2, 3])
            #expect(try received(30, 31) == [4, 5])
            #expect(try received(-100, 1000) == [0, 1, 2, 3, 4, 5, 6])
            #expect(try received(40, 41) == [6])
            #expect(try received(41, 50) == [])
            #expect(try received(-10, 0) == [])
            #expect(try received(15, 15) == [])
            #expect(try received(30, 10) == [])
        }
    }

    @Test("text and blobs are stored whole: a NUL inside, non-ASCII, long values after short ones, empty ones")
    func valuesWhole() async throws {
        try await withStore { store in
            let long = String(repeating: "长消息 long message ", count: 4000)
            let bodies: [[UInt8]] = [[1, 0, 2], Array(repeating: 7, count: 100_000), [], [3]]
            for (n, body) in bodies.enumerated() {
                _ = try await store.append(
                    InboundRecord(source: "generic.a", dedupeKey: "k\(n)", receivedAt: t0, body: body))
            }
            #expect(try store.inbound(after: 0, limit: 10).map(\.body) == bodies)
            let texts = ["before\u{0}after", long, "", "短"]
            let events = texts.enumerated().flatMap { n, text in message("$\(n)", from: alice, at: Double(n), text) }
            _ = try store.apply(
                [
                    DecodedRecord(
                        sequence: 1,
                        meaning: .events([.participant(agent, conversation: room)] + events, channel: "Matrix"))
                ],
                cursor: nil, now: t0)
            #expect(try store.pendingTranscript(for: room)?.entries.map(\.message.text) == texts)
        }
    }

    @Test("concurrent appends share commits and every one is answered")
    func groupCommit() async throws {
        try await withStore { store in
            let outcomes = try await withThrowingTaskGroup(of: AppendOutcome.self) { group in
                for index in 0..<500 {
                    group.addTask {
                        try await store.append(
                            InboundRecord(
                                source: "g", dedupeKey: "k\(index % 250)", receivedAt: t0, body: Array("\(index)".utf8))
                        )
                    }
                }
                return try await group.reduce(into: []) { $0.append($1) }
            }
            #expect(outcomes.count == 500)
            #expect(outcomes.filter { $0 == .duplicate }.count == 250)
            #expect(try store.status().inboundRecords == 250)
            // The gauges' backlog, without counting the log, is the status's count.
            #expect(try store.queueDepths().pipeline == 250)
            _ = try store.apply(
                [DecodedRecord(sequence: 100, meaning: .events([], channel: "Matrix"))], cursor: SQLiteStore.pipelineCursor,
                now: t0)
            #expect(try store.queueDepths().pipeline == store.status().inboundUnprocessed)
            #expect(try store.queueDepths().pipeline == 150)
        }
    }

    @Test("a batch mixing records with and without dedupe keys answers each with its own sequence")
    func mixedBatch() async throws {
        try await withStore { store in
            // Every third record has a key, ten keys in all.
            let outcomes = try await withThrowingTaskGroup(of: (Int, AppendOutcome).self) { group in
                for index in 0..<300 {
                    group.addTask {
                        let record = InboundRecord(
                            source: "g", dedupeKey: index % 3 == 0 ? "k\(index % 30)" : nil, receivedAt: t0,
                            body: Array("\(index)".utf8))
                        return (index, try await store.append(record))
                    }
                }
                return try await group.reduce(into: [Int: AppendOutcome]()) { $0[$1.0] = $1.1 }
            }
            let stored = Dictionary(
                uniqueKeysWithValues: try store.inbound(after: 0, limit: 1000).map {
                    ($0.sequence, String(decoding: $0.body, as: UTF8.self))
                })
            #expect(stored.count == 210)
            var duplicates = 0
            for (index, outcome) in outcomes {
                switch outcome {
                case .stored(let sequence): #expect(stored[sequence] == "\(index)")
                case .duplicate:
                    duplicates += 1
                    #expect(index % 3 == 0)
                }
            }
            #expect(duplicates == 90)
        }
    }

    @Test("the log survives reopening")
    func reopen() async throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("liaison-reopen-\(UUID().uuidString)")
            .path
        defer { try? FileManager.default.removeItem(atPath: path) }
        var store: SQLiteStore? = try SQLiteStore(directory: path)
        _ = try await store!.append(InboundRecord(source: "matrix", dedupeKey: "t9", receivedAt: t0, body: [9]))
        store!.close()
        store = nil
        let reopened = try SQLiteStore(directory: path)
        defer { reopened.close() }
        #expect(
            try await reopened.append(InboundRecord(source: "matrix", dedupeKey: "t9", receivedAt: t0, body: [9]))
                == .duplicate)
        #expect(try reopened.inbound(after: 0, limit: 5).count == 1)
    }

    @Test("one hub per store; tools open only a store that exists, and create nothing when it does not")
    func access() throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("liaison-access-\(UUID().uuidString)")
            .path
        defer { try? FileManager.default.removeItem(atPath: path) }
        #expect {
            try SQLiteStore(directory: path, access: .existing)
        } throws: { error in
            "\(error)".contains("no Liaison store at \(path)")
        }
        #expect(!FileManager.default.fileExists(atPath: path), "a wrong directory is not turned into a store")

        let hub = try SQLiteStore(directory: path, access: .hub)
        #expect {
            try SQLiteStore(directory: path, access: .hub)
        } throws: { error in
            "\(error)".contains("another 'liaison serve' (pid \(getpid())) is using the store at \(path)")
        }
        // A tool may open the store the hub holds (status, replay), but not hold it alone.
        let tool = try SQLiteStore(directory: path, access: .existing)
        #expect(!tool.holdAlone())
        tool.close()
        hub.close()
        // Without a hub it may; a hub started meanwhile is refused, until the tool is done.
        let alone = try SQLiteStore(directory: path, access: .existing)
        #expect(alone.holdAlone())
        #expect(throws: StoreBusy.self) { try SQLiteStore(directory: path, access: .hub) }
        alone.close()
        let next = try SQLiteStore(directory: path, access: .hub)
        next.close()
    }

    @Test("a tool never migrates a store: an older or a newer schema is named and left as it is")
    func toolsDoNotMigrate() throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("liaison-schema-\(UUID().uuidString)")
            .path
        defer { try? FileManager.default.removeItem(atPath: path) }
        try SQLiteStore(directory: path, access: .hub).close()
        let state = try SQLiteDatabase(path: "\(path)/state.db")
        func steps() throws -> [String] { try state.statement("SELECT id FROM schema_migrations ORDER BY id").rows { $0.text(0) ?? "" } }
        let last = try #require(Migrations.state.last?.id)
        // As an older binary left it: the last step not applied.
        try state.execute("DELETE FROM schema_migrations WHERE id = '\(last)'")
        let older = try steps()
        #expect {
            try SQLiteStore(directory: path, access: .existing)
        } throws: { error in
            "\(error)".contains("state.db has an older schema (without \(last))")
        }
        #expect(try steps() == older, "status, replay or review applied nothing")
        // Written by a newer binary.
        try state.execute("INSERT INTO schema_migrations (id) VALUES ('\(last)'), ('9999_from_the_future')")
        #expect {
            try SQLiteStore(directory: path, access: .existing)
        } throws: { error in
            "\(error)".contains("written by a newer liaison (schema steps 9999_from_the_future unknown")
        }
        try state.execute("DELETE FROM schema_migrations WHERE id = '9999_from_the_future'")
        try SQLiteStore(directory: path, access: .existing).close()
    }

    @Test("a profile lookup by phone finds the number however it was written", arguments: [
        "(010) 6552.9988", "010-6552-9988", "+86 10 6552 9988", "+86 10 6552 9988 ext. 12", "0086/10/65529988",
    ])
    func phoneWritten(stored: String) async throws {
        try await withStore { store in
            let person = Participant(
                ref: SystemRef(system: "matrix", kind: "user", id: "@w:x"), role: .customer, displayName: "Wang", phone: stored)
            try store.save(person, now: t0)
            let found = try store.customerProfile(.phone("+861065529988"), interactions: 1)
            #expect(found?.name == "Wang", "\(stored)")
        }
    }

    @Test("a relative store directory is named in full when it is missing")
    func missingRelative() {
        let message = "\(StoreMissing(directory: "no-such-store-\(UUID().uuidString)"))"
        #expect(message.contains("relative to the working directory \(FileManager.default.currentDirectoryPath)"))
        #expect(message.contains("no Liaison store at \(FileManager.default.currentDirectoryPath)/no-such-store-"))
    }

    @Test("applying is idempotent: a replayed record adds no message twice")
    func applyIdempotent() async throws {
        try await withStore { store in
            let batch = [
                DecodedRecord(
                    sequence: 1,
                    meaning: .events(
                        message("$1", from: alice, at: 0) + message("$2", from: agent, at: 5), channel: "Matrix"))
            ]
            let first = try store.apply(batch, cursor: "pipeline", now: t0)
            #expect(first.newMessages == 2)
            #expect(first.touchedConversations == [room])
            let replay = try store.apply(batch, cursor: nil, now: t0)
            #expect(replay.newMessages == 0)
            #expect(try store.cursor("pipeline") == 1)
            let pending = try #require(try store.pendingTranscript(for: room))
            #expect(pending.customer?.ref == alice.ref)
            #expect(pending.entries.map(\.message.id) == ["$1", "$2"])
            #expect(pending.entries.map(\.sender?.displayName) == ["Alice", "Agent"])
        }
    }

    @Test("the room's customer is the first customer who speaks, not the first one invited or joined")
    func customerSpeaks() async throws {
        try await withStore { store in
            let mistaken = Participant(
                ref: SystemRef(system: "matrix", kind: "user", id: "@a:x"), role: .customer, displayName: "Invited by mistake")
            _ = try store.apply(
                [
                    DecodedRecord(
                        sequence: 1,
                        meaning: .events(
                            [.participant(mistaken, conversation: room), .participant(alice, conversation: room)]
                                + message("$1", from: agent, at: 0), channel: "Matrix"))
                ], cursor: "pipeline", now: t0)
            #expect(try store.pendingTranscript(for: room)?.customer == nil, "nobody has spoken for themselves yet")
            _ = try store.apply(
                [DecodedRecord(sequence: 2, meaning: .events(message("$2", from: alice, at: 5), channel: "Matrix"))],
                cursor: "pipeline", now: t0)
            _ = try store.apply(
                [DecodedRecord(sequence: 3, meaning: .events(message("$3", from: mistaken, at: 9), channel: "Matrix"))],
                cursor: "pipeline", now: t0)
            let pending = try #require(try store.pendingTranscript(for: room))
            #expect(pending.customer?.ref == alice.ref)
            #expect(pending.entries.map(\.message.id) == ["$1", "$2", "$3"])
        }
    }

    @Test("a deletion blanks the message and its edits, and a transcript planned before it is not filed")
    func redactions() async throws {
        try await withStore { store in
            let edit = Message(
                id: "$1e", conversation: room, sender: alice.ref, sentAt: t0.addingTimeInterval(2),
                text: "(edited) card 4111 1111 1111 1111", replaces: "$1")
            _ = try store.apply(
                [
                    DecodedRecord(
                        sequence: 1,
                        meaning: .events(
                            message("$1", from: alice, at: 0, "card 4111") + [.message(edit)]
                                + message("$2", from: agent, at: 5, "please delete it"), channel: "Matrix"))
                ], cursor: "pipeline", now: t0)
            let planned = try #require(try store.pendingTranscript(for: room))
            _ = try store.apply(
                [DecodedRecord(sequence: 2, meaning: .events([.redacted(room, messageID: "$1")], channel: "Matrix"))],
                cursor: "pipeline", now: t0)
            let now = try #require(try store.pendingTranscript(for: room))
            #expect(now.entries.map(\.message.text) == [Message.deletedText, Message.deletedText, "please delete it"])
            #expect(now.revision == planned.revision + 1)
            // The plan read before the deletion holds the card number: it is not filed.
            let last = try #require(planned.entries.last?.sequence)
            #expect(!(try store.scheduleArchive(of: room, throughMessage: last, deliveries: [], now: t0, revision: planned.revision)))
            #expect(try store.pendingTranscript(for: room)?.entries.count == 3, "still pending, planned again")
            #expect(try store.scheduleArchive(of: room, throughMessage: last, deliveries: [], now: t0, revision: now.revision))
            // Deleted again (a redelivery), or once archived: nothing moves.
            _ = try store.apply(
                [DecodedRecord(sequence: 3, meaning: .events([.redacted(room, messageID: "$2")], channel: "Matrix"))],
                cursor: "pipeline", now: t0)
            #expect(try store.pendingTranscript(for: room)?.revision == now.revision)
        }
    }

    @Test("migrating a store whose rooms took their customer from membership gives each the customer who spoke first; one set by speaking stays")
    func customerMigration() throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("liaison-m13-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: path) }
        let db = try SQLiteDatabase(path: "\(path)/state.db")
        try Migrations.migrate(db, steps: Migrations.state.filter { $0.id < "0013" })
        try db.execute(
            """
            INSERT INTO participants (ref, role, updated_at) VALUES
                ('matrix:user:@invited:x', 'customer', 0), ('matrix:user:@alice:x', 'customer', 0),
                ('matrix:user:@agent:x', 'employee', 0), ('matrix:user:@hired:x', 'employee', 0);
            INSERT INTO conversations (id, channel, customer_ref) VALUES
                ('matrix:!a', 'Matrix', 'matrix:user:@invited:x'), ('matrix:!b', 'Matrix', 'matrix:user:@invited:x'),
                ('matrix:!c', 'Matrix', 'matrix:user:@hired:x');
            INSERT INTO messages (conversation, message_id, sender, sent_at, text, received_at, inbound_seq) VALUES
                ('matrix:!a', '$1', 'matrix:user:@agent:x', 0, 'hello', 0, 1),
                ('matrix:!a', '$2', 'matrix:user:@alice:x', 1, 'hi', 0, 1),
                ('matrix:!b', '$3', 'matrix:user:@agent:x', 0, 'anyone?', 0, 2),
                ('matrix:!c', '$4', 'matrix:user:@hired:x', 0, 'a customer then', 0, 3),
                ('matrix:!c', '$5', 'matrix:user:@alice:x', 1, 'hi', 0, 3);
            """)
        try Migrations.migrate(db, steps: Migrations.state)
        let customers = try db.statement("SELECT id, customer_ref FROM conversations ORDER BY id").rows {
            "\($0.text(0) ?? "") \($0.text(1) ?? "nobody")"
        }
        // A customer who spoke keeps the room, whatever their role says now (an employees
        // pattern widened since): the hub chose them by the role they had then.
        #expect(customers == ["matrix:!a matrix:user:@alice:x", "matrix:!b nobody", "matrix:!c matrix:user:@hired:x"])
    }

    @Test("unusable records are kept with their reason and passed over, until a replay reads them")
    func unusable() async throws {
        try await withStore { store in
            let sequence: Int64 = 4
            let result = try store.apply(
                [DecodedRecord(sequence: sequence, meaning: .unusable(problem: "bad"))], cursor: "pipeline", now: t0)
            #expect(result.unusable == 1)
            #expect(try store.cursor("pipeline") == sequence)
            #expect(try store.status().inboundRejected == 1)
            // Replayed once its connector can read it: the refusal is cleared.
            _ = try store.apply(
                [DecodedRecord(sequence: sequence, meaning: .events(message("$1", from: alice, at: 0), channel: "Matrix"))],
                cursor: nil, now: t0)
            #expect(try store.status().inboundRejected == 0)
        }
    }

    @Test("scheduling an archive enqueues one delivery and leaves later messages pending")
    func scheduleArchive() async throws {
        try await withStore { store in
            _ = try store.apply(
                [
                    DecodedRecord(
                        sequence: 1,
                        meaning: .events(
                            [.participant(agent, conversation: room)] + message("$1", from: alice, at: 0),
                            channel: "Matrix"))
                ],
                cursor: nil, now: t0)
            let pending = try #require(try store.pendingTranscript(for: room))
            // A message arrives between planning and scheduling.
            _ = try store.apply(
                [DecodedRecord(sequence: 2, meaning: .events(message("$2", from: alice, at: 9), channel: "Matrix"))],
                cursor: nil, now: t0.addingTimeInterval(30))
            let delivery = NewDelivery(
                target: "crm", operation: "archive", partition: "p", idempotencyKey: IdempotencyKey("k1"), payload: [1])
            try store.scheduleArchive(
                of: room, throughMessage: pending.entries.last!.sequence, delivery: delivery, now: t0)
            try store.scheduleArchive(
                of: room, throughMessage: pending.entries.last!.sequence, delivery: delivery, now: t0)
            #expect(try store.deliveries(status: .pending, limit: 10).count == 1)
            let states = try store.conversationsWithPendingMessages()
            #expect(states.count == 1)
            #expect(states.first?.pendingMessages == 1)
            #expect(states.first?.firstPendingAt == t0.addingTimeInterval(30))
            #expect(try store.pendingTranscript(for: room)?.entries.map(\.message.id) == ["$2"])
        }
    }

    @Test("a room where only customers talk is kept but not offered for archiving until an employee is in it")
    func employeePresence() async throws {
        try await withStore { store in
            _ = try store.apply(
                [DecodedRecord(sequence: 1, meaning: .events(message("$1", from: alice, at: 0), channel: "Matrix"))],
                cursor: nil, now: t0)
            #expect(try store.conversationsWithPendingMessages().isEmpty)
            #expect(try store.status().conversationsWithPending == 1)
            // The employee joins (a membership, no message yet): the conversation becomes one.
            _ = try store.apply(
                [
                    DecodedRecord(
                        sequence: 2, meaning: .events([.participant(agent, conversation: room)], channel: "Matrix"))
                ],
                cursor: nil, now: t0)
            #expect(try store.conversationsWithPendingMessages().map(\.id) == [room])
        }
    }

    @Test("a conversation's customer is the first one seen, in one batch or across batches, whoever speaks first")
    func firstCustomer() async throws {
        let bob = Participant(
            ref: SystemRef(system: "matrix", kind: "user", id: "@bob:corp"), role: .customer, displayName: "Bob")
        let other = ConversationID("matrix:!other")
        func line(_ id: String, from sender: Participant, in conversation: ConversationID) -> [CanonicalEvent] {
            [
                .participant(sender, conversation: conversation),
                .message(Message(id: id, conversation: conversation, sender: sender.ref, sentAt: t0, text: "hi")),
            ]
        }
        try await withStore { store in
            // One batch: the agent first (the row without a customer), then Alice, then Bob;
            // in the other room Bob first, then the agent, then Alice.
            let events =
                line("$1", from: agent, in: room) + line("$2", from: alice, in: room) + line("$3", from: bob, in: room)
                + line("$4", from: bob, in: other) + line("$5", from: agent, in: other)
                + line("$6", from: alice, in: other)
            _ = try store.apply(
                [DecodedRecord(sequence: 1, meaning: .events(events, channel: "Matrix"))], cursor: nil, now: t0)
            #expect(try store.pendingTranscript(for: room)?.customer?.ref == alice.ref)
            #expect(try store.pendingTranscript(for: other)?.customer?.ref == bob.ref)
            #expect(try store.conversationsWithPendingMessages().map(\.id) == [other, room])
            // A later batch with another customer first changes neither.
            _ = try store.apply(
                [
                    DecodedRecord(
                        sequence: 2,
                        meaning: .events(
                            line("$7", from: bob, in: room) + line("$8", from: alice, in: other), channel: "Matrix"))
                ], cursor: nil, now: t0)
            #expect(try store.pendingTranscript(for: room)?.customer?.ref == alice.ref)
            #expect(try store.pendingTranscript(for: other)?.customer?.ref == bob.ref)
            #expect(try store.pendingTranscript(for: room)?.entries.count == 4)
        }
    }

    @Test("a close covers the messages before it; a message after it starts the next stretch and undoes nothing")
    func close() async throws {
        try await withStore { store in
            // One record (a Matrix transaction can carry both): a message, the close, a message.
            _ = try store.apply(
                [
                    DecodedRecord(
                        sequence: 1,
                        meaning: .events(
                            [.participant(agent, conversation: room)] + message("$1", from: alice, at: 0)
                                + [.close(room, at: t0)] + message("$2", from: alice, at: 1), channel: "Matrix"))
                ], cursor: nil, now: t0)
            let closed = try #require(try store.conversationsWithPendingMessages().first)
            #expect(closed.pendingMessages == 2)
            let through = try #require(closed.closedThrough)
            let stretch = try #require(try store.pendingTranscript(for: room, through: through))
            #expect(stretch.entries.map(\.message.id) == ["$1"])
            // A later message does not undo the close either.
            _ = try store.apply(
                [DecodedRecord(sequence: 2, meaning: .events(message("$3", from: alice, at: 2), channel: "Matrix"))],
                cursor: nil, now: t0)
            #expect(try store.conversationsWithPendingMessages().first?.closedThrough == through)
            try store.scheduleArchive(of: room, throughMessage: through, delivery: nil, now: t0)
            let next = try #require(try store.conversationsWithPendingMessages().first)
            #expect(!next.closeRequested)
            #expect(next.pendingMessages == 2)
            #expect(try store.pendingTranscript(for: room)?.entries.map(\.message.id) == ["$2", "$3"])
        }
    }

    @Test("a close replayed from the log does not close the stretch that came after it")
    func replayedClose() async throws {
        try await withStore { store in
            let closing = DecodedRecord(
                sequence: 1,
                meaning: .events(
                    [.participant(agent, conversation: room)] + message("$1", from: alice, at: 0) + [
                        .close(room, at: t0)
                    ],
                    channel: "Matrix"))
            _ = try store.apply([closing], cursor: nil, now: t0)
            let through = try #require(try store.conversationsWithPendingMessages().first?.closedThrough)
            try store.scheduleArchive(of: room, throughMessage: through, delivery: nil, now: t0)
            _ = try store.apply(
                [DecodedRecord(sequence: 2, meaning: .events(message("$2", from: alice, at: 5), channel: "Matrix"))],
                cursor: nil, now: t0)
            _ = try store.apply([closing], cursor: nil, now: t0)
            let state = try #require(try store.conversationsWithPendingMessages().first)
            #expect(!state.closeRequested)
            #expect(state.pendingMessages == 1)
        }
    }

    @Test("a close replayed from the log covers the messages before it in its own record, not those after it")
    func replayedCloseWithinRecord() async throws {
        try await withStore { store in
            // One transaction: a message, the close, and a message after the close.
            let record = DecodedRecord(
                sequence: 1,
                meaning: .events(
                    [.participant(agent, conversation: room)] + message("$1", from: alice, at: 0)
                        + [.close(room, at: t0)] + message("$2", from: alice, at: 5),
                    channel: "Matrix"))
            _ = try store.apply([record], cursor: nil, now: t0)
            let first = try #require(try store.conversationsWithPendingMessages().first)
            let through = try #require(first.closedThrough)
            #expect(first.pendingMessages == 2)
            try store.scheduleArchive(of: room, throughMessage: through, delivery: nil, now: t0)
            #expect(try store.pendingTranscript(for: room, through: nil)?.entries.map(\.message.id) == ["$2"])
            _ = try store.apply([record], cursor: nil, now: t0)
            let state = try #require(try store.conversationsWithPendingMessages().first)
            #expect(state.closedThrough == nil, "the message after the close waits for its own trigger")
            #expect(state.pendingMessages == 1)
        }
    }

    @Test("an agent's opening lines wait for the customer, then are filed with the customer's reply")
    func openingLinesWaitForCustomer() async throws {
        let stranger = Participant(
            ref: SystemRef(system: "generic", kind: "user", id: "u-9"), role: .customer, displayName: "Wang")
        let agentLine = DecodedRecord(
            sequence: 1,
            meaning: .events(
                [
                    .staffed(room),
                    .message(Message(id: "$1", conversation: room, sender: agent.ref, sentAt: t0, text: "你好")),
                ], channel: "Web"))
        try await withStore { store in
            let known = DecodedRecord(
                sequence: 0, meaning: .events([.participant(agent, conversation: nil)], channel: "Web"))
            _ = try store.apply([known, agentLine], cursor: nil, now: t0)
            #expect(try store.conversationsWithPendingMessages().isEmpty)
            #expect(try store.status().conversationsWithPending == 1)
            _ = try store.apply(
                [
                    DecodedRecord(
                        sequence: 2,
                        meaning: .events(
                            [
                                .participant(stranger, conversation: room),
                                .message(
                                    Message(
                                        id: "$2", conversation: room, sender: stranger.ref,
                                        sentAt: t0.addingTimeInterval(9), text: "想了解价格")),
                            ], channel: "Web"))
                ], cursor: nil, now: t0)
            #expect(try store.conversationsWithPendingMessages().map(\.pendingMessages) == [2])
            let pending = try #require(try store.pendingTranscript(for: room))
            #expect(pending.customer?.ref == stranger.ref)
            #expect(pending.entries.map(\.message.id) == ["$1", "$2"])
        }
    }

    func enqueue(_ store: SQLiteStore, key: String, partition: String) throws {
        _ = try store.apply(
            [DecodedRecord(sequence: 1, meaning: .events(message("$\(key)", from: alice, at: 0), channel: "Matrix"))],
            cursor: nil, now: t0)
        try store.scheduleArchive(
            of: room, throughMessage: Int64.max,
            delivery: NewDelivery(
                target: "crm", operation: "archive", partition: partition, idempotencyKey: IdempotencyKey(key),
                payload: [0]),
            now: t0
        )
    }

    @Test("due deliveries: one head per partition, in order, skipping busy partitions")
    func duePerPartition() async throws {
        try await withStore { store in
            try enqueue(store, key: "a1", partition: "A")
            try enqueue(store, key: "a2", partition: "A")
            try enqueue(store, key: "b1", partition: "B")
            #expect(
                try store.dueDeliveries(now: t0, limit: 10, excludingPartitions: []).map(\.idempotencyKey.rawValue) == [
                    "a1", "b1",
                ])
            #expect(
                try store.dueDeliveries(now: t0, limit: 10, excludingPartitions: ["A"]).map(\.idempotencyKey.rawValue)
                    == ["b1"])
            let a1 = try #require(try store.dueDeliveries(now: t0, limit: 1, excludingPartitions: []).first)
            // A retrying head holds its partition back, even when not due yet.
            try store.markRetry(a1.id, error: "503", uncertain: true, nextAttemptAt: t0.addingTimeInterval(60), now: t0)
            #expect(
                try store.dueDeliveries(now: t0, limit: 10, excludingPartitions: []).map(\.idempotencyKey.rawValue) == [
                    "b1"
                ])
            let retried = try #require(try store.delivery(id: a1.id))
            #expect(retried.attempts == 1 && retried.uncertain && retried.lastError == "503")
            // What the worker waits for: the next head that can run, not a2 behind the backing-off
            // a1, nor a head whose partition has an attempt in flight.
            let b1 = try #require(try store.dueDeliveries(now: t0, limit: 1, excludingPartitions: []).first)
            #expect(try store.nextDeliveryDue(excludingPartitions: []) == b1.nextAttemptAt)
            #expect(try store.nextDeliveryDue(excludingPartitions: ["B"]) == t0.addingTimeInterval(60))
            #expect(try store.nextDeliveryDue(excludingPartitions: ["A", "B"]) == nil)
            try store.markDelivered(a1.id, remoteID: "r1", now: t0)
            #expect(
                try store.dueDeliveries(now: t0, limit: 10, excludingPartitions: []).map(\.idempotencyKey.rawValue) == [
                    "a2", "b1",
                ])
        }
    }

    @Test("dead letters are requeued with a fresh budget, all or by id")
    func requeue() async throws {
        try await withStore { store in
            try enqueue(store, key: "a1", partition: "A")
            try enqueue(store, key: "b1", partition: "B")
            for delivery in try store.deliveries(status: .pending, limit: 10) {
                try store.markDead(delivery.id, error: "gone", now: t0)
            }
            #expect(try store.status().deliveriesDead == 2)
            #expect(try store.queueDepths() == QueueDepths(pipeline: 0, outbox: 0, deadLetters: 2, conversationsWithPending: 0))
            let first = try #require(try store.deliveries(status: .dead, limit: 10).first)
            #expect(try store.requeueDead(ids: [first.id, 999], now: t0) == 1)
            #expect(try store.delivery(id: first.id)?.attempts == 0)
            #expect(try store.requeueDead(ids: nil, now: t0) == 1)
            #expect(try store.status().deliveriesDead == 0)
            #expect(try store.queueDepths().outbox == 2)
        }
    }

    @Test(
        "an expected echo is found as often as it comes back until it expires (a crash before applying finds it again)")
    func echoes() async throws {
        try await withStore { store in
            try store.expectEcho(
                system: "bottlecrm", kind: "contact", keys: ["email:li.na@example.com", "phone:+8613800138000"],
                from: t0, until: t0.addingTimeInterval(600))
            #expect(
                try store.isExpectedEcho(
                    system: "bottlecrm", kind: "contact", keys: ["email:li.na@example.com"], now: t0))
            #expect(
                try store.isExpectedEcho(
                    system: "bottlecrm", kind: "contact", keys: ["email:li.na@example.com"], now: t0))
            #expect(
                try !store.isExpectedEcho(system: "bottlecrm", kind: "lead", keys: ["email:li.na@example.com"], now: t0)
            )
            #expect(
                try !store.isExpectedEcho(
                    system: "bottlecrm", kind: "contact", keys: ["email:other@example.com"], now: t0))
            #expect(
                try !store.isExpectedEcho(
                    system: "bottlecrm", kind: "contact", keys: ["phone:+8613800138000"],
                    now: t0.addingTimeInterval(601)))
            // Expected from a later time: a change received before it is someone else's.
            try store.expectEcho(
                system: "bottlecrm", kind: "contact", keys: ["name:wang wei"], from: t0.addingTimeInterval(100),
                until: t0.addingTimeInterval(700))
            #expect(
                try !store.isExpectedEcho(
                    system: "bottlecrm", kind: "contact", keys: ["name:wang wei"], now: t0.addingTimeInterval(50)))
            #expect(
                try store.isExpectedEcho(
                    system: "bottlecrm", kind: "contact", keys: ["name:wang wei"], now: t0.addingTimeInterval(150)))
        }
    }

    @Test("the ledger remembers remote ids")
    func ledger() async throws {
        try await withStore { store in
            #expect(try store.ledgerEntry(IdempotencyKey("k")) == nil)
            try store.recordLedger(IdempotencyKey("k"), target: "crm", remoteID: "r-1", now: t0)
            #expect(try store.ledgerEntry(IdempotencyKey("k")) == "r-1")
        }
    }
}

@Suite("SQLite store, the log read from memory")
struct SQLiteStoreRecentTests {
    @Test("the log's newest records are read from memory exactly as the file has them")
    func sameAsFile() async throws {
        try await withStore { store in
            // Concurrent appends, so that commits take several records; some keys repeat, and
            // times go back, as the committer's stamping must straighten them.
            try await withThrowingTaskGroup(of: Void.self) { group in
                for index in 0..<200 {
                    group.addTask {
                        _ = try await store.append(
                            InboundRecord(
                                source: index % 2 == 0 ? "g" : "matrix",
                                dedupeKey: index % 4 == 0 ? "k\(index % 40)" : nil,
                                receivedAt: t0.addingTimeInterval(Double(index % 7)), body: Array("\(index)".utf8)))
                    }
                }
                try await group.waitForAll()
            }
            let file = try SQLiteStore(directory: store.directory, access: .existing)
            defer { file.close() }
            let all = try file.inbound(after: 0, limit: 1000)
            #expect(all.count == 160)
            for after in Int64(0)..<Int64(all.count) {
                for limit in [1, 7, 1000] {
                    // Held in memory, and equal to the file, time stamps included.
                    let held = try #require(store.recent.records(after: after, limit: limit))
                    let expected = try file.inbound(after: after, limit: limit)
                    #expect(held == expected)
                    #expect(held.map(\.receivedAt) == expected.map(\.receivedAt))
                    #expect(try store.inbound(after: after, limit: limit) == expected)
                }
            }
            #expect(try store.inbound(after: 160, limit: 10).isEmpty)
        }
    }

    @Test("a record another process appended is read from the file; what follows it, from memory again")
    func otherWriter() async throws {
        try await withStore { store in
            _ = try await store.append(InboundRecord(source: "g", dedupeKey: nil, receivedAt: t0, body: [1]))
            // Another process appends: the hub's next batch no longer follows on from what it holds.
            let other = try SQLiteStore(directory: store.directory, access: .existing)
            _ = try await other.append(InboundRecord(source: "g", dedupeKey: nil, receivedAt: t0, body: [2]))
            other.close()
            _ = try await store.append(InboundRecord(source: "g", dedupeKey: nil, receivedAt: t0, body: [3]))
            #expect(store.recent.records(after: 1, limit: 10) == nil)
            #expect(try store.inbound(after: 0, limit: 10).map(\.body) == [[1], [2], [3]])
            #expect(try store.inbound(after: 1, limit: 10).map(\.body) == [[2], [3]])
            #expect(store.recent.records(after: 2, limit: 10)?.map(\.body) == [[3]])
        }
    }
}
