import Foundation

/// A CSV file (RFC 4180: quoted fields, doubled quotes, CRLF or LF) with a header row.
/// Every problem names its line; with `skipBad`, bad rows are listed instead.
public struct CSVTable: Sendable {
    public let header: [String]
    public let rows: [(line: Int, fields: [String])]
    /// Rows left out under `skipBad`, with why.
    public let skipped: [CSVError]

    public init(bytes: [UInt8], skipBad: Bool = false) throws(CSVError) {
        guard String(validating: bytes, as: UTF8.self) != nil else {
            throw CSVError(
                line: Self.lineOfFirstInvalidUTF8(bytes),
                problem: "not valid UTF-8 (a file Excel saved as \"CSV\" in Chinese Windows is GBK: save it as "
                    + "\"CSV UTF-8\", or convert it with iconv -f GB18030 -t UTF-8)")
        }
        // On the bytes: every byte CSV cares about is ASCII, and valid UTF-8 never has an
        // ASCII byte inside a multi-byte character, so fields are sliced, not rebuilt.
        // Excel writes UTF-8 CSV with a byte-order mark; it is not part of the first header.
        let start = bytes.starts(with: [0xEF, 0xBB, 0xBF]) ? 3 : 0
        let records = try bytes.withUnsafeBufferPointer { buffer throws(CSVError) in
            try Self.records(UnsafeBufferPointer(rebasing: buffer[start...]))
        }
        var skipped: [CSVError] = []
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

    private static func records(_ bytes: UnsafeBufferPointer<UInt8>) throws(CSVError) -> [(Int, [String])] {
        let quote = UInt8(ascii: "\""), comma = UInt8(ascii: ","), newline = UInt8(ascii: "\n")
        let cr = UInt8(ascii: "\r")
        var records: [(Int, [String])] = []
        var fields: [String] = []
        var line = 1
        var recordLine = 1
        var index = 0
        let count = bytes.count
        func text(_ start: Int, _ end: Int) -> String {
            var end = end
            if end > start, bytes[end - 1] == cr { end -= 1 }  // CRLF
            return String(decoding: UnsafeBufferPointer(rebasing: bytes[start..<end]), as: UTF8.self)
        }
        func endRecord() {
            if !(fields.count == 1 && fields[0].isEmpty) { records.append((recordLine, fields)) }
            fields = []
            fields.reserveCapacity(8)
        }
        while index < count {
            // One field, starting at `index`.
            if bytes[index] == quote {
                var value: [UInt8] = []
                index += 1
                while true {
                    guard index < count else {
                        throw CSVError(line: recordLine, problem: "unbalanced quotes: a quoted field never ends")
                    }
                    let byte = bytes[index]
                    if byte == quote {
                        if index + 1 < count, bytes[index + 1] == quote {
                            value.append(quote)
                            index += 2
                            continue
                        }
                        index += 1
                        break
                    }
                    if byte == newline { line += 1 }
                    value.append(byte)
                    index += 1
                }
                fields.append(String(decoding: value, as: UTF8.self))
                // After the closing quote: a separator, the end of the line, or (tolerated) a CR.
                while index < count, bytes[index] == cr { index += 1 }
                guard index < count else { break }
                if bytes[index] == comma {
                    index += 1
                    if index == count { fields.append("") }
                } else if bytes[index] == newline {
                    index += 1
                    endRecord()
                    line += 1
                    recordLine = line
                } else {
                    throw CSVError(line: line, problem: "text after the closing quote of a quoted field")
                }
                continue
            }
            let start = index
            while index < count, bytes[index] != comma, bytes[index] != newline {
                if bytes[index] == quote { throw CSVError(line: line, problem: "a quote inside an unquoted field") }
                index += 1
            }
            fields.append(text(start, index))
            guard index < count else { break }
            if bytes[index] == comma {
                index += 1
                if index == count { fields.append("") }
            } else {
                index += 1
                endRecord()
                line += 1
                recordLine = line
            }
        }
        if !fields.isEmpty { endRecord() }
        return records
    }

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
