import Foundation
import LiaisonCore

/// Measurements that need no server: `liaison bench lookup`.
enum Bench {
    static let help = """
        Usage: liaison bench lookup [--people 1000000] [--queries 100000] [--seed 1]

        Online identity lookup: indexes --people generated customers (as the hub's resolver
        holds them), then looks up --queries records of the same people written differently
        (and others), one at a time, timing each: normalising the query, finding its
        candidates, scoring them. Prints the latency percentiles, how many queries found
        their person, the index's build time and the process's peak memory, and, as a
        baseline in the same run, the same queries against the batch matcher's sorted index.
        Last line: lookup people=N p50_us=X p99_us=Y max_us=Z baseline_p99_us=B
        """

    static func run(_ arguments: [String]) throws -> Int32 {
        if CLI.help(arguments, help) { return 0 }
        let flags = try Arguments(arguments, valued: ["people", "queries", "seed"], switches: [])
        guard flags.positional == ["lookup"] else {
            throw UsageError(description: "bench needs a benchmark: lookup")
        }
        func number(_ name: String, _ fallback: Int) throws -> Int {
            guard let text = flags.value(name) else { return fallback }
            guard let value = Int(text), value > 0 else {
                throw UsageError(description: "--\(name) must be a positive number, not '\(text)'")
            }
            return value
        }
        let people = try number("people", 1_000_000)
        let queries = try number("queries", 100_000)
        var random = SplitMix64(seed: UInt64(try number("seed", 1)))
        let data = SyntheticPeople(count: people, others: people / 10, using: &random)
        @Sendable func record(_ row: SyntheticPeople.Row) -> IdentityRecord {
            IdentityRecord(id: row.id, name: row.name, company: row.company, phone: row.phone, email: row.email)
        }
        let clock = ContinuousClock()
        var start = clock.now
        let records = Parallel.map(chunksOf: data.left) { $0.map(record) }.flatMap { $0 }
        var index = IdentityIndex()
        for record in records { index.insert(record) }
        let built = clock.now - start
        let asked = Array(data.right.prefix(queries))
        let matcher = IdentityMatcher()

        var latencies: [Duration] = []
        latencies.reserveCapacity(asked.count)
        var found = 0
        for row in asked {
            start = clock.now
            let best = index.matches(for: record(row), using: matcher).first
            latencies.append(clock.now - start)
            if let best, best.decision == .link, data.truth[best.right] == row.id { found += 1 }
        }
        let batch = BlockIndex(records)
        var baseline: [Duration] = []
        baseline.reserveCapacity(asked.count)
        for row in asked {
            start = clock.now
            let query = record(row)
            _ = batch.candidates(for: query).map { matcher.compare(query, records[$0]) }.max { $0.score < $1.score }
            baseline.append(clock.now - start)
        }
        func micros(_ sorted: [Duration], _ quantile: Double) -> Int {
            Int(sorted[min(sorted.count - 1, Int(Double(sorted.count) * quantile))].seconds * 1_000_000)
        }
        latencies.sort()
        baseline.sort()
        var usage = rusage()
        getrusage(RUSAGE_SELF.rawValue, &usage)
        let matched = Set(data.truth.values)
        let truePairs = asked.filter { matched.contains($0.id) }.count
        Output.out(
            "indexed \(index.count) people in \(built); \(asked.count) lookups, \(found) of \(truePairs) people found; "
                + "peak RSS \(usage.ru_maxrss / 1024) MB")
        Output.out(
            "lookup people=\(index.count) p50_us=\(micros(latencies, 0.5)) p99_us=\(micros(latencies, 0.99)) "
                + "max_us=\(micros(latencies, 1)) baseline_p99_us=\(micros(baseline, 0.99))")
        return 0
    }
}
