import Foundation

/// A CSV file (RFC 4180: quoted fields, doubled quotes, CRLF or LF) with a header row.
/// Every problem names its line; with `skipBad`, bad rows are listed instead.
public struct CSVTable: Sendable {
    public let header: [String]
    public let rows: [(line: Int, fields: [String])]
    /// Rows left out under `skipBad`, with why.
    public let skipped: [CSVError]

    public init(bytes: [UInt8], skipBad: Bool = false) throws(CSVError) {
        guard let text = String(validating: bytes, as: UTF8.self) else {
            throw CSVError(line: Self.lineOfFirstInvalidUTF8(bytes), problem: "not valid UTF-8")
        }
        var records: [(Int, [String])] = []
        var skipped: [CSVError] = []
        var field = ""
        var fields: [String] = []
        var inQuotes = false
        var line = 1
        var recordLine = 1
        var iterator = text.unicodeScalars.makeIterator()
        var pending: Unicode.Scalar? = nil
        var atFieldStart = true
        func next() -> Unicode.Scalar? {
            if let p = pending {
                pending = nil
                return p
            }
            return iterator.next()
        }
        func endRecord() {
            fields.append(field)
            field = ""
            if !(fields.count == 1 && fields[0].isEmpty) { records.append((recordLine, fields)) }
            fields = []
        }
        while let c = next() {
            if inQuotes {
                if c == "\"" {
                    if let n = next() {
                        if n == "\"" {
                            field.unicodeScalars.append("\"")
                        } else {
                            inQuotes = false
                            pending = n
                        }
                    } else {
                        inQuotes = false
                    }
                } else {
                    if c == "\n" { line += 1 }
                    field.unicodeScalars.append(c)
                }
                continue
            }
            switch c {
            case "\"" where atFieldStart:
                inQuotes = true
                atFieldStart = false
            case "\"":
                throw CSVError(line: line, problem: "a quote inside an unquoted field")
            case ",":
                fields.append(field)
                field = ""
                atFieldStart = true
            case "\r":
                break
            case "\n":
                endRecord()
                line += 1
                recordLine = line
                atFieldStart = true
            default:
                field.unicodeScalars.append(c)
                atFieldStart = false
            }
        }
        if inQuotes { throw CSVError(line: recordLine, problem: "unbalanced quotes: a quoted field never ends") }
        if !field.isEmpty || !fields.isEmpty { endRecord() }
        guard let first = records.first else { throw CSVError(line: 1, problem: "no header row") }
        header = first.1.map { $0.trimmingCharacters(in: .whitespaces).lowercased() }
        var good: [(line: Int, fields: [String])] = []
        for (number, values) in records.dropFirst() {
            if values.count != header.count {
                let error = CSVError(
                    line: number, problem: "\(values.count) fields where the header has \(header.count)")
                if skipBad {
                    skipped.append(error)
                    continue
                }
                throw error
            }
            good.append((number, values))
        }
        rows = good
        self.skipped = skipped
    }

    public func column(_ name: String) -> Int? { header.firstIndex(of: name) }

    static func lineOfFirstInvalidUTF8(_ bytes: [UInt8]) -> Int {
        var decoder = UTF8()
        var iterator = bytes.makeIterator()
        var line = 1
        while true {
            switch decoder.decode(&iterator) {
            case .scalarValue(let scalar): if scalar == "\n" { line += 1 }
            case .emptyInput: return line
            case .error: return line
            }
        }
    }
}

/// A CSV problem at a line.
public struct CSVError: Error, Equatable, Sendable, CustomStringConvertible {
    public let line: Int
    public let problem: String

    public init(line: Int, problem: String) {
        self.line = line
        self.problem = problem
    }

    public var description: String { "line \(line): \(problem)" }
}
