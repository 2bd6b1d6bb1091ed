import CYAML

/// A parsed YAML document: scalars, sequences and mappings, each with a line for
/// configuration errors to point at: where it starts, or for a mapping or list under a key,
/// the key's line. Parsing is libyaml's; this is the
/// thin tree on top. Anchors and aliases are refused: a configuration has no use for them.
/// A mapping keeps its pairs in file order, a key given twice twice (YAML forbids it; the
/// reader of the mapping reports it where it knows the key's path).
public indirect enum YAMLNode: Sendable, Equatable {
    case scalar(String, line: Int, quoted: Bool)
    case sequence([YAMLNode], line: Int)
    case mapping([(key: String, value: YAMLNode)], line: Int)

    public var line: Int {
        switch self {
        case .scalar(_, let line, _), .sequence(_, let line), .mapping(_, let line): line
        }
    }

    public static func == (lhs: YAMLNode, rhs: YAMLNode) -> Bool {
        switch (lhs, rhs) {
        case let (.scalar(a, _, qa), .scalar(b, _, qb)): a == b && qa == qb
        case let (.sequence(a, _), .sequence(b, _)): a == b
        case let (.mapping(a, _), .mapping(b, _)):
            a.count == b.count && zip(a, b).allSatisfy { $0.key == $1.key && $0.value == $1.value }
        default: false
        }
    }
}

/// A YAML syntax error, with the position libyaml reported.
public struct YAMLError: Error, Equatable, CustomStringConvertible {
    public let line: Int
    public let column: Int
    public let problem: String
    public var description: String { "line \(line), column \(column): \(problem)" }
}

extension YAMLNode {
    /// Parses one YAML document. An empty document is an empty mapping.
    public static func parse(_ text: String) throws(YAMLError) -> YAMLNode {
        var parser = yaml_parser_t()
        guard yaml_parser_initialize(&parser) == 1 else {
            throw YAMLError(line: 0, column: 0, problem: "cannot initialise the YAML parser")
        }
        defer { yaml_parser_delete(&parser) }
        let bytes = Array(text.utf8)
        return try bytes.withUnsafeBufferPointer { (buffer) throws(YAMLError) -> YAMLNode in
            yaml_parser_set_input_string(&parser, buffer.baseAddress, buffer.count)
            var builder = TreeBuilder()
            while true {
                var event = yaml_event_t()
                guard yaml_parser_parse(&parser, &event) == 1 else {
                    let problem = parser.problem.map { String(cString: $0) } ?? "invalid YAML"
                    throw YAMLError(
                        line: Int(parser.problem_mark.line) + 1, column: Int(parser.problem_mark.column) + 1,
                        problem: problem
                    )
                }
                defer { yaml_event_delete(&event) }
                if event.type == YAML_STREAM_END_EVENT { break }
                try builder.consume(event)
            }
            return builder.root ?? .mapping([], line: 1)
        }
    }
}

/// Turns libyaml's event stream into a tree.
private struct TreeBuilder {
    private enum Frame {
        case sequence([YAMLNode], line: Int)
        case mapping([(key: String, value: YAMLNode)], pendingKey: (name: String, line: Int)?, line: Int)
    }

    private var stack: [Frame] = []
    private(set) var root: YAMLNode?

    mutating func consume(_ event: yaml_event_t) throws(YAMLError) {
        let line = Int(event.start_mark.line) + 1
        switch event.type {
        case YAML_DOCUMENT_START_EVENT:
            if root != nil {
                throw YAMLError(line: line, column: 1, problem: "only one YAML document is allowed")
            }
        case YAML_SCALAR_EVENT:
            let scalar = event.data.scalar
            let value = String(
                decoding: UnsafeBufferPointer(start: scalar.value, count: scalar.length), as: UTF8.self
            )
            let quoted =
                scalar.style == YAML_SINGLE_QUOTED_SCALAR_STYLE || scalar.style == YAML_DOUBLE_QUOTED_SCALAR_STYLE
            try add(.scalar(value, line: line, quoted: quoted), line: line, column: Int(event.start_mark.column) + 1)
        case YAML_SEQUENCE_START_EVENT:
            stack.append(.sequence([], line: line))
        case YAML_MAPPING_START_EVENT:
            stack.append(.mapping([], pendingKey: nil, line: line))
        case YAML_SEQUENCE_END_EVENT, YAML_MAPPING_END_EVENT:
            let node: YAMLNode
            switch stack.removeLast() {
            case let .sequence(items, start): node = .sequence(items, line: start)
            case let .mapping(pairs, _, start): node = .mapping(pairs, line: start)
            }
            try add(node, line: node.line, column: 1)
        case YAML_ALIAS_EVENT:
            throw YAMLError(line: line, column: Int(event.start_mark.column) + 1, problem: "aliases are not supported")
        default:
            break
        }
    }

    private mutating func add(_ node: YAMLNode, line: Int, column: Int) throws(YAMLError) {
        guard let top = stack.popLast() else {
            root = node
            return
        }
        switch top {
        case .sequence(var items, let start):
            items.append(node)
            stack.append(.sequence(items, line: start))
        case .mapping(var pairs, let pendingKey, let start):
            if let key = pendingKey {
                // A mapping or list under a key is placed at its key's line: where an error
                // about it (a key missing inside, the wrong shape) is best pointed.
                switch node {
                case .mapping(let inner, _): pairs.append((key.name, .mapping(inner, line: key.line)))
                case .sequence(let items, _): pairs.append((key.name, .sequence(items, line: key.line)))
                case .scalar: pairs.append((key.name, node))
                }
                stack.append(.mapping(pairs, pendingKey: nil, line: start))
            } else {
                guard case let .scalar(key, _, _) = node else {
                    throw YAMLError(line: line, column: column, problem: "mapping keys must be plain scalars")
                }
                // A key given twice is kept twice: the configuration reports it with its path.
                stack.append(.mapping(pairs, pendingKey: (key, line), line: start))
            }
        }
    }
}
