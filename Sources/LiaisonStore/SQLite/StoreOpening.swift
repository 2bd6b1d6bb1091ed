import Foundation

/// How a process opens the store directory.
public enum StoreAccess: Sendable {
    /// Create the store if it is missing (tests, tools that build a store).
    case create
    /// Create it if missing and hold it for this process alone: the hub. Two hubs on one
    /// store would run two outbox workers over one delivery ledger.
    case hub
    /// Open a store that must exist already (`status`, `replay`, `review`): a wrong
    /// directory is an error, not a new empty store.
    case existing
}

/// The store directory given does not hold a store.
public struct StoreMissing: Error, CustomStringConvertible {
    public let directory: String
    public init(directory: String) { self.directory = directory }
    public var description: String {
        let absolute = StoreLocation.absolute(directory)
        let relative =
            absolute == directory
            ? ""
            : " (store.directory '\(directory)' is relative to the working directory \(StoreLocation.workingDirectory))"
        return "no Liaison store at \(absolute)\(relative): run 'liaison serve' with this configuration first,"
            + " or from the directory it runs in"
    }
}

/// The store's directory cannot be made or used: named with the setting that chose it.
public struct StoreUnusable: Error, CustomStringConvertible {
    public let directory: String
    public let problem: String
    public var description: String {
        "the store directory \(StoreLocation.absolute(directory)) (store.directory) \(problem)"
    }
}

/// A tool (`status`, `replay`, `review`) met a store whose schema is not its own. Tools never
/// migrate: a hub of another version may be running on the store.
public struct StoreSchemaMismatch: Error, CustomStringConvertible {
    public let file: String
    /// Steps this binary has that the store lacks, and steps the store has that it does not know.
    public let missing: [String]
    public let unknown: [String]
    public var description: String {
        if !unknown.isEmpty {
            return "\(file) was written by a newer liaison (schema steps \(unknown.joined(separator: ", ")) unknown"
                + " to this one): use that version's binary"
        }
        return "\(file) has an older schema (without \(missing.joined(separator: ", "))): run 'liaison serve' of"
            + " this version once to bring it up to date, then this command"
    }
}

/// Another hub holds the store.
public struct StoreBusy: Error, CustomStringConvertible {
    public let directory: String
    public let holder: String?
    public var description: String {
        "another 'liaison serve'\(holder.map { " (pid \($0))" } ?? "") is using the store at "
            + "\(StoreLocation.absolute(directory)): one hub per store (or a 'liaison replay' resolving identities, "
            + "which holds it as a hub does)"
    }
}

public enum StoreLocation {
    public static var workingDirectory: String { FileManager.default.currentDirectoryPath }

    /// `directory` as an absolute path (for messages and logs).
    public static func absolute(_ directory: String) -> String {
        let url =
            directory.hasPrefix("/")
            ? URL(fileURLWithPath: directory) : URL(fileURLWithPath: workingDirectory).appendingPathComponent(directory)
        return url.standardizedFileURL.path
    }
}

/// An exclusive `flock` on `hub.lock` in the store directory, with the holder's pid in the
/// file. The kernel drops it when the process dies, `kill -9` included: no stale locks.
final class StoreLock: Sendable {
    private let descriptor: Int32

    init(directory: String) throws {
        let path = "\(directory)/hub.lock"
        let descriptor = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o644)
        guard descriptor >= 0 else {
            throw StoreLockFailed(path: path, reason: String(cString: strerror(errno)))
        }
        guard flock(descriptor, LOCK_EX | LOCK_NB) == 0 else {
            let failure = errno
            let holder = (try? String(contentsOfFile: path, encoding: .utf8))?
                .trimmingCharacters(in: .whitespacesAndNewlines)
            close(descriptor)
            if failure == EWOULDBLOCK {
                throw StoreBusy(directory: directory, holder: holder.flatMap { $0.isEmpty ? nil : $0 })
            }
            throw StoreLockFailed(path: path, reason: String(cString: strerror(failure)))
        }
        let pid = Array("\(getpid())\n".utf8)
        _ = ftruncate(descriptor, 0)
        _ = pid.withUnsafeBytes { pwrite(descriptor, $0.baseAddress, $0.count, 0) }
        self.descriptor = descriptor
    }

    /// Unlocked explicitly before closing: a process being spawned meanwhile holds a copy of
    /// the descriptor until it execs, and the lock would live on with that copy.
    deinit {
        flock(descriptor, LOCK_UN)
        close(descriptor)
    }
}

struct StoreLockFailed: Error, CustomStringConvertible {
    let path: String
    let reason: String
    var description: String { "cannot lock \(path): \(reason)" }
}
