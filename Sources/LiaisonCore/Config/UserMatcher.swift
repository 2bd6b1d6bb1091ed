import Foundation

/// Decides whether an IM user id belongs to a group (employees, customers): an explicit
/// list of ids, a regular expression over the id, or both.
public struct UserMatcher: Sendable, Equatable {
    public let users: Set<String>
    public let pattern: String?
    private let regex: CompiledPattern?

    public init(users: Set<String> = [], pattern: String? = nil) throws {
        self.users = users
        self.pattern = pattern
        self.regex = try pattern.map(CompiledPattern.init)
    }

    public static let none = try! UserMatcher()

    public var isEmpty: Bool { users.isEmpty && pattern == nil }

    public func matches(_ id: String) -> Bool {
        users.contains(id) || (regex?.matches(id) ?? false)
    }

    public static func == (lhs: UserMatcher, rhs: UserMatcher) -> Bool {
        lhs.users == rhs.users && lhs.pattern == rhs.pattern
    }
}

/// A regular expression, compiled once and matched against the whole string.
/// `NSRegularExpression` is immutable after creation and documented thread-safe for
/// matching, which is why this wrapper may be shared across threads.
private final class CompiledPattern: @unchecked Sendable {
    private let regex: NSRegularExpression

    init(_ pattern: String) throws {
        regex = try NSRegularExpression(pattern: "^(?:\(pattern))$")
    }

    func matches(_ text: String) -> Bool {
        regex.firstMatch(in: text, range: NSRange(text.startIndex..., in: text)) != nil
    }
}
