import Foundation
import LiaisonConnectors
import LiaisonCore
import LiaisonStore
import LiaisonTestSupport
import Synchronization
import Testing

@Suite("The real binary", .serialized)
struct BinaryTests {
    static let secret = "crash-test-secret-0123456789"

    func config(directory: URL, port: Int, name: String = "liaison.yaml") throws -> URL {
        let url = directory.appendingPathComponent(name)
        try """
        server: {listen: "127.0.0.1:\(port)"}
        store: {directory: "\(directory.path)/data"}
        log: {format: json, level: info}
        bottlecrm: {base_url: "http://127.0.0.1:9", token: unused}
        generic_webhooks:
          load: {secret: \(Self.secret)}
        """.write(to: url, atomically: true, encoding: .utf8)
        return url
    }

    /// `liaison serve` with `config`, once it answers `/healthz` on `port`.
    func serve(_ config: URL, port: Int, log: URL) async throws -> LiaisonProcess {
        let liaison = try LiaisonProcess(arguments: ["serve", "--config", config.path], log: log)
        let client = HTTPTestClient(base: URL(string: "http://127.0.0.1:\(port)")!)
        #expect(await eventually { (try? await client.send("GET", "/healthz").status) == 200 }, "\(liaison.log)")
        return liaison
    }

    func temporaryDirectory() throws -> URL {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent(
            "liaison-bin-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        return directory
    }

    @Test("kill -9 during a stream of webhooks: every event answered 2xx is in the log")
    func crash() async throws {
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let port = freePort()
        let liaison = try await serve(
            try config(directory: directory, port: port), port: port, log: directory.appendingPathComponent("log"))
        let client = HTTPTestClient(base: URL(string: "http://127.0.0.1:\(port)")!)

        let acked = AckedIDs()
        // 16 senders stream until the process dies; the kill lands mid-stream.
        try await withThrowingTaskGroup(of: Void.self) { group in
            for sender in 0..<16 {
                group.addTask {
                    var index = 0
                    while true {
                        let id = "s\(sender)-\(index)"
                        let body = try JSONSerialization.data(withJSONObject: [
                            "id": id, "conversation": "c\(sender)", "text": "message \(index)",
                            "sender": ["id": "u\(sender)"],
                        ])
                        do {
                            let reply = try await client.send(
                                "POST", "/hooks/generic/load",
                                headers: [
                                    "X-Liaison-Signature": GenericWebhook.sign(body: Array(body), secret: Self.secret)
                                ], body: body
                            )
                            if (200..<300).contains(reply.status) { acked.insert(id) }
                        } catch {
                            return  // the server is gone
                        }
                        index += 1
                    }
                }
            }
            group.addTask {
                _ = await eventually(timeout: .seconds(20)) { acked.all.count >= 1500 }
                await liaison.killHard()
            }
            try await group.waitForAll()
        }
        let confirmed = acked.all
        #expect(confirmed.count >= 1500)

        let store = try SQLiteStore(directory: directory.appendingPathComponent("data").path)
        defer { store.close() }
        var logged = Set<String>()
        var after: Int64 = 0
        while true {
            let page = try store.inbound(after: after, limit: 5000)
            guard let last = page.last else { break }
            for record in page {
                let object = try JSONSerialization.jsonObject(with: Data(record.body)) as? [String: Any]
                if let id = object?["id"] as? String { logged.insert(id) }
            }
            after = last.sequence
        }
        let lost = confirmed.subtracting(logged)
        #expect(lost.isEmpty, "\(lost.count) acknowledged events lost, e.g. \(lost.prefix(5))")
    }

    @Test("a second SIGTERM while the drain waits on a slow CRM ends the process at once")
    func secondSignal() async throws {
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let crm = try BottleCRMSimulator()
        let port = freePort()
        let url = directory.appendingPathComponent("liaison.yaml")
        try """
        server: {listen: "127.0.0.1:\(port)"}
        store: {directory: "\(directory.path)/data"}
        log: {format: json, level: info}
        archive: {mode: realtime}
        delivery: {timeout_seconds: 30}
        bottlecrm: {base_url: "\(crm.baseURL.absoluteString)", token: \(crm.token)}
        generic_webhooks:
          load: {secret: \(Self.secret)}
        """.write(to: url, atomically: true, encoding: .utf8)
        // The contact looked for, then taken, and the answer comes 30 s later: the attempt is in flight.
        crm.inject([.pass, .saveThenDelay(seconds: 30)])
        let liaison = try await serve(url, port: port, log: directory.appendingPathComponent("log"))
        let body = Data(#"{"id":"m1","conversation":"c","text":"hi","sender":{"id":"u","email":"u@example.com"}}"#.utf8)
        let client = HTTPTestClient(base: URL(string: "http://127.0.0.1:\(port)")!)
        let headers = ["X-Liaison-Signature": GenericWebhook.sign(body: Array(body), secret: Self.secret)]
        #expect(try await client.send("POST", "/hooks/generic/load", headers: headers, body: body).status == 200)
        #expect(await eventually { !crm.contacts.isEmpty }, "the attempt never reached the CRM")
        liaison.signal(SIGTERM)
        #expect(await holds(for: .milliseconds(300)) { liaison.process.isRunning }, "the drain waits for the attempt in flight")
        liaison.signal(SIGTERM)
        #expect(await eventually(timeout: .seconds(2)) { !liaison.process.isRunning }, "\(liaison.log)")
        #expect(liaison.process.terminationStatus == 1)
        #expect(liaison.log.contains("second signal: exiting without waiting for the drain"), "\(liaison.log)")
        await crm.stop()
    }

    @Test("SIGTERM drains and exits 0; a restart keeps the log")
    func gracefulRestart() async throws {
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let port = freePort()
        let configURL = try config(directory: directory, port: port)
        let client = HTTPTestClient(base: URL(string: "http://127.0.0.1:\(port)")!)
        let body = Data(#"{"id":"m1","conversation":"c","text":"hi","sender":{"id":"u"}}"#.utf8)
        let headers = [
            "X-Liaison-Signature": GenericWebhook.sign(body: Array(body), secret: Self.secret),
            "X-Liaison-Delivery": "once",
        ]
        for round in 0..<2 {
            let liaison = try await serve(configURL, port: port, log: directory.appendingPathComponent("log\(round)"))
            let reply = try await client.send("POST", "/hooks/generic/load", headers: headers, body: body)
            #expect(reply.json["status"] as? String == (round == 0 ? "stored" : "duplicate"))
            if round == 0 {
                // One hub per store: a second one is refused, whatever port it would use.
                let other = try config(directory: directory, port: freePort(), name: "other.yaml")
                let second = try LiaisonProcess.run(["serve", "--config", other.path])
                #expect(second.code == 1)
                #expect(second.output.contains("another 'liaison serve' (pid "), "\(second.output)")
            }
            #expect(await liaison.terminate() == 0, "\(liaison.log)")
            #expect(liaison.log.contains("\"msg\":\"stopped\""))
        }
        let status = try LiaisonProcess.run(["status", "--config", configURL.path, "--output", "json"])
        #expect(status.code == 0)
        #expect(status.output.contains("\"inboundRecords\" : 1"), "\(status.output)")
    }

    @Test("tools open only an existing store; replay refuses what is not a dead letter and takes bare dates")
    func tools() async throws {
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let port = freePort()
        let configURL = try config(directory: directory, port: port)
        let store = directory.appendingPathComponent("data")
        let missing = try LiaisonProcess.run(["status", "--config", configURL.path])
        #expect(missing.code == 1)
        #expect(missing.output.contains("no Liaison store at \(store.path)"), "\(missing.output)")
        #expect(!FileManager.default.fileExists(atPath: store.path), "status created a store")

        let liaison = try await serve(configURL, port: port, log: directory.appendingPathComponent("log"))
        // More events than a replay reads in one page (512).
        let client = HTTPTestClient(base: URL(string: "http://127.0.0.1:\(port)")!)
        for n in 0..<1_100 {
            let body = Data(#"{"id":"m\#(n)","conversation":"c\#(n % 7)","text":"hi","sender":{"id":"u"}}"#.utf8)
            let headers = ["X-Liaison-Signature": GenericWebhook.sign(body: Array(body), secret: Self.secret)]
            #expect(try await client.send("POST", "/hooks/generic/load", headers: headers, body: body).status == 200)
        }
        // The pipeline stops where it is at SIGTERM: let it apply everything first.
        #expect(
            await eventually {
                (try? LiaisonProcess.run(["status", "--config", configURL.path]))?.output
                    .contains("0 waiting for the pipeline") == true
            })
        #expect(await liaison.terminate() == 0, "\(liaison.log)")
        let unknown = try LiaisonProcess.run(["replay", "--config", configURL.path, "--dead", "--id", "99"])
        #expect(unknown.code == 2)
        #expect(unknown.output.contains("delivery #99 does not exist (nothing was requeued)"), "\(unknown.output)")
        let byDate = try LiaisonProcess.run(["replay", "--config", configURL.path, "--events", "--since", "2000-01-01"])
        #expect(byDate.code == 0, "\(byDate.output)")
        #expect(byDate.output.contains("re-applied 1100 events: 0 new messages"), "\(byDate.output)")
        let badDate = try LiaisonProcess.run(["replay", "--config", configURL.path, "--events", "--since", "2000-13"])
        #expect(badDate.code == 2)
        // A flag of the other mode, or a range that ends before it starts, is refused, not ignored.
        let refusals: [([String], String)] = [
            (["--dead", "--since", "2000-01-01"], "--since is for --events"),
            (["--events", "--since", "2000-01-01", "--id", "3"], "--id is for --dead"),
            (["--events", "--since", "2000-01-02", "--until", "2000-01-01"], "--until must be later than --since"),
            (["--dead", "extra"], "unexpected argument 'extra'"),
            (["--dead", "--config", configURL.path], "--config is given twice"),
        ]
        for (arguments, message) in refusals {
            let refused = try LiaisonProcess.run(["replay", "--config", configURL.path] + arguments)
            #expect(refused.code == 2 && refused.output.contains(message), "\(arguments): \(refused.output)")
        }
        let status = try LiaisonProcess.run(["status", "--config", configURL.path, "-x"])
        #expect(status.code == 2 && status.output.contains("unknown flag -x"), "\(status.output)")
    }

    @Test("a bad configuration is refused with exit code 2 and the key path")
    func badConfig() throws {
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let url = directory.appendingPathComponent("bad.yaml")
        try "server: {listen: nowhere}\narchive: {mode: sometimes}\n".write(to: url, atomically: true, encoding: .utf8)
        for command in ["serve", "check"] {
            let result = try LiaisonProcess.run([command, "--config", url.path])
            #expect(result.code == 2)
            #expect(result.output.contains("server.listen (line 1): 'nowhere' is not host:port"), "\(result.output)")
            #expect(result.output.contains("archive.mode (line 2)"))
        }
        #expect(
            try LiaisonProcess.run(["check", "--config", directory.appendingPathComponent("missing.yaml").path]).code
                == 2)
        let empty = directory.appendingPathComponent("empty.yaml")
        try "store: {directory: \"\(directory.path)/data\"}\n".write(to: empty, atomically: true, encoding: .utf8)
        for command in ["serve", "check"] {
            let result = try LiaisonProcess.run([command, "--config", empty.path])
            #expect(result.code == 2)
            #expect(result.output.contains("config error: nothing to receive"), "\(result.output)")
        }
        // A directory the store cannot be made in is named with its setting.
        let unusable = directory.appendingPathComponent("unusable.yaml")
        try """
            store: {directory: /proc/liaison-nowhere/data}
            generic_webhooks: {acme: {secret: 0123456789abcdef}}
            bottlecrm: {base_url: "http://127.0.0.1:9", token: unused}

            """.write(to: unusable, atomically: true, encoding: .utf8)
        let refused = try LiaisonProcess.run(["serve", "--config", unusable.path])
        #expect(refused.code != 0)
        #expect(
            refused.output.contains("the store directory /proc/liaison-nowhere/data (store.directory) cannot be created"),
            "\(refused.output)")
        #expect(try LiaisonProcess.run(["serve", "--bogus"]).code == 2)
        #expect(try LiaisonProcess.run(["frobnicate"]).code == 2)
        let commands = [
            "serve", "check", "status", "replay", "link", "dedupe", "audit", "review", "bench", "sample", "version",
        ]
        for command in commands {
            let help = try LiaisonProcess.run([command, "--help"])
            #expect(help.code == 0 && help.output.contains("Usage: liaison \(command)"))
        }
    }
}

/// Ids of the events the server acknowledged, from many senders.
final class AckedIDs: Sendable {
    private let ids = Mutex<Set<String>>([])
    func insert(_ id: String) { ids.withLock { _ = $0.insert(id) } }
    var all: Set<String> { ids.withLock { $0 } }
}

@Suite("liaison link")
struct LinkCommandTests {
    @Test("links two CSV files and writes left_id,right_id,score,decision; a malformed file is refused with its line")
    func link() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent(
            "liaison-link-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let left = directory.appendingPathComponent("a.csv")
        let right = directory.appendingPathComponent("b.csv")
        let out = directory.appendingPathComponent("matches.csv")
        try "id,name,company,phone,email\nA1,李娜,北京字节跳动科技有限公司,+86 138-0013-8000,\nA2,Zhang Wei,,,\n"
            .write(to: left, atomically: true, encoding: .utf8)
        try "id,email,name,phone\nB1,,Li Na,13800138000\nB2,x@example.com,Wang Fang,\n"
            .write(to: right, atomically: true, encoding: .utf8)
        let result = try LiaisonProcess.run(["link", "--left", left.path, "--right", right.path, "--out", out.path])
        #expect(result.code == 0, "\(result.output)")
        let lines = try String(contentsOf: out, encoding: .utf8).split(separator: "\n")
        #expect(lines.first == "left_id,right_id,score,decision")
        let rows: [[String]] = lines.dropFirst().map { line in
            let fields = line.split(separator: ",").map(String.init)
            return [fields[0], fields[1], fields[3]]
        }
        #expect(rows == [["A1", "B1", "link"]])
        let explained = try LiaisonProcess.run([
            "link", "--left", left.path, "--right", right.path, "--out", out.path, "--explain",
        ])
        #expect(explained.code == 0)
        let withWhy = try String(contentsOf: out, encoding: .utf8)
        #expect(withWhy.hasPrefix("left_id,right_id,score,decision,why\n"), "\(withWhy)")
        #expect(withWhy.contains("phone exact +13.1"), "\(withWhy)")

        let clusters = directory.appendingPathComponent("clusters.csv")
        let dedupe = try LiaisonProcess.run(["dedupe", "--input", right.path, "--out", clusters.path])
        #expect(dedupe.code == 0, "\(dedupe.output)")
        #expect(try String(contentsOf: clusters, encoding: .utf8) == "id,cluster_id\nB1,B1\nB2,B2\n")

        try "id,name\n1,\"open\n".write(to: right, atomically: true, encoding: .utf8)
        let bad = try LiaisonProcess.run(["link", "--left", left.path, "--right", right.path, "--out", out.path])
        #expect(bad.code == 2)
        #expect(bad.output.contains("b.csv: line 2: unbalanced quotes"), "\(bad.output)")
        // A region libphonenumber does not know would make every national number invalid.
        let region = try LiaisonProcess.run(
            ["link", "--left", left.path, "--right", left.path, "--out", out.path, "--region", "china"])
        #expect(region.code == 2 && region.output.contains("--region: 'china' is not a two-letter region code"))
        // An id said twice, or none (Excel's trailing ",,," rows), would join rows that are not one person.
        try "id,name,email\n1,Li Na,li@x.org\n1,Wang Wei,wang@x.org\n,,\n".write(to: right, atomically: true, encoding: .utf8)
        let twice = try LiaisonProcess.run(["dedupe", "--input", right.path, "--out", clusters.path])
        #expect(twice.code == 2 && twice.output.contains("b.csv: line 3: id '1' is also on line 2"), "\(twice.output)")
        let skipped = try LiaisonProcess.run(["dedupe", "--input", right.path, "--out", clusters.path, "--skip-bad"])
        #expect(skipped.code == 0 && skipped.output.contains("line 4: no id"), "\(skipped.output)")
        #expect(try String(contentsOf: clusters, encoding: .utf8) == "id,cluster_id\n1,1\n")
    }
}

@Suite("liaison review")
struct ReviewCommandTests {
    @Test("lists the queue, accepts into a merge, refuses a second decision, unmerges, and --column maps headers")
    func review() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent(
            "liaison-review-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let config = directory.appendingPathComponent("liaison.yaml")
        try """
        store: {directory: "\(directory.path)/data"}
        bottlecrm: {base_url: "http://127.0.0.1:9", token: unused}
        """.write(to: config, atomically: true, encoding: .utf8)
        do {
            let store = try SQLiteStore(directory: directory.path + "/data")
            defer { store.close() }
            let now = Date()
            try store.save(
                KnownPerson(ref: "crm:contact:1", name: "Wang Jianhua", customer: "cus_a"), reviews: [], now: now)
            try store.save(
                KnownPerson(ref: "im:user:jh", name: "王建华", customer: "cus_b"),
                reviews: [("crm:contact:1", 9.73, [FieldEvidence(field: "name", level: "exact", weight: 9.73)])],
                now: now)
        }
        let list = try LiaisonProcess.run(["review", "list", "--config", config.path])
        #expect(list.code == 0)
        #expect(list.output.contains("#1 open 9.73 crm:contact:1 ↔ im:user:jh"), "\(list.output)")
        let show = try LiaisonProcess.run(["review", "show", "1", "--config", config.path])
        #expect(show.output.contains("name: exact +9.73"), "\(show.output)")
        let accept = try LiaisonProcess.run(["review", "accept", "1", "--config", config.path, "--by", "ops"])
        #expect(accept.code == 0)
        #expect(accept.output.contains("merge 1 moved 1 record"), "\(accept.output)")
        let again = try LiaisonProcess.run(["review", "reject", "1", "--config", config.path])
        #expect(again.code == 1)
        #expect(again.output.contains("already accepted"), "\(again.output)")
        #expect(try LiaisonProcess.run(["review", "show", "42", "--config", config.path]).code == 1)
        #expect(try LiaisonProcess.run(["review", "frobnicate", "--config", config.path]).code == 2)
        let unmerge = try LiaisonProcess.run(["review", "unmerge", "1", "--config", config.path])
        #expect(unmerge.code == 0, "\(unmerge.output)")
        let open = try LiaisonProcess.run(["review", "list", "--config", config.path, "--output", "json"])
        #expect(open.output.contains("\"status\" : \"open\""), "\(open.output)")
        // Merges can be listed (newest first), and lists go page by page.
        let merges = try LiaisonProcess.run(["review", "merges", "--config", config.path])
        #expect(merges.code == 0 && merges.output.contains("merge 1 ") && merges.output.contains("undone"), "\(merges.output)")
        let page = try LiaisonProcess.run(["review", "list", "--config", config.path, "--status", "all", "--limit", "1"])
        #expect(page.output.contains("#1 ") && page.output.contains("… more: --after 1"), "\(page.output)")
        let next = try LiaisonProcess.run(["review", "list", "--config", config.path, "--status", "all", "--after", "1"])
        #expect(next.output.contains("no reviews"), "\(next.output)")
        #expect(try LiaisonProcess.run(["review", "list", "--config", config.path, "--limit", "x"]).code == 2)

        // Other headers, mapped with --column; a mapping to a missing header is refused.
        let left = directory.appendingPathComponent("a.csv")
        let right = directory.appendingPathComponent("b.csv")
        let out = directory.appendingPathComponent("m.csv")
        try "客户编号,姓名,手机\nA1,李娜,+86 138-0013-8000\n".write(to: left, atomically: true, encoding: .utf8)
        try "客户编号,姓名,手机\nB1,Li Na,13800138000\n".write(to: right, atomically: true, encoding: .utf8)
        let mapped = try LiaisonProcess.run([
            "link", "--left", left.path, "--right", right.path, "--out", out.path, "--column", "id=客户编号",
            "--column", "name=姓名", "--column", "phone=手机",
        ])
        #expect(mapped.code == 0, "\(mapped.output)")
        #expect(try String(contentsOf: out, encoding: .utf8).contains("A1,B1,"))
        let missing = try LiaisonProcess.run([
            "link", "--left", left.path, "--right", right.path, "--out", out.path, "--column", "id=nope",
        ])
        #expect(missing.code == 2)
        #expect(missing.output.contains("no column 'nope'"), "\(missing.output)")

        // Weights and thresholds from a configuration: a stricter link threshold sends the
        // same pair to review.
        let strict = directory.appendingPathComponent("strict.yaml")
        try "identity: {match: {link_threshold: 40, review_threshold: 5}}\n".write(
            to: strict, atomically: true, encoding: .utf8)
        let reviewed = try LiaisonProcess.run([
            "link", "--left", left.path, "--right", right.path, "--out", out.path, "--column", "id=客户编号",
            "--column", "name=姓名", "--column", "phone=手机", "--config", strict.path,
        ])
        #expect(reviewed.code == 0, "\(reviewed.output)")
        #expect(try String(contentsOf: out, encoding: .utf8).contains(",review"))
    }
}

@Suite("liaison sample and bench")
struct SampleBenchCommandTests {
    @Test(
        "sample writes people with truth that link finds; bench lookup, admission and pipeline measure; bad numbers are refused"
    )
    func sampleAndBench() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent(
            "liaison-sample-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: directory) }
        let sample = try LiaisonProcess.run(["sample", "--dir", directory.path, "--people", "200", "--seed", "4"])
        #expect(sample.code == 0, "\(sample.output)")
        for file in ["left.csv", "right.csv", "truth.csv", "people.csv"] {
            #expect(FileManager.default.fileExists(atPath: directory.appendingPathComponent(file).path), "\(file)")
        }
        let truth = try String(contentsOf: directory.appendingPathComponent("truth.csv"), encoding: .utf8)
        #expect(truth.hasPrefix("left_id,right_id\n"))
        // The same seed, the same files.
        let again = directory.appendingPathComponent("again")
        _ = try LiaisonProcess.run(["sample", "--dir", again.path, "--people", "200", "--seed", "4"])
        #expect(
            try Data(contentsOf: again.appendingPathComponent("right.csv"))
                == Data(contentsOf: directory.appendingPathComponent("right.csv")))
        #expect(try LiaisonProcess.run(["sample", "--dir", directory.path, "--people", "many"]).code == 2)

        let bench = try LiaisonProcess.run(["bench", "lookup", "--people", "300", "--queries", "50"])
        #expect(bench.code == 0, "\(bench.output)")
        #expect(bench.output.contains("lookup people=300 p50_us="), "\(bench.output)")
        #expect(try LiaisonProcess.run(["bench"]).code == 2)
        #expect(try LiaisonProcess.run(["bench", "lookup", "--people", "0"]).code == 2)

        // Every body admitted (the command fails otherwise), and the figures printed.
        let admission = try LiaisonProcess.run(["bench", "admission", "--rounds", "1"])
        #expect(admission.code == 0, "\(admission.output)")
        #expect(admission.output.contains("admission ns_per_body="), "\(admission.output)")
        let refused = try LiaisonProcess.run(["bench", "admission", "--rounds", "none"])
        #expect(refused.code == 2)
        #expect(refused.output.contains("--rounds must be a number from 1 to 1000000, not 'none'"), "\(refused.output)")
        #expect(try LiaisonProcess.run(["bench", "admission", "--rounds", "0"]).code == 2)

        // Every record applied as a message (the command fails otherwise), and the figures printed.
        let pipeline = try LiaisonProcess.run(["bench", "pipeline", "--records", "2000"])
        #expect(pipeline.code == 0, "\(pipeline.output)")
        #expect(pipeline.output.contains("pipeline records=2000 distinct=2000 us_per_record="), "\(pipeline.output)")
        // Repeated messages: each applied record found, 200 messages kept (the command fails otherwise).
        let repeated = try LiaisonProcess.run(["bench", "pipeline", "--records", "2000", "--distinct", "200"])
        #expect(repeated.code == 0, "\(repeated.output)")
        #expect(repeated.output.contains("pipeline records=2000 distinct=200 us_per_record="), "\(repeated.output)")
        let few = try LiaisonProcess.run(["bench", "pipeline", "--records", "10"])
        #expect(few.code == 2)
        #expect(few.output.contains("--records must be a number from 1000 to 10000000, not '10'"), "\(few.output)")
        let tooMany = try LiaisonProcess.run(["bench", "pipeline", "--records", "2000", "--distinct", "3000"])
        #expect(tooMany.code == 2)
        #expect(
            tooMany.output.contains("--distinct must be a number from 1 to --records (2000), not '3000'"),
            "\(tooMany.output)")
        #expect(try LiaisonProcess.run(["bench", "pipeline", "--records", "2000", "--distinct", "0"]).code == 2)
    }
}

@Suite("liaison audit")
struct AuditCommandTests {
    @Test("reports duplicates with why, invalid and missing phones and e-mails, missing key fields and stale records")
    func audit() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent(
            "liaison-audit-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let input = directory.appendingPathComponent("customers.csv")
        // Activity dates relative to today, so the test means the same next year.
        func daysAgo(_ days: Double) -> String {
            String(ISO8601.format(Date().addingTimeInterval(-days * 86_400)).prefix(10))
        }
        // As Excel writes it: 2026/1/5 9:30.
        func excel(_ days: Double) -> String {
            daysAgo(days).split(separator: "-").map { String(Int($0)!) }.joined(separator: "/") + " 9:30"
        }
        try """
        id,name,company,phone,email,last_activity
        1,李娜,北京字节跳动科技有限公司,+86 138-0013-8000,li.na@example.com,\(daysAgo(20))
        2,Li Na,字节跳动科技有限公司,13800138000,LI.NA@example.com,\(daysAgo(3))
        3,Wang Fang,Acme Inc.,12345,wang.fang@example,\(excel(400))
        4,,,,,\(daysAgo(1))
        5,Zhang Wei,,13900139000,,\(excel(2))
        6,张伟,,,zhang.wei@example.com,\(daysAgo(2)) 10:00:00
        7,Zhao Lei,Zhao Co,+86 137 0013 7000,zhao.lei@example.com,last spring
        """.write(to: input, atomically: true, encoding: .utf8)
        let json = directory.appendingPathComponent("report.json")
        let html = directory.appendingPathComponent("report.html")
        let result = try LiaisonProcess.run(["audit", "--input", input.path, "--json", json.path, "--html", html.path])
        #expect(result.code == 0, "\(result.output)")
        #expect(result.output.contains("duplicates     1 clusters holding 2 records"), "\(result.output)")
        let report = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: json)) as? [String: Any])
        #expect(report["records"] as? Int == 7)
        // One name and nothing else shared: not a duplicate, a pair for a person to look at.
        #expect(result.output.contains("to review      1 pairs that may be one person"), "\(result.output)")
        let possible = report["possible_duplicates"] as? [[String: Any]] ?? []
        #expect(possible.map { $0["ids"] as? [String] } == [["5", "6"]])
        let clusters = report["duplicate_clusters"] as? [[String: Any]] ?? []
        #expect(clusters.first?["ids"] as? [String] == ["1", "2"])
        #expect((report["invalid_phones"] as? [[String: Any]])?.map { $0["id"] as? String } == ["3"])
        #expect((report["invalid_emails"] as? [[String: Any]])?.map { $0["id"] as? String } == ["3"])
        #expect(report["missing_phones"] as? Int == 2)
        #expect((report["missing_key_fields"] as? [[String: Any]])?.map { $0["id"] as? String } == ["4", "5", "6"])
        // Dates as exports write them are read; one that is not a date is not taken for old.
        #expect((report["stale"] as? [[String: Any]])?.map { $0["id"] as? String } == ["3"])
        #expect((report["unreadable_dates"] as? [[String: Any]])?.map { $0["id"] as? String } == ["7"])
        let page = try String(contentsOf: html, encoding: .utf8)
        #expect(page.contains("<svg") && page.contains("Duplicate clusters (1)") && page.contains("email exact"))
        #expect(page.contains("Possible duplicates to review (1)"))
    }
}
