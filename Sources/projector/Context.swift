import ArgumentParser
import Foundation
import GRDB
import Logging
import ProjectorCore
import ProjectorHost

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
            configuration: .init(batchSize: configuration.batchSize), logger: logger)
    }
}
