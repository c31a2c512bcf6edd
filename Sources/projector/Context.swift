import ArgumentParser
import Foundation
import GRDB
import Logging
import ProjectorCore
import ProjectorDemo
import ProjectorHost
import ProjectorSQLite
import ProjectorSpecs
import ProjectorWasm

/// Options every command shares.
struct GlobalOptions: ParsableArguments {
    @Option(name: .long, help: "Configuration file (default: ./projector.yml, or env PROJECTOR_CONFIG).")
    var config: String?

    /// The Swift projections compiled into this binary, run beside the specs.
    static var builtIn: [any Projection<Database>] { [BankAccountsProjection()] }
    /// The spec kinds this binary reads: sql, search, and WebAssembly plugins.
    static let kinds = ProjectionKinds.standard.adding(WasmKind())

    func configuration() throws -> ProjectorConfiguration {
        try ProjectorConfiguration.load(explicitPath: config)
    }

    func log(_ configuration: ProjectorConfiguration) throws -> any EventLog {
        try EventLogFactory.open(configuration)
    }

    /// The log for commands that only read it: opened read-only, and an embedded log that does
    /// not exist is an error (a mistyped path must not create files).
    func existingLog(_ configuration: ProjectorConfiguration) throws -> any EventLog {
        if case .sqlite(let path) = configuration.log, !FileManager.default.fileExists(atPath: path) {
            throw ProjectorError(
                .notFound,
                "no event log at \(path): append or import events first, or check the log setting\(configuration.file.map { " in \($0)" } ?? "")"
            )
        }
        return try EventLogFactory.open(configuration, readOnly: true)
    }

    func host(_ configuration: ProjectorConfiguration, log: any EventLog, demo: Bool = false) throws -> ProjectorHost {
        var logger = Logger(label: "projector")
        logger.logLevel = ProcessInfo.processInfo.environment["PROJECTOR_LOG_LEVEL"].flatMap { Logger.Level(rawValue: $0) } ?? .info
        let catalog = ProjectionCatalog.load(configuration, kinds: Self.kinds, builtIn: Self.builtIn)
        for problem in catalog.problems { Terminal.error(problem) }
        return try ProjectorHost(
            log: log, projections: catalog.projections, storesFolder: configuration.stores,
            configuration: .init(batchSize: configuration.batchSize, leases: try EventLogFactory.leases(configuration)),
            logger: logger)
    }

    /// A projection's store opened read-only for queries; it must exist already.
    func existingStore(_ name: String, _ configuration: ProjectorConfiguration) throws -> ProjectionStore {
        let path = ProjectorHost.storePath(configuration.stores, name)
        guard FileManager.default.fileExists(atPath: path) else {
            throw ProjectorError(.notFound, "projection '\(name)' has no store yet: run `projector run --once` first")
        }
        return try ProjectionStore(name: name, path: path, readOnly: true)
    }
}
