import Foundation
import LiaisonCore
import LiaisonStore

/// The REST API, behind bearer tokens (`api.tokens`):
///
///     GET /api/v1/customers/lookup?system=matrix&id=@li.na:corp
///     GET /api/v1/customers/lookup?system=bottlecrm&kind=contact&id=<uuid>
///     GET /api/v1/customers/lookup?email=li.na@example.com
///     GET /api/v1/customers/lookup?phone=+8613800138000
///
/// and the identity review queue (`liaison review` on the command line):
///
///     GET  /api/v1/identity/reviews?status=open|accepted|rejected|all&limit=100[&after=ID]   by id; the next page after its last id
///     GET  /api/v1/identity/reviews/{id}            the pair, its explanation, both records
///     POST /api/v1/identity/reviews/{id}/accept     merges the two customers → the merge
///     POST /api/v1/identity/reviews/{id}/reject
///     GET  /api/v1/identity/merges?limit=100[&before=ID]   newest first; the next page before its last id
///     POST /api/v1/identity/merges/{id}/unmerge     restores every record it moved
///
/// A POST may carry `{"by": "name"}`, recorded as who decided. An unknown id is 404; a
/// review decided the other way is 409, and changes nothing; the same decision again, or
/// undoing an undone merge (a client retrying after a lost answer), is answered as the first.
struct APIRoutes {
    let store: any Store
    let tokens: [String]
    /// The store of people, reviews and merges; nil when identity resolution is off.
    var identity: SQLiteStore?
    /// The hub's clock: when a review was decided or a merge undone.
    let now: @Sendable () -> Date

    func register(in router: inout Router) {
        router.on("GET", "/api/v1/customers/lookup") { request, _, respond in
            if let refusal = authenticate(request) { return respond(refusal) }
            let lookup: CustomerLookup
            switch Self.lookup(request.query) {
            case .success(let parsed): lookup = parsed
            case .failure(let problem): return respond(.error(400, code: "bad_query", message: problem.message))
            }
            do {
                guard let profile = try store.customerProfile(lookup, interactions: 10) else {
                    return respond(.error(404, code: "not_found", message: "no customer is known by that key"))
                }
                respond(.json(200, profile))
            } catch let ambiguous as AmbiguousLookup {
                // Refs only: which records, not whose data.
                respond(
                    .json(
                        409,
                        Ambiguous(
                            error: .init(
                                code: "ambiguous",
                                message: "\(ambiguous.candidates.count) customers are known by that key: look one up by its ref"),
                            candidates: ambiguous.candidates)))
            } catch {
                respond(.error(503, code: "store_unavailable", message: "the store did not answer; retry"))
            }
        }
        if let identity { registerIdentity(in: &router, identity) }
    }

    private func registerIdentity(in router: inout Router, _ people: SQLiteStore) {
        router.on("GET", "/api/v1/identity/reviews") { request, _, respond in
            if let refusal = authenticate(request) { return respond(refusal) }
            let status = request.query["status"] ?? "open"
            guard status == "all" || IdentityReview.Status(rawValue: status) != nil else {
                return respond(
                    .error(400, code: "bad_query", message: "status: one of open, accepted, rejected, all"))
            }
            guard let limit = Self.limit(request) else {
                return respond(.error(400, code: "bad_query", message: "limit: a number from 1 to 10000"))
            }
            guard let after = Self.position(request, "after", default: 0) else {
                return respond(.error(400, code: "bad_query", message: "after: a review id"))
            }
            respond(
                Self.answer {
                    .json(
                        200,
                        [
                            "reviews": try people.reviews(
                                status: IdentityReview.Status(rawValue: status), after: after, limit: limit)
                        ])
                })
        }
        router.on("GET", "/api/v1/identity/reviews/{id}") { request, parameters, respond in
            if let refusal = authenticate(request) { return respond(refusal) }
            guard let id = parameters["id"].flatMap({ Int64($0) }) else { return respond(Self.notFound("review")) }
            respond(
                Self.answer {
                    guard let review = try people.review(id: id) else {
                        throw IdentityError("no review \(id)", kind: .notFound)
                    }
                    return .json(
                        200,
                        ReviewDetail(
                            review: review, left: try people.person(review.left), right: try people.person(review.right)
                        ))
                })
        }
        for action in ["accept", "reject"] {
            router.on("POST", "/api/v1/identity/reviews/{id}/\(action)") { request, parameters, respond in
                if let refusal = authenticate(request) { return respond(refusal) }
                guard let id = parameters["id"].flatMap({ Int64($0) }) else { return respond(Self.notFound("review")) }
                let actor: String
                switch Self.actor(request) {
                case .success(let name): actor = name
                case .failure(let refusal): return respond(refusal.response)
                }
                respond(
                    Self.answer {
                        // The same decision again (a client retrying after a lost answer) is
                        // answered as the first was; only the other decision is a conflict.
                        let merge = try people.decide(
                            review: id, accept: action == "accept", actor: actor, now: now(), again: true)
                        return .json(200, Decision(review: try people.review(id: id), merge: merge))
                    })
            }
        }
        router.on("GET", "/api/v1/identity/merges") { request, _, respond in
            if let refusal = authenticate(request) { return respond(refusal) }
            guard let limit = Self.limit(request) else {
                return respond(.error(400, code: "bad_query", message: "limit: a number from 1 to 10000"))
            }
            guard let before = Self.position(request, "before", default: .max) else {
                return respond(.error(400, code: "bad_query", message: "before: a merge id"))
            }
            respond(Self.answer { .json(200, ["merges": try people.merges(before: before, limit: limit)]) })
        }
        router.on("POST", "/api/v1/identity/merges/{id}/unmerge") { request, parameters, respond in
            if let refusal = authenticate(request) { return respond(refusal) }
            guard let id = parameters["id"].flatMap({ Int64($0) }) else { return respond(Self.notFound("merge")) }
            let actor: String
            switch Self.actor(request) {
            case .success(let name): actor = name
            case .failure(let refusal): return respond(refusal.response)
            }
            respond(
                Self.answer {
                    // Undone already (a retry): answered as the first time.
                    return .json(200, ["merge": try people.unmerge(id, actor: actor, now: now(), again: true)])
                })
        }
    }

    /// A page's start (`after` or `before` an id), `fallback` when not given; nil when not an id.
    static func position(_ request: HTTPRequest, _ name: String, default fallback: Int64) -> Int64? {
        guard let text = request.query[name] else { return fallback }
        guard let id = Int64(text), id >= 0 else { return nil }
        return id
    }

    struct ReviewDetail: Encodable {
        var review: IdentityReview
        var left: KnownPerson?
        var right: KnownPerson?
    }

    struct Decision: Encodable {
        var review: IdentityReview?
        var merge: IdentityMerge?
    }

    /// Runs an identity request: its value as 200, `no …` as 404, another refusal as 409,
    /// a store failure as 503.
    static func answer(_ body: () throws -> HTTPResponse) -> HTTPResponse {
        do {
            return try body()
        } catch let error as IdentityError {
            return error.kind == .notFound
                ? .error(404, code: "not_found", message: error.description)
                : .error(409, code: "conflict", message: error.description)
        } catch {
            return .error(503, code: "store_unavailable", message: "the store did not answer; retry")
        }
    }

    /// `?limit=` of a listing: 1…10000, 100 when absent; nil when unusable.
    static func limit(_ request: HTTPRequest) -> Int? {
        Int(request.query["limit"] ?? "100").flatMap { (1...10_000).contains($0) ? $0 : nil }
    }

    static func notFound(_ what: String) -> HTTPResponse { .error(404, code: "not_found", message: "no such \(what)") }

    /// A request refused with this answer.
    struct Refusal: Error {
        let response: HTTPResponse
        init(_ status: Int, code: String, message: String) {
            response = .error(status, code: code, message: message)
        }
    }

    /// Who decides: `{"by": "…"}` in the body, else "api". A body over the limit, not
    /// JSON, or with a `by` that is not a string is refused: a decision is never
    /// recorded under a name other than the one sent.
    static func actor(_ request: HTTPRequest) -> Result<String, Refusal> {
        if request.bodyTooLarge {
            return .failure(Refusal(413, code: "too_large", message: "request body is over the configured limit"))
        }
        guard !request.body.isEmpty else { return .success("api") }
        let body: JSONValue
        do {
            body = try JSONValue.parse(request.body)
        } catch {
            return .failure(Refusal(400, code: "malformed", message: "the body is not JSON: \(error)"))
        }
        guard case .object = body else {
            return .failure(Refusal(400, code: "malformed", message: "the body must be a JSON object"))
        }
        switch body["by"] {
        case nil, .null?: return .success("api")
        case .string(let name)? where !name.isEmpty: return .success(String(name.prefix(200)))
        default: return .failure(Refusal(400, code: "malformed", message: "by: a non-empty string naming who decides"))
        }
    }

    private func authenticate(_ request: HTTPRequest) -> HTTPResponse? {
        guard !tokens.isEmpty else {
            return .error(403, code: "api_disabled", message: "the API is off: set api.tokens in the configuration")
        }
        guard let given = request.headers.bearerToken,
            tokens.contains(where: { constantTimeEquals(Array($0.utf8), Array(given.utf8)) })
        else {
            var response = HTTPResponse.error(401, code: "unauthorized", message: "a valid bearer token is required")
            response.headers["WWW-Authenticate"] = "Bearer"
            return response
        }
        return nil
    }

    struct Problem: Error { let message: String }

    static func lookup(_ query: [String: String]) -> Result<CustomerLookup, Problem> {
        if let given = query["email"], !given.isEmpty {
            let email = given.trimmingCharacters(in: .whitespaces)
            guard EmailAddress(email) != nil else {
                // A "+" sent unencoded arrives as a space: say so, rather than answer 404.
                return .failure(
                    Problem(
                        message: "email: '\(given)' is not an e-mail address"
                            + (email.contains(" ") ? " (a + in a query must be sent as %2B)" : "")))
            }
            return .success(.email(email))
        }
        if let phone = query["phone"], !phone.isEmpty {
            guard phone.filter(\.isNumber).count >= 5 else {
                return .failure(Problem(message: "phone: too few digits"))
            }
            return .success(.phone(phone))
        }
        guard let system = query["system"], let id = query["id"], !system.isEmpty, !id.isEmpty else {
            return .failure(Problem(message: "give system and id, email, or phone"))
        }
        // Each system's usual kind of customer record; IM systems name users.
        let kind = query["kind"] ?? ["bottlecrm": "contact", "tryton": "party"][system] ?? "user"
        return .success(.ref(SystemRef(system: system, kind: kind, id: id)))
    }
}

/// A 409 for a lookup several customers answer: the error, and a ref of each.
private struct Ambiguous: Encodable {
    struct Problem: Encodable {
        var code: String
        var message: String
    }
    var error: Problem
    var candidates: [String]
}
