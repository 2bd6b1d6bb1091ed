/// One thing wrong with a configuration file: where (the key path and the line) and what.
///
///     matrix.hs_token (line 12): required, a non-empty string
///     line 4: invalid YAML: did not find expected ',' or ']'     (the file as a whole)
public struct ConfigError: Error, Equatable, Sendable, CustomStringConvertible {
    public let path: String
    public let line: Int?
    public let problem: String

    public init(path: String, line: Int?, problem: String) {
        self.path = path
        self.line = line
        self.problem = problem
    }

    public var description: String {
        switch (path.isEmpty, line) {
        case (true, nil): problem
        case (true, let line?): "line \(line): \(problem)"
        case (false, nil): "\(path): \(problem)"
        case (false, let line?): "\(path) (line \(line)): \(problem)"
        }
    }
}

/// Every problem found in a configuration file, in file order.
public struct ConfigErrors: Error, Equatable, Sendable, CustomStringConvertible {
    public let errors: [ConfigError]
    /// Ordered by line (stably: problems found on one line stay in the order found), those
    /// without a line (the file as a whole) last.
    public init(_ errors: [ConfigError]) {
        self.errors = errors.enumerated().sorted { a, b in
            (a.element.line ?? .max, a.offset) < (b.element.line ?? .max, b.offset)
        }.map(\.element)
    }
    public var description: String { errors.map(\.description).joined(separator: "\n") }
}
