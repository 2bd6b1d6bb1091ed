import Foundation
import LiaisonCore

enum Link {
    static let help = """
        Usage: liaison link --left A.csv --right B.csv --out matches.csv [--region CN] [--skip-bad]

        Finds the records of A that are the same people as records of B. Columns id, name,
        company, phone and email are recognised by name (a header row is required; other
        columns are ignored). matches.csv has the header left_id,right_id,score,decision with
        decision link (at most one per left id) or review. Phones without a country code are
        read in --region (default CN). A malformed CSV stops with its line number (exit 2);
        --skip-bad goes on and lists the rows it left out.
        """

    static func run(_ arguments: [String]) throws -> Int32 {
        if CLI.help(arguments, help) { return 0 }
        let flags = try Arguments(arguments, valued: ["left", "right", "out", "region"], switches: ["skip-bad"])
        let region = flags.value("region") ?? "CN"
        let left = try load(try flags.required("left"), region: region, skipBad: flags.flag("skip-bad"))
        let right = try load(try flags.required("right"), region: region, skipBad: flags.flag("skip-bad"))
        let results = IdentityMatcher().link(left, right)
        var out = "left_id,right_id,score,decision\n"
        for result in results {
            out +=
                "\(quote(result.left)),\(quote(result.right)),\(String(format: "%.2f", result.score)),\(result.decision.rawValue)\n"
        }
        let path = try flags.required("out")
        guard FileManager.default.createFile(atPath: path, contents: Data(out.utf8)) else {
            Output.err("error: cannot write \(path)")
            return 1
        }
        let links = results.filter { $0.decision == .link }.count
        Output.err(
            "\(left.count) × \(right.count) records: \(links) links, \(results.count - links) to review → \(path)")
        return 0
    }

    /// Reads a CSV of people; problems are usage errors naming the file and line.
    static func load(_ path: String, region: String, skipBad: Bool) throws -> [IdentityRecord] {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw UsageError(description: "\(path): cannot read the file")
        }
        let table: CSVTable
        do {
            table = try CSVTable(bytes: Array(data), skipBad: skipBad)
        } catch {
            throw UsageError(description: "\(path): \(error)")
        }
        for skipped in table.skipped { Output.err("skipped \(path) \(skipped)") }
        guard let id = table.column("id") else { throw UsageError(description: "\(path): no id column in the header") }
        let name = table.column("name")
        let company = table.column("company")
        let phone = table.column("phone")
        let email = table.column("email")
        return table.rows.map { row in
            func value(_ column: Int?) -> String? {
                column.map { row.fields[$0].trimmingCharacters(in: .whitespaces) }.flatMap { $0.isEmpty ? nil : $0 }
            }
            return IdentityRecord(
                id: row.fields[id], name: value(name), company: value(company), phone: value(phone),
                email: value(email),
                region: region)
        }
    }

    static func quote(_ field: String) -> String {
        guard field.contains(where: { $0 == "," || $0 == "\"" || $0 == "\n" }) else { return field }
        return "\"" + field.replacingOccurrences(of: "\"", with: "\"\"") + "\""
    }
}
