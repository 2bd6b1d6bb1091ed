import Foundation
import LiaisonConnectors
import LiaisonCore
import LiaisonTestSupport
import Testing

/// The Tryton poller's reads against the real Tryton, in pages far smaller than the data.
/// In the peers' suite, which runs one test at a time: Tryton's SQLite takes one writer.
extension PeerTests {
    @Test("Tryton read in pages of 2 finds every changed party, the same ones as in one page")
    func trytonSmallPages() async throws {
        let tryton = try #require(peers.tryton, "the Tryton peer is not running (scripts/peers/all.sh starts it)")
        let rest = HTTPTestClient(base: tryton.url)
        let auth = ["Authorization": "Bearer \(tryton.key)"]
        let tag = String(UUID().uuidString.prefix(6))
        let since = Date().addingTimeInterval(-1)
        var created: Set<Int64> = []
        for index in 1...5 {
            let reply = try await rest.json(
                "POST", "/\(tryton.database)/rest/model/party.party?f=name", headers: auth,
                ["name": "Paged \(tag) \(index)"])
            let id = try #require((reply.json["id"] as? NSNumber)?.int64Value, "\(reply.status) \(reply.text)")
            created.insert(id)
        }
        // One of them edited after the others: its change time moves behind theirs.
        let first = try #require(created.min())
        _ = try await rest.json(
            "PUT", "/\(tryton.database)/rest/model/party.party/\(first)?f=name", headers: auth,
            ["name": "Paged \(tag) 1 (renamed)"])

        let settings = TrytonSettings(baseURL: tryton.url, database: tryton.database, restKey: tryton.key)
        let paged = try await TrytonParties(settings: settings, timeout: 10, pageSize: 2).changed(since: since)
        let whole = try await TrytonParties(settings: settings, timeout: 10, pageSize: 1000).changed(since: since)
        #expect(created.isSubset(of: Set(paged.map(\.id))), "\(paged.map(\.id)) lacks some of \(created)")
        #expect(Set(paged.map(\.id)) == Set(whole.map(\.id)))
        // Oldest change first: the renamed party comes after the other four.
        let order = paged.map(\.id).filter(created.contains)
        #expect(order.last == first, "\(order)")
        let all = try await TrytonParties(settings: settings, timeout: 10, pageSize: 2).allIDs()
        #expect(created.isSubset(of: all))
    }
}
