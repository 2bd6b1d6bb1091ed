import Foundation
import LiaisonCore
import LiaisonStore
import LiaisonSync
import Testing

@Suite("Identity resolution online: review queue, merge, unmerge")
struct IdentityResolverTests {
    func withResolver<T>(_ body: (SQLiteStore, IdentityResolver) throws -> T) throws -> T {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("liaison-id-\(UUID().uuidString)")
        let store = try SQLiteStore(directory: directory.path)
        defer {
            store.close()
            try? FileManager.default.removeItem(at: directory)
        }
        return try body(store, try IdentityResolver(store: store))
    }

    let now = Date(timeIntervalSince1970: 1_800_000_000)

    /// A CRM contact and an IM user with one name (in Pinyin and in Han characters) and
    /// nothing else in common: two customers, and a review between them.
    static func namesakes(_ resolver: IdentityResolver, now: Date) throws -> (
        IdentityResolver.Resolution, IdentityResolver.Resolution
    ) {
        let a = try resolver.resolve(
            ref: "crm:contact:1", name: "Wang Jianhua", company: nil, phone: nil, email: "jianhua@example.com",
            now: now)
        let b = try resolver.resolve(
            ref: "im:user:jh", name: "王建华", company: nil, phone: "13800138000", email: nil, now: now)
        return (a, b)
    }

    @Test("the same person from IM and CRM is one customer; a namesake elsewhere is another")
    func links() throws {
        try withResolver { store, resolver in
            let crm = try resolver.resolve(
                ref: "bottlecrm:contact:42", name: "李娜", company: "北京字节跳动科技有限公司", phone: "+86 138-0013-8000",
                email: nil, now: now)
            #expect(crm.linkedTo == nil && crm.reviews.isEmpty)
            let im = try resolver.resolve(
                ref: "matrix:user:@li.na:corp", name: "Li Na", company: nil, phone: "13800138000", email: nil, now: now)
            #expect(im.customer == crm.customer)
            #expect(im.linkedTo == "bottlecrm:contact:42")
            let namesake = try resolver.resolve(
                ref: "matrix:user:@na:other", name: "Na Li", company: "Acme", phone: "13900139000", email: nil, now: now
            )
            #expect(namesake.customer != crm.customer)
            #expect(try store.people().count == 3)
        }
    }

    @Test("an uncertain pair waits for review; accepting merges, unmerge restores, decisions are final")
    func review() throws {
        try withResolver { store, resolver in
            let (a, b) = try Self.namesakes(resolver, now: now)
            #expect(a.customer != b.customer)  // a name alone never links
            #expect(b.reviews == ["crm:contact:1"])
            let queued = try store.reviews(status: .open, limit: 10)
            let review = try #require(queued.first)
            #expect(queued.count == 1)
            #expect(review.evidence.contains { $0.field == "name" && $0.level == "exact" })

            // Bad requests change nothing.
            #expect(throws: IdentityError.self) { try store.decide(review: 999, accept: true, actor: "ops", now: now) }
            #expect(throws: IdentityError.self) { try store.unmerge(999, actor: "ops", now: now) }

            let merge = try #require(try store.decide(review: review.id, accept: true, actor: "ops", now: now))
            #expect(try store.person("im:user:jh")?.customer == a.customer)
            #expect(merge.moves == [IdentityMerge.Move(ref: "im:user:jh", from: b.customer, to: a.customer)])
            #expect(throws: IdentityError.self) {
                try store.decide(review: review.id, accept: false, actor: "x", now: now)
            }

            // A new record for the merged person now links to the merged customer: through
            // the record the merge moved (jh2), through that one (jh3), or through the
            // customer's own record (jh4).
            let again = try resolver.resolve(
                ref: "im:user:jh2", name: nil, company: nil, phone: "+86 138 0013 8000", email: "jh2@example.com",
                now: now)
            #expect(again.customer == a.customer && again.linkedTo == "im:user:jh")
            let third = try resolver.resolve(
                ref: "im:user:jh3", name: nil, company: nil, phone: nil, email: "JH2@example.com", now: now)
            #expect(third.customer == a.customer && third.linkedTo == "im:user:jh2")
            let own = try resolver.resolve(
                ref: "im:user:jh4", name: nil, company: nil, phone: nil, email: "jianhua@example.com", now: now)
            #expect(own.customer == a.customer && own.linkedTo == "crm:contact:1")

            // Unmerged, what came in through the moved record goes back with it.
            let undone = try store.unmerge(merge.id, actor: "ops", now: now)
            #expect(try store.person("im:user:jh")?.customer == b.customer)
            #expect(try store.person("im:user:jh2")?.customer == b.customer)
            #expect(try store.person("im:user:jh3")?.customer == b.customer)
            #expect(try store.person("im:user:jh4")?.customer == a.customer)
            #expect(Set(undone.moves.map(\.ref)) == ["im:user:jh", "im:user:jh2", "im:user:jh3"])
            #expect(try store.person("crm:contact:1")?.customer == a.customer)
            #expect(try store.review(id: review.id)?.status == .open)
            #expect(throws: IdentityError.self) { try store.unmerge(merge.id, actor: "ops", now: now) }

            // Reopened by the unmerge, it can be decided again later: the move changed no
            // record's data, so its evidence holds (accepted again, it merges again).
            let later = now.addingTimeInterval(120)
            let remerge = try #require(try store.decide(review: review.id, accept: true, actor: "ops", now: later))
            #expect(try store.person("im:user:jh")?.customer == a.customer)
            _ = try store.unmerge(remerge.id, actor: "ops", now: later.addingTimeInterval(60))
            let again3 = try #require(
                try store.decide(review: review.id, accept: true, actor: "ops", now: later.addingTimeInterval(120)))
            _ = try store.unmerge(again3.id, actor: "ops", now: later.addingTimeInterval(180))

            _ = try store.decide(review: review.id, accept: false, actor: "ops", now: later.addingTimeInterval(240))
            #expect(try store.review(id: review.id)?.status == .rejected)
            #expect(try store.person("im:user:jh")?.customer == b.customer)
        }
    }

    @Test("a review whose record changed since it was scored is not accepted on the old evidence; scored again, it is")
    func staleReview() throws {
        try withResolver { store, resolver in
            _ = try Self.namesakes(resolver, now: now)
            let review = try #require(try store.reviews(status: .open, limit: 10).first)
            // The CRM contact is edited afterwards (its e-mail now another person's), outside
            // the pair's scoring: the review no longer says what the records say.
            let later = now.addingTimeInterval(60)
            try store.save(
                KnownPerson(
                    ref: "crm:contact:1", name: "Wang Jianhua", email: "someone.else@example.com",
                    customer: try #require(try store.person("crm:contact:1")).customer),
                reviews: [], now: later)
            #expect(throws: IdentityError.self) {
                try store.decide(review: review.id, accept: true, actor: "ops", now: later)
            }
            #expect(try store.review(id: review.id)?.status == .open, "refused, nothing decided")
            // The IM record seen again, the pair is scored again: current evidence, acceptable.
            _ = try resolver.resolve(
                ref: "im:user:jh", name: "王建华", company: nil, phone: "13900139000", email: nil,
                now: later.addingTimeInterval(1))
            let rescored = try #require(try store.review(id: review.id))
            #expect(rescored.status == .open && rescored.createdAt > later)
            let accepted = try store.decide(review: review.id, accept: true, actor: "ops", now: later.addingTimeInterval(2))
            #expect(accepted != nil)
        }
    }

    @Test("a record linked while a merge lands is filed under its link's customer as it is then, and an unmerge takes it along")
    func linkDuringMerge() throws {
        try withResolver { store, resolver in
            let (a, b) = try Self.namesakes(resolver, now: now)
            let review = try #require(try store.reviews(status: .open, limit: 10).first)
            // The resolver read im:user:jh's customer (b) for a new record linked to it ...
            let stale = KnownPerson(ref: "im:user:jh2", phone: "13800138000", customer: b.customer)
            // ... then an operator's merge moved im:user:jh to a's customer, before the save.
            let later = now.addingTimeInterval(10)
            let merge = try #require(try store.decide(review: review.id, accept: true, actor: "ops", now: later))
            try store.save(stale, linkedTo: "im:user:jh", reviews: [], now: now.addingTimeInterval(5))
            #expect(try store.person("im:user:jh2")?.customer == a.customer, "filed where its link is now")
            // Undoing the merge takes it back with the record it was linked to.
            _ = try store.unmerge(merge.id, actor: "ops", now: later.addingTimeInterval(10))
            #expect(try store.person("im:user:jh")?.customer == b.customer)
            #expect(try store.person("im:user:jh2")?.customer == b.customer)
        }
    }

    @Test("a phone that two customers share (a switchboard) names neither in the profile lookup; each is found by its ref")
    func sharedPhone() throws {
        try withResolver { store, resolver in
            let phone = "+86 10 8888 0000"
            let people = [("generic.acme:user:a", "Li Na", "li.na@acme.example"), ("generic.acme:user:b", "Wang Wei", "wang.wei@acme.example")]
            var customers: [String] = []
            for (ref, name, email) in people {
                _ = try resolver.resolve(ref: ref, name: name, company: nil, phone: phone, email: email, now: now)
                // An operator who said they are two people.
                for review in try store.reviews(status: .open, limit: 10) {
                    _ = try store.decide(review: review.id, accept: false, actor: "test", now: now)
                }
                customers.append(try #require(try store.person(ref)).customer)
                let systemRef = try #require(SystemRef(ref))
                try store.save(
                    Participant(ref: systemRef, role: .customer, displayName: name, email: email, phone: phone), now: now)
            }
            try #require(customers[0] != customers[1], "two people, two customers (the test needs them apart)")
            #expect {
                try store.customerProfile(.phone(phone), interactions: 5)
            } throws: { error in
                (error as? AmbiguousLookup)?.candidates == ["generic.acme:user:a", "generic.acme:user:b"]
            }
            #expect(try store.customerProfile(.email("wang.wei@acme.example"), interactions: 5)?.name == "Wang Wei")
            let a = try #require(SystemRef("generic.acme:user:a"))
            let byRef = try #require(try store.customerProfile(.ref(a), interactions: 5))
            #expect(byRef.name == "Li Na" && byRef.email == "li.na@acme.example")
        }
    }

    @Test("the index is rebuilt from the store at start")
    func rebuild() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("liaison-id-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: directory) }
        let first: IdentityResolver.Resolution
        do {
            let store = try SQLiteStore(directory: directory.path)
            defer { store.close() }
            first = try IdentityResolver(store: store).resolve(
                ref: "crm:contact:7", name: "Zhang Wei", company: nil, phone: nil, email: "zw@example.com", now: now)
        }
        let store = try SQLiteStore(directory: directory.path)
        defer { store.close() }
        let resolver = try IdentityResolver(store: store)
        #expect(resolver.count == 1)
        let second = try resolver.resolve(
            ref: "im:user:zw", name: nil, company: nil, phone: nil, email: " ZW@example.com ", now: now)
        #expect(second.customer == first.customer)
    }

    @Test("merges undo in reverse order: one whose records moved on is refused and changes nothing")
    func unmergeOrder() throws {
        try withResolver { store, _ in
            let evidence = [FieldEvidence(field: "name", level: "exact", weight: 9)]
            try store.save(KnownPerson(ref: "a", name: "A", customer: "X"), reviews: [], now: now)
            try store.save(KnownPerson(ref: "b", name: "B", customer: "Y"), reviews: [("a", 9, evidence)], now: now)
            // "0c" sorts first: accepting its review moves a's customer (with b) into Z.
            try store.save(KnownPerson(ref: "0c", name: "C", customer: "Z"), reviews: [("a", 9, evidence)], now: now)
            let reviews = try store.reviews(status: .open, limit: 10)
            let ab = try #require(reviews.first { Set([$0.left, $0.right]) == ["a", "b"] })
            let ca = try #require(reviews.first { Set([$0.left, $0.right]) == ["0c", "a"] })
            let first = try #require(try store.decide(review: ab.id, accept: true, actor: "ops", now: now))
            #expect(first.moves.map(\.ref) == ["b"])
            let second = try #require(try store.decide(review: ca.id, accept: true, actor: "ops", now: now))
            #expect(Set(second.moves.map(\.ref)) == ["a", "b"])
            #expect(try store.person("b")?.customer == "Z")
            #expect(throws: IdentityError.self) { try store.unmerge(first.id, actor: "ops", now: now) }
            #expect(try store.person("b")?.customer == "Z", "a refused unmerge changes nothing")
            #expect(try store.person("a")?.customer == "Z")
            #expect(try store.merge(id: first.id)?.undoneAt == nil)
            _ = try store.unmerge(second.id, actor: "ops", now: now)
            _ = try store.unmerge(first.id, actor: "ops", now: now)
            #expect(
                try [store.person("a")?.customer, store.person("b")?.customer, store.person("0c")?.customer] == [
                    "X", "Y", "Z",
                ])
        }
    }

    @Test("a later merge into the same customer must be undone first, whichever way it moved records")
    func unmergeOrderInto() throws {
        try withResolver { store, _ in
            let evidence = [FieldEvidence(field: "name", level: "exact", weight: 9)]
            try store.save(KnownPerson(ref: "a", name: "A", customer: "X"), reviews: [], now: now)
            try store.save(KnownPerson(ref: "b", name: "B", customer: "Y"), reviews: [("a", 9, evidence)], now: now)
            // "c" sorts after "b": accepting c ≈ b moves c into b's customer, which is X by then.
            try store.save(KnownPerson(ref: "c", name: "C", customer: "Z"), reviews: [("b", 9, evidence)], now: now)
            let reviews = try store.reviews(status: .open, limit: 10)
            let ab = try #require(reviews.first { Set([$0.left, $0.right]) == ["a", "b"] })
            let bc = try #require(reviews.first { Set([$0.left, $0.right]) == ["b", "c"] })
            let first = try #require(try store.decide(review: ab.id, accept: true, actor: "ops", now: now))
            let second = try #require(try store.decide(review: bc.id, accept: true, actor: "ops", now: now))
            #expect(second.moves.map(\.ref) == ["c"])
            #expect(try store.person("c")?.customer == "X")
            // Undoing the first alone would leave c with a, matched to b: refused, nothing changes.
            #expect(throws: IdentityError.self) { try store.unmerge(first.id, actor: "ops", now: now) }
            #expect(try store.person("b")?.customer == "X")
            _ = try store.unmerge(second.id, actor: "ops", now: now)
            _ = try store.unmerge(first.id, actor: "ops", now: now)
            #expect(
                try [store.person("a")?.customer, store.person("b")?.customer, store.person("c")?.customer] == [
                    "X", "Y", "Z",
                ])
        }
    }

    @Test("a pair already one customer (joined by another merge) is accepted without a merge")
    func acceptJoined() throws {
        try withResolver { store, _ in
            let evidence = [FieldEvidence(field: "name", level: "exact", weight: 9)]
            try store.save(KnownPerson(ref: "a", name: "A", customer: "X"), reviews: [], now: now)
            try store.save(KnownPerson(ref: "b", name: "B", customer: "Y"), reviews: [("a", 9, evidence)], now: now)
            try store.save(
                KnownPerson(ref: "c", name: "C", customer: "Y"), reviews: [("a", 9, evidence)], now: now)
            let reviews = try store.reviews(status: .open, limit: 10)
            _ = try store.decide(review: reviews[0].id, accept: true, actor: "ops", now: now)
            #expect(try store.decide(review: reviews[1].id, accept: true, actor: "ops", now: now) == nil)
            #expect(try store.review(id: reviews[1].id)?.status == .accepted)
            // A record seen again keeps the customer a merge gave it.
            try store.save(KnownPerson(ref: "b", name: "B2", customer: "stale"), reviews: [], now: now)
            #expect(try store.person("b")?.customer == store.person("a")?.customer)
            #expect(try store.person("b")?.name == "B2")
        }
    }
}
