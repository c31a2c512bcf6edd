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

/// Message DB's table read in place: categories commit global positions out of order, and the
/// tailer must neither skip a slow category's message nor read past it.
@Suite(.enabled(if: TestPostgres.available, "set PROJECTOR_TEST_POSTGRES to a postgres:// URL (.ci/run does)"))
struct MessageDBTests {
    let folder = TemporaryFolder()
    let schema = TestPostgres.schema()

    /// Creates the stand-in Message DB schema (Tests/Fixtures/message-db.sql) in this test's schema.
    func install() async throws -> MessageDBLog {
        let fixture = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("Fixtures/message-db.sql")
        let text = try String(contentsOf: fixture, encoding: .utf8).replacingOccurrences(of: "message_store", with: schema)
        let statements = text.components(separatedBy: "\n\n").filter { block in
            block.split(separator: "\n").contains { !$0.hasPrefix("--") }
        }
        try await TestPostgres.withClient { client in
            for statement in statements { try await client.query(PostgresQuery(unsafeSQL: statement)) }
        }
        return MessageDBLog(location: try TestPostgres.location(["schema": schema]), pollInterval: .milliseconds(20))
    }

    func write(_ connection: PostgresConnection, _ stream: String, _ n: Int) async throws {
        try await connection.query(
            "SELECT \(unescaped: schema).write_message(gen_random_uuid()::text, \(stream), 'Tick', \(#"{"n":\#(n)}"#)::jsonb)",
            logger: Logger(label: "mdb"))
    }

    /// Category A takes a global position and holds its transaction; category B commits a later
    /// one. The reader stops below B's until A commits, then reads both, in order.
    @Test func aSlowCategoryIsNeitherSkippedNorOvertaken() async throws {
        let log = try await install()
        try await log.whileRunning {
            let (inserted, release) = (Flag(), Flag())
            try await TestPostgres.withClient { client in
                async let slow: Void = client.withConnection { connection in
                    try await connection.withTransaction(logger: Logger(label: "mdb")) { connection in
                        try await write(connection, "alpha-1", 1)
                        inserted.raise()
                        try await waitUntil { release.isRaised }
                    }
                }
                try await waitUntil { inserted.isRaised }
                try await client.withConnection { connection in try await write(connection, "beta-1", 2) }
                // B is visible, but A (which holds a lower position) is still in flight.
                #expect(try await log.read(after: 0, limit: 10).isEmpty)
                try await Task.sleep(for: .milliseconds(200))
                #expect(try await log.head() == 0)
                release.raise()
                try await slow
            }
            let events = try await log.read(after: 0, limit: 10)
            #expect(events.map(\.stream) == ["alpha-1", "beta-1"])
            #expect(events.map(\.position) == [1, 2])
            #expect(events.map(\.version) == [1, 1])
            #expect(events.first?.data == #"{"n": 1}"#)
        }
    }

    /// Four categories written at once with random commit delays while the host tails: the
    /// projection holds every message once.
    @Test func concurrentCategoriesAreProjectedExactly() async throws {
        let log = try await install()
        try await log.whileRunning {
            let spec = folder.file("messages.yml")
            try """
            name: messages
            kind: sql
            setup: CREATE TABLE messages(id TEXT PRIMARY KEY, position INTEGER NOT NULL UNIQUE);
            on:
              Tick: INSERT INTO messages(id, position) VALUES (:id, :position)
            """.write(toFile: spec, atomically: true, encoding: .utf8)
            var logger = Logger(label: "test")
            logger.logLevel = .critical
            let host = try ProjectorHost(
                log: log, projections: [try ProjectionCatalog.spec(at: spec)], storesFolder: folder.file("stores"), logger: logger)
            let running = Task { try await host.run() }
            defer { running.cancel() }
            let schema = self.schema
            try await TestPostgres.withClient { client in
                try await withThrowingTaskGroup(of: Void.self) { group in
                    for category in ["alpha", "beta", "gamma", "delta"] {
                        group.addTask {
                            for n in 0..<500 {
                                let delay = Double(Int.random(in: 0...4)) / 1000
                                try await client.query(
                                    """
                                    SELECT pg_sleep(\(delay)) FROM (SELECT \(unescaped: schema).write_message(
                                        gen_random_uuid()::text, \("\(category)-\(n % 7)"), 'Tick', '{}'::jsonb)) AS written
                                    """)
                            }
                        }
                    }
                    try await group.waitForAll()
                }
            }
            try await waitUntil(timeout: .seconds(120)) { host.runners[0].current.position >= 2_000 }
            let projected = try await host.runners[0].store.pool.read { db in
                try String.fetchAll(db, sql: "SELECT id FROM messages ORDER BY position")
            }
            let stored = try await TestPostgres.withClient { client in
                var ids: [String] = []
                for try await id in try await client.query(
                    "SELECT id::text FROM \(unescaped: schema).messages ORDER BY global_position"
                ).decode(String.self) { ids.append(id) }
                return ids
            }
            #expect(projected.count == 2_000)
            #expect(projected == stored)
            #expect(try await host.deadLetters("messages").isEmpty)
        }
    }
}
