import Foundation
import LiaisonConnectors
import LiaisonCore
import LiaisonServer
import LiaisonStore
import LiaisonSync

/// The commands, their help and their exit codes.
enum CLI {
    static let usage = """
        liaison: keeps customers in sync between IM and CRM.

        Usage: liaison <command> [flags]

        Commands:
          serve    Run the hub (HTTP listener, pipeline, scheduler, outbox)
          check    Validate a configuration file
          status   Show queue depths, dead letters and counts
          replay   Re-drive dead deliveries, or re-apply a time range of logged events
          link     Match the people of two CSV files (identity resolution)
          dedupe   Group the records of one CSV file into people
          audit    Data-quality report of a customer CSV (duplicates, invalid fields, stale)
          review   The identity review queue: list, show, accept, reject, unmerge
          bench    Measurements without a server (lookup, admission, pipeline)
          sample   Write generated contacts with known truth (to try link, dedupe, audit)
          version  Print the version

        Run 'liaison <command> --help' for a command's flags.
        """

    static func run(_ arguments: [String]) async -> Int32 {
        guard let command = arguments.first else {
            Output.err(usage)
            return 2
        }
        let rest = Array(arguments.dropFirst())
        do {
            switch command {
            case "serve": return try await Serve.run(rest)
            case "check": return try Check.run(rest)
            case "status": return try Status.run(rest)
            case "replay": return try await Replay.run(rest)
            case "link": return try Link.run(rest)
            case "dedupe": return try Dedupe.run(rest)
            case "audit": return try await Audit.run(rest)
            case "sample": return try Sample.run(rest)
            case "review": return try Review.run(rest)
            case "bench": return try Bench.run(rest)
            case "version", "--version":
                if help(rest, "Usage: liaison version\n\nPrints the version.") { return 0 }
                guard rest.isEmpty else { throw UsageError(description: "version takes no arguments") }
                Output.out("liaison \(version)")
                return 0
            case "help", "--help", "-h": Output.out(usage); return 0
            default: throw UsageError(description: "unknown command '\(command)'; run 'liaison --help'")
            }
        } catch let error as UsageError {
            Output.err("error: \(error.description)")
            return 2
        } catch let error as ConfigErrors {
            for problem in error.errors { Output.err("config error: \(problem)") }
            return 2
        } catch {
            Output.err("error: \(error)")
            return 1
        }
    }

    static let version = "0.1.0"

    /// True (and the help printed) when `--help` or `-h` was given.
    static func help(_ arguments: [String], _ text: String) -> Bool {
        guard arguments.contains("--help") || arguments.contains("-h") else { return false }
        Output.out(text)
        return true
    }
}

enum Serve {
    static let help = """
        Usage: liaison serve --config FILE

        Runs the hub until SIGTERM or SIGINT, then drains in-flight work and exits.
        A configuration with errors is refused (exit 2) with one line per problem.
        """

    static func run(_ arguments: [String]) async throws -> Int32 {
        if CLI.help(arguments, help) { return 0 }
        let flags = try Arguments(arguments, valued: ["config"], switches: [])
        let configuration = try ConfigLoader.load(try flags.required("config"))
        if !configuration.servingProblems.isEmpty { throw ConfigErrors(configuration.servingProblems) }
        let logger = Output.logger(configuration.log)
        let hub = try Hub(configuration: configuration, logger: logger)
        logger.info(
            "starting",
            [
                "version": CLI.version, "store": StoreLocation.absolute(configuration.store.directory),
                "archive_mode": configuration.archive.mode.rawValue,
            ])
        try await hub.run()
        return 0
    }
}

enum Check {
    static let help = """
        Usage: liaison check --config FILE [--output text|json]

        Validates FILE for 'liaison serve'. Every problem is printed with its key path and
        line; exit code 2 if any. (A file that only tunes identity matching for link, dedupe
        or audit needs no source and is not for check.)
        """

    static func run(_ arguments: [String]) throws -> Int32 {
        if CLI.help(arguments, help) { return 0 }
        let flags = try Arguments(arguments, valued: ["config", "output"], switches: [])
        let path = try flags.required("config")
        let json = try OutputFormat.parse(flags.value("output")) == .json
        do throws(ConfigErrors) {
            let configuration = try ConfigLoader.load(path)
            if !configuration.servingProblems.isEmpty { throw ConfigErrors(configuration.servingProblems) }
            if json {
                Output.json(["valid": true])
            } else {
                let sources =
                    [configuration.matrix != nil ? "matrix" : nil]
                    + configuration.genericSources.keys.sorted().map { "generic.\($0)" }
                    + [
                        configuration.bottleCRM?.webhookSecret != nil ? "bottlecrm webhooks" : nil,
                        configuration.tryton != nil ? "tryton" : nil,
                    ]
                Output.out(
                    "ok: \(path) is valid (inbound: \(sources.compactMap { $0 }.joined(separator: ", ")); archive: \(configuration.archive.mode.rawValue) → \(configuration.archive.target))"
                )
            }
            return 0
        } catch {
            if json {
                struct Problem: Encodable { var path: String; var line: Int?; var problem: String }
                struct Report: Encodable { var valid: Bool; var errors: [Problem] }
                Output.json(
                    Report(
                        valid: false,
                        errors: error.errors.map { Problem(path: $0.path, line: $0.line, problem: $0.problem) }))
            } else {
                for problem in error.errors { Output.err("config error: \(problem)") }
            }
            return 2
        }
    }
}

enum OutputFormat: String {
    case text, json

    static func parse(_ value: String?) throws -> OutputFormat {
        guard let value else { return .text }
        guard let format = OutputFormat(rawValue: value) else {
            throw UsageError(description: "--output must be text or json, not '\(value)'")
        }
        return format
    }
}
