import Foundation
import LiaisonCore
import LiaisonServer
import Synchronization

/// A contract simulator of the BottleCRM REST calls Liaison makes, on a real loopback
/// listener, with the failures a real deployment shows: 429 with Retry-After, 5xx,
/// a 500 after the row was saved, answers slower than the client's timeout, a bad token.
/// Shapes follow the real server (see scripts/peers/BOTTLECRM_NOTES.md).
public final class BottleCRMSimulator: Sendable {
    public enum Fault: Sendable, Equatable {
        /// No fault for this request.
        case pass
        case status(Int, retryAfter: Int?)
        /// Performs the write, then answers 500 (BottleCRM does this when a side effect fails).
        case saveThen500
        /// Performs the write, then answers after `seconds` (past the client's timeout).
        case saveThenDelay(seconds: Double)
    }

    public struct Contact: Sendable, Equatable {
        public var id: String
        public var firstName: String
        public var lastName: String
        public var email: String?
        public var phone: String?
        public var sourceRef: String?
    }

    public struct Interaction: Sendable, Equatable {
        public var id: String
        public var contact: String
        public var kind: String
        public var subject: String
        public var body: String
    }

    private struct State {
        var contacts: [Contact] = []
        var interactions: [Interaction] = []
        var faults: [Fault] = []
        var readFaults: [Fault] = []
        var requests: [String] = []
        var nextID = 1
    }

    private let state = Mutex(State())
    public let token: String
    private let server: HTTPServer

    public init(token: String = "bcrm_pat_test") throws {
        self.token = token
        let box = SimulatorReference()
        server = HTTPServer(host: "127.0.0.1", port: 0, threads: 2, maxBodyBytes: 1 << 20) { request, respond in
            guard let simulator = box.simulator else { return respond(HTTPResponse(status: 503)) }
            simulator.handle(request, respond: respond)
        }
        box.simulator = self
        try server.start()
    }

    public var baseURL: URL { URL(string: "http://127.0.0.1:\(server.port)")! }
    public var contacts: [Contact] { state.withLock { $0.contacts } }
    public var interactions: [Interaction] { state.withLock { $0.interactions } }
    /// `METHOD path` of every request, in order.
    public var requests: [String] { state.withLock { $0.requests } }

    /// Faults for the next write requests (POST), in order.
    public func inject(_ faults: [Fault]) { state.withLock { $0.faults += faults } }

    /// Faults for the next read requests (GET), in order.
    public func injectReads(_ faults: [Fault]) { state.withLock { $0.readFaults += faults } }

    public func stop() async { await server.stop(grace: .seconds(1)) }

    /// Deletes a contact, as a user in BottleCRM would.
    public func delete(contact id: String) { state.withLock { $0.contacts.removeAll { $0.id == id } } }
    /// What merging a contact into another does to its interactions.
    public func moveInteractions(from old: String, to new: String) {
        state.withLock { state in
            for index in state.interactions.indices where state.interactions[index].contact == old {
                state.interactions[index].contact = new
            }
        }
    }

    private func handle(_ request: HTTPRequest, respond: @escaping HTTPResponder) {
        state.withLock { $0.requests.append("\(request.method) \(request.path)") }
        guard request.headers["authorization"] == "Bearer \(token)" else {
            return respond(.json(403, ["detail": "Invalid token."]))
        }
        let fault = state.withLock { state -> Fault? in
            switch request.method {
            case "POST": state.faults.isEmpty ? nil : state.faults.removeFirst()
            case "GET": state.readFaults.isEmpty ? nil : state.readFaults.removeFirst()
            default: nil
            }
        }
        if case let .status(code, retryAfter)? = fault {
            var response = HTTPResponse.json(code, ["error": true])
            if let retryAfter { response.headers["Retry-After"] = "\(retryAfter)" }
            return respond(response)
        }
        let response = route(request)
        switch fault {
        case .saveThen500?: respond(.text(500, "<h1>Server Error (500)</h1>", contentType: "text/html"))
        case .saveThenDelay(let seconds)?:
            DispatchQueue.global().asyncAfter(deadline: .now() + seconds) { respond(response) }
        default: respond(response)
        }
    }

    private func route(_ request: HTTPRequest) -> HTTPResponse {
        let body = (try? JSONSerialization.jsonObject(with: Data(request.body))) as? [String: Any] ?? [:]
        switch (request.method, request.path) {
        case ("GET", "/api/contacts/"):
            let email = request.query["email"]
            let phone = request.query["phone"]
            let name = request.query["name"]?.lowercased()
            // Newest first, as the real server lists them.
            let found = contacts.reversed().filter { contact in
                (email.map { e in contact.email?.lowercased().contains(e.lowercased()) ?? false } ?? true)
                    && (phone.map { p in contact.phone?.contains(p) ?? false } ?? true)
                    && (name.map { n in
                        contact.firstName.lowercased().contains(n) || contact.lastName.lowercased().contains(n)
                    } ?? true)
            }
            // One page: `limit` (10 by default) from `offset`, as the real server reads it.
            let limit = request.query["limit"].flatMap(Int.init) ?? 10
            let offset = request.query["offset"].flatMap(Int.init) ?? 0
            let page = Array(found.dropFirst(offset).prefix(max(limit, 0)))
            return .json(200, ContactPage(count: found.count, results: page.map(ContactJSON.init)))
        case ("POST", "/api/contacts/duplicates/"):
            // E-mail: equal, any case. Phone: the same last 10 digits, whatever the separators.
            let email = (body["email"] as? String)?.lowercased()
            let digits = (body["phone"] as? String).map { String($0.filter(\.isNumber).suffix(10)) }
            let found = contacts.reversed().filter { contact in
                (email.map { contact.email?.lowercased() == $0 } ?? false)
                    || (digits.map { d in !d.isEmpty && contact.phone.map { String($0.filter(\.isNumber).suffix(10)) } == d }
                        ?? false)
            }
            return .json(200, Duplicates(duplicates: found.prefix(10).map(DuplicateJSON.init)))
        case ("POST", "/api/contacts/"):
            guard let first = body["first_name"] as? String, !first.isEmpty, let last = body["last_name"] as? String,
                !last.isEmpty
            else {
                return .json(400, ["error": true])
            }
            let email = body["email"] as? String
            var invalid: [String: [String]] = [:]
            // As BottleCRM validates them (its notes: 7-25 characters, digits and separators only).
            if let phone = body["phone"] as? String,
                !(7...25).contains(phone.count) || !phone.allSatisfy({ $0.isASCII && ($0.isNumber || " -+().".contains($0)) })
            {
                invalid["phone"] = ["Enter a valid phone number (7-25 characters, digits and separators only)"]
            }
            if let email, !email.contains("@") || email.hasSuffix("@") || email.contains(" ") {
                invalid["email"] = ["Enter a valid email address."]
            }
            if !invalid.isEmpty { return HTTPResponse.json(400, ErrorBody(errors: invalid)) }
            return state.withLock { state in
                if let email, state.contacts.contains(where: { $0.email?.lowercased() == email.lowercased() }) {
                    return HTTPResponse.json(
                        400, ErrorBody(errors: ["email": ["Contact already exists with this email"]]))
                }
                let id = "c-\(state.nextID)"
                state.nextID += 1
                state.contacts.append(
                    Contact(
                        id: id, firstName: first, lastName: last, email: email, phone: body["phone"] as? String,
                        sourceRef: body["source_ref"] as? String))
                return HTTPResponse.json(200, Created(id: id))
            }
        case ("POST", "/api/interactions/"):
            guard let contact = body["contact"] as? String, let subject = body["subject"] as? String,
                let text = body["body"] as? String, let kind = body["kind"] as? String
            else { return .json(400, ["error": true]) }
            guard ["call", "meeting", "email", "whatsapp", "sms"].contains(kind) else {
                return .json(400, ErrorBody(errors: ["kind": ["\"\(kind)\" is not a valid choice."]]))
            }
            guard text.unicodeScalars.count <= 10_000, subject.unicodeScalars.count <= 200 else {
                return .json(400, ErrorBody(errors: ["body": ["Ensure this field has no more than 10000 characters."]]))
            }
            return state.withLock { state in
                // The real server's answer for a contact that does not exist (or was deleted).
                guard state.contacts.contains(where: { $0.id == contact }) else {
                    return HTTPResponse.json(404, ["detail": "No such record."])
                }
                let id = "i-\(state.nextID)"
                state.nextID += 1
                state.interactions.append(
                    Interaction(id: id, contact: contact, kind: kind, subject: subject, body: text))
                return HTTPResponse.json(201, Created(id: id))
            }
        case ("GET", "/api/interactions/"):
            guard let contact = request.query["contact"] else {
                return .json(
                    400,
                    ErrorBody(errors: [
                        "non_field_errors": ["Name exactly one record: lead, contact, account, opportunity or case."]
                    ]))
            }
            // An unknown (deleted, merged away) contact: 404, as the real server answers.
            guard contacts.contains(where: { $0.id == contact }) else {
                return .json(404, ["detail": "No such record."])
            }
            // Newest first, `limit` (50 unless given, at most 200) from `offset`, with the
            // count of all, as the real server answers.
            let all = Array(interactions.filter { $0.contact == contact }.reversed())
            let limit = min(request.query["limit"].flatMap(Int.init) ?? 50, 200)
            let offset = request.query["offset"].flatMap(Int.init) ?? 0
            let page = all.dropFirst(offset).prefix(max(limit, 0))
            return .json(
                200,
                InteractionPage(
                    interactions: page.map { InteractionJSON(id: $0.id, body: $0.body, subject: $0.subject) },
                    count: all.count))
        default:
            return .json(404, ["detail": "Not found."])
        }
    }

    private struct Created: Encodable { var error = false; var id: String }
    private struct ErrorBody: Encodable { var error = true; var errors: [String: [String]] }
    private struct ContactJSON: Encodable {
        var id, first_name, last_name: String
        var email, phone, source_ref: String?
        init(_ c: Contact) {
            id = c.id; first_name = c.firstName; last_name = c.lastName; email = c.email; phone = c.phone
            source_ref = c.sourceRef
        }
    }
    private struct ContactPage: Encodable { var count: Int; var results: [ContactJSON] }
    /// As the real endpoint answers: no `source_ref`.
    private struct DuplicateJSON: Encodable {
        var id, name: String
        var email, phone: String?
        init(_ c: Contact) {
            id = c.id; name = "\(c.firstName) \(c.lastName)"; email = c.email; phone = c.phone
        }
    }
    private struct Duplicates: Encodable { var duplicates: [DuplicateJSON] }
    private struct InteractionJSON: Encodable { var id: String; var body: String; var subject: String }
    private struct InteractionPage: Encodable { var interactions: [InteractionJSON]; var count: Int }
}

/// Lets the listener's handler reach the simulator, which is created after the listener.
private final class SimulatorReference: Sendable {
    private let reference = Mutex<BottleCRMSimulator?>(nil)
    var simulator: BottleCRMSimulator? {
        get { reference.withLock { $0 } }
        set { reference.withLock { $0 = newValue } }
    }
}
