// swift-tools-version:6.0
import PackageDescription

// Layers, top to bottom (dependencies point down only):
//   liaison (CLI) → LiaisonServer → LiaisonSync → LiaisonConnectors → LiaisonStore → LiaisonCore → C shims
let package = Package(
    name: "Liaison",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "liaison", targets: ["liaison"])
    ],
    targets: [
        // C libraries from Debian, each behind a module map.
        .systemLibrary(name: "CSQLite", pkgConfig: "sqlite3", providers: [.apt(["libsqlite3-dev"])]),
        .systemLibrary(name: "CMicroHTTPD", pkgConfig: "libmicrohttpd", providers: [.apt(["libmicrohttpd-dev"])]),
        .systemLibrary(name: "COpenSSL", pkgConfig: "libcrypto", providers: [.apt(["libssl-dev"])]),
        .systemLibrary(name: "CYAML", pkgConfig: "yaml-0.1", providers: [.apt(["libyaml-dev"])]),

        // libphonenumber (C++) behind a plain C header; Debian ships no .pc file for it.
        .target(
            name: "CPhoneNumber",
            linkerSettings: [.linkedLibrary("phonenumber"), .linkedLibrary("protobuf")]
        ),

        // Pure: model, configuration, policy, timing decisions. No I/O, no clock it is not given.
        .target(name: "LiaisonCore", dependencies: ["CYAML", "COpenSSL", "CPhoneNumber"]),
        // Durable state: event log, conversations, outbox, delivery ledger. SQL lives only here.
        .target(name: "LiaisonStore", dependencies: ["LiaisonCore", "CSQLite"]),
        // One folder per connected system: inbound decode/verify, outbound client.
        .target(name: "LiaisonConnectors", dependencies: ["LiaisonCore"]),
        // Pipeline, scheduler, outbox worker, retry policy.
        .target(name: "LiaisonSync", dependencies: ["LiaisonCore", "LiaisonStore", "LiaisonConnectors"]),
        // HTTP listener (libmicrohttpd), routes, metrics, service lifecycle.
        .target(
            name: "LiaisonServer",
            dependencies: ["LiaisonCore", "LiaisonStore", "LiaisonConnectors", "LiaisonSync", "CMicroHTTPD"]
        ),
        // jemalloc replaces glibc's malloc in the server process: requests allocate on the HTTP
        // threads and are freed on the commit thread, which glibc's arenas serve poorly
        // (docs/BENCHMARKS.md). The executable needs it before libc, so its malloc is the one
        // every library in the process uses.
        .executableTarget(
            name: "liaison",
            dependencies: ["LiaisonCore", "LiaisonStore", "LiaisonConnectors", "LiaisonSync", "LiaisonServer"],
            linkerSettings: [.linkedLibrary("jemalloc", .when(platforms: [.linux]))]
        ),

        // Contract simulators and helpers shared by the test targets (never linked into liaison).
        .target(name: "LiaisonTestSupport", dependencies: ["LiaisonServer", "LiaisonCore"], path: "Tests/Support"),

        .testTarget(name: "LiaisonCoreTests", dependencies: ["LiaisonCore"]),
        .testTarget(name: "LiaisonStoreTests", dependencies: ["LiaisonStore", "LiaisonCore", "LiaisonTestSupport"]),
        .testTarget(
            name: "LiaisonConnectorsTests",
            dependencies: ["LiaisonConnectors", "LiaisonCore", "LiaisonTestSupport"]
        ),
        .testTarget(
            name: "LiaisonServerTests",
            dependencies: [
                "LiaisonServer", "LiaisonSync", "LiaisonConnectors", "LiaisonStore", "LiaisonCore",
                "LiaisonTestSupport",
            ]
        ),
        // Drives the real `liaison` binary against real Synapse and BottleCRM (started by `make test`).
        .testTarget(
            name: "IntegrationTests",
            dependencies: ["LiaisonCore", "LiaisonStore", "LiaisonConnectors", "LiaisonTestSupport"]),
    ],
    cxxLanguageStandard: .cxx17
)
