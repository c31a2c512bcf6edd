import Foundation
import GRDB
import Logging
import ProjectorCore
import ProjectorDemo
import ProjectorHost
import ProjectorSQLite
import ProjectorSpecs
import ProjectorTesting
import ServiceLifecycle
import Testing

@Suite struct ProjectionReloadTests {
    let folder = TemporaryFolder()

    static let counts = """
        name: counts
        kind: sql
        setup: CREATE TABLE counts(stream TEXT PRIMARY KEY, n INTEGER NOT NULL);
        on:
          Deposited: INSERT INTO counts VALUES (:stream, 1) ON CONFLICT(stream) DO UPDATE SET n = n + 1
        """

    func position(_ host: ProjectorHost, _ name: String) async throws -> Int64? {
        try await host.runner(named: name)?.store.checkpoint()?.position
    }

    func deposits(_ count: Int) -> [ProposedEvent] {
        (0..<count).map { ProposedEvent(stream: "acc-\($0 % 5)", type: "Deposited", data: #"{"amount":1}"#) }
    }

    @Test func aSpecAddedToARunningHostCatchesUpFollowsLiveAndIsStoppedWhenChangedOrRemoved() async throws {
        let configuration = try ProjectorConfiguration.load(environment: [:], workingDirectory: folder.path)
        try FileManager.default.createDirectory(atPath: configuration.projections, withIntermediateDirectories: true)
        let log = try SQLiteEventLog(path: folder.file("events.sqlite"))
        _ = try await log.append(deposits(1_200))
        var logger = Logger(label: "test")
        logger.logLevel = .critical
        let host = try ProjectorHost(
            log: log, projections: ProjectionCatalog.load(configuration, builtIn: [BankAccountsProjection()]).projections,
            storesFolder: configuration.stores,
            configuration: .init(batchSize: 100), logger: logger)
        let watcher = ProjectionFolderWatcher(
            host: host, configuration: configuration, builtIn: [BankAccountsProjection()], interval: .milliseconds(20), logger: logger)
        let group = ServiceGroup(services: [host, watcher], logger: logger)
        try await withThrowingTaskGroup { tasks in
            tasks.addTask { try await group.run() }
            try await waitUntil { try await position(host, "accounts") == 1_200 }
            #expect(host.runner(named: "counts") == nil)

            // Added while running: built from position 0, then live, while accounts stays live.
            let spec = configuration.projections + "/counts.yml"
            try Self.counts.write(toFile: spec, atomically: true, encoding: .utf8)
            try await waitUntil { try await position(host, "counts") == 1_200 }
            _ = try await log.append(deposits(10))
            try await waitUntil {
                let counts = try await position(host, "counts")
                let accounts = try await position(host, "accounts")
                return counts == 1_210 && accounts == 1_210
            }
            let total = try await host.runner(named: "counts")!.store.pool.read { db in
                try Int.fetchOne(db, sql: "SELECT sum(n) FROM counts")
            }
            #expect(total == 1_210)

            // Changed: a new generation is built by the new definition and swapped in; the old
            // one answered meanwhile and is kept as previous.
            let firstGeneration = try #require(host.runner(named: "counts")).store.path
            try Self.counts.replacingOccurrences(of: "n + 1", with: "n + 2").write(toFile: spec, atomically: true, encoding: .utf8)
            try await waitUntil {
                guard let runner = host.runner(named: "counts"), runner.store.path != firstGeneration else { return false }
                return try await runner.store.checkpoint()?.position == 1_210
            }
            let doubled = try await host.runner(named: "counts")!.store.pool.read { db in
                try Int.fetchOne(db, sql: "SELECT sum(n) FROM counts")
            }
            #expect(doubled == 1_210 * 2 - 5, "every deposit counts 2, but a stream's first")

            // Removed: stopped, the store (and its data) kept; the others go on.
            try FileManager.default.removeItem(atPath: spec)
            try await waitUntil { host.runner(named: "counts") == nil }
            _ = try await log.append(deposits(5))
            try await waitUntil { try await position(host, "accounts") == 1_215 }
            let kept = try ProjectionStore(name: "counts", path: ProjectorHost.storePath(configuration.stores, "counts"))
            #expect(try await kept.checkpoint()?.position == 1_210)
            #expect(try await kept.pool.read { db in try Int.fetchOne(db, sql: "SELECT sum(n) FROM counts") } == 1_210 * 2 - 5)

            await group.triggerGracefulShutdown()
            try await tasks.waitForAll()
        }
    }

    @Test func updateReportsWhatChanged() async throws {
        let log = try SQLiteEventLog(path: folder.file("events.sqlite"))
        let host = try ProjectorHost(log: log, projections: [BankAccountsProjection()], storesFolder: folder.file("stores"))
        let first = try host.update([BankAccountsProjection(), BankAccountsProjection(name: "second")])
        #expect(first == .init(added: ["second"], changed: [], removed: []))
        let second = try host.update([BankAccountsProjection(name: "second")])
        #expect(second == .init(added: [], changed: [], removed: ["accounts"]))
        #expect(host.runners.map(\.name) == ["second"])
        #expect(throws: ProjectorError.self) { try host.update([BankAccountsProjection(name: "Bad Name")]) }
    }
}
