import Foundation
import LiaisonConnectors
import LiaisonCore
import LiaisonTestSupport
import Synchronization
import Testing

@Suite("BottleCRM archiver against the contract simulator", .serialized)
struct BottleCRMArchiverTests {
    static let customer = Participant(
        ref: SystemRef(system: "matrix", kind: "user", id: "@li.na:corp"), role: .customer, displayName: "李娜",
        email: "li.na@example.com", phone: "+8613800138000"
    )

    /// When the deliveries were due: before any attempt a test makes, as a delivery whose
    /// attempt died with the process is due again from the time it was due before.
    static let due = Date(timeIntervalSince1970: 1_795_514_000)

    func delivery(key: String = "archive:k1", customer: Participant = customer, uncertain: Bool = false) throws
        -> Delivery
    {
        let transcript = Transcript(
            conversation: ConversationID("matrix:!r"), channel: "Matrix", customer: customer, trigger: .closed,
            lines: [
                .init(sentAt: Date(timeIntervalSince1970: 1_795_514_400), speaker: "李娜", role: .customer, text: "预算五万")
            ],
            key: IdempotencyKey(key)
        )
        return Delivery(
            id: 1, target: "bottlecrm", operation: BottleCRMArchiver.archiveOperation,
            partition: customer.ref.description,
            idempotencyKey: IdempotencyKey(key), payload: try transcript.encoded(), nextAttemptAt: Self.due,
            uncertain: uncertain,
            createdAt: Date()
        )
    }

    func archiver(_ simulator: BottleCRMSimulator, token: String? = nil, timeout: TimeInterval = 2) -> BottleCRMArchiver
    {
        BottleCRMArchiver(
            settings: BottleCRMSettings(baseURL: simulator.baseURL, token: token ?? simulator.token), timeout: timeout)
    }

    @Test("creates the contact once, files the transcript, and a retry changes nothing")
    func createsOnce() async throws {
        let simulator = try BottleCRMSimulator()
        let ledger = MemoryLedger()
        let archiver = archiver(simulator)
        let outcome = await archiver.perform(try delivery(), ledger: ledger, now: Date())
        guard case .delivered(let id) = outcome else { Issue.record("\(outcome)"); return }
        #expect(simulator.contacts.count == 1)
        #expect(
            ledger.expectedEchoes == [
                "contact email:li.na@example.com", "contact phone:+8613800138000", "contact id:\(simulator.contacts[0].id)",
            ])
        #expect(simulator.contacts.first?.lastName == "李")
        #expect(simulator.contacts.first?.firstName == "娜")
        #expect(simulator.interactions.map(\.id) == [id])
        #expect(simulator.interactions.first?.body.contains("预算五万") == true)
        #expect(simulator.interactions.first?.body.hasSuffix("liaison-ref: archive:k1") == true)
        #expect(await archiver.perform(try delivery(), ledger: ledger, now: Date()) == .delivered(remoteID: id))
        #expect(simulator.interactions.count == 1)
        // A second transcript for the same customer reuses the contact.
        _ = await archiver.perform(try delivery(key: "archive:k2"), ledger: ledger, now: Date())
        #expect(simulator.contacts.count == 1)
        #expect(simulator.interactions.count == 2)
        await simulator.stop()
    }

    @Test("a customer with neither e-mail nor phone: the contact's echo is expected by name while it is created, then by id")
    func nameOnlyEcho() async throws {
        let simulator = try BottleCRMSimulator()
        let ledger = MemoryLedger()
        var customer = Self.customer
        (customer.email, customer.phone, customer.displayName) = (nil, nil, "欧阳娜娜")
        let outcome = await archiver(simulator).perform(try delivery(customer: customer), ledger: ledger, now: Date())
        guard case .delivered = outcome else { Issue.record("\(outcome)"); return }
        let contact = try #require(simulator.contacts.first)
        #expect((contact.firstName, contact.lastName) == ("娜娜", "欧阳"))
        #expect(ledger.expectedEchoes == ["contact name:nana ouyang", "contact id:\(contact.id)"])
        await simulator.stop()
    }

    @Test("finds an existing contact by e-mail, then by phone, before creating one")
    func findsExisting() async throws {
        let simulator = try BottleCRMSimulator()
        let archiver = archiver(simulator)
        var byPhone = Self.customer
        byPhone.email = nil
        byPhone.ref = SystemRef(system: "matrix", kind: "user", id: "@other:corp")
        _ = await archiver.perform(try delivery(key: "archive:a"), ledger: MemoryLedger(), now: Date())
        _ = await archiver.perform(
            try delivery(key: "archive:b", customer: byPhone), ledger: MemoryLedger(), now: Date())
        #expect(simulator.contacts.count == 1)
        #expect(simulator.interactions.count == 2)
        await simulator.stop()
    }

    @Test(
        "a salesperson's contact is found whatever way its phone is written, and below fifty newer contacts whose e-mail contains the customer's"
    )
    func findsAsBottleCRMMatches() async throws {
        let simulator = try BottleCRMSimulator()
        let crm = HTTPTestClient(base: simulator.baseURL)
        let auth = ["Authorization": "Bearer \(simulator.token)"]
        func add(_ first: String, email: String?, phone: String?) async throws -> String {
            var contact: [String: Any] = ["first_name": first, "last_name": "Sales"]
            contact["email"] = email
            contact["phone"] = phone
            let reply = try await crm.json("POST", "/api/contacts/", headers: auth, contact)
            return try #require(reply.json["id"] as? String)
        }
        let byPhone = try await add("Na", email: nil, phone: "138 0013 8000")
        let byEmail = try await add("Li", email: "li@qq.com", phone: nil)
        for n in 0..<60 { _ = try await add("W\(n)", email: "wang\(n)li@qq.com", phone: nil) }
        let archiver = archiver(simulator)
        var phoneOnly = Self.customer
        phoneOnly.email = nil
        #expect(await archiver.perform(try delivery(key: "archive:p", customer: phoneOnly), ledger: MemoryLedger(), now: Date())
            == .delivered(remoteID: try #require(simulator.interactions.last?.id)))
        var emailOnly = Self.customer
        emailOnly.ref = SystemRef(system: "matrix", kind: "user", id: "@li:corp")
        emailOnly.email = "li@qq.com"
        emailOnly.phone = nil
        _ = await archiver.perform(try delivery(key: "archive:e", customer: emailOnly), ledger: MemoryLedger(), now: Date())
        #expect(simulator.contacts.count == 62, "no contact created")
        #expect(simulator.interactions.map(\.contact) == [byPhone, byEmail])
        await simulator.stop()
    }

    @Test("a phone BottleCRM will not take as written does not refuse the customer's transcripts: the contact is made without it")
    func malformedPhone() async throws {
        let simulator = try BottleCRMSimulator()
        var customer = Self.customer
        customer.phone = "138-0013-8000 转 801"
        let outcome = await archiver(simulator).perform(try delivery(customer: customer), ledger: MemoryLedger(), now: Date())
        guard case .delivered = outcome else { Issue.record("\(outcome)"); return }
        #expect(simulator.contacts.map(\.phone) == [nil])
        #expect(simulator.contacts.first?.email == customer.email)
        #expect(simulator.interactions.count == 1)
        await simulator.stop()
    }

    @Test("the contact identity resolution links the customer to is used, without searching or creating")
    func usesResolvedContact() async throws {
        let simulator = try BottleCRMSimulator()
        let archiver = archiver(simulator)
        // One contact exists under a different e-mail and phone: no search would find it.
        let existing = MemoryLedger()
        var other = Self.customer
        other.ref = SystemRef(system: "matrix", kind: "user", id: "@someone:corp")
        other.email = "work.address@example.com"
        other.phone = "+8613900139000"
        guard
            case .delivered = await archiver.perform(
                try delivery(key: "archive:x", customer: other), ledger: existing, now: Date())
        else {
            Issue.record("seeding failed"); return
        }
        let contact = try #require(simulator.contacts.first?.id)
        let ledger = MemoryLedger()
        ledger.linked.withLock {
            $0[Self.customer.ref.description] = ["wecom:user:wm7x", "bottlecrm:contact:\(contact)"]
        }
        guard case .delivered = await archiver.perform(try delivery(), ledger: ledger, now: Date()) else {
            Issue.record("not delivered"); return
        }
        #expect(simulator.contacts.count == 1)
        #expect(simulator.interactions.last?.contact == contact)
        await simulator.stop()
    }

    @Test("429 is retryable after the server's Retry-After, a look before writing again too; 503 too; 400 is permanent")
    func statusClassification() async throws {
        let simulator = try BottleCRMSimulator()
        let archiver = archiver(simulator)
        simulator.inject([.status(429, retryAfter: 7)])
        let limited = await archiver.perform(try delivery(), ledger: MemoryLedger(), now: Date())
        guard case .retryable(_, let after, let uncertain) = limited else { Issue.record("\(limited)"); return }
        #expect(after == .seconds(7))
        #expect(!uncertain)
        simulator.inject([.status(503, retryAfter: nil)])
        guard case .retryable = await archiver.perform(try delivery(), ledger: MemoryLedger(), now: Date()) else {
            Issue.record("503 not retryable"); return
        }
        simulator.inject([.status(400, retryAfter: nil)])
        guard case .permanent = await archiver.perform(try delivery(), ledger: MemoryLedger(), now: Date()) else {
            Issue.record("400 not permanent"); return
        }
        // The look before writing again, limited: its Retry-After, and still uncertain.
        let ledger = MemoryLedger()
        _ = await archiver.perform(try delivery(key: "archive:warm"), ledger: ledger, now: Date())  // contact known
        simulator.injectReads([.status(429, retryAfter: 9)])
        let look = await archiver.perform(try delivery(uncertain: true), ledger: ledger, now: Date())
        guard case .retryable(_, let lookAfter, true) = look else { Issue.record("\(look)"); return }
        #expect(lookAfter == .seconds(9))
        await simulator.stop()
    }

    @Test("a bad token is permanent: retrying cannot fix configuration")
    func badToken() async throws {
        let simulator = try BottleCRMSimulator()
        let outcome = await archiver(simulator, token: "wrong").perform(
            try delivery(), ledger: MemoryLedger(), now: Date())
        guard case .permanent(let reason) = outcome else { Issue.record("\(outcome)"); return }
        #expect(reason.contains("403"))
        #expect(simulator.contacts.isEmpty)
        await simulator.stop()
    }

    @Test("after a 500 that saved the row, the retry finds it instead of writing twice")
    func uncertainServerError() async throws {
        let simulator = try BottleCRMSimulator()
        let ledger = MemoryLedger()
        let archiver = archiver(simulator)
        _ = await archiver.perform(try delivery(key: "archive:warm"), ledger: ledger, now: Date())  // contact exists
        simulator.inject([.saveThen500])
        let first = await archiver.perform(try delivery(), ledger: ledger, now: Date())
        guard case .retryable(_, _, let uncertain) = first else { Issue.record("\(first)"); return }
        #expect(uncertain)
        let retry = await archiver.perform(try delivery(uncertain: true), ledger: ledger, now: Date())
        guard case .delivered = retry else { Issue.record("\(retry)"); return }
        #expect(simulator.interactions.filter { $0.body.contains("archive:k1") }.count == 1)
        await simulator.stop()
    }

    @Test("a timeout is uncertain; the retry looks before writing")
    func timeout() async throws {
        let simulator = try BottleCRMSimulator()
        let ledger = MemoryLedger()
        // The contact first, without a short timeout (a busy machine's first request may take it).
        let warm = await self.archiver(simulator, timeout: 10).perform(
            try delivery(key: "archive:warm"), ledger: ledger, now: Date())
        guard case .delivered = warm else { Issue.record("\(warm)"); return }
        let archiver = archiver(simulator, timeout: 0.5)
        simulator.inject([.saveThenDelay(seconds: 1.5)])
        let first = await archiver.perform(try delivery(), ledger: ledger, now: Date())
        guard case .retryable(let reason, _, let uncertain) = first else { Issue.record("\(first)"); return }
        #expect(uncertain, "\(reason)")
        // The retry waits long enough for the slow answer (the test suite runs in parallel).
        let retry = await self.archiver(simulator, timeout: 10).perform(
            try delivery(uncertain: true), ledger: ledger, now: Date())
        guard case .delivered = retry else { Issue.record("\(retry)"); return }
        #expect(simulator.interactions.filter { $0.body.contains("archive:k1") }.count == 1)
        await simulator.stop()
    }

    @Test("an interaction that landed but never reached the ledger (the process died) is found, not written again")
    func lostLedgerLine() async throws {
        let simulator = try BottleCRMSimulator()
        let ledger = MemoryLedger()
        let archiver = archiver(simulator)
        _ = await archiver.perform(try delivery(key: "archive:warm"), ledger: ledger, now: Date())  // contact exists
        ledger.crashAfterWrites.withLock { $0 = true }
        let first = await archiver.perform(try delivery(), ledger: ledger, now: Date())
        guard case .retryable = first else { Issue.record("\(first)"); return }
        #expect(simulator.interactions.filter { $0.body.contains("archive:k1") }.count == 1)
        // After a restart the delivery is not marked uncertain: only the intent says the write went out.
        ledger.crashAfterWrites.withLock { $0 = false }
        // Straight away, the write may still be landing: not looked for yet, and not written again.
        let early = await archiver.perform(try delivery(uncertain: false), ledger: ledger, now: Date())
        guard case .retryable(_, let after?, true) = early, after > .zero, after <= .seconds(2) else {
            Issue.record("\(early)"); return
        }
        #expect(simulator.interactions.filter { $0.body.contains("archive:k1") }.count == 1)
        // Once the request's timeout has passed, as the outbox retries it.
        let retry = await archiver.perform(
            try delivery(uncertain: false), ledger: ledger, now: Date().addingTimeInterval(3))
        guard case .delivered(let id) = retry else { Issue.record("\(retry)"); return }
        #expect(simulator.interactions.filter { $0.body.contains("archive:k1") }.map(\.id) == [id])
        await simulator.stop()
    }

    @Test("a write replayed days later is found below hundreds of newer interactions, not written again")
    func lookupPages() async throws {
        let simulator = try BottleCRMSimulator()
        let ledger = MemoryLedger()
        let archiver = archiver(simulator)
        _ = await archiver.perform(try delivery(key: "archive:warm"), ledger: ledger, now: Date())  // contact exists
        ledger.crashAfterWrites.withLock { $0 = true }
        guard case .retryable = await archiver.perform(try delivery(), ledger: ledger, now: Date()) else {
            Issue.record("the lost ledger line was not reported"); return
        }
        ledger.crashAfterWrites.withLock { $0 = false }
        // The customer goes on talking: 250 transcripts filed since, newest first above it.
        for index in 0..<250 {
            let filed = await archiver.perform(try delivery(key: "archive:n\(index)"), ledger: ledger, now: Date())
            guard case .delivered = filed else { Issue.record("transcript \(index): \(filed)"); return }
        }
        let retry = await archiver.perform(
            try delivery(uncertain: true), ledger: ledger, now: Date().addingTimeInterval(3))
        guard case .delivered(let id) = retry else { Issue.record("\(retry)"); return }
        #expect(simulator.interactions.filter { $0.body.contains("archive:k1") }.map(\.id) == [id])
        #expect(simulator.interactions.count == 252)
        await simulator.stop()
    }

    @Test("a contact created for a customer with no e-mail or phone, its answer lost, is found again by the customer's ref")
    func lostContactWithoutKeys() async throws {
        let simulator = try BottleCRMSimulator()
        let archiver = archiver(simulator)
        var anonymous = Self.customer
        anonymous.email = nil
        anonymous.phone = nil
        anonymous.displayName = "Wang Fang"
        anonymous.ref = SystemRef(system: "matrix", kind: "user", id: "@wf:corp")
        // Someone else of the same name already has a contact: it must not be taken for this one.
        var namesake = anonymous
        namesake.ref = SystemRef(system: "matrix", kind: "user", id: "@other.wf:corp")
        _ = await archiver.perform(try delivery(key: "archive:n", customer: namesake), ledger: MemoryLedger(), now: Date())
        #expect(simulator.contacts.count == 1)

        let ledger = MemoryLedger()
        ledger.crashAfterWrites.withLock { $0 = true }
        let first = await archiver.perform(try delivery(customer: anonymous), ledger: ledger, now: Date())
        guard case .retryable = first else { Issue.record("\(first)"); return }
        #expect(simulator.contacts.count == 2)
        ledger.crashAfterWrites.withLock { $0 = false }
        let retry = await archiver.perform(
            try delivery(customer: anonymous), ledger: ledger, now: Date().addingTimeInterval(3))
        guard case .delivered = retry else { Issue.record("\(retry)"); return }
        #expect(simulator.contacts.count == 2)
        let mine = try #require(simulator.contacts.first { $0.sourceRef == anonymous.ref.description })
        #expect(simulator.interactions.last?.contact == mine.id)
        await simulator.stop()
    }

    @Test(
        "a contact merged away while a write to it was uncertain: looked up again, and the write found on the contact it went to, not made twice"
    )
    func mergedWhileUncertain() async throws {
        let simulator = try BottleCRMSimulator()
        let archiver = archiver(simulator)
        let ledger = MemoryLedger()
        var customer = Self.customer
        customer.phone = nil
        // The interaction is saved, but its answer is lost (a 500 after the save).
        simulator.inject([.pass, .pass, .saveThen500])
        let first = await archiver.perform(try delivery(customer: customer), ledger: ledger, now: Date())
        guard case .retryable(_, _, uncertain: true) = first else { Issue.record("\(first)"); return }
        let original = try #require(simulator.contacts.first)
        #expect(simulator.interactions.count == 1)
        // Staff merge it into a contact of their own: BottleCRM moves its interactions there.
        simulator.delete(contact: original.id)
        let crm = HTTPTestClient(base: simulator.baseURL)
        let kept = try await crm.json(
            "POST", "/api/contacts/", headers: ["Authorization": "Bearer \(simulator.token)"],
            ["first_name": "Na", "last_name": "Li", "email": "li.na@example.com"])
        let survivor = try #require(kept.json["id"] as? String)
        simulator.moveInteractions(from: original.id, to: survivor)
        let looked = await archiver.perform(
            try delivery(customer: customer, uncertain: true), ledger: ledger, now: Date().addingTimeInterval(3))
        guard case .retryable(let reason, _, uncertain: true) = looked else { Issue.record("\(looked)"); return }
        #expect(reason.contains("no longer exists"))
        let found = await archiver.perform(
            try delivery(customer: customer, uncertain: true), ledger: ledger, now: Date().addingTimeInterval(6))
        #expect(found == .delivered(remoteID: try #require(simulator.interactions.first?.id)))
        #expect(simulator.interactions.count == 1, "not written again")
        await simulator.stop()
    }

    @Test("an uncertain attempt that never sent a create does not take an older contact of the same IM user")
    func uncertainWithoutCreate() async throws {
        let simulator = try BottleCRMSimulator()
        let archiver = archiver(simulator)
        // Another store filed this IM user once, under an address they no longer use.
        var before = Self.customer
        before.email = "old.address@example.com"
        before.phone = nil
        _ = await archiver.perform(try delivery(key: "archive:old", customer: before), ledger: MemoryLedger(), now: Date())
        var now = Self.customer
        now.phone = nil
        // A search timed out: the delivery is uncertain, but no create was ever sent.
        guard case .delivered = await archiver.perform(
            try delivery(customer: now, uncertain: true), ledger: MemoryLedger(), now: Date())
        else { Issue.record("not delivered"); return }
        #expect(simulator.contacts.map(\.email) == ["old.address@example.com", "li.na@example.com"])
        #expect(simulator.interactions.last?.contact == simulator.contacts.last?.id)
        await simulator.stop()
    }

    @Test("a contact deleted in BottleCRM is forgotten: the next attempt files to a contact found or created again")
    func deletedContact() async throws {
        let simulator = try BottleCRMSimulator()
        let archiver = archiver(simulator)
        let ledger = MemoryLedger()
        guard case .delivered = await archiver.perform(try delivery(key: "archive:a"), ledger: ledger, now: Date())
        else { Issue.record("not delivered"); return }
        let deleted = try #require(simulator.contacts.first?.id)
        // Identity resolution still links the customer to the deleted contact.
        ledger.linked.withLock { $0[Self.customer.ref.description] = ["bottlecrm:contact:\(deleted)"] }
        simulator.delete(contact: deleted)
        let refused = await archiver.perform(try delivery(key: "archive:b"), ledger: ledger, now: Date())
        guard case .retryable(let reason, _, let uncertain) = refused else { Issue.record("\(refused)"); return }
        #expect(reason.contains("no longer exists") && !uncertain)
        // After the outbox's wait: the refused create's intent is older than the request's timeout.
        guard
            case .delivered = await archiver.perform(
                try delivery(key: "archive:b"), ledger: ledger, now: Date().addingTimeInterval(3))
        else { Issue.record("not delivered after the contact was deleted"); return }
        let replacement = try #require(simulator.contacts.first?.id)
        #expect(replacement != deleted)
        #expect(simulator.interactions.last?.contact == replacement)
        // A 404 that is not BottleCRM's "No such record." (a wrong path) says nothing of the contact.
        simulator.inject([.status(404, retryAfter: nil)])
        guard case .permanent = await archiver.perform(try delivery(key: "archive:c"), ledger: ledger, now: Date())
        else { Issue.record("a bare 404 was taken for a deleted contact"); return }
        #expect(try await ledger.remoteID(for: IdempotencyKey("bottlecrm:contact:\(Self.customer.ref)")) == replacement)
        await simulator.stop()
    }

    @Test("an unreachable CRM is retryable and certainly not applied")
    func unreachable() async throws {
        let archiver = BottleCRMArchiver(
            settings: BottleCRMSettings(baseURL: URL(string: "http://127.0.0.1:9")!, token: "x"), timeout: 2
        )
        let outcome = await archiver.perform(try delivery(), ledger: MemoryLedger(), now: Date())
        guard case .retryable(_, _, let uncertain) = outcome else { Issue.record("\(outcome)"); return }
        #expect(!uncertain)
    }

    @Test(
        "names are split for BottleCRM's required first and last name, the family name last",
        arguments: [
            ("Alice Smith", "Alice", "Smith"), ("Mary Ann Lee", "Mary Ann", "Lee"), ("李娜", "娜", "李"),
            ("alice", "alice", "-"), ("  ", "Unknown", "-"),
            ("欧阳娜娜", "娜娜", "欧阳"), ("李 秀英", "秀英", "李"), ("秀英 李", "秀英", "李"),
        ])
    func split(name: String, first: String, last: String) {
        #expect(BottleCRMArchiver.split(name) == (first, last))
    }
}

@Suite("BottleCRM transcript parts")
struct BottleCRMPartsTests {
    @Test(
        "a single line longer than a part is carried over as many parts as it needs, nothing cut",
        arguments: [9_990, 25_000])
    func longLine(length: Int) {
        let pasted = (0..<length).map { Character(UnicodeScalar(UInt8(ascii: "a") + UInt8($0 % 26))) }
        let transcript = Transcript(
            conversation: ConversationID("generic.acme:t1"), channel: "Web", customer: BottleCRMArchiverTests.customer,
            trigger: .closed,
            lines: [
                Transcript.Line(
                    sentAt: Date(timeIntervalSince1970: 1_795_514_400), speaker: "Li Na", role: .customer, text: "hi"),
                Transcript.Line(
                    sentAt: Date(timeIntervalSince1970: 1_795_514_401), speaker: "Li Na", role: .customer,
                    text: String(pasted)),
            ],
            key: IdempotencyKey("archive:paste"))
        let parts = BottleCRMArchiver.parts(of: transcript)
        #expect(parts.count >= 2)
        #expect(parts.allSatisfy { $0.body.unicodeScalars.count <= 10_000 })
        // Each part's text without its marker, put back together, is the transcript's text.
        let texts = parts.map { part in
            let lines = part.body.components(separatedBy: "\n")
            #expect(lines.last == part.marker)
            return lines.dropLast(2)
        }
        let whole = transcript.body.components(separatedBy: "\n").dropLast(2).joined()
        let rejoined = texts.map { $0.joined() }.joined()
        let same = rejoined == whole  // compared apart: a failure would print both, tens of KB each
        #expect(same, "the parts hold \(rejoined.unicodeScalars.count) characters of \(whole.unicodeScalars.count)")
        #expect(Set(parts.map(\.key)).count == parts.count)
    }

    @Test(
        "a transcript over BottleCRM's 10,000-character body limit is split at lines, each part marked, and written once"
    )
    func split() async throws {
        let simulator = try BottleCRMSimulator()
        let customer = BottleCRMArchiverTests.customer
        let lines = (0..<300).map { index in
            Transcript.Line(
                sentAt: Date(timeIntervalSince1970: 1_795_514_400 + Double(index)), speaker: "李娜", role: .customer,
                text: "第\(index)条消息：" + String(repeating: "长", count: 60))
        }
        let transcript = Transcript(
            conversation: ConversationID("matrix:!r"), channel: "Matrix", customer: customer,
            trigger: .closed, lines: lines, key: IdempotencyKey("archive:long"))
        let parts = BottleCRMArchiver.parts(of: transcript)
        #expect(parts.count >= 2)
        #expect(parts.allSatisfy { $0.body.unicodeScalars.count <= 10_000 && $0.subject.unicodeScalars.count <= 200 })
        #expect(parts.map(\.body).joined().contains("第299条消息"))
        let delivery = Delivery(
            id: 1, target: "bottlecrm", operation: BottleCRMArchiver.archiveOperation, partition: "p",
            idempotencyKey: transcript.key, payload: try transcript.encoded(), nextAttemptAt: Date(), createdAt: Date()
        )
        let archiver = BottleCRMArchiver(
            settings: BottleCRMSettings(baseURL: simulator.baseURL, token: simulator.token), timeout: 2)
        let ledger = MemoryLedger()
        // The contact looked for (by e-mail and by phone: POSTs too) and written, part 1
        // written, part 2 fails: the retry writes only what is missing.
        simulator.inject([.pass, .pass, .pass, .pass, .status(503, retryAfter: nil)])
        guard case .retryable = await archiver.perform(delivery, ledger: ledger, now: Date()) else {
            Issue.record("not retryable"); return
        }
        #expect(simulator.interactions.count == 1)
        // Retried after the 5xx's wait, as the outbox retries it.
        let later = Date().addingTimeInterval(3)
        guard case .delivered = await archiver.perform(delivery, ledger: ledger, now: later) else {
            Issue.record("not delivered"); return
        }
        #expect(simulator.interactions.count == parts.count)
        #expect(simulator.interactions.first?.subject.hasSuffix("(1/\(parts.count))") == true)
        _ = await archiver.perform(delivery, ledger: ledger, now: later)
        #expect(simulator.interactions.count == parts.count)
        await simulator.stop()
    }
}
