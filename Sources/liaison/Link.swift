import Foundation
import LiaisonCore

enum Link {
    static let help = """
        Usage: liaison link --left A.csv --right B.csv --out matches.csv [--region CN] [--skip-bad]
                            [--column FIELD=HEADER]... [--config FILE] [--explain]

        Finds the records of A that are the same people as records of B. Columns id, name,
        company, phone and email are recognised by their header (any case; other columns are
        ignored); others are named with --column (e.g. --column phone=mobile):
        \(PeopleColumns.flagHelp)

        matches.csv has the header left_id,right_id,score,decision with decision link (at most
        one per left id) or review (a person should decide); --explain adds a column why with
        each field's contribution (email exact +13.2; name similar +3.3; …). Phones without a
        country code are read in --region (default CN, or identity.default_region of --config).
        --config FILE takes the matcher's weights and thresholds from its identity.match
        section. A malformed CSV stops with its line number (exit 2); --skip-bad goes on and
        lists the rows it left out. On a terminal, a progress bar.
        """

    /// `email exact +13.2; name similar +3.3`: the fields that said something.
    static func why(_ evidence: [FieldEvidence]) -> String {
        evidence.filter { $0.level != "missing" }
            .map { "\($0.field) \($0.level) \($0.weight < 0 ? "-" : "+")\(CSVWriter.decimal(abs($0.weight)))" }
            .joined(separator: "; ")
    }

    static func run(_ arguments: [String]) throws -> Int32 {
        if CLI.help(arguments, help) { return 0 }
        let flags = try Arguments(
            arguments, valued: ["left", "right", "out", "region", "column", "config"],
            switches: ["skip-bad", "explain"], repeatable: ["column"])
        let columns = try PeopleColumns(flags.all("column"))
        let identity = try IdentityOptions(flags)
        let region = identity.region
        let path = try flags.required("out")
        let started = ContinuousClock.now
        let progress = Progress()
        let left = try PeopleFile.load(
            try flags.required("left"), columns: columns, region: region, skipBad: flags.flag("skip-bad"),
            progress: progress)
        let right = try PeopleFile.load(
            try flags.required("right"), columns: columns, region: region, skipBad: flags.flag("skip-bad"),
            progress: progress)
        progress.phase("matching", total: left.count)
        let results = identity.matcher.link(left, right) { progress.advance($0) }
        progress.phase("writing \(path)")
        let explain = flags.flag("explain")
        var out = CSVWriter(header: ["left_id", "right_id", "score", "decision"] + (explain ? ["why"] : []))
        for result in results {
            var row = [result.left, result.right, CSVWriter.decimal(result.score), result.decision.rawValue]
            if explain { row.append(Self.why(result.evidence)) }
            out.row(row)
        }
        try out.write(to: path)
        progress.finish()
        let links = results.filter { $0.decision == .link }.count
        let seconds = (ContinuousClock.now - started).seconds
        Output.err(
            "\(left.count) × \(right.count) records: \(links) links, \(results.count - links) to review → \(path) "
                + "(\(CSVWriter.decimal(seconds)) s)")
        return 0
    }
}
