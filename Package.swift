// swift-tools-version: 6.1
import PackageDescription

/// One set of settings for every target, as Hummingbird does.
let swiftSettings: [SwiftSetting] = [
    .enableUpcomingFeature("ExistentialAny"),
    .enableUpcomingFeature("MemberImportVisibility"),
    .enableUpcomingFeature("InternalImportsByDefault"),
]

let package = Package(
    name: "projector",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "projector", targets: ["projector"]),
        .library(name: "ProjectorCore", targets: ["ProjectorCore"]),
        .library(name: "ProjectorSQLite", targets: ["ProjectorSQLite"]),
        .library(name: "ProjectorSearch", targets: ["ProjectorSearch"]),
        .library(name: "ProjectorReports", targets: ["ProjectorReports"]),
        .library(name: "ProjectorPostgres", targets: ["ProjectorPostgres"]),
        .library(name: "ProjectorHost", targets: ["ProjectorHost"]),
        .library(name: "ProjectorSpecs", targets: ["ProjectorSpecs"]),
        .library(name: "ProjectorWasm", targets: ["ProjectorWasm"]),
        .library(name: "ProjectorServer", targets: ["ProjectorServer"]),
        .library(name: "ProjectorTesting", targets: ["ProjectorTesting"]),
        // For applications' own packages: typed events from their Schemas/, and new projections.
        .plugin(name: "ProjectorSchemaPlugin", targets: ["ProjectorSchemaPlugin"]),
        .plugin(name: "ScaffoldProjection", targets: ["ScaffoldProjection"]),
    ],
    dependencies: [
        .package(url: "https://github.com/groue/GRDB.swift", from: "7.10.0"),
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", from: "2.13.0"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        .package(url: "https://github.com/jpsim/Yams", from: "6.2.2"),
        .package(url: "https://github.com/hummingbird-project/hummingbird", from: "2.28.1"),
        .package(url: "https://github.com/apple/swift-metrics", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus", from: "2.4.1"),
        .package(url: "https://github.com/apple/swift-http-types", from: "1.8.0"),
        .package(url: "https://github.com/vapor/postgres-nio", from: "1.33.2"),
        .package(url: "https://github.com/apple/swift-nio", from: "2.101.2"),
        .package(url: "https://github.com/apple/swift-nio-extras", from: "1.35.2"),
        .package(url: "https://github.com/swiftwasm/WasmKit", exact: "0.4.2"),
        // HMAC-SHA256 for API keys and tenant tokens (PostgresNIO builds it already).
        .package(url: "https://github.com/apple/swift-crypto", "3.12.3"..<"5.0.0"),
    ],
    targets: [
        // The contract: events, positions, the Projection protocol, errors. No GRDB.
        .target(name: "ProjectorCore", swiftSettings: swiftSettings),
        // The embedded event log and the per-projection stores (GRDB, WAL).
        .target(
            name: "ProjectorSQLite",
            dependencies: [
                "ProjectorCore", .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "GRDBSQLite", package: "GRDB.swift"),
            ],
            swiftSettings: swiftSettings
        ),
        // The PostgreSQL log (gap-safe tailing, LISTEN/NOTIFY, leases) and existing stores read in
        // place (Python eventsourcing, Message DB).
        .target(
            name: "ProjectorPostgres",
            dependencies: [
                "ProjectorCore", .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: swiftSettings
        ),
        // libxml2's HTML parser, for html fields of search specs.
        .systemLibrary(name: "CLibXML2", pkgConfig: "libxml-2.0", providers: [.apt(["libxml2-dev"])]),
        .target(name: "CHTMLText", dependencies: ["CLibXML2"]),
        // FTS5's C extension API: a ranking function and direct use of its tokenizers.
        .target(name: "CFTS5", linkerSettings: [.linkedLibrary("sqlite3"), .linkedLibrary("m")]),
        // Search projections (FTS5) and the query engine.
        .target(
            name: "ProjectorSearch",
            dependencies: [
                "ProjectorCore", "ProjectorSQLite", "CHTMLText", "CFTS5", .product(name: "GRDB", package: "GRDB.swift"),
            ],
            swiftSettings: swiftSettings
        ),
        // SQL reporting projections (kind: sql specs), checked in a sandbox before they run.
        .target(
            name: "ProjectorReports",
            dependencies: [
                "ProjectorCore", "ProjectorSQLite", .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "GRDBSQLite", package: "GRDB.swift"),
            ],
            swiftSettings: swiftSettings
        ),
        // Schemas/ → Swift (typed event structs, schema texts), run by the build-tool plugin.
        .executableTarget(name: "projector-schema-gen", swiftSettings: swiftSettings),
        .plugin(name: "ProjectorSchemaPlugin", capability: .buildTool(), dependencies: ["projector-schema-gen"]),
        .plugin(
            name: "ScaffoldProjection",
            capability: .command(
                intent: .custom(
                    verb: "scaffold-projection", description: "Write a new Swift projection, its event schema and a test"),
                permissions: [
                    .writeToPackageDirectory(reason: "Writes the projection's source, schema (Schemas/) and test files")
                ])
        ),
        // Test support shared by the test targets (and by applications testing projections).
        .target(name: "ProjectorTesting", dependencies: ["ProjectorCore"], swiftSettings: swiftSettings),
        // The runtime host: runners, the shared batch reader, generations, dead letters, status,
        // import, leases. Runs any Projection; knows nothing of spec files.
        .target(
            name: "ProjectorHost",
            dependencies: [
                "ProjectorCore", "ProjectorSQLite",
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "UnixSignals", package: "swift-service-lifecycle"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
            ],
            swiftSettings: swiftSettings
        ),
        // The spec layer: projector.yml, spec files and their schemas, the registry of projection
        // kinds (sql, search, ...), the catalog, `validate` and the folder watcher.
        .target(
            name: "ProjectorSpecs",
            dependencies: [
                "ProjectorCore", "ProjectorSQLite", "ProjectorHost", "ProjectorSearch", "ProjectorReports",
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Yams", package: "Yams"),
            ],
            swiftSettings: swiftSettings,
            plugins: ["ProjectorSchemaPlugin"]
        ),
        // kind: wasm: sandboxed WebAssembly plugins (WasmKit), ABI 1, registered by the CLI.
        .target(
            name: "ProjectorWasm",
            dependencies: [
                "ProjectorCore", "ProjectorSQLite", "ProjectorSearch", "ProjectorReports", "ProjectorSpecs",
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "GRDBSQLite", package: "GRDB.swift"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "WasmKit", package: "WasmKit"),
                .product(name: "WasmParser", package: "WasmKit"),
            ],
            swiftSettings: swiftSettings
        ),
        // What `serve --demo` brings: sample events, example specs, a Swift projection.
        .target(
            name: "ProjectorDemo",
            dependencies: ["ProjectorCore", .product(name: "GRDB", package: "GRDB.swift")],
            resources: [
                .copy("Resources/sample-events.ndjson"), .copy("Resources/course-events.ndjson"),
                .copy("Resources/examples"),
            ],
            swiftSettings: swiftSettings
        ),
        // HTTP: the API, metrics and the web page (Hummingbird 2).
        .target(
            name: "ProjectorServer",
            dependencies: [
                "ProjectorCore", "ProjectorSQLite", "ProjectorSearch", "ProjectorHost", "ProjectorSpecs",
                .product(name: "Hummingbird", package: "hummingbird"), .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOHTTPTypes", package: "swift-nio-extras"),
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: swiftSettings
        ),
        // The thin command-line front end.
        .executableTarget(
            name: "projector",
            dependencies: [
                "ProjectorCore", "ProjectorSQLite", "ProjectorHost", "ProjectorSpecs", "ProjectorDemo", "ProjectorSearch",
                "ProjectorServer", "ProjectorPostgres", "ProjectorWasm",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "UnixSignals", package: "swift-service-lifecycle"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: swiftSettings
        ),
        .testTarget(name: "ProjectorCoreTests", dependencies: ["ProjectorCore", "ProjectorTesting"], swiftSettings: swiftSettings),
        .testTarget(
            name: "ProjectorSearchTests",
            dependencies: [
                "ProjectorTesting", "ProjectorCore", "ProjectorSQLite", "ProjectorSearch", "ProjectorHost", "ProjectorSpecs",
                "ProjectorDemo",
                .product(name: "GRDB", package: "GRDB.swift"), .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "ProjectorSQLiteTests",
            dependencies: ["ProjectorTesting", "ProjectorCore", "ProjectorSQLite", .product(name: "GRDB", package: "GRDB.swift")],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "ProjectorHostTests",
            dependencies: [
                "ProjectorTesting", "ProjectorCore", "ProjectorSQLite", "ProjectorHost", "ProjectorSpecs", "ProjectorDemo",
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Logging", package: "swift-log"), .product(name: "Yams", package: "Yams"),
            ],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "ProjectorServerTests",
            dependencies: [
                "ProjectorTesting", "ProjectorCore", "ProjectorSQLite", "ProjectorHost", "ProjectorSpecs", "ProjectorDemo",
                "ProjectorSearch", "ProjectorServer",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdTesting", package: "hummingbird"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "Yams", package: "Yams"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "GRDB", package: "GRDB.swift"),
            ],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "ProjectorPostgresTests",
            dependencies: [
                "ProjectorTesting", "ProjectorCore", "ProjectorSQLite", "ProjectorPostgres", "ProjectorHost", "ProjectorSpecs",
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "GRDB", package: "GRDB.swift"), .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "ProjectorWasmTests",
            dependencies: [
                "ProjectorTesting", "ProjectorCore", "ProjectorSQLite", "ProjectorHost", "ProjectorSpecs", "ProjectorSearch",
                "ProjectorWasm", "ProjectorDemo", .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "Logging", package: "swift-log"), .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "ProjectorCLITests",
            dependencies: [
                "ProjectorTesting", "projector", "ProjectorCore", "ProjectorSQLite", "ProjectorHost", "ProjectorSpecs", "ProjectorDemo",
                .product(name: "GRDB", package: "GRDB.swift"), .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: swiftSettings
        ),
    ]
)

// Benchmarks build only when asked for, so users and CI never compile them:
//   PROJECTOR_BENCHMARKS=1 swift run -c release ProjectorBenchmarks spine --events debian.ndjson
if Context.environment["PROJECTOR_BENCHMARKS"] == "1" {
    package.targets.append(.target(name: "CMallocInfo", path: "Tests/Benchmarks/CMallocInfo"))
    package.targets.append(
        .target(name: "CRawIndexer", path: "Tests/Benchmarks/CRawIndexer", linkerSettings: [.linkedLibrary("sqlite3")]))
    package.targets.append(
        .executableTarget(
            name: "ProjectorBenchmarks",
            dependencies: [
                "CMallocInfo", "CRawIndexer", "ProjectorCore", "ProjectorSQLite", "ProjectorHost", "ProjectorSpecs", "ProjectorSearch",
                "ProjectorReports", "ProjectorPostgres", "ProjectorWasm", "ProjectorServer", "ProjectorTesting",
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "GRDBSQLite", package: "GRDB.swift"),
                .product(name: "Logging", package: "swift-log"),
            ],
            path: "Tests/Benchmarks/ProjectorBenchmarks",
            swiftSettings: swiftSettings
        ))
}
