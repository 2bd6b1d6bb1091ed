import Foundation
import LiaisonCore

/// Calls to the homeserver's client-server API as the application service's bot.
extension MatrixSettings {
    /// `path` on the homeserver, as the bot (`user_id`), with `query` after it.
    func botURL(_ path: String, query: [URLQueryItem] = []) -> URL? {
        var components = URLComponents(url: homeserver, resolvingAgainstBaseURL: false)
        components?.percentEncodedPath = path
        components?.queryItems = [URLQueryItem(name: "user_id", value: botUser)] + query
        return components?.url
    }

    /// The application service's token, for the bot's requests.
    var botAuthorization: [String: String] { ["Authorization": "Bearer \(asToken)"] }

    /// A Matrix id (user, room, transaction) as one path segment, percent-encoded.
    static func pathSegment(_ id: String) -> String {
        id.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? id
    }
}
