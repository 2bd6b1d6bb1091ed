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
        --events  re-applies logged events received in [since, until): ISO 8601 times, or dates
                  meaning midnight UTC (until: the command's start if not given), read page by
                  page. Events already applied change nothing; events refused before are tried
                  again, and the command exits 1 if some are still unusable. With identity
                  resolution on and no hub running, it resolves identities too, and holds the
                  store as a hub does meanwhile.
        A running 'liaison serve' picks the work up; otherwise the next start does.
        """

    static func run(_ arguments: [String]) async throws -> Int32 {
        if CLI.help(arguments, help) { return 0 }
        let flags = try Arguments(
            arguments, valued: ["config", "id", "since", "until", "output"], switches: ["dead", "events"],
            repeatable: ["id"])
        let format = try OutputFormat.parse(flags.value("output"))
        guard flags.flag("dead") != flags.flag("events") else {
            throw UsageError(description: "give exactly one of --dead or --events")
        }
        // A flag of the other mode would be ignored: the user would not get what they asked for.
        if flags.flag("dead"), let time = ["since", "until"].first(where: flags.flag) {
            throw UsageError(
                description: "--\(time) is for --events; --dead replays dead letters, all of them or those given by "
                    + "--id")
        }
        if flags.flag("events"), flags.flag("id") {
            throw UsageError(description: "--id is for --dead; --events replays the log between --since and --until")
        }
        let ids = try flags.all("id").map { text -> Int64 in
            guard let id = Int64(text) else {
                throw UsageError(description: "--id must be a delivery number, not '\(text)'")
            }
            return id
        }
        let configuration = try ConfigLoader.load(try flags.required("config"))
        let store = try SQLiteStore(directory: configuration.store.directory, access: .existing)
        defer { store.close() }

        if flags.flag("dead") {
            // Every id given must be a dead letter; otherwise nothing is requeued.
            let problems = try ids.compactMap { id -> String? in
                guard let delivery = try store.delivery(id: id) else { return "delivery #\(id) does not exist" }
                guard delivery.status == .dead else {
                    return "delivery #\(id) is \(delivery.status.rawValue), not dead: only dead letters are replayed"
                }
                return nil
            }
            guard problems.isEmpty else {
                throw UsageError(description: problems.joined(separator: "; ") + " (nothing was requeued)")
            }
            let count = try store.requeueDead(ids: ids.isEmpty ? nil : ids, now: Date())
            format == .json ? Output.json(["requeued": count]) : Output.out("requeued \(count) dead deliveries")
            return 0
        }
        guard let since = flags.value("since").map(parseTime) else {
            throw UsageError(description: "--events needs --since TIME")
        }
        guard let start = since else {
            throw UsageError(description: "--since is not an ISO 8601 time (2026-11-24T10:00:00Z) or date (2026-11-24)")
        }
        let end: Date
        if let text = flags.value("until") {
            guard let parsed = parseTime(text) else {
                throw UsageError(
                    description: "--until is not an ISO 8601 time (2026-11-24T10:00:00Z) or date (2026-11-24)")
            }
            end = parsed
            guard end > start else { throw UsageError(description: "--until must be later than --since") }
        } else {
            // Up to now, not whatever arrives while the replay runs: a replay beside a busy hub
            // would chase the head of the log. The log's times never go back along it.
            end = Date()
            guard end > start else { throw UsageError(description: "--since is in the future") }
        }
        // As the hub's pipeline applies them: identity resolution included, so that people a
        // failed resolution missed are resolved now. Not beside a running hub: its resolver's
        // index would not know the people this one adds, and would file them again as new; so
        // the replay holds the store as a hub does, and a hub started meanwhile is refused.
        let resolve = configuration.identity.enabled && store.holdAlone()
        if configuration.identity.enabled && !resolve {
            Output.err("a hub is running on this store: identities are left to it (replay with it stopped to resolve them)")
        }
        let identity = resolve ? try IdentityResolver(store: store, settings: configuration.identity) : nil
        let pipeline = Pipeline(
            store: store, connectors: Connectors(configuration).inbound,
            changes: configuration.notify.map(ChangeRouter.init), identity: identity,
            metrics: HubMetrics(), logger: Output.logger(configuration.log)
        ) { _ in }
        // Page by page: a range of months is not held in memory at once.
        var (events, newMessages, unusable) = (0, 0, 0)
        var last: Int64 = 0
        while case let page = try store.inbound(receivedFrom: start, to: end, after: last, limit: 512), !page.isEmpty {
            let result = try pipeline.replay(page)
            events += page.count
            newMessages += result.newMessages
            unusable += result.unusable
            last = page[page.count - 1].sequence
        }
        if format == .json {
            Output.json(["events": events, "new_messages": newMessages, "unusable": unusable])
        } else {
            Output.out(
                "re-applied \(events) events: \(newMessages) new messages"
                    + (unusable > 0 ? ", \(unusable) still unusable (the warnings above say why)" : ""))
        }
        return unusable > 0 ? 1 : 0
    }

    /// A full ISO 8601 time, or a bare date (`2026-11-24`) meaning its midnight UTC.
    static func parseTime(_ text: String) -> Date? {
        // A date is a time without its clock part; the parser checks every digit and dash.
        ISO8601.parse(text.utf8.count == 10 ? text + "T00:00:00Z" : text)
    }
}
