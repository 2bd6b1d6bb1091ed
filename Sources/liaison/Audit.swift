import Foundation
import LiaisonCore

enum Audit {
    static let help = """
        Usage: liaison audit --input customers.csv [--json report.json] [--html report.html]
                             [--region CN] [--stale-days 180] [--skip-bad] [--column FIELD=HEADER]...
                             [--config FILE]

        The data-quality report to run before onboarding: duplicate clusters (with why
        they match), pairs that may be one person (for a person to decide), invalid or
        missing phones and e-mails, records missing key fields, and stale records (no
        activity for --stale-days, when a last_activity, last_contacted or updated_at column
        exists, or one named by --column activity=HEADER). Columns id, name, company, phone
        and email are recognised by header; others are named with --column:
        \(PeopleColumns.flagHelp)

        Prints a summary; --json and --html write the full report (the HTML is one
        self-contained file with charts).
        """

    struct Report: Encodable {
        struct Cluster: Encodable {
            var ids: [String]
            var evidence: [FieldEvidence]
            var score: Double
        }
        struct Issue: Encodable {
            var id: String
            var line: Int
            var problem: String
        }
        var records: Int
        var duplicateClusters: [Cluster]
        var recordsInDuplicates: Int
        /// Pairs that may be one person: for a person to decide before onboarding.
        var possibleDuplicates: [Cluster] = []
        var invalidPhones: [Issue]
        var missingPhones: Int
        var invalidEmails: [Issue]
        var missingEmails: Int
        var missingKeyFields: [Issue]
        var stale: [Issue]
        /// Activity dates that could not be read (not counted as stale: unknown is not old).
        var unreadableDates: [Issue] = []
        var skippedRows: [String]
    }

    static func run(_ arguments: [String]) async throws -> Int32 {
        if CLI.help(arguments, help) { return 0 }
        let flags = try Arguments(
            arguments, valued: ["input", "json", "html", "region", "stale-days", "column", "config"],
            switches: ["skip-bad"], repeatable: ["column"])
        let identity = try IdentityOptions(flags)
        let columns = try PeopleColumns(flags.all("column"))
        let path = try flags.required("input")
        let region = identity.region
        guard let staleDays = Int(flags.value("stale-days") ?? "180"), staleDays > 0 else {
            throw UsageError(description: "--stale-days must be a positive number of days")
        }
        guard let data = FileManager.default.contents(atPath: path) else {
            throw UsageError(description: "\(path): cannot read the file")
        }
        let table: CSVTable
        do {
            table = try CSVTable(bytes: Array(data), skipBad: flags.flag("skip-bad"))
        } catch {
            throw UsageError(description: "\(path): \(error)")
        }
        var fields: [String: Int] = [:]
        for field in PeopleColumns.fields + ["activity"] {
            fields[field] = try columns.index(of: field, in: table, file: path)
        }
        guard fields["id"] != nil else {
            throw UsageError(description: "\(path): no id column in the header (name one with --column id=HEADER)")
        }
        fields["activity"] =
            fields["activity"] ?? ["last_activity", "last_contacted", "updated_at"].lazy.compactMap(table.column).first
        let report = audit(
            table, columns: fields, region: region, staleDays: staleDays, now: Date(), matcher: identity.matcher)
        Output.out(summary(report, path: path))
        if let json = flags.value("json") {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
            encoder.keyEncodingStrategy = .convertToSnakeCase
            guard FileManager.default.createFile(atPath: json, contents: try encoder.encode(report)) else {
                Output.err("error: cannot write \(json)")
                return 1
            }
        }
        if let html = flags.value("html"),
            !FileManager.default.createFile(atPath: html, contents: Data(page(report, path: path).utf8))
        {
            Output.err("error: cannot write \(html)")
            return 1
        }
        return 0
    }

    /// - Parameter columns: field (`id`, `name`, …, `activity`) → column; `id` is required.
    static func audit(
        _ table: CSVTable, columns: [String: Int], region: String, staleDays: Int, now: Date,
        matcher: IdentityMatcher = IdentityMatcher()
    ) -> Report {
        func value(_ row: [String], _ name: String) -> String? {
            columns[name].map { row[$0].trimmedWhitespace }.flatMap { $0.isEmpty ? nil : $0 }
        }
        let idColumn = columns["id"]!
        let activityColumn = columns["activity"].map { table.header[$0] }
        var report = Report(
            records: table.rows.count, duplicateClusters: [], recordsInDuplicates: 0, invalidPhones: [],
            missingPhones: 0,
            invalidEmails: [], missingEmails: 0, missingKeyFields: [], stale: [],
            skippedRows: table.skipped.map(\.description))
        var records: [IdentityRecord] = []
        for row in table.rows {
            let id = row.fields[idColumn]
            let issue = { (problem: String) in Report.Issue(id: id, line: row.line, problem: problem) }
            if let phone = value(row.fields, "phone") {
                if PhoneNumber(phone, region: region)?.isValid != true {
                    report.invalidPhones.append(issue("phone '\(phone)'"))
                }
            } else {
                report.missingPhones += 1
            }
            if let email = value(row.fields, "email") {
                if EmailAddress(email) == nil { report.invalidEmails.append(issue("e-mail '\(email)'")) }
            } else {
                report.missingEmails += 1
            }
            let missing = ["name", "company"].filter { value(row.fields, $0) == nil }
            if !missing.isEmpty || (value(row.fields, "phone") == nil && value(row.fields, "email") == nil) {
                let fields =
                    missing
                    + (value(row.fields, "phone") == nil && value(row.fields, "email") == nil
                        ? ["phone or e-mail"] : [])
                report.missingKeyFields.append(issue("missing \(fields.joined(separator: ", "))"))
            }
            if let activityColumn, let text = value(row.fields, "activity") {
                if let date = Self.activityDate(text) {
                    if now.timeIntervalSince(date) > Double(staleDays) * 86_400 {
                        report.stale.append(issue("no activity since \(text)"))
                    }
                } else {
                    report.unreadableDates.append(issue("\(activityColumn) '\(text)' is not a date"))
                }
            }
            records.append(
                IdentityRecord(
                    id: id, name: value(row.fields, "name"), company: value(row.fields, "company"),
                    phone: value(row.fields, "phone"), email: value(row.fields, "email"), region: region))
        }
        let byID = Dictionary(records.map { ($0.id, $0) }, uniquingKeysWith: { first, _ in first })
        let clusters = Dictionary(grouping: matcher.dedupe(records), by: \.cluster).values.filter { $0.count > 1 }
        report.duplicateClusters = clusters.map { members in
            let ids = members.map(\.id).sorted()
            // Why: the first member against the second, field by field.
            let result = matcher.compare(byID[ids[0]]!, byID[ids[1]]!)
            return Report.Cluster(ids: ids, evidence: result.evidence, score: result.score)
        }.sorted { $0.ids.first! < $1.ids.first! }
        report.recordsInDuplicates = report.duplicateClusters.reduce(0) { $0 + $1.ids.count }
        report.possibleDuplicates = matcher.reviewPairs(records).map {
            Report.Cluster(ids: [$0.left, $0.right], evidence: $0.evidence, score: $0.score)
        }
        return report
    }

    /// A date as exports write them: RFC 3339; a database's `2024-01-05 10:00:00` (no zone:
    /// UTC); a bare date; Excel's `2024/1/5` (with or without a time); dots for dashes.
    static func activityDate(_ text: String) -> Date? {
        if let date = ISO8601.parse(text) ?? ISO8601.parse(text + "Z") { return date }
        let parts = text.split(separator: " ", maxSplits: 1)
        let day = parts[0].split(whereSeparator: { $0 == "-" || $0 == "/" || $0 == "." }).compactMap { Int($0) }
        guard day.count == 3, (1000...9999).contains(day[0]) else { return nil }
        func two(_ n: Int) -> String { n < 10 ? "0\(n)" : "\(n)" }
        var clock = parts.count > 1 ? String(parts[1]) : "00:00:00"
        if clock.split(separator: ":").count == 2 { clock += ":00" }
        if clock.count == 7 { clock = "0" + clock }  // 9:30:00
        return ISO8601.parse("\(day[0])-\(two(day[1]))-\(two(day[2]))T\(clock)Z")
    }

    static func summary(_ r: Report, path: String) -> String {
        """
        \(path): \(r.records) records
          duplicates     \(r.duplicateClusters.count) clusters holding \(r.recordsInDuplicates) records
          to review      \(r.possibleDuplicates.count) pairs that may be one person
          phones         \(r.invalidPhones.count) invalid, \(r.missingPhones) missing
          e-mails        \(r.invalidEmails.count) invalid, \(r.missingEmails) missing
          key fields     \(r.missingKeyFields.count) records missing some
          stale          \(r.stale.count) records
        """ + (r.unreadableDates.isEmpty ? "" : "\n  dates          \(r.unreadableDates.count) not readable as dates")
            + (r.skippedRows.isEmpty ? "" : "\n  skipped        \(r.skippedRows.count) malformed rows")
    }

    static func page(_ r: Report, path: String) -> String {
        let bars: [(String, Int)] = [
            ("Duplicates", r.recordsInDuplicates), ("Invalid phones", r.invalidPhones.count),
            ("Missing phones", r.missingPhones),
            ("Invalid e-mails", r.invalidEmails.count), ("Missing e-mails", r.missingEmails),
            ("Missing key fields", r.missingKeyFields.count), ("Stale", r.stale.count),
        ]
        let top = max(r.records, 1)
        let chart = bars.enumerated().map { index, bar in
            let width = Int(Double(bar.1) / Double(top) * 400)
            let y = index * 28
            return
                "<text x=\"0\" y=\"\(y + 17)\">\(ChangeNotice.escape(bar.0))</text><rect x=\"150\" y=\"\(y + 4)\" width=\"\(width)\" height=\"18\" fill=\"#3b82f6\"/>"
                + "<text x=\"\(160 + width)\" y=\"\(y + 17)\">\(bar.1)</text>"
        }.joined()
        func list(_ title: String, _ issues: [Report.Issue]) -> String {
            guard !issues.isEmpty else { return "" }
            return
                "<h2>\(ChangeNotice.escape(title)) (\(issues.count))</h2><table><tr><th>id</th><th>line</th><th>problem</th></tr>"
                + issues.map {
                    "<tr><td>\(ChangeNotice.escape($0.id))</td><td>\($0.line)</td><td>\(ChangeNotice.escape($0.problem))</td></tr>"
                }
                .joined()
                + "</table>"
        }
        func rows(_ clusters: [Report.Cluster]) -> String {
            clusters.map { cluster in
                "<tr><td>\(ChangeNotice.escape(cluster.ids.joined(separator: ", ")))</td><td>\(String(format: "%.1f", cluster.score))</td><td>"
                    + cluster.evidence.filter { $0.level != "missing" }
                    .map {
                        "\(ChangeNotice.escape($0.field)) \(ChangeNotice.escape($0.level)) (\(String(format: "%+.1f", $0.weight)))"
                    }.joined(
                        separator: "; ")
                    + "</td></tr>"
            }.joined()
        }
        let clusters = rows(r.duplicateClusters)
        let possible = rows(r.possibleDuplicates)
        return """
            <!doctype html><html lang="en"><head><meta charset="utf-8"><title>Data quality: \(ChangeNotice.escape(path))</title>
            <style>body{font:14px system-ui,sans-serif;margin:2em;color:#111}table{border-collapse:collapse;margin:.5em 0 1.5em}
            td,th{border:1px solid #ddd;padding:4px 8px;text-align:left}th{background:#f3f4f6}svg text{font:12px system-ui}</style>
            </head><body><h1>Data quality: \(ChangeNotice.escape(path))</h1><p>\(r.records) records.</p>
            <svg width="640" height="\(bars.count * 28)" role="img" aria-label="Problems by kind">\(chart)</svg>
            \(clusters.isEmpty ? "" : "<h2>Duplicate clusters (\(r.duplicateClusters.count))</h2><table><tr><th>records</th><th>score</th><th>why</th></tr>\(clusters)</table>")
            \(possible.isEmpty ? "" : "<h2>Possible duplicates to review (\(r.possibleDuplicates.count))</h2><table><tr><th>records</th><th>score</th><th>why</th></tr>\(possible)</table>")
            \(list("Invalid phones", r.invalidPhones))\(list("Invalid e-mails", r.invalidEmails))\(list("Missing key fields", r.missingKeyFields))\(list("Stale records", r.stale))\(list("Unreadable dates", r.unreadableDates))
            </body></html>
            """
    }
}
