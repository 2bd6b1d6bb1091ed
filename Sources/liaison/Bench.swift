import Foundation
import LiaisonConnectors
import LiaisonCore
import LiaisonStore
import LiaisonSync
import Synchronization

/// Measurements that need no server: `liaison bench lookup`, `liaison bench admission`.
enum Bench {
    static let help = """
        Usage: liaison bench lookup [--people 1000000] [--queries 100000] [--seed 1]
               liaison bench admission [--rounds 200]
               liaison bench pipeline [--records 200000] [--distinct N]

        admission: what a generic webhook costs the HTTP thread that receives it, on the
        ingest benchmark's 2,000 bodies (~250 bytes), each body --rounds times: checking
        the signature and the payload (GenericWebhook.admit), and, as a baseline in the same
        run, parsing the body into a JSONValue tree. Then the pipeline's decoding of the
        stored record. Last line:
        admission ns_per_body=N tree_parse_ns=T decode_ns=D ratio=N/T

        pipeline: what the pipeline costs a logged webhook, on the same bodies: --records
        of them are appended to a fresh store in a temporary directory, then applied as
        `liaison serve` applies them (batches of up to 4,096, identity resolution on, read
        from the log's memory as far as it holds them: the last 65,536 records or 32 MB).
        The baseline, in the same run, is reading the same records back from the file and
        decoding them, as a replay does.
        With --distinct N the records repeat the first N messages over and over, as the
        ingest benchmark's 2,000 bodies do (after the first N, every record is a message
        the pipeline already has); without it every record is a new message.
        Last line: pipeline records=N distinct=D us_per_record=X read_decode_us=Y ratio=X/Y

        lookup:

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
        let flags = try Arguments(
            arguments, valued: ["people", "queries", "seed", "rounds", "records", "distinct"], switches: [],
            positional: 1)
        if flags.positional == ["admission"] {
            let text = flags.value("rounds") ?? "200"
            guard let rounds = Int(text), (1...1_000_000).contains(rounds) else {
                throw UsageError(description: "--rounds must be a number from 1 to 1000000, not '\(text)'")
            }
            return admission(rounds: rounds)
        }
        if flags.positional == ["pipeline"] {
            let text = flags.value("records") ?? "200000"
            guard let records = Int(text), (1_000...10_000_000).contains(records) else {
                throw UsageError(description: "--records must be a number from 1000 to 10000000, not '\(text)'")
            }
            let distinctText = flags.value("distinct") ?? text
            guard let distinct = Int(distinctText), (1...records).contains(distinct) else {
                throw UsageError(
                    description: "--distinct must be a number from 1 to --records (\(records)), not '\(distinctText)'")
            }
            return try pipeline(records: records, distinct: distinct)
        }
        guard flags.positional == ["lookup"] else {
            throw UsageError(description: "bench needs a benchmark: lookup, admission or pipeline")
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

    static let secret = "bench-secret-0123456789abcdef"

    /// The bodies of scripts/bench/signed_bodies.py, the first `count` of them (the script
    /// writes 2,000: ids `m0`…, 200 conversations and customers); more than 2,000 carry on
    /// the same pattern with new ids.
    static func benchBodies(count: Int) -> [[UInt8]] {
        (0..<count).map { i in
            Array(
                (#"{"id":"m\#(i)","conversation":"c\#(i % 200)","text":"message number \#(i) about the API plan","#
                    + #""sender":{"id":"u\#(i % 200)","name":"Customer \#(i % 200)","email":"c\#(i % 200)@example.com"},"#
                    + #""sent_at":"2026-11-24T10:00:00Z"}"#).utf8)
        }
    }

    /// The pipeline's cost per logged record (see `help`).
    static func pipeline(records count: Int, distinct: Int) throws -> Int32 {
        let directory = FileManager.default.temporaryDirectory
            .appendingPathComponent("liaison-bench-pipeline-\(getpid())").path
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let store = try SQLiteStore(directory: directory)
        defer { store.close() }
        let webhook = GenericWebhook(name: "bench", settings: GenericSourceSettings(secret: secret))
        let messages = benchBodies(count: distinct)
        let bodies = (0..<count).map { messages[$0 % distinct] }
        let appended = DispatchGroup()
        let refused = Mutex(0)
        for body in bodies {
            appended.enter()
            store.append(
                InboundRecord(sequence: 0, source: webhook.source, dedupeKey: nil, receivedAt: Date(), body: body)
            ) {
                if case .failure = $0 { refused.withLock { $0 += 1 } }
                appended.leave()
            }
        }
        appended.wait()
        guard refused.withLock({ $0 }) == 0 else {
            Output.err("the store refused \(refused.withLock { $0 }) of \(count) records")
            return 1
        }
        let clock = ContinuousClock()
        func micros(_ duration: Duration) -> Double {
            (Double(duration.components.seconds) * 1e6 + Double(duration.components.attoseconds) / 1e12) / Double(count)
        }
        let pipeline = Pipeline(
            store: store, connectors: [webhook], identity: try IdentityResolver(store: store), metrics: HubMetrics(),
            logger: .silent
        ) { _ in }
        var applied = 0
        let elapsed = try clock.measure {
            while true {
                let done = try pipeline.drain(limit: Pipeline.batchLimit)
                if done == 0 { break }
                applied += done
            }
        }
        // Baseline, after: the same records read back from the file and decoded, as a replay
        // does (read first, they would have let go of the log's memory the pipeline reads).
        let file = try SQLiteStore(directory: directory, access: .existing)
        defer { file.close() }
        var decoded = 0
        let baseline = try clock.measure {
            var after: Int64 = 0
            while true {
                let batch = try file.inbound(after: after, limit: Pipeline.batchLimit)
                guard let last = batch.last else { break }
                for record in batch { decoded += ((try? webhook.decode(record)) ?? []).count }
                after = last.sequence
            }
        }
        let kept = try store.conversationsWithPendingMessages().reduce(0) { $0 + $1.pendingMessages }
        guard applied == count, kept == distinct, decoded == 3 * count else {
            Output.err(
                "applied \(applied) records and kept \(kept) messages of \(count) (\(distinct) distinct; "
                    + "\(decoded) events decoded)")
            return 1
        }
        let (apply, read) = (micros(elapsed), micros(baseline))
        Output.out(
            "pipeline records=\(count) distinct=\(distinct) us_per_record=\(String(format: "%.2f", apply)) "
                + "read_decode_us=\(String(format: "%.2f", read)) ratio=\(String(format: "%.2f", apply / read))")
        return 0
    }

    /// The generic webhook's admission and decoding, per body (see `help`).
    static func admission(rounds: Int) -> Int32 {
        let webhook = GenericWebhook(name: "bench", settings: GenericSourceSettings(secret: secret))
        let bodies = benchBodies(count: 2000)
        let requests = bodies.map { body in
            InboundRequest(
                method: "POST", path: "/hooks/generic/bench",
                headers: ["x-liaison-signature": GenericWebhook.sign(body: body, secret: secret)], body: body)
        }
        let records = bodies.enumerated().map { index, body in
            InboundRecord(
                sequence: Int64(index + 1), source: webhook.source, dedupeKey: nil, receivedAt: Date(), body: body)
        }
        let clock = ContinuousClock()
        func nanosPerBody(_ body: () -> Int) -> (Double, Int) {
            var checksum = 0
            let elapsed = clock.measure { for _ in 0..<rounds { checksum &+= body() } }
            return (
                Double(elapsed.components.attoseconds / 1_000_000_000 + elapsed.components.seconds * 1_000_000_000)
                    / Double(rounds * bodies.count), checksum
            )
        }
        let (admit, admitted) = nanosPerBody {
            requests.reduce(0) { count, request in
                if case .success = webhook.admit(request) { return count + 1 }
                return count
            }
        }
        let (tree, parsed) = nanosPerBody {
            bodies.reduce(0) { count, body in count + ((try? JSONValue.parse(body)) == nil ? 0 : 1) }
        }
        let (decode, decoded) = nanosPerBody {
            records.reduce(0) { count, record in count + ((try? webhook.decode(record)).map { _ in 1 } ?? 0) }
        }
        // Timing a failure path would measure nothing: every body must pass all three.
        for (what, passed) in [
            ("admission refused", admitted), ("parsing failed on", parsed), ("decoding failed on", decoded),
        ]
        where passed != rounds * bodies.count {
            Output.err("\(what) \(rounds * bodies.count - passed) bodies")
            return 1
        }
        Output.out(
            "admission ns_per_body=\(Int(admit)) tree_parse_ns=\(Int(tree)) decode_ns=\(Int(decode)) "
                + "ratio=\(String(format: "%.2f", admit / tree))")
        return 0
    }
}
