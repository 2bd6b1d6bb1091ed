import Foundation
import LiaisonCore
import LiaisonStore

/// The review queue of uncertain identity pairs, and merges, on the hub's store.
enum Review {
    static let help = """
        Usage: liaison review list   --config FILE [--status open|accepted|rejected|all] [--after ID] [--limit N]
                                     [--output text|json]
               liaison review merges --config FILE [--before ID] [--limit N] [--output text|json]
               liaison review show   --config FILE ID [--output text|json]
               liaison review accept --config FILE ID [--by NAME]
               liaison review reject --config FILE ID [--by NAME]
               liaison review unmerge --config FILE MERGE_ID [--by NAME]

        Pairs of records the identity matcher was unsure of wait here with their explanation
        (each field's contribution to the score). accept merges the two customers (every
        record of the second moves to the first) and prints the merge id; reject keeps them
        apart for good; unmerge undoes a merge exactly and opens its review again. A review
        already decided, or an unknown id, is an error that changes nothing (exit 1).
        list shows reviews by id, merges the merges newest first, --limit (1000) at a time:
        when a page is full, the last line says how to ask for the next.
        """

    static func run(_ arguments: [String]) throws -> Int32 {
        if CLI.help(arguments, help) { return 0 }
        let flags = try Arguments(
            arguments, valued: ["config", "status", "output", "by", "after", "before", "limit"], switches: [],
            positional: 2)
        guard let action = flags.positional.first else {
            throw UsageError(description: "review needs an action: list, merges, show, accept, reject or unmerge")
        }
        func number(_ flag: String, default fallback: Int64) throws -> Int64 {
            guard let text = flags.value(flag) else { return fallback }
            guard let value = Int64(text), value >= 0 else {
                throw UsageError(description: "--\(flag) must be a number, not '\(text)'")
            }
            return value
        }
        let limit = Int(try number("limit", default: 1000))
        guard (1...100_000).contains(limit) else { throw UsageError(description: "--limit must be from 1 to 100000") }
        let format = try OutputFormat.parse(flags.value("output"))
        let configuration = try ConfigLoader.load(try flags.required("config"))
        let store = try SQLiteStore(directory: configuration.store.directory, access: .existing)
        defer { store.close() }
        let actor = flags.value("by") ?? ProcessInfo.processInfo.environment["USER"] ?? "cli"
        func id() throws -> Int64 {
            guard flags.positional.count == 2, let id = Int64(flags.positional[1]) else {
                throw UsageError(description: "review \(action) needs one numeric id")
            }
            return id
        }
        do {
            switch action {
            case "list":
                let status = flags.value("status") ?? "open"
                let filter: IdentityReview.Status?
                if status == "all" {
                    filter = nil
                } else if let known = IdentityReview.Status(rawValue: status) {
                    filter = known
                } else {
                    throw UsageError(description: "--status must be open, accepted, rejected or all, not '\(status)'")
                }
                let reviews = try store.reviews(status: filter, after: try number("after", default: 0), limit: limit)
                if format == .json {
                    Output.json(reviews)
                } else if reviews.isEmpty {
                    Output.out(status == "all" ? "no reviews" : "no \(status) reviews")
                } else {
                    reviews.forEach { Output.out(line($0)) }
                    if reviews.count == limit, let last = reviews.last {
                        Output.out("… more: --after \(last.id)")
                    }
                }
            case "merges":
                let merges = try store.merges(before: try number("before", default: .max), limit: limit)
                if format == .json {
                    Output.json(merges)
                } else if merges.isEmpty {
                    Output.out("no merges")
                } else {
                    for merge in merges {
                        Output.out(
                            "merge \(merge.id) \(merge.at.iso8601Milliseconds) by \(merge.actor): \(merge.moves.count) record(s)"
                                + (merge.undoneAt.map { ", undone \($0.iso8601Milliseconds)" } ?? ""))
                    }
                    if merges.count == limit, let last = merges.last { Output.out("… more: --before \(last.id)") }
                }
            case "show":
                guard let review = try store.review(id: try id()) else {
                    throw IdentityError("no review \(try id())", kind: .notFound)
                }
                if format == .json {
                    Output.json(review)
                } else {
                    Output.out(line(review))
                    for side in [review.left, review.right] {
                        if let person = try store.person(side) {
                            Output.out(
                                "  \(side): \([person.name, person.company, person.phone, person.email].map { $0 ?? "–" }.joined(separator: " | ")) (customer \(person.customer))"
                            )
                        }
                    }
                    for evidence in review.evidence {
                        Output.out("  \(evidence.field): \(evidence.level) \(String(format: "%+.2f", evidence.weight))")
                    }
                }
            case "accept", "reject":
                let accept = action == "accept"
                let merge = try store.decide(review: try id(), accept: accept, actor: actor, now: Date())
                // An accepted pair already one customer (another merge joined them) moves nothing.
                Output.out(
                    merge.map { "accepted: merge \($0.id) moved \($0.moves.count) record(s)" }
                        ?? (accept ? "accepted: the records were already one customer; nothing moved" : "rejected"))
            case "unmerge":
                let merge = try store.unmerge(try id(), actor: actor, now: Date())
                Output.out("merge \(merge.id) undone: \(merge.moves.count) record(s) back to their customer")
            default:
                throw UsageError(description: "unknown review action '\(action)'; run 'liaison review --help'")
            }
        } catch let error as IdentityError {
            Output.err("error: \(error)")
            return 1
        }
        return 0
    }

    static func line(_ review: IdentityReview) -> String {
        "#\(review.id) \(review.status.rawValue) \(String(format: "%.2f", review.score)) \(review.left) ↔ \(review.right)"
            + (review.mergeID.map { " (merge \($0))" } ?? "")
    }
}
