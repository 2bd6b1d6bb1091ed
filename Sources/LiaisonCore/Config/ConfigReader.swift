import Foundation

/// Reads typed values out of a YAML mapping while collecting every problem with its key
/// path, instead of stopping at the first. Keys nobody asked for are reported as unknown,
/// which catches misspellings (`idle_timout_seconds`).
final class ConfigReader {
    private let environment: [String: String]
    private(set) var errors: [ConfigError] = []

    init(environment: [String: String]) {
        self.environment = environment
    }

    func fail(_ path: String, _ line: Int?, _ problem: String) {
        errors.append(ConfigError(path: path, line: line, problem: problem))
    }

    func section(_ node: YAMLNode?, path: String) -> Section {
        switch node {
        case nil: return Section(reader: self, path: path, pairs: [], line: nil, present: false)
        case let .mapping(pairs, line)?:
            // A key given twice: reported at its second line; the first stands, so that the
            // rest of the file is still read and its problems reported too.
            var seen: [String: Int] = [:]
            var unique: [(key: String, value: YAMLNode)] = []
            for pair in pairs {
                if let first = seen[pair.key] {
                    let keyPath = path.isEmpty ? pair.key : "\(path).\(pair.key)"
                    fail(keyPath, pair.value.line, "given twice (first on line \(first))")
                    continue
                }
                seen[pair.key] = pair.value.line
                unique.append(pair)
            }
            return Section(reader: self, path: path, pairs: unique, line: line, present: true)
        case let .scalar(value, line, _)? where value.isEmpty || value == "~" || value == "null":
            return Section(reader: self, path: path, pairs: [], line: line, present: true)
        case let node?:
            fail(path, node.line, "must be a mapping of keys to values")
            return Section(reader: self, path: path, pairs: [], line: node.line, present: false)
        }
    }

    /// Expands `${NAME}` and `${NAME:-default}` from the environment; an unset variable
    /// without a default is an error, not "".
    func expand(_ value: String, path: String, line: Int) -> String {
        guard value.contains("${") else { return value }
        var result = ""
        var rest = Substring(value)
        while let open = rest.range(of: "${") {
            result += rest[..<open.lowerBound]
            guard let close = rest[open.upperBound...].firstIndex(of: "}") else {
                fail(path, line, "unterminated ${…} in value")
                return value
            }
            let reference = String(rest[open.upperBound..<close])
            let parts = reference.components(separatedBy: ":-")
            let name = parts[0]
            if let found = environment[name], !found.isEmpty {
                result += found
            } else if parts.count > 1 {
                result += parts.dropFirst().joined(separator: ":-")
            } else {
                fail(
                    path, line,
                    environment[name] == nil
                        ? "environment variable \(name) is not set" : "environment variable \(name) is empty")
            }
            rest = rest[rest.index(after: close)...]
        }
        return result + rest
    }

    /// A mapping in the file, read key by key.
    final class Section {
        let reader: ConfigReader
        let path: String
        let line: Int?
        /// Whether the section appears in the file at all.
        let present: Bool
        private let pairs: [(key: String, value: YAMLNode)]
        private var used: Set<String> = []

        init(reader: ConfigReader, path: String, pairs: [(key: String, value: YAMLNode)], line: Int?, present: Bool) {
            self.reader = reader
            self.path = path
            self.pairs = pairs
            self.line = line
            self.present = present
        }

        var keys: [String] { pairs.map(\.key) }

        func keyPath(_ key: String) -> String { path.isEmpty ? key : "\(path).\(key)" }

        /// A secret or token: a string, refused when set but shorter than 16 bytes.
        func secret(_ key: String, required: Bool = false) -> String? {
            let value = string(key, required: required)
            if let value, !value.isEmpty, value.utf8.count < 16 {
                reader.fail(keyPath(key), node(key)?.line, "too short: use at least 16 characters")
            }
            return value
        }

        func node(_ key: String) -> YAMLNode? {
            used.insert(key)
            return pairs.first { $0.key == key }?.value
        }

        func has(_ key: String) -> Bool { pairs.contains { $0.key == key } }

        func section(_ key: String) -> Section { reader.section(node(key), path: keyPath(key)) }

        func string(_ key: String, required: Bool = false) -> String? {
            switch node(key) {
            case nil:
                if required { reader.fail(keyPath(key), line, "required, a non-empty string") }
                return nil
            case let .scalar(value, line, _)?:
                let before = reader.errors.count
                let expanded = reader.expand(value, path: keyPath(key), line: line)
                if required && expanded.isEmpty && reader.errors.count == before {
                    reader.fail(keyPath(key), line, "required, a non-empty string")
                }
                return expanded
            case let node?:
                reader.fail(keyPath(key), node.line, "must be a string")
                return nil
            }
        }

        /// A scalar meant as a number or a boolean, `${NAME}` expanded: nil when it is not a
        /// plain scalar (a quoted literal is a string), `expansionFailed` when the expansion
        /// already reported its error (so it is not reported twice).
        private func literal(_ node: YAMLNode, key: String) -> (text: String?, expansionFailed: Bool) {
            guard case let .scalar(text, line, quoted) = node else { return (nil, false) }
            guard text.contains("${") else { return (quoted ? nil : text, false) }
            let before = reader.errors.count
            let expanded = reader.expand(text, path: keyPath(key), line: line)
            return reader.errors.count == before ? (expanded, false) : (nil, true)
        }

        func int(_ key: String, default value: Int, in range: ClosedRange<Int>) -> Int {
            guard let node = node(key) else { return value }
            let (text, expansionFailed) = literal(node, key: key)
            guard !expansionFailed else { return value }
            guard let text, let number = Int(text) else {
                reader.fail(
                    keyPath(key), node.line,
                    "must be a whole number between \(range.lowerBound) and \(range.upperBound)")
                return value
            }
            guard range.contains(number) else {
                reader.fail(keyPath(key), node.line, "\(number) is out of range \(range.lowerBound)…\(range.upperBound)")
                return value
            }
            return number
        }

        func double(_ key: String, default value: Double, in range: ClosedRange<Double>) -> Double {
            guard let node = node(key) else { return value }
            let (text, expansionFailed) = literal(node, key: key)
            guard !expansionFailed else { return value }
            guard let text, let number = Double(text), number.isFinite else {
                reader.fail(
                    keyPath(key), node.line, "must be a number between \(range.lowerBound) and \(range.upperBound)")
                return value
            }
            guard range.contains(number) else {
                reader.fail(keyPath(key), node.line, "\(number) is out of range \(range.lowerBound)…\(range.upperBound)")
                return value
            }
            return number
        }

        func bool(_ key: String, default value: Bool) -> Bool {
            guard let node = node(key) else { return value }
            let (text, expansionFailed) = literal(node, key: key)
            guard !expansionFailed else { return value }
            if let text {
                switch text.lowercased() {
                case "true", "yes", "on": return true
                case "false", "no", "off": return false
                default: break
                }
            }
            reader.fail(keyPath(key), node.line, "must be true or false")
            return value
        }

        func choice<T: RawRepresentable & CaseIterable>(_ key: String, default value: T) -> T
        where T.RawValue == String {
            guard let text = string(key) else { return value }
            if let found = T(rawValue: text) { return found }
            let allowed = T.allCases.map(\.rawValue).joined(separator: ", ")
            reader.fail(keyPath(key), node(key)?.line, "'\(text)' is not one of: \(allowed)")
            return value
        }

        func url(_ key: String, required: Bool) -> URL? {
            guard let text = string(key, required: required), !text.isEmpty else { return nil }
            guard let url = URL(string: text), let scheme = url.scheme, ["http", "https"].contains(scheme),
                url.host != nil
            else {
                reader.fail(keyPath(key), node(key)?.line, "'\(text)' is not an http(s) URL")
                return nil
            }
            // Foundation's HTTP client on Linux refuses URLs with an IPv6 literal (every
            // call would fail with NSURLErrorBadURL); a host name resolving to it works.
            if url.host?.contains(":") == true {
                reader.fail(
                    keyPath(key), node(key)?.line,
                    "'\(text)' has an IPv6 address for its host, which the HTTP client cannot call: "
                        + "use a host name that resolves to it (localhost, or one in /etc/hosts)")
                return nil
            }
            return url
        }

        func stringList(_ key: String) -> [String] {
            switch node(key) {
            case nil: return []
            case let .sequence(items, _)?:
                return items.enumerated().compactMap { index, item in
                    guard case let .scalar(value, line, _) = item else {
                        reader.fail("\(keyPath(key))[\(index)]", item.line, "must be a string")
                        return nil
                    }
                    return reader.expand(value, path: "\(keyPath(key))[\(index)]", line: line)
                }
            case let node?:
                reader.fail(keyPath(key), node.line, "must be a list of strings")
                return []
            }
        }

        /// Reports keys in this section that nothing read.
        func finish() {
            for (key, value) in pairs where !used.contains(key) {
                reader.fail(keyPath(key), value.line, "unknown key")
            }
        }
    }
}
