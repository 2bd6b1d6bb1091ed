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

    static func run(_ arguments: [String]) async throws -> Int32 {
        if CLI.help(arguments, help) { return 0 }
        let flags = try Arguments(arguments, valued: ["left", "right", "out", "region"], switches: ["skip-bad"])
        let region = flags.value("region") ?? "CN"
        let left = try await load(try flags.required("left"), region: region, skipBad: flags.flag("skip-bad"))
        let right = try await load(try flags.required("right"), region: region, skipBad: flags.flag("skip-bad"))
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
    static func load(_ path: String, region: String, skipBad: Bool) async throws -> [IdentityRecord] {
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
        // Normalising (libphonenumber, ICU) is most of the work: spread it over the cores.
        let rows = table.rows.map(\.fields)
        let chunk = max(
            1,
            (rows.count + ProcessInfo.processInfo.activeProcessorCount - 1)
                / ProcessInfo.processInfo.activeProcessorCount)
        return await withTaskGroup(of: (Int, [IdentityRecord]).self) { group in
            for start in stride(from: 0, to: rows.count, by: chunk) {
                let slice = Array(rows[start..<min(start + chunk, rows.count)])
                group.addTask {
                    (
                        start,
                        slice.map { fields in
                            func value(_ column: Int?) -> String? {
                                column.map { fields[$0].trimmedWhitespace }.flatMap { $0.isEmpty ? nil : $0 }
                            }
                            return IdentityRecord(
                                id: fields[id], name: value(name), company: value(company), phone: value(phone),
                                email: value(email), region: region)
                        }
                    )
                }
            }
            var parts: [(Int, [IdentityRecord])] = []
            for await part in group { parts.append(part) }
            return parts.sorted { $0.0 < $1.0 }.flatMap(\.1)
        }
    }

    static func quote(_ field: String) -> String {
        guard field.contains(where: { $0 == "," || $0 == "\"" || $0 == "\n" }) else { return field }
        return "\"" + field.replacingOccurrences(of: "\"", with: "\"\"") + "\""
    }
}
