import Foundation

/// Everything `liaison serve` needs, read from one YAML file. `Configuration.parse`
/// reports every problem with its key path; nothing starts on a bad file.
public struct Configuration: Sendable, Equatable {
    public var server = ServerSettings()
    public var store = StoreSettings()
    public var log = LogSettings()
    public var matrix: MatrixSettings?
    public var bottleCRM: BottleCRMSettings?
    /// Tryton, polled for changes (it has no webhooks).
    public var tryton: TrytonSettings?
    /// Where CRM changes are announced in IM.
    public var notify: NotifySettings?
    /// Bearer tokens for the REST API (`/api/v1/…`); without any, the API is off.
    public var apiTokens: [String] = []
    public var identity = IdentitySettings()
    public var archive = ArchiveSettings()
    public var delivery = DeliverySettings()
    /// Generic signed webhook sources by name (`POST /hooks/generic/{name}`).
    public var genericSources: [String: GenericSourceSettings] = [:]

    public init() {}
}

/// Identity resolution of the people the hub sees (IM contacts, CRM records).
public struct IdentitySettings: Sendable, Equatable {
    /// Resolve people as they arrive, queueing uncertain pairs for review.
    public var enabled = true
    /// ISO 3166 region for phone numbers written without a country code.
    public var defaultRegion = "CN"
    /// The matcher's weights and thresholds (`identity.match`); the defaults when unset.
    public var matcher = IdentityMatcher()

    public init(enabled: Bool = true, defaultRegion: String = "CN", matcher: IdentityMatcher = IdentityMatcher()) {
        self.enabled = enabled
        self.defaultRegion = defaultRegion
        self.matcher = matcher
    }
}

public struct ServerSettings: Sendable, Equatable {
    public var host = "127.0.0.1"
    public var port = 8080
    /// Larger request bodies are refused with 413 before they are read into memory.
    public var maxBodyBytes = 1 << 20
    /// libmicrohttpd worker threads.
    public var threads = 2
}

public struct StoreSettings: Sendable, Equatable {
    /// Holds `events.db` (the durable event log) and `state.db`.
    public var directory = "data"
    /// Appends waiting longer than this are committed together (group commit window).
    public var maxBatch = 4096
}

public enum LogFormat: String, Sendable, CaseIterable {
    case auto, json, text
}

public enum LogLevel: String, Sendable, CaseIterable, Comparable {
    case debug, info, warning, error

    private var rank: Int { Self.allCases.firstIndex(of: self)! }
    public static func < (lhs: LogLevel, rhs: LogLevel) -> Bool { lhs.rank < rhs.rank }
}

public struct LogSettings: Sendable, Equatable {
    public var format = LogFormat.auto
    public var level = LogLevel.info
}

/// A customer profile given in configuration, for IM users whose server does not say it.
public struct ProfileOverride: Sendable, Equatable {
    public var name: String?
    public var email: String?
    public var phone: String?

    public init(name: String? = nil, email: String? = nil, phone: String? = nil) {
        self.name = name
        self.email = email
        self.phone = phone
    }
}

public struct MatrixSettings: Sendable, Equatable {
    public var homeserver: URL
    public var asToken: String
    public var hsToken: String
    /// The application service's own user, whose events are never part of a transcript.
    public var botUser: String
    public var employees: UserMatcher
    /// Defaults to everyone who is not an employee and not the bot.
    public var customers: UserMatcher?
    public var profiles: [String: ProfileOverride]
    /// An employee who sends this text in a room closes the conversation.
    public var closeCommand: String
    /// A homeserver admin's access token: customers' e-mail and phone are then read from
    /// their third-party ids (Synapse admin API) when the profile lacks them.
    public var adminToken: String?

    public init(
        homeserver: URL, asToken: String, hsToken: String, botUser: String, employees: UserMatcher,
        customers: UserMatcher?, profiles: [String: ProfileOverride], closeCommand: String, adminToken: String? = nil
    ) {
        self.homeserver = homeserver
        self.asToken = asToken
        self.hsToken = hsToken
        self.botUser = botUser
        self.employees = employees
        self.customers = customers
        self.profiles = profiles
        self.closeCommand = closeCommand
        self.adminToken = adminToken
    }

    public func role(of user: String) -> ParticipantRole {
        if user == botUser { return .other }
        if employees.matches(user) { return .employee }
        guard let customers else { return .customer }
        return customers.matches(user) ? .customer : .other
    }
}

public struct BottleCRMSettings: Sendable, Equatable {
    public var baseURL: URL
    public var token: String
    /// The interaction `kind` transcripts are filed as: one of BottleCRM's
    /// `call, meeting, email, whatsapp, sms`; chats fit `whatsapp` best.
    public var interactionKind = "whatsapp"
    public static let interactionKinds = ["call", "meeting", "email", "whatsapp", "sms"]

    /// The secret BottleCRM shows when a webhook endpoint is registered (`whsec_…`);
    /// with it, `POST /hooks/bottlecrm` accepts BottleCRM's signed change events.
    public var webhookSecret: String?
    /// Signed events older (or newer) than this are refused as replays.
    public var webhookToleranceSeconds = 300

    public init(baseURL: URL, token: String, interactionKind: String = "whatsapp", webhookSecret: String? = nil) {
        self.baseURL = baseURL
        self.token = token
        self.interactionKind = interactionKind
        self.webhookSecret = webhookSecret
    }
}

/// A Tryton server polled for party changes through its REST API.
public struct TrytonSettings: Sendable, Equatable {
    public var baseURL: URL
    public var database: String
    /// A `res.user.application` key for the `rest` application.
    public var restKey: String
    public var pollIntervalSeconds = 10
    /// Each poll re-reads this far behind its cursor, so a change committed late with an
    /// earlier timestamp is not missed; what it re-reads is recognised and ignored.
    public var overlapSeconds = 10
    /// How often the ids of all parties are listed to find deleted ones (a changed-since
    /// poll cannot see a row that is gone).
    public var deletionSweepSeconds = 60

    public init(
        baseURL: URL, database: String, restKey: String, pollIntervalSeconds: Int = 10, overlapSeconds: Int = 10,
        deletionSweepSeconds: Int = 60
    ) {
        self.baseURL = baseURL
        self.database = database
        self.restKey = restKey
        self.pollIntervalSeconds = pollIntervalSeconds
        self.overlapSeconds = overlapSeconds
        self.deletionSweepSeconds = deletionSweepSeconds
    }
}

/// How CRM changes are announced: in a team room, to the records' owners and to
/// watchers, by direct message, in one language.
public struct NotifySettings: Sendable, Equatable {
    /// A Matrix room id (`!…`) the application service's bot may join; nil for none.
    public var room: String?
    /// CRM user ids (as the CRM's `owner` field has them) → Matrix users, who are told
    /// about their records (both the old and the new owner on a hand-over).
    public var owners: [String: String] = [:]
    /// Matrix users told about every announced change.
    public var watchers: [String] = []
    public var language: NoticeLanguage
    /// The kinds of change announced.
    public var changes: Set<ChangeKind>
    /// The kinds announced at once; the other announced kinds wait for the digest.
    public var realtime: Set<ChangeKind> = [.created, .deleted, .stage, .owner]
    /// How often the digest of non-realtime changes is sent.
    public var digestSeconds = 3600
    /// The record's page, with `{kind}` and `{id}` replaced: `https://crm.example.com/{kind}s/{id}`.
    public var recordLink: String?

    public init(
        room: String?, owners: [String: String] = [:], watchers: [String] = [], language: NoticeLanguage = .en,
        changes: Set<ChangeKind> = Set(ChangeKind.allCases), recordLink: String? = nil
    ) {
        self.room = room
        self.owners = owners
        self.watchers = watchers
        self.language = language
        self.changes = changes
        self.recordLink = recordLink
    }
}

/// When transcripts are archived.
public enum ArchiveMode: String, Sendable, CaseIterable {
    /// Each message as it arrives.
    case realtime
    /// What accumulated, every `intervalSeconds`.
    case interval
    /// The whole conversation when it is closed by command or goes idle.
    case onClose = "on_close"
}

public struct ArchiveSettings: Sendable, Equatable {
    public var mode = ArchiveMode.onClose
    public var intervalSeconds = 300
    public var idleTimeoutSeconds = 1800
    /// The CRM connector transcripts go to.
    public var target = "bottlecrm"
}

public struct DeliverySettings: Sendable, Equatable {
    public var maxAttempts = 10
    public var baseBackoffMilliseconds = 500
    public var maxBackoffMilliseconds = 300_000
    public var timeoutSeconds = 10
    public var concurrency = 4
}

public struct GenericSourceSettings: Sendable, Equatable {
    public var secret: String
    public var employees: UserMatcher

    public init(secret: String, employees: UserMatcher = .none) {
        self.secret = secret
        self.employees = employees
    }
}

extension Configuration {
    /// Parses and validates a configuration file's text.
    /// - Parameter environment: where `${NAME}` references are looked up.
    public static func parse(yaml text: String, environment: [String: String] = [:]) throws(ConfigErrors)
        -> Configuration
    {
        let root: YAMLNode
        do {
            root = try YAMLNode.parse(text)
        } catch {
            throw ConfigErrors([ConfigError(path: "", line: error.line, problem: "invalid YAML: \(error.problem)")])
        }
        let reader = ConfigReader(environment: environment)
        let top = reader.section(root, path: "")
        var config = Configuration()
        config.read(top)
        top.finish()
        if !reader.errors.isEmpty { throw ConfigErrors(reader.errors) }
        return config
    }

    /// What keeps this configuration from running a hub, though it parses: a hub with no
    /// source would start, listen, and never receive anything. (Tools such as `link` read
    /// a configuration only for its identity settings.)
    public var servingProblems: [ConfigError] {
        let receives = matrix != nil || !genericSources.isEmpty || tryton != nil || bottleCRM?.webhookSecret != nil
        guard !receives else { return [] }
        return [
            ConfigError(
                path: "", line: nil,
                problem: "nothing to receive: configure at least one source (matrix, generic_webhooks, "
                    + "bottlecrm.webhook_secret or tryton); see config/liaison.example.yaml")
        ]
    }

    private mutating func read(_ top: ConfigReader.Section) {
        let server = top.section("server")
        if let listen = server.string("listen") {
            if let (host, port) = Self.hostPort(listen) {
                if let address = Self.listenAddress(host) {
                    self.server.host = address
                    self.server.port = port
                } else {
                    server.reader.fail(
                        server.keyPath("listen"), server.node("listen")?.line,
                        "'\(host)' is not an address to listen on: give an IPv4 address (127.0.0.1, 0.0.0.0), "
                            + "an IPv6 address in brackets ([::1]:8080) or localhost")
                }
            } else if let colon = listen.lastIndex(of: ":"), let port = Int(listen[listen.index(after: colon)...]) {
                server.reader.fail(
                    server.keyPath("listen"), server.node("listen")?.line,
                    "port \(port) is out of range: 1 to 65535 (0 picks a free one)")
            } else {
                server.reader.fail(
                    server.keyPath("listen"), server.node("listen")?.line, "'\(listen)' is not host:port")
            }
        }
        self.server.maxBodyBytes = server.int("max_body_bytes", default: self.server.maxBodyBytes, in: 1...(64 << 20))
        self.server.threads = server.int("threads", default: self.server.threads, in: 1...64)
        server.finish()

        let store = top.section("store")
        self.store.directory = store.string("directory") ?? self.store.directory
        if self.store.directory.trimmingCharacters(in: .whitespaces).isEmpty {
            store.reader.fail(
                store.keyPath("directory"), store.node("directory")?.line, "empty: give the directory of the store")
        }
        self.store.maxBatch = store.int("max_batch", default: self.store.maxBatch, in: 1...100_000)
        store.finish()

        let log = top.section("log")
        self.log.format = log.choice("format", default: self.log.format)
        self.log.level = log.choice("level", default: self.log.level)
        log.finish()

        let matrix = top.section("matrix")
        if matrix.present { self.matrix = Self.readMatrix(matrix) }
        matrix.finish()

        let crm = top.section("bottlecrm")
        if crm.present {
            let url = crm.url("base_url", required: true)
            let token = crm.string("token", required: true)
            var settings = BottleCRMSettings(baseURL: url ?? URL(string: "http://invalid")!, token: token ?? "")
            if let kind = crm.string("interaction_kind") {
                if BottleCRMSettings.interactionKinds.contains(kind) {
                    settings.interactionKind = kind
                } else {
                    crm.reader.fail(
                        crm.keyPath("interaction_kind"), crm.node("interaction_kind")?.line,
                        "'\(kind)' is not one of: \(BottleCRMSettings.interactionKinds.joined(separator: ", "))"
                    )
                }
            }
            settings.webhookSecret = crm.secret("webhook_secret").flatMap { $0.isEmpty ? nil : $0 }
            settings.webhookToleranceSeconds = crm.int(
                "webhook_tolerance_seconds", default: settings.webhookToleranceSeconds, in: 1...86_400)
            if url != nil, token?.isEmpty == false { bottleCRM = settings }
        }
        crm.finish()

        let tryton = top.section("tryton")
        if tryton.present {
            let url = tryton.url("base_url", required: true)
            let database = tryton.string("database", required: true) ?? ""
            let key = tryton.string("rest_key", required: true) ?? ""
            let interval = tryton.int("poll_interval_seconds", default: 10, in: 1...86_400)
            let overlap = tryton.int("overlap_seconds", default: 10, in: 0...86_400)
            let sweep = tryton.int("deletion_sweep_seconds", default: 60, in: 1...86_400)
            if let url, !database.isEmpty, !key.isEmpty {
                self.tryton = TrytonSettings(
                    baseURL: url, database: database, restKey: key, pollIntervalSeconds: interval,
                    overlapSeconds: overlap, deletionSweepSeconds: sweep)
            }
        }
        tryton.finish()

        let identity = top.section("identity")
        self.identity.enabled = identity.bool("enabled", default: self.identity.enabled)
        if let region = identity.string("default_region") {
            if region.count == 2, region.allSatisfy({ $0.isASCII && $0.isUppercase }) {
                self.identity.defaultRegion = region
            } else {
                identity.reader.fail(
                    identity.keyPath("default_region"), identity.node("default_region")?.line,
                    "'\(region)' is not a two-letter region code such as CN or US")
            }
        }
        let match = identity.section("match")
        var matcher = IdentityMatcher()
        matcher.linkThreshold = match.double("link_threshold", default: matcher.linkThreshold, in: -100...100)
        matcher.reviewThreshold = match.double("review_threshold", default: matcher.reviewThreshold, in: -100...100)
        if matcher.reviewThreshold > matcher.linkThreshold {
            match.reader.fail(
                match.keyPath("review_threshold"), match.node("review_threshold")?.line,
                "must not be above link_threshold (\(matcher.linkThreshold))")
        }
        let fields = match.section("fields")
        for key in fields.keys {
            guard let path = IdentityMatcher.fieldPaths[key] else {
                fields.reader.fail(
                    fields.keyPath(key), fields.node(key)?.line,
                    "unknown field; known: \(IdentityMatcher.fieldPaths.keys.sorted().joined(separator: ", "))")
                continue
            }
            let field = fields.section(key)
            let current = matcher[keyPath: path]
            let m = field.double("m", default: current.m, in: 0.000_000_1...0.999_999_9)
            let u = field.double("u", default: current.u, in: 0.000_000_001...0.999_999_9)
            matcher[keyPath: path] = IdentityMatcher.Probabilities(m: m, u: u)
            field.finish()
        }
        fields.finish()
        match.finish()
        self.identity.matcher = matcher
        identity.finish()

        let api = top.section("api")
        let tokens = api.stringList("tokens")
        // An empty entry (an unset variable) is no token; a short one is refused, at its own index.
        for (index, token) in tokens.enumerated() where !token.isEmpty && token.utf8.count < 16 {
            api.reader.fail("api.tokens[\(index)]", api.node("tokens")?.line, "too short: use at least 16 characters")
        }
        apiTokens = tokens.filter { !$0.isEmpty }
        api.finish()

        let notify = top.section("notify")
        if notify.present {
            let room = notify.string("room").flatMap { $0.isEmpty ? nil : $0 }
            if let room, !room.hasPrefix("!") {
                notify.reader.fail(
                    notify.keyPath("room"), notify.node("room")?.line, "'\(room)' is not a Matrix room id (!…)")
            }
            var settings = NotifySettings(room: room)
            let owners = notify.section("owners")
            for id in owners.keys {
                let user = owners.string(id) ?? ""
                if !Self.isMatrixUserID(user) {
                    owners.reader.fail(
                        owners.keyPath(id), owners.node(id)?.line, "'\(user)' is not a Matrix user id (@name:server)")
                }
                settings.owners[id] = user
            }
            owners.finish()
            settings.watchers = notify.stringList("watchers")
            for (index, user) in settings.watchers.enumerated() where !Self.isMatrixUserID(user) {
                notify.reader.fail(
                    "notify.watchers[\(index)]", notify.node("watchers")?.line, "'\(user)' is not a Matrix user id")
            }
            if room == nil, settings.owners.isEmpty, settings.watchers.isEmpty {
                notify.reader.fail("notify", notify.line, "tells nobody: give a room, owners or watchers")
            }
            settings.language = notify.choice("language", default: settings.language)
            if notify.has("changes") {
                var kinds: Set<ChangeKind> = []
                for name in notify.stringList("changes") {
                    if let kind = ChangeKind(rawValue: name) {
                        kinds.insert(kind)
                    } else {
                        notify.reader.fail(
                            notify.keyPath("changes"), notify.node("changes")?.line,
                            "'\(name)' is not one of: \(ChangeKind.allCases.map(\.rawValue).joined(separator: ", "))")
                    }
                }
                settings.changes = kinds
            }
            settings.recordLink = notify.string("record_link")
            if notify.has("realtime") {
                var kinds: Set<ChangeKind> = []
                for name in notify.stringList("realtime") {
                    if let kind = ChangeKind(rawValue: name) {
                        kinds.insert(kind)
                    } else {
                        notify.reader.fail(
                            notify.keyPath("realtime"), notify.node("realtime")?.line,
                            "'\(name)' is not one of: \(ChangeKind.allCases.map(\.rawValue).joined(separator: ", "))")
                    }
                }
                settings.realtime = kinds
            }
            settings.digestSeconds = notify.int("digest_seconds", default: settings.digestSeconds, in: 1...604_800)
            if !matrix.present {
                notify.reader.fail("notify", notify.line, "needs a matrix section: notices are sent by its bot user")
            }
            self.notify = settings
        }
        notify.finish()

        let archive = top.section("archive")
        self.archive.mode = archive.choice("mode", default: self.archive.mode)
        self.archive.intervalSeconds = archive.int(
            "interval_seconds", default: self.archive.intervalSeconds, in: 1...86_400)
        self.archive.idleTimeoutSeconds = archive.int(
            "idle_timeout_seconds", default: self.archive.idleTimeoutSeconds, in: 1...(30 * 86_400)
        )
        self.archive.target = archive.string("target") ?? self.archive.target
        if self.archive.target != "bottlecrm" {
            archive.reader.fail(
                archive.keyPath("target"), archive.node("target")?.line,
                "'\(self.archive.target)' is not a known CRM connector (bottlecrm)"
            )
        }
        archive.finish()

        let delivery = top.section("delivery")
        self.delivery.maxAttempts = delivery.int("max_attempts", default: self.delivery.maxAttempts, in: 1...1000)
        self.delivery.baseBackoffMilliseconds = delivery.int(
            "base_backoff_ms", default: self.delivery.baseBackoffMilliseconds, in: 1...3_600_000
        )
        self.delivery.maxBackoffMilliseconds = delivery.int(
            "max_backoff_ms", default: self.delivery.maxBackoffMilliseconds, in: 1...86_400_000
        )
        if self.delivery.maxBackoffMilliseconds < self.delivery.baseBackoffMilliseconds {
            delivery.reader.fail(
                delivery.keyPath("max_backoff_ms"), delivery.node("max_backoff_ms")?.line,
                "must be at least base_backoff_ms (\(self.delivery.baseBackoffMilliseconds))")
        }
        self.delivery.timeoutSeconds = delivery.int(
            "timeout_seconds", default: self.delivery.timeoutSeconds, in: 1...600)
        self.delivery.concurrency = delivery.int("concurrency", default: self.delivery.concurrency, in: 1...256)
        delivery.finish()

        let generic = top.section("generic_webhooks")
        for name in generic.keys {
            let source = generic.section(name)
            if name.isEmpty || !name.allSatisfy({ $0.isLetter || $0.isNumber || $0 == "-" || $0 == "_" }) {
                source.reader.fail(source.path, source.line, "source names may hold only letters, digits, - and _")
            }
            let secret = source.secret("secret", required: true) ?? ""
            let employees = Self.readMatcher(source.section("employees"))
            genericSources[name] = GenericSourceSettings(secret: secret, employees: employees ?? .none)
            source.finish()
        }
        // Something must receive the transcripts that the inbound side collects.
        let crmProblems = top.reader.errors.contains { $0.path.hasPrefix("bottlecrm") }
        if bottleCRM == nil, !crmProblems, matrix.present || !genericSources.isEmpty {
            top.reader.fail(
                "bottlecrm", nil,
                "required: transcripts are archived to BottleCRM but no bottlecrm section is configured")
        }
    }

    private static func readMatrix(_ section: ConfigReader.Section) -> MatrixSettings? {
        let homeserver = section.url("homeserver", required: true)
        // The homeserver's token is all that authenticates its calls into the hub.
        let asToken = section.secret("as_token", required: true)
        let hsToken = section.secret("hs_token", required: true)
        let bot = section.string("bot_user", required: true)
        if let bot, !bot.isEmpty, !Self.isMatrixUserID(bot) {
            section.reader.fail(
                section.keyPath("bot_user"), section.node("bot_user")?.line,
                "'\(bot)' is not a Matrix user id (@name:server)")
        }
        let before = section.reader.errors.count
        let employees = readMatcher(section.section("employees"))
        // A pattern already reported as invalid is not also "missing".
        if section.reader.errors.count == before, employees?.isEmpty ?? true {
            section.reader.fail(
                section.keyPath("employees"), section.line, "required: list the employees (users and/or pattern)")
        }
        let customersSection = section.section("customers")
        let beforeCustomers = section.reader.errors.count
        let customers = customersSection.present ? readMatcher(customersSection) : nil
        // Given but empty, it would make nobody a customer: nothing would ever be archived.
        if customersSection.present, section.reader.errors.count == beforeCustomers, customers?.isEmpty ?? true {
            section.reader.fail(
                section.keyPath("customers"), customersSection.line ?? section.line,
                "empty: list the customers (users and/or pattern), or leave the key out to count everyone "
                    + "who is not an employee as a customer")
        }

        var profiles: [String: ProfileOverride] = [:]
        let profileSection = section.section("profiles")
        for user in profileSection.keys {
            let entry = profileSection.section(user)
            if !isMatrixUserID(user) {
                entry.reader.fail(entry.path, entry.line, "'\(user)' is not a Matrix user id (@name:server)")
            }
            profiles[user] = ProfileOverride(
                name: entry.string("name"), email: entry.string("email"), phone: entry.string("phone")
            )
            entry.finish()
        }
        profileSection.finish()
        let close = section.string("close_command") ?? "!close"
        if close.trimmingCharacters(in: .whitespaces).isEmpty {
            section.reader.fail(
                section.keyPath("close_command"), section.node("close_command")?.line,
                "empty: give the command that closes a conversation (!close by default)")
        }
        let adminToken = section.string("admin_token").flatMap { $0.isEmpty ? nil : $0 }
        guard let homeserver, let asToken, let hsToken, let bot, let employees else { return nil }
        return MatrixSettings(
            homeserver: homeserver, asToken: asToken, hsToken: hsToken, botUser: bot, employees: employees,
            customers: customers, profiles: profiles, closeCommand: close, adminToken: adminToken
        )
    }

    /// `users: [...]` and/or `pattern: "regex"`.
    private static func readMatcher(_ section: ConfigReader.Section) -> UserMatcher? {
        defer { section.finish() }
        guard section.present else { return nil }
        let users = section.stringList("users")
        let pattern = section.string("pattern")
        do {
            return try UserMatcher(users: Set(users), pattern: pattern)
        } catch {
            section.reader.fail(
                section.keyPath("pattern"), section.node("pattern")?.line,
                "'\(pattern ?? "")' is not a valid regular expression (ICU syntax, matched against the whole id: "
                    + "check its parentheses, brackets and escapes)")
            return nil
        }
    }

    static func isMatrixUserID(_ text: String) -> Bool {
        guard text.hasPrefix("@"), let colon = text.firstIndex(of: ":") else { return false }
        return colon > text.index(after: text.startIndex) && colon < text.index(before: text.endIndex)
    }

    /// The address the listener binds for a `listen` host: an IPv4 or IPv6 literal as
    /// given (IPv6 without its brackets), `localhost` as 127.0.0.1; nil for anything else
    /// (a name would need a resolver, and could resolve to another address tomorrow).
    static func listenAddress(_ host: String) -> String? {
        if host == "localhost" { return "127.0.0.1" }
        if host.hasPrefix("[") && host.hasSuffix("]") {
            let inner = String(host.dropFirst().dropLast())
            var address = in6_addr()
            return inet_pton(AF_INET6, inner, &address) == 1 ? inner : nil
        }
        var address = in_addr()
        return inet_pton(AF_INET, host, &address) == 1 ? host : nil
    }

    static func hostPort(_ text: String) -> (String, Int)? {
        guard let colon = text.lastIndex(of: ":") else { return nil }
        let host = String(text[..<colon])
        guard !host.isEmpty, let port = Int(text[text.index(after: colon)...]), (0...65535).contains(port) else {
            return nil
        }
        return (host, port)
    }
}
