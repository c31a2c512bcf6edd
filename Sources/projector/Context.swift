import ArgumentParser
import Foundation
import GRDB
import Logging
import ProjectorCore
import ProjectorHost
import ProjectorSQLite

/// Options every command shares.
struct GlobalOptions: ParsableArguments {
    @Option(name: .long, help: "Configuration file (default: ./projector.yml, or env PROJECTOR_CONFIG).")
    var config: String?

    func configuration() throws -> ProjectorConfiguration {
        try ProjectorConfiguration.load(explicitPath: config)
    }

    func log(_ configuration: ProjectorConfiguration) throws -> any EventLog {
        try EventLogFactory.open(configuration)
    }

    func host(_ configuration: ProjectorConfiguration, log: any EventLog, demo: Bool = false) throws -> ProjectorHost {
        var logger = Logger(label: "projector")
        logger.logLevel = ProcessInfo.processInfo.environment["PROJECTOR_LOG_LEVEL"].flatMap { Logger.Level(rawValue: $0) } ?? .info
        let catalog = ProjectionCatalog.load(configuration)
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
