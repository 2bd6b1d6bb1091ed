import Foundation
import LiaisonCore
import LiaisonStore

/// The REST API, behind bearer tokens (`api.tokens`):
///
///     GET /api/v1/customers/lookup?system=matrix&id=@li.na:corp
///     GET /api/v1/customers/lookup?system=bottlecrm&kind=contact&id=<uuid>
///     GET /api/v1/customers/lookup?email=li.na@example.com
///     GET /api/v1/customers/lookup?phone=+8613800138000
struct APIRoutes {
    let store: any Store
    let tokens: [String]

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
            } catch {
                respond(.error(503, code: "store_unavailable", message: "the store did not answer; retry"))
            }
        }
    }

    private func authenticate(_ request: HTTPRequest) -> HTTPResponse? {
        guard !tokens.isEmpty else {
            return .error(403, code: "api_disabled", message: "the API is off: set api.tokens in the configuration")
        }
        guard let header = request.headers["authorization"], header.hasPrefix("Bearer "),
            tokens.contains(where: { constantTimeEquals(Array($0.utf8), Array(header.dropFirst(7).utf8)) })
        else {
            var response = HTTPResponse.error(401, code: "unauthorized", message: "a valid bearer token is required")
            response.headers["WWW-Authenticate"] = "Bearer"
            return response
        }
        return nil
    }

    struct Problem: Error { let message: String }

    static func lookup(_ query: [String: String]) -> Result<CustomerLookup, Problem> {
        if let email = query["email"], !email.isEmpty { return .success(.email(email)) }
        if let phone = query["phone"], !phone.isEmpty {
            guard phone.filter(\.isNumber).count >= 5 else {
                return .failure(Problem(message: "phone: too few digits"))
            }
            return .success(.phone(phone))
        }
        guard let system = query["system"], let id = query["id"], !system.isEmpty, !id.isEmpty else {
            return .failure(Problem(message: "give system and id, email, or phone"))
        }
        let kind = query["kind"] ?? (system == "bottlecrm" ? "contact" : "user")
        return .success(.ref(SystemRef(system: system, kind: kind, id: id)))
    }
}
