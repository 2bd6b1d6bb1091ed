import Foundation
import LiaisonCore

enum Dedupe {
    static let help = """
        Usage: liaison dedupe --input A.csv --out clusters.csv [--region CN] [--skip-bad]
                              [--column FIELD=HEADER]... [--config FILE]

        Groups the records of one CSV file into people (columns id, name, company, phone,
        email, recognised by header; others named with --column):
        \(PeopleColumns.flagHelp)

        clusters.csv has the header id,cluster_id; records of one person share a cluster_id
        (the smallest id among them). --config FILE takes the matcher's weights and
        thresholds, and the default region, from its identity section.
        """

    static func run(_ arguments: [String]) throws -> Int32 {
        if CLI.help(arguments, help) { return 0 }
        let flags = try Arguments(
            arguments, valued: ["input", "out", "region", "column", "config"], switches: ["skip-bad"],
            repeatable: ["column"])
        let identity = try IdentityOptions(flags)
        let path = try flags.required("out")
        let progress = Progress()
        let records = try PeopleFile.load(
            try flags.required("input"), columns: try PeopleColumns(flags.all("column")),
            region: identity.region, skipBad: flags.flag("skip-bad"), progress: progress)
        progress.phase("matching", total: records.count)
        let clusters = identity.matcher.dedupe(records) { progress.advance($0) }
        var out = CSVWriter(header: ["id", "cluster_id"])
        for (id, cluster) in clusters { out.row([id, cluster]) }
        try out.write(to: path)
        progress.finish()
        let people = Set(clusters.map(\.cluster)).count
        Output.err("\(records.count) records: \(people) people → \(path)")
        return 0
    }
}
