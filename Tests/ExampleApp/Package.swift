// swift-tools-version: 6.1
// An application's own package using Projector: its events described in Schemas/ (typed
// structs by ProjectorSchemaPlugin), its projection in Swift, run in Projector's host.
// CI builds and tests it from a clean clone, after scaffolding one more projection into it.
import Foundation
import PackageDescription

// Where Projector is: this repository by default; CI points a copy of this package at it.
let projectorPath = Context.environment["PROJECTOR_PACKAGE_PATH"] ?? "../.."
// A path dependency's identity is its folder name, whatever the clone was called.
let projector = URL(fileURLWithPath: projectorPath, relativeTo: URL(fileURLWithPath: Context.packageDirectory + "/"))
    .standardizedFileURL.lastPathComponent

let package = Package(
    name: "ticket-app",
    platforms: [.macOS(.v15)],
    dependencies: [
        .package(path: projectorPath),
        // Projections write through GRDB's Database, the handle the host passes in.
        .package(url: "https://github.com/groue/GRDB.swift", from: "7.10.0"),
    ],
    targets: [
        .target(
            name: "TicketProjections",
            dependencies: [
                .product(name: "ProjectorCore", package: projector),
                .product(name: "GRDB", package: "GRDB.swift"),
            ],
            plugins: [.plugin(name: "ProjectorSchemaPlugin", package: projector)]
        ),
        .executableTarget(
            name: "ticket-host",
            dependencies: [
                "TicketProjections",
                .product(name: "ProjectorCore", package: projector),
                .product(name: "ProjectorHost", package: projector),
                .product(name: "ProjectorSQLite", package: projector),
            ]
        ),
        .testTarget(
            name: "TicketProjectionsTests",
            dependencies: [
                "TicketProjections",
                .product(name: "ProjectorCore", package: projector),
                .product(name: "ProjectorHost", package: projector),
                .product(name: "ProjectorSQLite", package: projector),
                .product(name: "ProjectorTesting", package: projector),
                // For the tests of WebAssembly plugins (`scaffold-projection NAME --wasm c|rust`).
                .product(name: "ProjectorSpecs", package: projector),
                .product(name: "ProjectorWasm", package: projector),
                .product(name: "GRDB", package: "GRDB.swift"),
            ]
        ),
    ]
)
