public import GRDB
public import Logging
public import ProjectorCore
import ProjectorSQLite
public import ServiceLifecycle

/// The projector host: runs every registered projection against one log.
///
/// One ``BatchReader`` serves all runners, so a batch is read from the log once however many
/// projections consume it. Each runner commits to its own store, so projections never wait for
/// each other and one failure stops only its own projection. Run it in a `ServiceGroup`: on
/// SIGINT/SIGTERM each runner finishes the transaction in flight and the host returns.
public final class ProjectorHost: Service, Sendable {
    public struct Configuration: Sendable {
        /// Events read from the log per batch (and applied per transaction).
        public var batchSize: Int

        public init(batchSize: Int = 1000) {
            self.batchSize = batchSize
        }
    }

    public let log: any EventLog
    public let runners: [ProjectionRunner]
    public let reader: BatchReader
    private let logger: Logger

    /// Opens (creating when needed) one store per projection in `storesFolder`.
    public init(
        log: any EventLog, projections: [any Projection<Database>], storesFolder: String,
        configuration: Configuration = .init(), logger: Logger = Logger(label: "projector")
    ) throws {
        var seen = Set<String>()
        for projection in projections {
            guard ProjectionName.isValid(projection.name) else {
                throw ProjectorError(.invalidSpec, "invalid projection name '\(projection.name)': use [a-z0-9_-]+")
            }
            guard seen.insert(projection.name).inserted else {
                throw ProjectorError(.invalidSpec, "two projections are named '\(projection.name)'")
            }
        }
        self.log = log
        self.logger = logger
        self.reader = BatchReader(log: log, batchSize: configuration.batchSize)
        self.runners = try projections.map { projection in
            ProjectionRunner(
                projection: projection,
                store: try ProjectionStore(name: projection.name, path: Self.storePath(storesFolder, projection.name)),
                logger: logger)
        }
    }

    /// Where a projection's store lives.
    public static func storePath(_ folder: String, _ name: String) -> String {
        (folder.hasSuffix("/") ? folder : folder + "/") + name + ".sqlite"
    }

    /// Catches up, then follows the log live until graceful shutdown.
    public func run() async throws {
        try await run(only: nil, until: nil)
    }

    /// Runs the selected runners (all when `only` is nil) until they reach `until` (nil: forever).
    public func run(only: Set<String>?, until target: Int64?) async throws {
        let selected = try select(only)
        let reader = self.reader
        await withDiscardingTaskGroup { group in
            for runner in selected {
                group.addTask { await runner.run(reader: reader, until: target) }
            }
        }
    }

    /// Brings the selected projections up to the log's current head and returns.
    @discardableResult
    public func catchUp(only: Set<String>? = nil) async throws -> Int64 {
        let head = try await log.head()
        try await run(only: only, until: head)
        return head
    }

    /// Drop-and-replay rebuild: resets the projection's store and replays the log to its head.
    public func rebuild(_ name: String) async throws -> Checkpoint {
        let runner = try select([name])[0]
        try await runner.reset()
        let head = try await log.head()
        return await runner.run(reader: reader, until: head)
    }

    public func runner(named name: String) -> ProjectionRunner? {
        runners.first { $0.name == name }
    }

    private func select(_ only: Set<String>?) throws -> [ProjectionRunner] {
        guard let only else { return runners }
        for name in only where runner(named: name) == nil {
            let known = runners.map(\.name).sorted().joined(separator: ", ")
            throw ProjectorError(.notFound, "no projection named '\(name)' (known: \(known.isEmpty ? "none" : known))")
        }
        return runners.filter { only.contains($0.name) }
    }
}
