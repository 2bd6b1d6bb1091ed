import Foundation
import LiaisonCore

/// Writes generated people with known truth: data to try `link`, `dedupe` and `audit`
/// on, and what the identity benchmark runs.
enum Sample {
    static let help = """
        Usage: liaison sample --dir DIR [--people N] [--others M] [--seed S]

        Writes realistic generated contacts with known truth into DIR: left.csv (N people,
        default 10000), right.csv (about 80 % of them again, written differently, plus M
        others, default 80 % of N, a tenth of them look-alikes), truth.csv (left_id,right_id
        of every true pair) and people.csv (left and right together, for dedupe and audit).
        The same seed (default 1) always gives the same files.
        """

    static func run(_ arguments: [String]) throws -> Int32 {
        if CLI.help(arguments, help) { return 0 }
        let flags = try Arguments(arguments, valued: ["dir", "people", "others", "seed"], switches: [])
        func number(_ name: String) throws -> Int? {
            guard let text = flags.value(name) else { return nil }
            guard let value = Int(text), value >= 0 else {
                throw UsageError(description: "--\(name) must be a whole number, not '\(text)'")
            }
            return value
        }
        let directory = try flags.required("dir")
        let people = try number("people") ?? 10_000
        var random = SplitMix64(seed: UInt64(try number("seed") ?? 1))
        let data = SyntheticPeople(count: people, others: try number("others"), using: &random)
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        func table(_ rows: [SyntheticPeople.Row]) -> CSVWriter {
            var out = CSVWriter(header: ["id", "name", "company", "phone", "email"])
            for row in rows { out.row([row.id, row.name, row.company, row.phone, row.email]) }
            return out
        }
        var truth = CSVWriter(header: ["left_id", "right_id"])
        for (left, right) in data.truth.sorted(by: { $0.key < $1.key }) { truth.row([left, right]) }
        let files = [
            "left.csv": table(data.left), "right.csv": table(data.right), "truth.csv": truth,
            "people.csv": table(data.left + data.right),
        ]
        for (name, file) in files { try file.write(to: (directory as NSString).appendingPathComponent(name)) }
        Output.err(
            "\(data.left.count) left, \(data.right.count) right, \(data.truth.count) true pairs → \(directory)")
        return 0
    }
}
