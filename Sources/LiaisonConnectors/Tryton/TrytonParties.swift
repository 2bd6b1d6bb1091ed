import Foundation
import LiaisonCore

/// Tryton parties read over its REST API, for polling: Tryton has no webhooks, so
/// changes are found by `write_date` / `create_date` since a cursor.
public struct TrytonParties: Sendable {
    public let settings: TrytonSettings
    private let http: HTTPClient
    /// Rows a request (and ids in one `in` clause).
    public let pageSize: Int

    public init(settings: TrytonSettings, timeout: TimeInterval, pageSize: Int = 200) {
        self.settings = settings
        self.pageSize = max(pageSize, 1)
        http = HTTPClient(timeout: timeout)
    }

    /// One party as polled, and when it last changed.
    public struct Polled: Sendable {
        public var id: Int64
        /// The latest change to the party or its contact mechanisms: where polling goes on from.
        public var changedAt: Date
        /// The party's own last change (its `write_date`). A change committed late under an
        /// earlier time (the party renamed in a long transaction, its e-mail edited and
        /// committed meanwhile) moves this one, not the latest: the log's key names both.
        public var ownChangedAt: Date
        /// The party as Tryton returned it (JSON), stored in the log as is.
        public var raw: JSONValue
    }

    public enum PollError: Error, CustomStringConvertible {
        case http(HTTPOutcome)
        case unexpected(String)

        public var description: String {
            switch self {
            case .http(.failed(let reason, _)): "Tryton unreachable: \(reason)"
            case .http(.response(let status, _, let body)):
                "Tryton answered \(status): \(String(decoding: body.prefix(200), as: UTF8.self))"
            case .unexpected(let problem): "unexpected Tryton answer: \(problem)"
            }
        }
    }

    static let partyFields = [
        "name", "active", "create_date", "write_date", "contact_mechanisms.type", "contact_mechanisms.value",
        "contact_mechanisms.active", "write_uid.rec_name", "create_uid.rec_name",
    ]
    /// Every search runs with `active_test` off, so archived parties and mechanisms are
    /// seen too (archiving is how Tryton users usually remove one). An `active` clause in
    /// the domain is not enough: next to an `OR` Tryton still adds its own `active = True`.
    static let context = base64URL(#"{"active_test": false}"#)

    /// Parties created or written at or after `since` (all of them when nil), oldest change
    /// first. A contact mechanism edited on its own does not touch its party's write_date,
    /// so mechanisms changed since then bring their parties in too, as changed at that time.
    public func changed(since: Date?) async throws(PollError) -> [Polled] {
        var changedSince: JSONValue?
        if let since {
            let moment = Self.encode(since)
            changedSince = .array([
                .string("OR"), .array([.string("write_date"), .string(">="), moment]),
                .array([.string("create_date"), .string(">="), moment]),
            ])
        }
        // Mechanisms first: a mechanism edited after this read is caught by the next poll's
        // overlap; read after the parties, its change time could be paired with the
        // party's older mechanisms, and the re-read would then look like a duplicate.
        var touched: [Int64: Date] = [:]
        if let changedSince {
            let mechanisms = try await search(
                "party.contact_mechanism", fields: ["party", "create_date", "write_date"],
                domain: changedSince)
            for row in mechanisms {
                guard let party = row["party"]?.number else { continue }
                let at = Self.decodeDate(row["write_date"]) ?? Self.decodeDate(row["create_date"]) ?? .distantPast
                touched[Int64(party)] = max(touched[Int64(party)] ?? .distantPast, at)
            }
        }
        let rows = try await search(
            "party.party", fields: Self.partyFields, domain: changedSince ?? .array([]))
        var parties: [Int64: Polled] = [:]
        for row in rows {
            let polled = try Self.polled(row)
            parties[polled.id] = polled
        }
        let missing = touched.keys.filter { parties[$0] == nil }.sorted()
        for row in try await self.rows(ids: missing, fields: Self.partyFields) {
            let polled = try Self.polled(row)
            parties[polled.id] = polled
        }
        for (id, at) in touched where parties[id] != nil && at > parties[id]!.changedAt {
            parties[id]!.changedAt = at
        }
        return parties.values.sorted { ($0.changedAt, $0.id) < ($1.changedAt, $1.id) }
    }

    /// The rows of the parties with these ids (archived ones included), `pageSize` ids a
    /// request.
    private func rows(ids: [Int64], fields: [String]) async throws(PollError) -> [JSONValue] {
        var rows: [JSONValue] = []
        for start in stride(from: 0, to: ids.count, by: pageSize) {
            let some = ids[start..<min(start + pageSize, ids.count)].map { JSONValue.number(Double($0)) }
            rows += try await search(
                "party.party", fields: fields, domain: .array([.array([.string("id"), .string("in"), .array(some)])]))
        }
        return rows
    }

    /// Of these ids, the parties that still exist (archived ones included): a check just
    /// before announcing a deletion.
    public func existing(_ ids: [Int64]) async throws(PollError) -> Set<Int64> {
        Set(try await rows(ids: ids, fields: ["id"]).compactMap { $0["id"]?.number }.map { Int64($0) })
    }

    /// The ids of every party, archived ones included (to find deleted ones).
    public func allIDs() async throws(PollError) -> Set<Int64> {
        Set(
            try await search("party.party", fields: ["id"], domain: .array([]), pageSize: max(pageSize, 1000))
                .compactMap { $0["id"]?.number }.map { Int64($0) })
    }

    static func polled(_ row: JSONValue) throws(PollError) -> Polled {
        guard let id = row["id"]?.number else { throw .unexpected("a party without id") }
        let changed = decodeDate(row["write_date"]) ?? decodeDate(row["create_date"]) ?? .distantPast
        return Polled(id: Int64(id), changedAt: changed, ownChangedAt: changed, raw: row)
    }

    /// Every row of `model` matching `domain`, page by page in id order, each page asking
    /// for the ids above the last one read. Not by offset over the change order: a row
    /// edited between two pages would move to the end and shift an unread row into a page
    /// already read, and that change would be missed for good.
    private func search(_ model: String, fields: [String], domain: JSONValue, pageSize: Int? = nil)
        async throws(PollError) -> [JSONValue]
    {
        let pageSize = pageSize ?? self.pageSize
        let order: JSONValue = .array([.array([.string("id"), .string("ASC")])])
        var all: [JSONValue] = []
        var last: Int64 = 0
        while true {
            let after: JSONValue = .array([.string("id"), .string(">"), .number(Double(last))])
            let page: JSONValue = domain == .array([]) ? .array([after]) : .array([domain, after])
            var components = URLComponents(url: settings.baseURL, resolvingAgainstBaseURL: false)!
            components.percentEncodedPath = "/\(settings.database)/rest/model/\(model)"
            var items = fields.map { URLQueryItem(name: "f", value: $0) }
            items.append(URLQueryItem(name: "o", value: Self.base64URL(order.serialized)))
            items.append(URLQueryItem(name: "d", value: Self.base64URL(page.serialized)))
            components.queryItems = items
            guard let url = components.url else { throw .unexpected("bad base_url") }
            // Tryton's range end is exclusive: records=0-200 is 200 rows.
            let outcome = await http.send(
                "GET", url,
                headers: [
                    "Authorization": "Bearer \(settings.restKey)", "Range": "records=0-\(pageSize)",
                    "X-Tryton-Context": Self.context,
                ])
            guard case let .response(status, _, body) = outcome, (200..<300).contains(status) else {
                throw .http(outcome)
            }
            guard case .array(let rows) = try? JSONValue.parse(Array(body)) else {
                throw .unexpected("not a JSON array")
            }
            all += rows
            guard rows.count == pageSize else { break }
            guard let highest = rows.compactMap({ $0["id"]?.number }).max() else {
                throw .unexpected("rows without ids")
            }
            last = Int64(highest)
        }
        return all
    }

    /// Tryton's JSON datetime: `{"__class__": "datetime", "year": …, "microsecond": …}`, UTC.
    public static func encode(_ date: Date) -> JSONValue {
        let micros = Int64((date.timeIntervalSince1970 * 1_000_000).rounded(.down))
        // Floored, not truncated: before 1970 (a poll's overlap reaching back past a cursor at
        // its start) every field stays in range, as Python's datetime requires.
        func floorDivide(_ a: Int64, _ b: Int64) -> Int64 { a >= 0 ? a / b : -((-a + b - 1) / b) }
        let seconds = floorDivide(micros, 1_000_000)
        let days = Int(floorDivide(seconds, 86_400))
        let (year, month, day) = ISO8601.civilFromDays(days)
        let inDay = Int(seconds - Int64(days) * 86_400)
        return .object([
            ("__class__", .string("datetime")), ("year", .number(Double(year))), ("month", .number(Double(month))),
            ("day", .number(Double(day))), ("hour", .number(Double(inDay / 3600))),
            ("minute", .number(Double(inDay / 60 % 60))), ("second", .number(Double(inDay % 60))),
            ("microsecond", .number(Double(micros - seconds * 1_000_000))),
        ])
    }

    public static func decodeDate(_ value: JSONValue?) -> Date? {
        guard let value, value["__class__"]?.string == "datetime", let year = value["year"]?.number,
            let month = value["month"]?.number, let day = value["day"]?.number
        else { return nil }
        let days = ISO8601.daysFromCivil(year: Int(year), month: Int(month), day: Int(day))
        let seconds =
            Double(days * 86_400) + (value["hour"]?.number ?? 0) * 3600 + (value["minute"]?.number ?? 0) * 60
            + (value["second"]?.number ?? 0)
        return Date(timeIntervalSince1970: seconds + (value["microsecond"]?.number ?? 0) / 1_000_000)
    }

    public static func base64URL(_ text: String) -> String {
        Data(text.utf8).base64EncodedString().replacingOccurrences(of: "+", with: "-").replacingOccurrences(
            of: "/", with: "_")
    }
}
