import Foundation
import LiaisonCore

/// Reads and validates a configuration file, with `${NAME}` taken from the environment.
enum ConfigLoader {
    static func load(_ path: String) throws(ConfigErrors) -> Configuration {
        guard let data = FileManager.default.contents(atPath: path) else {
            let exists = FileManager.default.fileExists(atPath: path)
            throw ConfigErrors([
                ConfigError(path: "", line: nil, problem: exists ? "cannot read \(path)" : "\(path) does not exist")
            ])
        }
        guard let text = String(data: data, encoding: .utf8) else {
            throw ConfigErrors([ConfigError(path: "", line: nil, problem: "\(path) is not UTF-8 text")])
        }
        return try Configuration.parse(yaml: text, environment: ProcessInfo.processInfo.environment)
    }
}
