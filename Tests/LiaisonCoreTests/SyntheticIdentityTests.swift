import LiaisonCore
import Testing

@Suite("Identity quality on generated data")
struct SyntheticIdentityTests {
    func records(_ rows: [SyntheticPeople.Row]) -> [IdentityRecord] {
        rows.map { IdentityRecord(id: $0.id, name: $0.name, company: $0.company, phone: $0.phone, email: $0.email) }
    }

    /// The bar is F1 0.98. What stays unlinked are pairs that share no identifier (one
    /// record has only a phone, the other only an e-mail) and no company: a name alone
    /// is a namesake too often, so they go to review, where a person decides.
    @Test("linking realistic CRM data: F1 at least 0.98, precision at least 0.99", arguments: [1, 2, 3] as [UInt64])
    func f1(seed: UInt64) {
        var random = SplitMix64(seed: seed)
        let data = SyntheticPeople(count: 2000, using: &random)
        let results = IdentityMatcher().link(records(data.left), records(data.right))
        let links = results.filter { $0.decision == .link }.map { (left: $0.left, right: $0.right) }
        let score = data.score(links)
        #expect(score.f1 >= 0.98, "precision \(score.precision) recall \(score.recall) f1 \(score.f1)")
        #expect(score.precision >= 0.99, "precision \(score.precision)")
        // Reviews are for the uncertain, not for every namesake: a few per hundred records.
        let reviews = results.filter { $0.decision == .review }.count
        #expect(reviews < data.left.count / 10, "\(reviews) pairs to review")
    }
}
