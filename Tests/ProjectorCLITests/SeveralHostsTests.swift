import Foundation
import GRDB
import ProjectorCore
import ProjectorHost
import ProjectorSQLite
import ProjectorTesting
import Testing

/// Several `projector run` processes over one PostgreSQL log (`PROJECTOR_TEST_POSTGRES`).
@Suite(
    .enabled(if: ProcessInfo.processInfo.environment["PROJECTOR_TEST_POSTGRES"] != nil, "needs PROJECTOR_TEST_POSTGRES (.ci/run sets it)"))
struct SeveralHostsTests {
    let folder = TemporaryFolder()
    let total = 30_000

    func configure(_ directory: String, coordination: String, stores: String) throws {
        let url = ProcessInfo.processInfo.environment["PROJECTOR_TEST_POSTGRES"]!
        let schema = "t_" + UUID().uuidString.lowercased().replacingOccurrences(of: "-", with: "").prefix(12)
        try FileManager.default.createDirectory(atPath: directory + "/projections", withIntermediateDirectories: true)
        try """
        log: \(url)\(url.contains("?") ? "&" : "?")schema=\(schema)
        coordination: \(coordination)
        stores: \(stores)
        batchSize: 200
        """.write(toFile: directory + "/projector.yml", atomically: true, encoding: .utf8)
        // A primary key on the event id: an event applied twice would fail (and be dead-lettered).
        try """
        name: applied
        kind: sql
        setup: CREATE TABLE applied(id TEXT PRIMARY KEY, position INTEGER NOT NULL UNIQUE);
        on:
          Tick: INSERT INTO applied(id, position) VALUES (:id, :position)
        """.write(toFile: directory + "/projections/applied.yml", atomically: true, encoding: .utf8)
    }

    func checkpoint(_ stores: String) async -> Int64 {
        let path = ProjectorHost.storePath(stores, "applied")
        guard FileManager.default.fileExists(atPath: path), let store = try? ProjectionStore(name: "applied", path: path, readOnly: true)
        else { return 0 }
        return (try? await store.checkpoint()?.position) ?? 0
    }

    func start(_ cli: CLI, stderr path: String) throws -> Process {
        _ = FileManager.default.createFile(atPath: path, contents: nil)
        let process = cli.process(["run"])
        process.standardOutput = FileHandle.nullDevice
        process.standardError = try FileHandle(forWritingTo: URL(fileURLWithPath: path))
        try process.run()
        return process
    }

    func holds(_ path: String) -> Bool {
        (try? String(contentsOfFile: path, encoding: .utf8))?.contains("holding projection applied") ?? false
    }

    /// Two hosts share one stores folder: one runs the projection, the other waits; the holder
    /// is killed with SIGKILL and the other takes over within seconds, then projects what is
    /// appended after the kill. Every event is applied exactly once. Then a host with stores of
    /// its own runs everything by itself.
    @Test func aKilledHostsProjectionIsTakenOverAndNothingIsAppliedTwice() async throws {
        let directory = folder.file("shared")
        let stores = directory + "/stores"
        try configure(directory, coordination: "shared", stores: "stores")
        var cli = CLI(directory: directory)
        cli.environment["PROJECTOR_LOG_LEVEL"] = "info"
        let lines = (0..<total).map { #"{"stream":"s-\#($0 % 100)","type":"Tick","data":{"n":\#($0)}}"# }
        let half = total / 2
        let imported = try await cli.run("import", "-", input: lines[..<half].joined(separator: "\n") + "\n")
        #expect(imported.status == 0, "\(imported.stderr)")

        let first = try start(cli, stderr: folder.file("a.log"))
        try await waitUntil { holds(folder.file("a.log")) }
        let second = try start(cli, stderr: folder.file("b.log"))
        defer { second.terminate() }
        try await waitUntil(timeout: .seconds(120)) { await checkpoint(stores) >= 2_000 }
        #expect(!holds(folder.file("b.log")), "both hosts held the projection at once")
        kill(first.processIdentifier, SIGKILL)
        await first.exit()
        let killed = ContinuousClock.now
        try await waitUntil(timeout: .seconds(30)) { holds(folder.file("b.log")) }
        let takeover = ContinuousClock.now - killed
        #expect(takeover < .seconds(10), "took \(takeover) to take over")
        // The rest is appended after the kill, so the second host has work whenever the first stopped.
        let rest = try await cli.run("import", "-", input: lines[half...].joined(separator: "\n") + "\n")
        #expect(rest.status == 0, "\(rest.stderr)")
        try await waitUntil(timeout: .seconds(300)) { await checkpoint(stores) == Int64(total) }

        let store = try ProjectionStore(name: "applied", path: ProjectorHost.storePath(stores, "applied"), readOnly: true)
        let applied = try await store.pool.read { db in try String.fetchAll(db, sql: "SELECT id FROM applied ORDER BY position") }
        let exported = try await cli.run("export")
        let logIDs = exported.stdout.split(separator: "\n").map { line -> String in
            let start = line.range(of: #""id":""#)!.upperBound
            return String(line[start..<line.index(start, offsetBy: 36)])
        }
        #expect(applied.count == total)
        #expect(applied == logIDs)
        let deadLetters = try await cli.run("dead-letters", "--json")
        #expect(deadLetters.stdout.trimmingCharacters(in: .whitespacesAndNewlines) == "[]")

        // A replicated search node: same log, stores of its own, runs everything itself.
        let local = folder.file("local")
        try FileManager.default.createDirectory(atPath: local + "/projections", withIntermediateDirectories: true)
        try String(contentsOfFile: directory + "/projector.yml", encoding: .utf8)
            .replacingOccurrences(of: "coordination: shared", with: "coordination: local")
            .write(toFile: local + "/projector.yml", atomically: true, encoding: .utf8)
        try FileManager.default.copyItem(atPath: directory + "/projections/applied.yml", toPath: local + "/projections/applied.yml")
        let caughtUp = try await CLI(directory: local).run("run", "--once")
        #expect(caughtUp.status == 0, "\(caughtUp.stderr)")
        #expect(await checkpoint(local + "/stores") == Int64(total))
    }
}
