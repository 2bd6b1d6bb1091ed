import Foundation
import LiaisonCore

/// Fills in what a customer's Matrix profile lacks (e-mail, phone) from the homeserver's
/// third-party ids, through the Synapse admin API
/// (`GET /_synapse/admin/v2/users/{userId}`, an admin's access token). Used before a
/// transcript is filed, so the CRM contact can be found by e-mail or phone.
public struct SynapseProfiles: ProfileSource {
    private let homeserver: URL
    private let adminToken: String
    private let http: HTTPClient

    public init(homeserver: URL, adminToken: String, timeout: TimeInterval) {
        self.homeserver = homeserver
        self.adminToken = adminToken
        http = HTTPClient(timeout: timeout)
    }

    public func enrich(_ participant: Participant) async throws -> Participant {
        guard participant.ref.system == "matrix", participant.email == nil || participant.phone == nil else {
            return participant
        }
        let user =
            participant.ref.id.addingPercentEncoding(
                withAllowedCharacters: .urlPathAllowed.subtracting(["/", ":", "@"])) ?? participant.ref.id
        guard let url = URL(string: "_synapse/admin/v2/users/\(user)", relativeTo: homeserver) else {
            return participant
        }
        let outcome = await http.send("GET", url, headers: ["Authorization": "Bearer \(adminToken)"])
        switch outcome {
        case .response(200, _, _), .response(404, _, _): break  // found, or no such user: nothing to add
        case let .response(status, _, _): throw ProfileUnavailable(reason: "the homeserver answered HTTP \(status)")
        case let .failed(reason, _): throw ProfileUnavailable(reason: reason)
        }
        guard case let .response(200, _, body) = outcome, let found = Self.contactDetails(Array(body)) else {
            return participant
        }
        var enriched = participant
        enriched.email = participant.email ?? found.email
        enriched.phone = participant.phone ?? found.phone
        return enriched
    }

    /// The first e-mail and phone in a Synapse user's `threepids`; phones (`msisdn`,
    /// digits without `+`) come back in E.164.
    public static func contactDetails(_ body: [UInt8]) -> (email: String?, phone: String?)? {
        guard let user = try? JSONValue.parse(body), case .array(let threepids)? = user["threepids"] else { return nil }
        var email: String?
        var phone: String?
        for threepid in threepids {
            guard let medium = threepid["medium"]?.string, let address = threepid["address"]?.string, !address.isEmpty
            else {
                continue
            }
            if medium == "email", email == nil { email = address }
            if medium == "msisdn", phone == nil { phone = address.hasPrefix("+") ? address : "+" + address }
        }
        return (email, phone)
    }
}

/// Somewhere to learn more about a participant than their IM said.
public protocol ProfileSource: Sendable {
    /// The participant with what could be found filled in; unchanged when nothing was.
    /// Throws `ProfileUnavailable` when the source could not be asked.
    func enrich(_ participant: Participant) async throws -> Participant
}

/// The profile source is down, timing out, or refusing us.
public struct ProfileUnavailable: Error, CustomStringConvertible {
    public var reason: String
    public init(reason: String) { self.reason = reason }
    public var description: String { "profile source unavailable: \(reason)" }
}
