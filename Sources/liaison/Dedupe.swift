import Foundation
import LiaisonCore

enum Dedupe {
    static let help = """
        Usage: liaison dedupe --input A.csv --out clusters.csv [--region CN] [--skip-bad]

        Groups the records of one CSV file into people (columns id, name, company, phone,
        email, recognised by name). clusters.csv has the header id,cluster_id; records of
        one person share a cluster_id (the smallest id among them).
        """

    static func run(_ arguments: [String]) async throws -> Int32 {
        if CLI.help(arguments, help) { return 0 }
        let flags = try Arguments(arguments, valued: ["input", "out", "region"], switches: ["skip-bad"])
        let records = try await Link.load(
            try flags.required("input"), region: flags.value("region") ?? "CN", skipBad: flags.flag("skip-bad"))
        let clusters = IdentityMatcher().dedupe(records)
        var out = "id,cluster_id\n"
        for (id, cluster) in clusters { out += "\(Link.quote(id)),\(Link.quote(cluster))\n" }
        let path = try flags.required("out")
        guard FileManager.default.createFile(atPath: path, contents: Data(out.utf8)) else {
            Output.err("error: cannot write \(path)")
            return 1
        }
        let people = Set(clusters.map(\.cluster)).count
        Output.err("\(records.count) records: \(people) people → \(path)")
        return 0
    }
}
