import Foundation
import GRDB
import Logging
import PostgresNIO
import ProjectorCore
import ProjectorHost
import ProjectorPostgres
import ProjectorSQLite
import ProjectorSpecs
import ProjectorTesting
import Testing

/// Events written by the Python `eventsourcing` library (installed from PyPI by `.ci/run`),
/// read in place from its PostgreSQL and SQLite stores and projected by a spec.
@Suite(.enabled(if: TestPython.path != nil, "set PROJECTOR_TEST_PYTHON to a python with eventsourcing (.ci/run does)"))
struct EventsourcingTests {
    static let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Fixtures/eventsourcing_writer.py").path

    let folder = TemporaryFolder()

    static let dogsSpec = """
        name: dogs
        kind: sql
        setup: |
          CREATE TABLE dogs(id TEXT PRIMARY KEY, name TEXT NOT NULL, tricks TEXT NOT NULL DEFAULT '[]', version INTEGER NOT NULL);
        on:
          Dog.Registered: INSERT INTO dogs(id, name, version) VALUES (replace(:stream, '-', ''), :data ->> '$.name', :version)
          Dog.TrickAdded: |
            UPDATE dogs SET tricks = json_insert(tricks, '$[#]', :data ->> '$.trick'), version = :version
            WHERE id = replace(:stream, '-', '')
        """

    struct Dog: Decodable, Equatable {
        var name: String
        var tricks: [String]
        var version: Int
    }

    /// Runs the writer script; returns the dogs it wrote.
    func write(_ arguments: [String]) async throws -> [String: Dog] {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: TestPython.path!)
        process.arguments = [Self.script] + arguments
        let out = Pipe()
        process.standardOutput = out
        try process.run()
        // Off the cooperative pool: a detached task would block one of its threads meanwhile.
        let data = await withCheckedContinuation { continuation in
            DispatchQueue.global().async {
                let data = out.fileHandleForReading.readDataToEndOfFile()
                process.waitUntilExit()
                continuation.resume(returning: data)
            }
        }
        #expect(process.terminationStatus == 0)
        struct Output: Decodable { var dogs: [String: Dog] }
        return try JSONDecoder().decode(Output.self, from: data).dogs
    }

    func host(_ log: any EventLog) throws -> ProjectorHost {
        let spec = folder.file("dogs.yml")
        try Self.dogsSpec.write(toFile: spec, atomically: true, encoding: .utf8)
        var logger = Logger(label: "test")
        logger.logLevel = .critical
        return try ProjectorHost(
            log: log, projections: [try ProjectionCatalog.spec(at: spec)], storesFolder: folder.file("stores"), logger: logger)
    }

    func dogs(_ host: ProjectorHost) async throws -> [String: Dog] {
        try await host.runners[0].store.pool.read { db in
            var dogs: [String: Dog] = [:]
            for row in try Row.fetchAll(db, sql: "SELECT id, name, tricks, version FROM dogs") {
                let tricks = try JSONDecoder().decode([String].self, from: Data((row[2] as String).utf8))
                dogs[row[0]] = Dog(name: row[1], tricks: tricks, version: row[3])
            }
            return dogs
        }
    }

    /// Catch-up of what was written before, then live: the tailer wakes on the library's NOTIFY.
    @Test(.enabled(if: TestPostgres.available)) func postgresStoreIsProjectedInPlace() async throws {
        let location = try TestPostgres.location()
        let schema = TestPostgres.schema()
        try await TestPostgres.withClient { client in _ = try await client.query("CREATE SCHEMA \(unescaped: schema)") }
        let connection = [location.host, "\(location.port)", location.user, location.database, schema]
        let early = try await write(["postgres"] + connection + ["early", "40"])
        let log = EventsourcingPostgresLog(location: try TestPostgres.location(["schema": schema, "table": "dogschool_events"]))
        try await log.whileRunning {
            let host = try host(log)
            let running = Task { try await host.run() }
            defer { running.cancel() }
            try await waitUntil { (try? await dogs(host))?.count == early.count }
            let expected = early.merging(try await write(["postgres"] + connection + ["late", "40"])) { $1 }
            try await waitUntil { try await dogs(host).count == expected.count }
            #expect(try await dogs(host) == expected)
            let head = try await log.head()
            #expect(host.runners[0].current.position == head)
            #expect(try await log.hasEvents(ofType: "Dog.TrickAdded"))
            await #expect(throws: ProjectorError.self) { try await log.append([ProposedEvent(stream: "s", type: "T", data: "{}")]) }
        }
    }

    @Test func sqliteStoreIsProjectedInPlace() async throws {
        let path = folder.file("dogs.sqlite")
        let expected = try await write(["sqlite", path, "s", "60"])
        let log = try EventsourcingSQLiteLog(path: path)
        let host = try host(log)
        try await host.catchUp()
        #expect(try await dogs(host) == expected)
        let events = try await log.read(after: 0, limit: 1000)
        #expect(events.map(\.position) == Array(1...Int64(events.count)))
        // Each read maps a row to the same event, id included.
        #expect(try await log.read(after: 0, limit: 1000) == events)
        let first = try #require(events.first)
        #expect(first.type == "Dog.Registered" && first.version == 1 && first.data.contains("\"name\":\"s-"))
        #expect(first.metadata.contains("\"topic\":\"__main__:Dog.Registered\""))
    }
}

/// The Python the tests run the `eventsourcing` library with: `PROJECTOR_TEST_PYTHON`.
enum TestPython {
    static let path = ProcessInfo.processInfo.environment["PROJECTOR_TEST_PYTHON"].flatMap { $0.isEmpty ? nil : $0 }
}
