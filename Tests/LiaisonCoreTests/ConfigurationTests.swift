import Foundation
import LiaisonCore
import Testing

@Suite("Configuration")
struct ConfigurationTests {
    static let valid = """
        server: {listen: "127.0.0.1:9000", max_body_bytes: 2048}
        store: {directory: /tmp/x}
        matrix:
          homeserver: http://127.0.0.1:8008
          as_token: ${AS_TOKEN}
          hs_token: hs-secret-0123456789
          bot_user: "@liaison_bot:localhost"
          employees: {users: ["@agent:localhost"], pattern: "@staff_.*:localhost"}
          profiles:
            "@alice:localhost": {name: Alice Smith, email: alice@example.com}
        bottlecrm: {base_url: "http://127.0.0.1:8000", token: "${CRM_TOKEN:-fallback}"}
        archive: {mode: interval, interval_seconds: 30}
        generic_webhooks:
          acme: {secret: 0123456789abcdef0123}
        """

    /// Enough to serve: somewhere to receive from, the CRM to file into.
    static let minimal = """
        bottlecrm: {base_url: "http://127.0.0.1:8000", token: t}
        generic_webhooks: {a: {secret: 0123456789abcdef0123}}
        """

    @Test("a valid file yields every setting, with environment references expanded")
    func valid() throws {
        let config = try Configuration.parse(yaml: Self.valid, environment: ["AS_TOKEN": "as-secret-0123456789"])
        #expect(config.server.port == 9000)
        #expect(config.server.maxBodyBytes == 2048)
        #expect(config.store.directory == "/tmp/x")
        #expect(config.matrix?.asToken == "as-secret-0123456789")
        #expect(config.bottleCRM?.token == "fallback")
        #expect(config.archive.mode == .interval)
        #expect(config.archive.intervalSeconds == 30)
        #expect(config.archive.idleTimeoutSeconds == 1800)
        #expect(config.genericSources["acme"]?.secret == "0123456789abcdef0123")
        let matrix = try #require(config.matrix)
        #expect(matrix.role(of: "@agent:localhost") == .employee)
        #expect(matrix.role(of: "@staff_bob:localhost") == .employee)
        #expect(matrix.role(of: "@alice:localhost") == .customer)
        #expect(matrix.role(of: "@liaison_bot:localhost") == .other)
        #expect(matrix.profiles["@alice:localhost"]?.email == "alice@example.com")
    }

    @Test("every problem is reported with its key path and line")
    func problems() {
        let yaml = """
            server:
              listen: nowhere
              threads: many
            archive:
              mode: sometimes
              idle_timout_seconds: 5
            generic_webhooks:
              acme: {secret: short}
            delivery:
              base_backoff_ms: 5000
              max_backoff_ms: 1000
            """
        #expect {
            _ = try Configuration.parse(yaml: yaml)
        } throws: { error in
            guard let errors = error as? ConfigErrors else { return false }
            let lines = errors.errors.map(\.description)
            return lines.contains("server.listen (line 2): 'nowhere' is not host:port")
                && lines.contains("server.threads (line 3): must be a whole number between 1 and 64")
                && lines.contains("archive.mode (line 5): 'sometimes' is not one of: realtime, interval, on_close")
                && lines.contains("archive.idle_timout_seconds (line 6): unknown key")
                && lines.contains("generic_webhooks.acme.secret (line 8): too short: use at least 16 characters")
                && lines.contains("delivery.max_backoff_ms (line 11): must be at least base_backoff_ms (5000)")
                && lines.contains { $0.hasPrefix("bottlecrm: required") }
        }
    }

    @Test("numbers and switches may come from the environment too; a bad or missing value names its key")
    func environmentNumbers() throws {
        // Block style: `{` and `}` end a plain value inside a {…} mapping.
        let yaml = """
            server:
              threads: ${THREADS:-3}
              max_body_bytes: ${MAX_BODY}
            delivery:
              max_attempts: "${ATTEMPTS}"
            \(Self.minimal)
            """
        let config = try Configuration.parse(yaml: yaml, environment: ["MAX_BODY": "4096", "ATTEMPTS": "7"])
        #expect(config.server.threads == 3)
        #expect(config.server.maxBodyBytes == 4096)
        #expect(config.delivery.maxAttempts == 7)
        #expect {
            _ = try Configuration.parse(yaml: yaml, environment: ["MAX_BODY": "lots", "ATTEMPTS": "7"])
        } throws: { error in
            (error as? ConfigErrors)?.errors.map(\.description)
                == ["server.max_body_bytes (line 3): must be a whole number between 1 and 67108864"]
        }
        #expect {
            _ = try Configuration.parse(yaml: yaml, environment: ["MAX_BODY": "4096"])
        } throws: { error in
            (error as? ConfigErrors)?.errors.map(\.description)
                == ["delivery.max_attempts (line 5): environment variable ATTEMPTS is not set"]
        }
        #expect {
            _ = try Configuration.parse(yaml: yaml, environment: ["MAX_BODY": "4096", "ATTEMPTS": ""])
        } throws: { error in
            (error as? ConfigErrors)?.errors.map(\.description)
                == ["delivery.max_attempts (line 5): environment variable ATTEMPTS is empty"]
        }
        // A quoted literal is still a string, not a number.
        #expect {
            _ = try Configuration.parse(yaml: "server: {threads: \"2\"}\n" + Self.minimal)
        } throws: { error in
            (error as? ConfigErrors)?.errors.map(\.description)
                == ["server.threads (line 1): must be a whole number between 1 and 64"]
        }
    }

    @Test("listen takes an IPv4 address, an IPv6 one in brackets or localhost; a name is refused with its key")
    func listenAddresses() throws {
        func parse(_ listen: String) throws -> Configuration {
            try Configuration.parse(yaml: "server: {listen: \"\(listen)\"}\n" + Self.minimal)
        }
        #expect(try parse("0.0.0.0:8080").server.host == "0.0.0.0")
        #expect(try parse("localhost:8080").server.host == "127.0.0.1")
        let ipv6 = try parse("[::1]:8443")
        #expect(ipv6.server.host == "::1" && ipv6.server.port == 8443)
        for bad in ["example.com:80", "[nope]:80", "::1:80", "300.1.2.3:80"] {
            #expect {
                _ = try parse(bad)
            } throws: { error in
                (error as? ConfigErrors)?.errors.map(\.description).first?.hasPrefix("server.listen (line 1): ") == true
            }
        }
    }

    @Test("a URL with an IPv6 literal for its host is refused with its key (the HTTP client cannot call it)")
    func ipv6URL() throws {
        func parse(_ url: String) throws -> Configuration {
            try Configuration.parse(
                yaml:
                    "bottlecrm: {base_url: \"\(url)\", token: t}\ngeneric_webhooks: {a: {secret: 0123456789abcdef0123}}\n"
            )
        }
        #expect(try parse("http://localhost:8000").bottleCRM?.baseURL.host == "localhost")
        #expect {
            _ = try parse("http://[::1]:8000")
        } throws: { error in
            (error as? ConfigErrors)?.errors.map(\.description).first?.hasPrefix(
                "bottlecrm.base_url (line 1): 'http://[::1]:8000' has an IPv6 address") == true
        }
    }

    @Test("an unset environment variable is an error, not an empty secret")
    func unsetEnvironment() {
        #expect(throws: ConfigErrors.self) {
            try Configuration.parse(yaml: Self.valid, environment: [:])
        }
    }

    @Test("the example file `make run` starts with is valid with nothing set, and serves; the API is off until its token is")
    func exampleFile() throws {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent()
        let text = try String(
            contentsOf: root.appendingPathComponent("config/liaison.example.yaml"), encoding: .utf8)
        let bare = try Configuration.parse(yaml: text, environment: [:])
        #expect(bare.servingProblems.isEmpty)
        #expect(bare.apiTokens.isEmpty, "no token anyone can read in the file")
        #expect(bare.genericSources["demo"] != nil, "the README's quick start posts to the demo source")
        let token = String(repeating: "t", count: 24)
        #expect(try Configuration.parse(yaml: text, environment: ["LIAISON_API_TOKEN": token]).apiTokens == [token])
    }

    @Test("invalid YAML names the line")
    func invalidYAML() {
        #expect {
            _ = try Configuration.parse(yaml: "server:\n  listen: [unclosed\n")
        } throws: { error in
            // A problem with the file as a whole reads "line 2: invalid YAML: …", no key path.
            guard let first = (error as? ConfigErrors)?.errors.first, let line = first.line else { return false }
            return first.path.isEmpty && first.description.hasPrefix("line \(line): invalid YAML")
        }
    }

    @Test("a port out of range is said to be")
    func portRange() {
        #expect {
            try Configuration.parse(yaml: "server: {listen: \"127.0.0.1:70000\"}\n")
        } throws: { error in
            (error as? ConfigErrors)?.errors.map(\.description).first
                == "server.listen (line 1): port 70000 is out of range: 1 to 65535 (0 picks a free one)"
        }
    }

    @Test("a key given twice is refused with its path, and the rest of the file is still checked")
    func duplicateKeys() {
        #expect {
            try Configuration.parse(yaml: "server: {threads: 1}\nserver: {threads: 2}\n")
        } throws: { error in
            (error as? ConfigErrors)?.errors.map(\.description).first == "server (line 2): given twice (first on line 1)"
        }
        let nested = """
            server:
              threads: 1
              max_body_bytes: 0
              threads: 2
            archive: {mode: sometimes}
            """
        #expect {
            try Configuration.parse(yaml: nested)
        } throws: { error in
            let lines = (error as? ConfigErrors)?.errors.map(\.description) ?? []
            return lines.count == 3 && lines[0].hasPrefix("server.max_body_bytes (line 3)")
                && lines[1] == "server.threads (line 4): given twice (first on line 2)"
                && lines[2].hasPrefix("archive.mode (line 5)")
        }
    }

    @Test("an empty file is the defaults, and cannot run a hub: it has nothing to receive")
    func empty() throws {
        let config = try Configuration.parse(yaml: "")
        #expect(config == Configuration())
        #expect(config.archive.mode == .onClose)
        #expect(
            config.servingProblems.map(\.description) == [
                "nothing to receive: configure at least one source (matrix, generic_webhooks, "
                    + "bottlecrm.webhook_secret or tryton); see config/liaison.example.yaml"
            ])
        let generic = try Configuration.parse(
            yaml:
                "generic_webhooks: {acme: {secret: 0123456789abcdef}}\nbottlecrm: {base_url: \"http://crm\", token: t}\n"
        )
        #expect(generic.servingProblems.isEmpty)
    }

    @Test(
        "what would be accepted and then do nothing, or fail later, is refused at its key, in file order: an empty customers list or close command, an empty store directory, a short API token at its own index"
    )
    func acceptedThenUseless() {
        let yaml = """
            bottlecrm: {base_url: "http://crm", token: t}
            store: {directory: ""}
            api: {tokens: ["", "short"]}

            """ + NotifyConfigurationTests.matrix + """
              customers:
              close_command: ""
            """
        #expect(
            Self.problems(yaml) == [
                "store.directory (line 2): empty: give the directory of the store",
                "api.tokens[1] (line 3): too short: use at least 16 characters",
                "matrix.customers (line 10): empty: list the customers (users and/or pattern), or leave the key out "
                    + "to count everyone who is not an employee as a customer",
                "matrix.close_command (line 11): empty: give the command that closes a conversation (!close by default)",
            ])
    }

    /// What parsing `yaml` refuses, line by line (nothing if it parses).
    static func problems(_ yaml: String) -> [String] {
        do {
            _ = try Configuration.parse(yaml: yaml)
            return []
        } catch {
            return error.errors.map(\.description)
        }
    }

    @Test("a bad pattern is one error, at its line; a key missing in a section points at the section's key")
    func patternAndSectionLines() {
        let yaml = """
            bottlecrm: {base_url: "http://crm", token: t}
            matrix:
              homeserver: http://127.0.0.1:8008
              as_token: as-token-0123456789
              bot_user: "@bot:x"
              employees:
                users: ["@agent:x"]
                pattern: "@staff_(.*:x"
            """
        #expect(
            Self.problems(yaml) == [
                "matrix.hs_token (line 2): required, a non-empty string",
                "matrix.employees.pattern (line 8): '@staff_(.*:x' is not a valid regular expression (ICU syntax, "
                    + "matched against the whole id: check its parentheses, brackets and escapes)",
            ])
    }
}

@Suite("Configuration: CRM changes")
struct NotifyConfigurationTests {
    /// A matrix section that passes, ending with its employees.
    static let matrix = """
        matrix:
          homeserver: http://127.0.0.1:8008
          as_token: as-token-0123456789
          hs_token: hs-token-0123456789
          bot_user: "@bot:x"
          employees: {users: ["@agent:x"]}

        """
    static let base = matrix + """
        bottlecrm: {base_url: "http://127.0.0.1:8000", token: t, webhook_secret: whsec_0123456789abcdef, webhook_tolerance_seconds: 60}

        """

    @Test("owners and watchers may stand without a room")
    func owners() throws {
        let config = try Configuration.parse(
            yaml: Self.base + "notify: {owners: {u-1: \"@alice:x\"}, watchers: [\"@boss:x\"]}\n")
        #expect(config.notify?.room == nil)
        #expect(config.notify?.owners == ["u-1": "@alice:x"])
        #expect(config.notify?.watchers == ["@boss:x"])
    }

    @Test("identity settings: on by default in CN, or as configured")
    func identity() throws {
        #expect(try Configuration.parse(yaml: Self.base).identity == IdentitySettings())
        let configured = try Configuration.parse(yaml: Self.base + "identity: {enabled: false, default_region: US}\n")
        #expect(configured.identity.enabled == false)
        #expect(configured.identity.defaultRegion == "US")
        let weighted = try Configuration.parse(
            yaml: Self.base
                + "identity: {match: {link_threshold: 12, review_threshold: 6, fields: {email: {m: 0.9, u: 0.001}}}}\n")
        #expect(weighted.identity.matcher.linkThreshold == 12)
        #expect(weighted.identity.matcher.reviewThreshold == 6)
        #expect(weighted.identity.matcher.email == IdentityMatcher.Probabilities(m: 0.9, u: 0.001))
        #expect(weighted.identity.matcher.phone == IdentityMatcher().phone)
    }

    @Test("notify and the BottleCRM webhook settings are read")
    func valid() throws {
        let config = try Configuration.parse(
            yaml: Self.base
                + "notify: {room: \"!team:x\", language: zh-CN, changes: [stage, owner], record_link: \"http://crm/{kind}s/{id}\"}\n"
        )
        #expect(config.bottleCRM?.webhookSecret == "whsec_0123456789abcdef")
        #expect(config.bottleCRM?.webhookToleranceSeconds == 60)
        #expect(
            config.notify
                == NotifySettings(
                    room: "!team:x", language: .zhCN, changes: [.stage, .owner], recordLink: "http://crm/{kind}s/{id}"))
    }

    @Test(
        "bad notify settings name the key",
        arguments: [
            ("notify: {room: \"#alias:x\"}", "notify.room"),
            ("notify: {room: \"!r:x\", language: fr}", "notify.language"),
            ("notify: {room: \"!r:x\", changes: [everything]}", "notify.changes"),
            ("notify: {language: en}", "notify"),
            ("notify: {owners: {u-1: alice}}", "notify.owners.u-1"),
            ("notify: {watchers: [\"boss\"]}", "notify.watchers[0]"),
            ("identity: {default_region: china}", "identity.default_region"),
            ("identity: {enabled: sometimes}", "identity.enabled"),
            ("identity: {region: CN}", "identity.region"),
            ("identity: {match: {fields: {shoe_size: {m: 0.9, u: 0.1}}}}", "identity.match.fields.shoe_size"),
            ("identity: {match: {fields: {email: {m: 1.5}}}}", "identity.match.fields.email.m"),
            ("identity: {match: {link_threshold: 5, review_threshold: 8}}", "identity.match.review_threshold"),
        ])
    func invalid(yaml: String, path: String) {
        #expect {
            _ = try Configuration.parse(yaml: Self.base + yaml + "\n")
        } throws: { error in
            (error as? ConfigErrors)?.errors.contains { $0.path == path } == true
        }
    }
}
