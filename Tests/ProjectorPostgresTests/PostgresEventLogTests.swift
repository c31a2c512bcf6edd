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
import Synchronization
import Testing

@Suite(.enabled(if: TestPostgres.available, "set PROJECTOR_TEST_POSTGRES to a postgres:// URL (.ci/run does)"))
struct PostgresEventLogTests {
    let folder = TemporaryFolder()
    let schema = TestPostgres.schema()

    func makeLog() throws -> PostgresEventLog {
        try PostgresEventLog(url: TestPostgres.url(["schema": schema]), configuration: .init(pollInterval: .milliseconds(200)))
    }

    /// A projection that records every event it is given, with a primary key on the id: an event
    /// applied twice fails (and would be dead-lettered), one never applied is missing.
    static let appliedSpec = """
        name: applied
        kind: sql
        setup: |
          CREATE TABLE applied(id TEXT PRIMARY KEY, position INTEGER NOT NULL UNIQUE, stream TEXT NOT NULL, version INTEGER NOT NULL);
        on:
          Tick: INSERT INTO applied(id, position, stream, version) VALUES (:id, :position, :stream, :version)
        """

    func host(_ log: any EventLog) throws -> ProjectorHost {
        let spec = folder.file("applied.yml")
        try Self.appliedSpec.write(toFile: spec, atomically: true, encoding: .utf8)
        var logger = Logger(label: "test")
        logger.logLevel = .critical
        return try ProjectorHost(
            log: log, projections: [try ProjectionCatalog.spec(at: spec)], storesFolder: folder.file("stores"), logger: logger)
    }

    func applied(_ host: ProjectorHost) async throws -> [(id: String, position: Int64)] {
        try await host.runners[0].store.pool.read { db in
            try Row.fetchAll(db, sql: "SELECT id, position FROM applied ORDER BY position").map { ($0[0], $0[1]) }
        }
    }

    func tick(_ stream: String, _ n: Int, id: UUID? = nil, expected: ExpectedVersion = .any) -> ProposedEvent {
        ProposedEvent(
            id: id, stream: stream, type: "Tick", data: #"{"n":\#(n)}"#, metadata: #"{"tenant":"t1"}"#,
            time: "2026-11-27T10:00:00.\(String(format: "%03d", n % 1000))Z", expectedVersion: expected)
    }

    /// The same calls against the embedded log and this one give the same answers, event for event.
    @Test func keepsTheEmbeddedLogsContract() async throws {
        let logs: [any EventLog] = [try SQLiteEventLog(path: folder.file("events.sqlite")), try makeLog()]
        var transcripts: [[String]] = []
        for log in logs {
            transcripts.append(try await log.whileRunning { try await transcript(log) })
        }
        #expect(transcripts[0] == transcripts[1])
        #expect(transcripts[1].contains("head 5"))
    }

    /// A log whose pool nobody runs fails its calls within seconds, naming the cause (a query
    /// waiting for a pool that never starts would hang the command).
    @Test func aLogNobodyRunsSaysSo() async throws {
        let log = try makeLog()
        let error = await #expect(throws: ProjectorError.self) { try await log.head() }
        #expect(error?.message.contains("the log is not running") == true)
        // Run, the same log answers.
        #expect(try await log.whileRunning { try await log.head() } == 0)
    }

    /// What one log answers to the contract's calls, line by line.
    func transcript(_ log: any EventLog) async throws -> [String] {
        var lines: [String] = []
        let ids = (0..<4).map { UUID(uuidString: "00000000-0000-4000-8000-00000000000\($0)")! }
        let first = try await log.append([tick("a", 1, id: ids[0]), tick("b", 2, id: ids[1]), tick("a", 3, expected: .exactly(1))])
        lines += first.filter { $0.id != ids[0] && $0.id != ids[1] }.map { "\($0.position) \($0.stream) \($0.version)" }
        lines += first.filter { $0.id == ids[0] || $0.id == ids[1] }.map(\.line)
        do {
            _ = try await log.append([tick("c", 4), tick("a", 5, expected: .noStream)])
            lines.append("no error")
        } catch let error as ProjectorError {
            lines.append("\(error.code): \(error.message)")
        }
        lines.append("head \(try await log.head())")
        let again = try await log.append([tick("a", 1, id: ids[0])])
        lines.append("duplicate \(again.map(\.line))")
        let outcomes = try await log.appendEach([
            tick("d", 6, id: ids[2]), ProposedEvent(stream: "d", type: "Tick", data: "[1]"), tick("d", 7, expected: .exactly(5)),
            tick("d", 8, id: ids[2]), ProposedEvent(stream: "", type: "Tick", data: "{}"), tick("d", 9, id: ids[3]),
            ProposedEvent(id: ids[3], stream: "d", type: "Tick\u{0}", data: "{}"),
        ])
        for outcome in outcomes {
            switch outcome {
            case .appended(let event): lines.append("appended \(event.line)")
            case .duplicate(let event): lines.append("duplicate \(event.line)")
            case .rejected(let error): lines.append("rejected \(error.code): \(error.message)")
            }
        }
        lines += try await log.read(after: 0, limit: 100).filter { $0.id == ids[2] || $0.id == ids[3] || $0.id == ids[0] }.map(\.line)
        lines += try await log.read(after: 1, limit: 2).map {
            "read \($0.position) \($0.stream) \($0.version) \($0.data) \($0.tenant ?? "-")"
        }
        lines += try await log.readStream("a", fromVersion: 2, limit: 10).map { "stream \($0.position) \($0.version) \($0.data)" }
        lines.append("head \(try await log.head())")
        lines.append("types \(try await log.hasEvents(ofType: "Tick")) \(try await log.hasEvents(ofType: "Nope"))")
        return lines
    }

    /// Eight writers, six of them other software holding each transaction open for a random
    /// moment (so sequence values commit out of order), some transactions rolled back; the
    /// host projects throughout. The projection must equal the log: no gap, no duplicate.
    @Test func concurrentWritersWithRandomCommitDelaysLoseNothing() async throws {
        let log = try makeLog()
        try await log.whileRunning {
            let host = try host(log)
            _ = try await log.head()  // creates the schema
            let running = Task { try await host.run() }
            defer { running.cancel() }
            let (writers, transactions, perTransaction) = (8, 1_000, 25)
            let total = writers * transactions * perTransaction
            let schema = self.schema
            try await TestPostgres.withClient { client in
                try await withThrowingTaskGroup(of: Void.self) { group in
                    for writer in 0..<writers {
                        group.addTask {
                            var random = SystemRandomNumberGenerator()
                            for t in 0..<transactions {
                                let stream = "w\(writer)-t\(t)"
                                if writer >= 6 {
                                    // Projector's own appends, four transactions' worth at a time.
                                    if t % 4 == 0 {
                                        _ = try await log.append(
                                            (0..<4).flatMap { k in
                                                (1...perTransaction).map { self.tick("w\(writer)-t\(t + k)", $0) }
                                            })
                                    }
                                    continue
                                }
                                // One statement, one transaction: take seq values, wait, then commit.
                                let delay = Double(Int.random(in: 0...8, using: &random)) / 1000
                                try await client.query(
                                    """
                                    WITH inserted AS (
                                        INSERT INTO \(unescaped: schema).events (id, stream, version, type, data)
                                        SELECT gen_random_uuid(), \(stream), g, 'Tick', '{}' FROM generate_series(1, \(perTransaction)) AS g
                                        RETURNING 1)
                                    SELECT pg_sleep(\(delay)) FROM (SELECT count(*) FROM inserted) AS done
                                    """)
                                if t % 50 == 7 {
                                    // A rolled-back insert: takes seq values, never commits.
                                    _ = try? await client.query(
                                        """
                                        WITH inserted AS (
                                            INSERT INTO \(unescaped: schema).events (id, stream, version, type, data)
                                            VALUES (gen_random_uuid(), \(stream + "-rolled-back"), 1, 'Tick', '{}') RETURNING 1)
                                        SELECT 1 / 0 FROM (SELECT count(*) FROM inserted) AS done
                                        """)
                                }
                            }
                        }
                    }
                    try await group.waitForAll()
                }
            }
            try await waitUntil(timeout: .seconds(600)) { host.runners[0].current.position >= Int64(total) }
            #expect(try await log.head() == Int64(total))
            let projected = try await applied(host)
            #expect(projected.count == total)
            #expect(projected.first?.position == 1 && projected.last?.position == Int64(total))
            let logIDs = try await TestPostgres.withClient { client in
                var ids: [String] = []
                for try await id in try await client.query(
                    "SELECT e.id::text FROM \(unescaped: schema).events e JOIN \(unescaped: schema).positions p USING (seq) ORDER BY p.position"
                ).decode(String.self) { ids.append(id) }
                return ids
            }
            #expect(logIDs == projected.map(\.id))
            #expect(try await host.deadLetters("applied").isEmpty)
        }
    }

    /// A transaction held open for seconds: later appends are numbered and projected meanwhile;
    /// its event is projected once it commits, not skipped.
    @Test func aTransactionHeldOpenIsNotSkipped() async throws {
        let log = try makeLog()
        try await log.whileRunning {
            let host = try host(log)
            _ = try await log.head()
            let running = Task { try await host.run() }
            defer { running.cancel() }
            let schema = self.schema
            let (inserted, release) = (Flag(), Flag())
            try await TestPostgres.withClient { client in
                async let holder: Void = client.withTransaction(logger: Logger(label: "held")) { connection in
                    try await connection.query(
                        "INSERT INTO \(unescaped: schema).events (id, stream, version, type, data) VALUES (gen_random_uuid(), 'held', 1, 'Tick', '{}')",
                        logger: Logger(label: "held"))
                    inserted.raise()
                    try await Task.sleep(for: .seconds(2))
                    try await waitUntil { release.isRaised }
                }
                try await waitUntil { inserted.isRaised }
                let later = try await log.append((1...100).map { self.tick("later", $0) })
                #expect(later.map(\.position) == Array(1...100))
                try await waitUntil { host.runners[0].current.position == 100 }
                #expect(try await log.head() == 100)
                release.raise()
                try await holder
            }
            try await waitUntil { host.runners[0].current.position == 101 }
            let projected = try await applied(host)
            #expect(projected.count == 101)
            let held = try await log.readStream("held", fromVersion: 1, limit: 10)
            #expect(held.map(\.position) == [101])
            #expect(projected.last?.id == held.first.map { UUIDText.format($0.id) })
        }
    }
}

@Suite struct PostgresSchemaFileTests {
    /// The shipped DDL is the DDL the log runs (no server needed). After changing the DDL,
    /// `PROJECTOR_RECORD_SCHEMA=1 swift test --filter shippedSchema` writes the file anew.
    @Test func shippedSchemaFileIsTheOneTheLogCreates() throws {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        if ProcessInfo.processInfo.environment["PROJECTOR_RECORD_SCHEMA"] == "1" {
            try PostgresEventLog.schemaFile.write(
                to: root.appendingPathComponent("Schemas/postgres-log.sql"), atomically: true, encoding: .utf8)
        }
        let shipped = try String(contentsOf: root.appendingPathComponent("Schemas/postgres-log.sql"), encoding: .utf8)
        #expect(shipped == PostgresEventLog.schemaFile)
    }
}

/// A flag one task raises and another waits for.
final class Flag: Sendable {
    private let raised = Mutex(false)
    func raise() { raised.withLock { $0 = true } }
    var isRaised: Bool { raised.withLock { $0 } }
}
