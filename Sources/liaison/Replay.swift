import Foundation
import LiaisonConnectors
import LiaisonCore
import LiaisonServer
import LiaisonStore
import LiaisonSync

enum Replay {
    static let help = """
        Usage: liaison replay --config FILE --dead [--id N ...]
               liaison replay --config FILE --events --since TIME [--until TIME]

        --dead    puts dead deliveries (all, or those given with --id) back in the outbox with a
                  fresh attempt budget. The delivery ledger makes this safe: an effect that did
                  happen is not repeated.
        --events  re-applies logged events received in [since, until) (ISO 8601 times). Events
                  already applied change nothing; events refused before are tried again.
        A running 'liaison serve' picks the work up; otherwise the next start does.
        """

    static func run(_ arguments: [String]) async throws -> Int32 {
        if CLI.help(arguments, help) { return 0 }
        let flags = try Arguments(
            arguments, valued: ["config", "id", "since", "until", "output"], switches: ["dead", "events"])
        let format = try OutputFormat.parse(flags.value("output"))
        guard flags.flag("dead") != flags.flag("events") else {
            throw UsageError(description: "give exactly one of --dead or --events")
        }
        let ids = try flags.all("id").map { text -> Int64 in
            guard let id = Int64(text) else {
                throw UsageError(description: "--id must be a delivery number, not '\(text)'")
            }
            return id
        }
        let configuration = try ConfigLoader.load(try flags.required("config"))
        let store = try SQLiteStore(directory: configuration.store.directory)
        defer { store.close() }

        if flags.flag("dead") {
            let count = try store.requeueDead(ids: ids.isEmpty ? nil : ids, now: Date())
            format == .json ? Output.json(["requeued": count]) : Output.out("requeued \(count) dead deliveries")
            return 0
        }
        guard let since = flags.value("since").map(parseTime) else {
            throw UsageError(description: "--events needs --since TIME")
        }
        guard let start = since else { throw UsageError(description: "--since is not an ISO 8601 time") }
        let end: Date
        if let text = flags.value("until") {
            guard let parsed = parseTime(text) else { throw UsageError(description: "--until is not an ISO 8601 time") }
            end = parsed
        } else {
            end = .distantFuture
        }
        let records = try store.inbound(receivedFrom: start, to: end)
        let pipeline = Pipeline(
            store: store, connectors: Connectors(configuration).inbound,
            changes: configuration.notify.map(ChangeRouter.init),
            metrics: HubMetrics(), logger: Output.logger(configuration.log)
        ) { _ in }
        let result = try pipeline.replay(records)
        if format == .json {
            Output.json(["events": records.count, "new_messages": result.newMessages])
        } else {
            Output.out("re-applied \(records.count) events: \(result.newMessages) new messages")
        }
        return 0
    }

    static func parseTime(_ text: String) -> Date? { ISO8601.parse(text) }
}
