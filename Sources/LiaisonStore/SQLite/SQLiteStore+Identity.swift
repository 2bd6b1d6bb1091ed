import Foundation
import LiaisonCore

/// People as each system knows them, the customer each belongs to, the review queue of
/// uncertain pairs, and merges with what they moved (so an unmerge restores exactly).
extension SQLiteStore {
    public func people() throws -> [KnownPerson] {
        try read { db in
            try db.statement("SELECT ref, name, company, phone, email, customer FROM people ORDER BY ref").rows {
                Self.person($0)
            }
        }
    }

    public func person(_ ref: String) throws -> KnownPerson? {
        try read { db in try Self.person(ref, in: db) }
    }

    /// Records `person` (new or changed) and the pairs it left for review; a pair already
    /// queued or decided is not queued again. A record already known keeps its customer
    /// (only merges and unmerges change it), whatever `person.customer` says.
    /// - Parameter linkedTo: the known record a new person was linked to (kept for unmerges).
    public func save(
        _ person: KnownPerson, linkedTo: String? = nil,
        reviews: [(other: String, score: Double, evidence: [FieldEvidence])], now: Date
    ) throws {
        let evidence = JSONEncoder()
        try write { db in
            // A new record linked to a known one takes that one's customer as it is now, in
            // this transaction: a merge or an unmerge may have moved it since the resolver
            // read it. And it counts as linked no earlier than the last merge or unmerge, so
            // that undoing a merge it was filed under takes it along.
            try db.statement(
                """
                INSERT INTO people (ref, name, company, phone, email, customer, updated_at, linked_to, linked_at)
                VALUES (?1, ?2, ?3, ?4, ?5,
                    coalesce((SELECT customer FROM people WHERE ref = ?8), ?6), ?7, ?8,
                    CASE WHEN ?8 IS NULL THEN NULL ELSE max(?7,
                        coalesce((SELECT max(max(at), coalesce(max(undone_at), 0)) FROM identity_merges), 0)) END)
                ON CONFLICT (ref) DO UPDATE SET name = excluded.name, company = excluded.company,
                    phone = excluded.phone, email = excluded.email, updated_at = excluded.updated_at
                -- The customer of a known record is changed by merges and unmerges only.
                """
            ).run([
                .text(person.ref), Self.optional(person.name), Self.optional(person.company),
                Self.optional(person.phone), Self.optional(person.email), .text(person.customer),
                .real(now.timeIntervalSince1970), Self.optional(linkedTo),
            ])
            // An open review scored again (a record of it changed) shows the new score and
            // evidence; a decided one stays decided.
            let insert = try db.statement(
                """
                INSERT INTO identity_reviews (left_ref, right_ref, score, evidence, status, created_at)
                VALUES (?, ?, ?, ?, 'open', ?)
                ON CONFLICT (left_ref, right_ref) DO UPDATE SET score = excluded.score,
                    evidence = excluded.evidence, created_at = excluded.created_at
                WHERE identity_reviews.status = 'open'
                """)
            for review in reviews {
                let (left, right) = review.other < person.ref ? (review.other, person.ref) : (person.ref, review.other)
                try insert.run([
                    .text(left), .text(right), .real(review.score),
                    .text(String(decoding: try evidence.encode(review.evidence), as: UTF8.self)),
                    .real(now.timeIntervalSince1970),
                ])
            }
        }
    }

    /// Reviews in id order, from after `after`: a page of `limit`, the next one from its last id.
    public func reviews(status: IdentityReview.Status?, after: Int64 = 0, limit: Int) throws -> [IdentityReview] {
        try read { db in
            let sql = "SELECT \(Self.reviewColumns) FROM identity_reviews WHERE id > ?"
            if let status {
                return try db.statement(sql + " AND status = ? ORDER BY id LIMIT ?")
                    .rows([.integer(after), .text(status.rawValue), .integer(Int64(limit))]) { Self.review($0) }
            }
            return try db.statement(sql + " ORDER BY id LIMIT ?").rows([.integer(after), .integer(Int64(limit))]) {
                Self.review($0)
            }
        }
    }

    public func review(id: Int64) throws -> IdentityReview? {
        try read { db in
            try db.statement("SELECT \(Self.reviewColumns) FROM identity_reviews WHERE id = ?").first(
                [.integer(id)]) { Self.review($0) }
        }
    }

    /// Decides an open review. Accepting merges the right record's customer into the
    /// left's (every record of that customer moves) and returns the merge.
    /// - Parameter again: the same decision made already (a client retrying after a lost
    ///   answer) returns what it returned, instead of being refused; the other one still is.
    @discardableResult
    public func decide(review id: Int64, accept: Bool, actor: String, now: Date, again: Bool = false) throws
        -> IdentityMerge?
    {
        try write { db in
            guard
                let review = try db.statement("SELECT \(Self.reviewColumns) FROM identity_reviews WHERE id = ?")
                    .first([.integer(id)], { Self.review($0) })
            else { throw IdentityError("no review \(id)", kind: .notFound) }
            guard review.status == .open else {
                if again, review.status == (accept ? .accepted : .rejected) {
                    return try review.mergeID.flatMap { id in
                        try db.statement("SELECT id, at, actor, moves, undone_at FROM identity_merges WHERE id = ?")
                            .first([.integer(id)], { Self.merge($0) })
                    }
                }
                throw IdentityError("review \(id) is already \(review.status.rawValue)")
            }
            var merge: IdentityMerge?
            if accept {
                guard let left = try Self.person(review.left, in: db), let right = try Self.person(review.right, in: db)
                else { throw IdentityError("review \(id) names a record the hub no longer knows") }
                // Its evidence must still hold: a record changed since it was scored (and not
                // scored again into this review) is looked at again, not merged on old data.
                let latest = try db.statement("SELECT max(updated_at) FROM people WHERE ref IN (?, ?)")
                let changed = try latest.first([.text(review.left), .text(review.right)]) { $0.date(0) } ?? nil
                if let changed, changed > review.createdAt {
                    throw IdentityError(
                        "review \(id) was scored before its records last changed: its evidence may no longer "
                            + "hold; it is scored again when the record is next seen, or reject it")
                }
                // Already one customer (another merge joined them): accepted, nothing to move.
                if left.customer != right.customer {
                    merge = try Self.merge(from: right.customer, into: left.customer, actor: actor, now: now, in: db)
                }
            }
            try db.statement(
                "UPDATE identity_reviews SET status = ?, decided_at = ?, decided_by = ?, merge_id = ? WHERE id = ?"
            ).run([
                .text(accept ? "accepted" : "rejected"), .real(now.timeIntervalSince1970), .text(actor),
                merge.map { .integer($0.id) } ?? .null, .integer(id),
            ])
            return merge
        }
    }

    /// Undoes a merge: every record it moved goes back to the customer it came from.
    /// The review that made it (if any) is open again.
    /// - Parameter again: a merge undone already (a retry after a lost answer) is returned as
    ///   it was undone, instead of refused.
    public func unmerge(_ id: Int64, actor: String, now: Date, again: Bool = false) throws -> IdentityMerge {
        try write { db in
            guard
                var merge = try db.statement("SELECT id, at, actor, moves, undone_at FROM identity_merges WHERE id = ?")
                    .first([.integer(id)], { Self.merge($0) })
            else { throw IdentityError("no merge \(id)", kind: .notFound) }
            guard merge.undoneAt == nil else {
                if again { return merge }
                throw IdentityError("merge \(id) was already undone")
            }
            // A later merge that joined either customer again was decided on this one's
            // result (a record matched while it belonged here): undo that one first.
            let customers = Set(merge.moves.flatMap { [$0.from, $0.to] })
            let later = try db.statement(
                "SELECT id, at, actor, moves, undone_at FROM identity_merges WHERE id > ? AND undone_at IS NULL ORDER BY id"
            ).rows([.integer(id)]) { Self.merge($0) }
            if let blocking = later.first(where: {
                $0.moves.contains { customers.contains($0.from) || customers.contains($0.to) }
            }) {
                throw IdentityError(
                    "merge \(id) cannot be undone exactly: merge \(blocking.id) joined the same customer since (undo it first)"
                )
            }
            // `updated_at` is when a record's data last changed, which a move does not change:
            // a review of it, reopened by this unmerge, must still be acceptable.
            let move = try db.statement("UPDATE people SET customer = ? WHERE ref = ? AND customer = ?")
            for step in merge.moves {
                try move.run([.text(step.from), .text(step.ref), .text(step.to)])
                // A record a later merge moved on cannot go back exactly: undo that one first.
                // Throwing rolls back the steps already taken.
                guard db.changes == 1 else {
                    throw IdentityError(
                        "merge \(id) cannot be undone exactly: \(step.ref) has moved since (undo the later merge first)"
                    )
                }
            }
            // Records first seen while the merge stood and linked to a record going back
            // (or to one of those) are that person's too: they go back with it.
            let followers = try Self.followers(of: merge, in: db)
            for step in followers {
                try move.run([.text(step.from), .text(step.ref), .text(step.to)])
            }
            merge.moves += followers
            // With the records that went back alongside: what the undoing did, as it is told.
            try db.statement("UPDATE identity_merges SET undone_at = ?, undone_by = ?, moves = ? WHERE id = ?").run([
                .real(now.timeIntervalSince1970), .text(actor),
                .text(String(decoding: try JSONEncoder().encode(merge.moves), as: UTF8.self)), .integer(id),
            ])
            try db.statement(
                """
                UPDATE identity_reviews SET status = 'open', decided_at = NULL, decided_by = NULL, merge_id = NULL
                WHERE merge_id = ?
                """
            ).run([.integer(id)])
            merge.undoneAt = now
            return merge
        }
    }

    /// The records linked, while `merge` stood, to one of the records it moved (or to one
    /// of those, and so on), with the customer each goes back to.
    private static func followers(of merge: IdentityMerge, in db: SQLiteDatabase) throws -> [IdentityMerge.Move] {
        let targets = Set(merge.moves.map(\.to))
        var candidates: [(ref: String, linkedTo: String, customer: String)] = []
        for target in targets {
            candidates += try db.statement(
                "SELECT ref, linked_to FROM people WHERE customer = ? AND linked_to IS NOT NULL AND linked_at >= ? ORDER BY ref"
            ).rows([.text(target), .real(merge.at.timeIntervalSince1970)]) {
                (ref: $0.text(0) ?? "", linkedTo: $0.text(1) ?? "", customer: target)
            }
        }
        var goesBackTo = Dictionary(merge.moves.map { ($0.ref, $0.from) }, uniquingKeysWith: { first, _ in first })
        var followers: [IdentityMerge.Move] = []
        var found = true
        while found {
            found = false
            for candidate in candidates where goesBackTo[candidate.ref] == nil {
                guard let customer = goesBackTo[candidate.linkedTo] else { continue }
                goesBackTo[candidate.ref] = customer
                followers.append(IdentityMerge.Move(ref: candidate.ref, from: customer, to: candidate.customer))
                found = true
            }
        }
        return followers
    }

    public func merge(id: Int64) throws -> IdentityMerge? {
        try read { db in
            try db.statement("SELECT id, at, actor, moves, undone_at FROM identity_merges WHERE id = ?").first(
                [.integer(id)]
            ) { Self.merge($0) }
        }
    }

    /// Merges newest first, from before `before`: a page of `limit`, the next one from its last id.
    public func merges(before: Int64 = .max, limit: Int) throws -> [IdentityMerge] {
        try read { db in
            try db.statement(
                "SELECT id, at, actor, moves, undone_at FROM identity_merges WHERE id < ? ORDER BY id DESC LIMIT ?"
            )
            .rows([.integer(before), .integer(Int64(limit))]) { Self.merge($0) }
        }
    }

    private static func merge(
        from source: String, into target: String, actor: String, now: Date, in db: SQLiteDatabase
    ) throws -> IdentityMerge {
        let refs = try db.statement("SELECT ref FROM people WHERE customer = ? ORDER BY ref").rows([.text(source)]) {
            $0.text(0) ?? ""
        }
        let moves = refs.map { IdentityMerge.Move(ref: $0, from: source, to: target) }
        try db.statement("UPDATE people SET customer = ? WHERE customer = ?").run([.text(target), .text(source)])
        try db.statement("INSERT INTO identity_merges (at, actor, moves) VALUES (?, ?, ?)").run([
            .real(now.timeIntervalSince1970), .text(actor),
            .text(String(decoding: try JSONEncoder().encode(moves), as: UTF8.self)),
        ])
        return IdentityMerge(id: db.lastInsertRowID, at: now, actor: actor, moves: moves, undoneAt: nil)
    }

    private static let reviewColumns =
        "id, left_ref, right_ref, score, evidence, status, created_at, decided_at, decided_by, merge_id"

    private static func review(_ row: SQLiteRow) -> IdentityReview {
        IdentityReview(
            id: row.int(0), left: row.text(1) ?? "", right: row.text(2) ?? "", score: row.double(3),
            evidence: (try? JSONDecoder().decode([FieldEvidence].self, from: Data((row.text(4) ?? "[]").utf8))) ?? [],
            status: IdentityReview.Status(rawValue: row.text(5) ?? "") ?? .open,
            createdAt: Date(timeIntervalSince1970: row.double(6)),
            decidedAt: row.isNull(7) ? nil : Date(timeIntervalSince1970: row.double(7)), decidedBy: row.text(8),
            mergeID: row.isNull(9) ? nil : row.int(9))
    }

    private static func merge(_ row: SQLiteRow) -> IdentityMerge {
        IdentityMerge(
            id: row.int(0), at: Date(timeIntervalSince1970: row.double(1)), actor: row.text(2) ?? "",
            moves: (try? JSONDecoder().decode([IdentityMerge.Move].self, from: Data((row.text(3) ?? "[]").utf8)))
                ?? [],
            undoneAt: row.isNull(4) ? nil : Date(timeIntervalSince1970: row.double(4)))
    }

    static func person(_ row: SQLiteRow) -> KnownPerson {
        KnownPerson(
            ref: row.text(0) ?? "", name: row.text(1), company: row.text(2), phone: row.text(3), email: row.text(4),
            customer: row.text(5) ?? "")
    }

    /// The other records resolved to the same customer as `ref` (none if `ref` is unknown).
    public func sameCustomer(as ref: String) throws -> [String] {
        try read { db in
            guard let person = try Self.person(ref, in: db) else { return [] }
            return try Self.refs(ofCustomer: person.customer, in: db).filter { $0 != ref }
        }
    }

    static func refs(ofCustomer customer: String, in db: SQLiteDatabase) throws -> [String] {
        try db.statement("SELECT ref FROM people WHERE customer = ? ORDER BY ref").rows([.text(customer)]) {
            $0.text(0) ?? ""
        }
    }

    static func person(_ ref: String, in db: SQLiteDatabase) throws -> KnownPerson? {
        try db.statement("SELECT ref, name, company, phone, email, customer FROM people WHERE ref = ?").first(
            [.text(ref)]) { person($0) }
    }

    private static func optional(_ text: String?) -> SQLiteValue { text.map(SQLiteValue.text) ?? .null }
}
