import Foundation
import LiaisonCore

/// The few BottleCRM REST calls the hub makes, with a personal access token.
/// Every call returns an `HTTPOutcome`-derived value; classification into delivery
/// outcomes happens in `BottleCRMArchiver`.
struct BottleCRMClient: Sendable {
    let baseURL: URL
    let token: String
    let http: HTTPClient

    struct Contact: Decodable, Sendable {
        var id: String
        var email: String?
        var phone: String?
        /// What the hub wrote when it created the contact (its IM ref): how a create whose
        /// answer was lost is found again.
        var sourceRef: String?

        enum CodingKeys: String, CodingKey {
            case id, email, phone
            case sourceRef = "source_ref"
        }
    }

    struct NewContact: Encodable, Sendable {
        var firstName: String
        var lastName: String
        var email: String?
        var phone: String?
        var sourceRef: String?

        enum CodingKeys: String, CodingKey {
            case firstName = "first_name"
            case lastName = "last_name"
            case email, phone
            case sourceRef = "source_ref"
        }
    }

    struct NewInteraction: Encodable, Sendable {
        var kind: String
        var direction: String
        var subject: String
        var body: String
        var contact: String
        var occurredAt: String?

        enum CodingKeys: String, CodingKey {
            case kind, direction, subject, body, contact
            case occurredAt = "occurred_at"
        }
    }

    struct Interaction: Decodable, Sendable {
        var id: String
        var body: String?
    }

    /// A call's result: the decoded value, or the outcome that explains its absence.
    enum Reply<T: Sendable>: Sendable {
        case ok(T)
        case failed(HTTPOutcome)
    }

    private var headers: [String: String] { ["Authorization": "Bearer \(token)"] }

    func url(_ path: String, query: [String: String] = [:]) -> URL {
        var components = URLComponents(url: baseURL.appendingPathComponent(path), resolvingAgainstBaseURL: false)!
        if !query.isEmpty {
            components.queryItems = query.sorted { $0.key < $1.key }.map { URLQueryItem(name: $0.key, value: $0.value) }
        }
        // URLComponents leaves "+" alone, but servers read it as a space.
        components.percentEncodedQuery = components.percentEncodedQuery?.replacingOccurrences(of: "+", with: "%2B")
        var text = components.url!.absoluteString
        if !path.hasSuffix("/"), components.percentEncodedQuery == nil { text += "/" }
        return URL(string: text)!
    }

    func findContacts(_ query: [String: String]) async -> Reply<[Contact]> {
        struct Page: Decodable { var results: [Contact] }
        let outcome = await http.send(
            "GET", url("api/contacts/", query: query.merging(["limit": "50"]) { a, _ in a }), headers: headers)
        return decode(outcome, as: Page.self).map(\.results)
    }

    /// Contacts whose e-mail equals `email` (any case), or whose phone has the same last 10
    /// digits or the same E.164 form (`POST /api/contacts/duplicates/`, at most 10; throttled
    /// at 120 a minute, a 429 with Retry-After past it). The list search is a substring of the
    /// raw stored text, newest first, one page: `13800138000` does not find `138 0013 8000`,
    /// and `li@qq.com` may hide behind fifty `wangli@qq.com`.
    func duplicates(_ query: [String: String]) async -> Reply<[Contact]> {
        struct Found: Decodable { var duplicates: [Contact] }
        let outcome = await http.send("POST", url("api/contacts/duplicates/"), headers: headers, json: query)
        return decode(outcome, as: Found.self).map(\.duplicates)
    }

    func createContact(_ contact: NewContact) async -> Reply<String> {
        struct Created: Decodable { var id: String }
        let outcome = await http.send("POST", url("api/contacts/"), headers: headers, json: contact)
        return decode(outcome, as: Created.self).map(\.id)
    }

    func createInteraction(_ interaction: NewInteraction) async -> Reply<String> {
        struct Created: Decodable { var id: String }
        let outcome = await http.send("POST", url("api/interactions/"), headers: headers, json: interaction)
        return decode(outcome, as: Created.self).map(\.id)
    }

    /// The contact's most recent interactions (newest first; BottleCRM allows at most 200).
    /// One page of a contact's interactions, newest first, from `offset` (at most 200, the
    /// server's limit), with how many the contact has in all.
    struct InteractionPage: Decodable, Sendable {
        var interactions: [Interaction]
        var count: Int?
    }

    func interactions(contact: String, offset: Int = 0) async -> Reply<InteractionPage> {
        let query = ["contact": contact, "limit": "200", "offset": String(offset)]
        let outcome = await http.send("GET", url("api/interactions/", query: query), headers: headers)
        return decode(outcome, as: InteractionPage.self)
    }

    private func decode<T: Decodable & Sendable>(_ outcome: HTTPOutcome, as type: T.Type) -> Reply<T> {
        guard case let .response(status, _, body) = outcome, (200..<300).contains(status) else {
            return .failed(outcome)
        }
        do {
            return .ok(try JSONDecoder().decode(T.self, from: body))
        } catch {
            let snippet = String(decoding: body.prefix(200), as: UTF8.self)
            return .failed(
                .failed(reason: "unexpected BottleCRM reply (HTTP \(status)): \(snippet)", maybeApplied: true))
        }
    }
}

extension BottleCRMClient.Reply {
    func map<U>(_ transform: (T) -> U) -> BottleCRMClient.Reply<U> {
        switch self {
        case .ok(let value): .ok(transform(value))
        case .failed(let outcome): .failed(outcome)
        }
    }
}
