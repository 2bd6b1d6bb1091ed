import Foundation
import LiaisonCore

/// Which CSV columns hold which field: `id`, `name`, `company`, `phone`, `email` (and
/// `birth_date`, `national_id`, `postcode`, `address` where a file has them) are found by
/// header (any case), and `--column FIELD=HEADER` names any other header, or several
/// joined by `+` (`--column name=given_name+surname`).
struct PeopleColumns {
    static let fields = ["id", "name", "company", "phone", "email", "birth_date", "national_id", "postcode", "address"]
    static let flagHelp = """
          --column FIELD=HEADER[+HEADER…]
                reads FIELD (id, name, company, phone, email, birth_date, national_id,
                postcode, address) from HEADER, or from several headers joined with +
        """
    private var headers: [String: [String]] = [:]

    init(_ flags: [String]) throws {
        for flag in flags {
            let parts = flag.split(separator: "=", maxSplits: 1).map(String.init)
            guard parts.count == 2, !parts[1].isEmpty else {
                throw UsageError(description: "--column takes FIELD=HEADER, not '\(flag)'")
            }
            let field = parts[0].lowercased()
            guard Self.fields.contains(field) || field == "activity" else {
                throw UsageError(
                    description: "--column: unknown field '\(parts[0])' (known: \(Self.fields.joined(separator: ", ")))"
                )
            }
            headers[field] = parts[1].split(separator: "+").map(String.init)
        }
    }

    /// The columns of `field` in `table` (none when it has no such column); a header
    /// named by `--column` must exist.
    func columns(of field: String, in table: CSVTable, file: String) throws -> [Int] {
        let header = table.header.map { $0.trimmedWhitespace }
        if let names = headers[field] {
            return try names.map { name in
                guard let column = header.firstIndex(of: name.trimmedWhitespace.lowercased()) else {
                    throw UsageError(description: "\(file): no column '\(name)' (given for \(field) by --column)")
                }
                return column
            }
        }
        return header.firstIndex { $0.lowercased() == field }.map { [$0] } ?? []
    }

    /// The one column of `field` (the first, when several are joined).
    func index(of field: String, in table: CSVTable, file: String) throws -> Int? {
        try columns(of: field, in: table, file: file).first
    }
}

enum PeopleFile {
    /// Reads a CSV of people; problems are usage errors naming the file and line. The
    /// normalising (libphonenumber, ICU) is most of the work: spread over the cores.
    static func load(
        _ path: String, columns: PeopleColumns, region: String, skipBad: Bool, progress: Progress
    ) throws -> [IdentityRecord] {
        progress.phase("reading \(path)")
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
        guard let id = try columns.index(of: "id", in: table, file: path) else {
            throw UsageError(description: "\(path): no id column in the header (name one with --column id=HEADER)")
        }
        var found: [String: [Int]] = [:]
        for field in PeopleColumns.fields.dropFirst() {
            found[field] = try columns.columns(of: field, in: table, file: path)
        }
        guard found.values.contains(where: { !$0.isEmpty }) else {
            throw UsageError(
                description:
                    "\(path): none of the columns \(PeopleColumns.fields.dropFirst().joined(separator: ", ")) (see --column)"
            )
        }
        // Every row needs an id of its own: a blank one (Excel's trailing ",,,," rows) or one
        // said twice would join unrelated rows into one cluster, or one id to two people.
        var seen: [String: Int] = [:]
        var rows: [(line: Int, fields: [String])] = []
        for row in table.rows {
            let key = row.fields[id].trimmedWhitespace
            let problem =
                key.isEmpty
                ? "line \(row.line): no id" : seen[key].map { "line \(row.line): id '\(key)' is also on line \($0)" }
            if let problem {
                guard skipBad else { throw UsageError(description: "\(path): \(problem) (or give --skip-bad)") }
                Output.err("skipped \(path) \(problem)")
                continue
            }
            seen[key] = row.line
            rows.append(row)
        }
        // Column lists in a fixed order, looked up once, not per row.
        let order = ["name", "company", "phone", "email", "birth_date", "national_id", "postcode", "address"]
        let lists = order.map { found[$0] ?? [] }
        let hasExtra = lists[4...].contains { !$0.isEmpty }
        let phones = PhoneNumber.Cache()
        progress.phase("normalising \(path)", total: rows.count)
        return Parallel.map(chunksOf: rows) { rows in
            defer { progress.advance(rows.count) }
            return rows.map { row in
                func value(_ field: Int) -> String? {
                    let columns = lists[field]
                    if columns.count == 1 {
                        let text = row.fields[columns[0]].trimmedWhitespace
                        return text.isEmpty ? nil : text
                    }
                    let parts = columns.map { row.fields[$0].trimmedWhitespace }.filter { !$0.isEmpty }
                    return parts.isEmpty ? nil : parts.joined(separator: " ")
                }
                let extra =
                    hasExtra
                    ? ExtraFields(birthDate: value(4), nationalID: value(5), postcode: value(6), address: value(7))
                    : nil
                return IdentityRecord(
                    id: row.fields[id].trimmedWhitespace, name: value(0), company: value(1), phone: value(2),
                    email: value(3), region: region, extra: extra, phones: phones)
            }
        }.flatMap { $0 }
    }
}

/// A CSV file written as bytes: fields quoted only when they must be.
struct CSVWriter {
    private(set) var bytes: [UInt8] = []

    init(header: [String]) { row(header) }

    mutating func row(_ fields: [String]) {
        for (index, field) in fields.enumerated() {
            if index > 0 { bytes.append(UInt8(ascii: ",")) }
            if field.utf8.contains(where: {
                $0 == UInt8(ascii: ",") || $0 == UInt8(ascii: "\"") || $0 == 10 || $0 == 13
            }) {
                bytes.append(UInt8(ascii: "\""))
                for byte in field.utf8 {
                    if byte == UInt8(ascii: "\"") { bytes.append(byte) }
                    bytes.append(byte)
                }
                bytes.append(UInt8(ascii: "\""))
            } else {
                bytes.append(contentsOf: field.utf8)
            }
        }
        bytes.append(10)
    }

    /// A score with two decimals, without Foundation's formatter.
    static func decimal(_ value: Double) -> String {
        let hundredths = Int((abs(value) * 100).rounded())
        let fraction = hundredths % 100
        return "\(value < 0 && hundredths > 0 ? "-" : "")\(hundredths / 100).\(fraction < 10 ? "0" : "")\(fraction)"
    }

    func write(to path: String) throws {
        guard FileManager.default.createFile(atPath: path, contents: Data(bytes)) else {
            throw UsageError(description: "cannot write \(path)")
        }
    }
}

/// `--region` and `--config` of the identity commands: the matcher's weights and
/// thresholds and the default region from a configuration's `identity` section.
struct IdentityOptions {
    var matcher = IdentityMatcher()
    var region = "CN"

    init(_ flags: Arguments) throws {
        if let path = flags.value("config") {
            let settings = try ConfigLoader.load(path).identity
            matcher = settings.matcher
            region = settings.defaultRegion
        }
        if let given = flags.value("region") {
            // As the configuration's identity.default_region: libphonenumber knows `CN`, not `cn`,
            // and would read every national number as invalid.
            guard given.count == 2, given.allSatisfy({ $0.isASCII && $0.isLetter }) else {
                throw UsageError(description: "--region: '\(given)' is not a two-letter region code such as CN or US")
            }
            region = given.uppercased()
        }
    }
}
