import Foundation
import LiaisonCore
import LiaisonStore

enum Status {
    static let help = """
        Usage: liaison status --config FILE [--output text|json] [--dead]

        Shows the event log, conversations and outbox: pending, retrying, delivered and dead
        deliveries. --dead lists the dead letters with their last error.
        """

    static func run(_ arguments: [String]) throws -> Int32 {
        if CLI.help(arguments, help) { return 0 }
        let flags = try Arguments(arguments, valued: ["config", "output"], switches: ["dead"])
        let format = try OutputFormat.parse(flags.value("output"))
        let configuration = try ConfigLoader.load(try flags.required("config"))
        let store = try SQLiteStore(directory: configuration.store.directory, access: .existing)
        defer { store.close() }
        let status = try store.status()
        let dead = flags.flag("dead") ? try store.deliveries(status: .dead, limit: 1000) : []
        if format == .json {
            struct DeadLetter: Encodable {
                var id: Int64; var target: String; var partition: String; var attempts: Int; var error: String?
            }
            struct Report: Encodable { var status: StoreStatus; var dead: [DeadLetter]? }
            Output.json(
                Report(
                    status: status,
                    dead: flags.flag("dead")
                        ? dead.map {
                            DeadLetter(
                                id: $0.id, target: $0.target, partition: $0.partition, attempts: $0.attempts,
                                error: $0.lastError)
                        } : nil
                ))
            return 0
        }
        Output.out(
            """
            event log     \(status.inboundRecords) records, \(status.inboundUnprocessed) waiting for the pipeline, \(status.inboundRejected) unusable
            conversations \(status.conversations) (\(status.conversationsWithPending) with messages not yet archived), \(status.messages) messages
            outbox        \(status.deliveriesPending) pending, \(status.deliveriesRetrying) retrying, \(status.deliveriesDelivered) delivered, \(status.deliveriesDead) dead
            """)
        if let oldest = status.oldestPendingDeliveryAt {
            Output.out("oldest pending delivery since \(oldest.iso8601Milliseconds)")
        }
        if flags.flag("dead"), dead.count < status.deliveriesDead {
            Output.out("dead letters: the first \(dead.count) of \(status.deliveriesDead)")
        }
        for letter in dead {
            Output.out(
                "dead #\(letter.id) \(letter.target) \(letter.operation) partition=\(letter.partition.singleLine) attempts=\(letter.attempts): \((letter.lastError ?? "").singleLine)"
            )
        }
        return 0
    }
}
