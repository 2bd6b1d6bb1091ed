import Foundation
import LiaisonCore

/// Fills in what a customer's Matrix profile lacks (display name, e-mail, phone) from the
/// homeserver's user record and third-party ids, through the Synapse admin API
/// (`GET /_synapse/admin/v2/users/{userId}`, an admin's access token). Used before a
/// transcript is filed, so the CRM contact can be found by e-mail or phone, and is named.
public struct SynapseProfiles: ProfileSource {
    private let homeserver: URL
    private let adminToken: String
    private let http: HTTPClient

    public init(homeserver: URL, adminToken: String, timeout: TimeInterval) {
        self.homeserver = homeserver
        self.adminToken = adminToken
        http = HTTPClient(timeout: timeout)
    }

    public func mightEnrich(_ participant: Participant) -> Bool {
        participant.ref.system == "matrix"
            && (participant.displayName == nil || participant.email == nil || participant.phone == nil)
    }

    public func enrich(_ participant: Participant) async throws -> Participant {
        guard mightEnrich(participant) else { return participant }
        guard
            let url = URL(
                string: "_synapse/admin/v2/users/\(MatrixSettings.pathSegment(participant.ref.id))",
                relativeTo: homeserver)
        else {
            return participant
        }
        let outcome = await http.send("GET", url, headers: ["Authorization": "Bearer \(adminToken)"])
        guard let body = try found(outcome), let details = Self.details(body) else { return participant }
        var enriched = participant
        enriched.displayName = participant.displayName ?? details.name
        enriched.email = participant.email ?? details.email
        enriched.phone = participant.phone ?? details.phone
        return enriched
    }

    /// The display name, and the first e-mail and phone in a Synapse user's `threepids`;
    /// phones (`msisdn`, digits without `+`) come back in E.164. Nil when the body is not a user.
    public static func details(_ body: [UInt8]) -> (name: String?, email: String?, phone: String?)? {
        guard let user = try? JSONValue.parse(body), case .object = user else { return nil }
        var email: String?
        var phone: String?
        if case .array(let threepids)? = user["threepids"] {
            for threepid in threepids {
                guard let medium = threepid["medium"]?.string, let address = threepid["address"]?.string,
                    !address.isEmpty
                else {
                    continue
                }
                if medium == "email", email == nil { email = address }
                if medium == "msisdn", phone == nil { phone = address.hasPrefix("+") ? address : "+" + address }
            }
        }
        return (user["displayname"]?.string.flatMap { $0.isEmpty ? nil : $0 }, email, phone)
    }
}

/// A customer's display name from the homeserver's profile API
/// (`GET /_matrix/client/v3/profile/{userId}`, as the application service's bot), for a
/// customer whose membership event Liaison never saw (a room older than its registration).
/// The fallback when no Synapse admin token is configured: names only, no e-mail or phone.
public struct MatrixDisplayNames: ProfileSource {
    private let settings: MatrixSettings
    private let http: HTTPClient

    public init(settings: MatrixSettings, timeout: TimeInterval) {
        self.settings = settings
        http = HTTPClient(timeout: timeout)
    }

    public func mightEnrich(_ participant: Participant) -> Bool {
        participant.ref.system == "matrix" && participant.displayName == nil
    }

    public func enrich(_ participant: Participant) async throws -> Participant {
        guard mightEnrich(participant) else { return participant }
        let path = "/_matrix/client/v3/profile/\(MatrixSettings.pathSegment(participant.ref.id))"
        guard let url = settings.botURL(path) else { return participant }
        let outcome = await http.send("GET", url, headers: settings.botAuthorization)
        guard let body = try found(outcome), let profile = try? JSONValue.parse(body),
            let name = profile["displayname"]?.string, !name.isEmpty
        else {
            return participant
        }
        var enriched = participant
        enriched.displayName = name
        return enriched
    }
}

/// The body of a 200; nil for a 404 (no such user, or no profile: nothing to add); throws
/// `ProfileUnavailable` for anything else.
private func found(_ outcome: HTTPOutcome) throws -> [UInt8]? {
    switch outcome {
    case let .response(200, _, body): return Array(body)
    case .response(404, _, _): return nil
    case let .response(status, _, _) where status == 401 || status == 403:
        // Not an outage that passes: it lasts until someone fixes the configuration.
        throw ProfileUnavailable(
            reason: "the homeserver refused the lookup (HTTP \(status)): check matrix.admin_token and matrix.as_token",
            refused: true)
    case let .response(status, _, _): throw ProfileUnavailable(reason: "the homeserver answered HTTP \(status)")
    case let .failed(reason, _): throw ProfileUnavailable(reason: reason)
    }
}

/// Somewhere to learn more about a participant than their IM said.
public protocol ProfileSource: Sendable {
    /// Whether `enrich` could add anything to this participant; when false it would return
    /// the participant unchanged without asking anyone.
    func mightEnrich(_ participant: Participant) -> Bool

    /// The participant with what could be found filled in; unchanged when nothing was.
    /// Throws `ProfileUnavailable` when the source could not be asked.
    func enrich(_ participant: Participant) async throws -> Participant
}

/// The profile source is down, timing out, or refusing us.
public struct ProfileUnavailable: Error, CustomStringConvertible {
    public var reason: String
    /// The source refused us (a wrong or revoked token): it takes a person to fix.
    public var refused: Bool
    public init(reason: String, refused: Bool = false) {
        self.reason = reason
        self.refused = refused
    }
    public var description: String { "profile source unavailable: \(reason)" }
}
