/// A usage mistake on the command line: exit code 2 and one line on stderr.
struct UsageError: Error, CustomStringConvertible {
    let description: String
}

/// Flags of one command: `--name value`, `--name=value` and boolean `--name`.
/// Unknown flags, a flag given twice (unless `repeatable`) and words beyond the command's
/// `positional` ones are usage errors, so a typo never silently changes behaviour.
struct Arguments {
    private var values: [String: [String]] = [:]
    private(set) var positional: [String] = []

    /// - Parameters:
    ///   - valued: flags that take a value.
    ///   - switches: flags that take none.
    ///   - repeatable: valued flags that may be given more than once (`--column`, `--id`).
    ///   - positional: how many words that are not flags the command takes at most (an action,
    ///     an id); the command checks what it needs of them.
    init(
        _ arguments: [String], valued: Set<String>, switches: Set<String>, repeatable: Set<String> = [],
        positional accepted: Int = 0
    ) throws {
        var index = 0
        while index < arguments.count {
            let argument = arguments[index]
            index += 1
            guard argument.hasPrefix("--"), argument.count > 2 else {
                positional.append(argument)
                continue
            }
            var name = String(argument.dropFirst(2))
            var value: String?
            if let equals = name.firstIndex(of: "=") {
                value = String(name[name.index(after: equals)...])
                name = String(name[..<equals])
            }
            if values[name] != nil, !repeatable.contains(name) {
                throw UsageError(description: "--\(name) is given twice")
            }
            if switches.contains(name) {
                guard value == nil else { throw UsageError(description: "--\(name) takes no value") }
                values[name, default: []].append("true")
            } else if valued.contains(name) {
                if value == nil {
                    guard index < arguments.count else { throw UsageError(description: "--\(name) needs a value") }
                    value = arguments[index]
                    index += 1
                }
                values[name, default: []].append(value!)
            } else {
                throw UsageError(description: "unknown flag --\(name)")
            }
        }
        if let extra = positional.dropFirst(accepted).first {
            throw UsageError(
                description: extra.hasPrefix("-")
                    ? "unknown flag \(extra) (flags are written --name)" : "unexpected argument '\(extra)'")
        }
    }

    func value(_ name: String) -> String? { values[name]?.last }
    func all(_ name: String) -> [String] { values[name] ?? [] }
    func flag(_ name: String) -> Bool { values[name] != nil }

    func required(_ name: String) throws -> String {
        guard let value = value(name) else { throw UsageError(description: "--\(name) is required") }
        return value
    }
}
