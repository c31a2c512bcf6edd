import Foundation
import GRDB
import GRDBSQLite
import Logging
import ProjectorCore
import ProjectorHost
import ProjectorReports
import ProjectorSQLite
import ProjectorSpecs

/// Issue 4's benchmark: a `kind: sql` spec over a corpus through the host, against a raw C loop
/// that reads the same batches and executes the same statements with the same bindings, in the
/// same process, alternating which goes first.
enum SQLProjectionBenchmark {
    /// A package report over the Debian events: one or two statements per type, JSON functions,
    /// upserts, updates and deletes.
    static let spec = """
        name: package-report
        kind: sql
        setup: |
          CREATE TABLE packages(package TEXT PRIMARY KEY, section TEXT, maintainer TEXT, version TEXT,
                                suite TEXT, homepage TEXT, updated TEXT NOT NULL, changes INTEGER NOT NULL DEFAULT 0);
          CREATE INDEX packages_by_section ON packages(section);
          CREATE TABLE releases_per_year(maintainer TEXT NOT NULL, year INTEGER NOT NULL, releases INTEGER NOT NULL,
                                         PRIMARY KEY (maintainer, year)) WITHOUT ROWID;
        on:
          PackagePublished: |
            INSERT INTO packages(package, section, maintainer, version, suite, homepage, updated)
            VALUES (:data ->> '$.package', :data ->> '$.section', :data ->> '$.maintainer', :data ->> '$.version',
                    :data ->> '$.suite', nullif(:data ->> '$.homepage', ''), :time)
            ON CONFLICT(package) DO UPDATE SET section = excluded.section, maintainer = excluded.maintainer,
              version = excluded.version, suite = excluded.suite, homepage = excluded.homepage,
              updated = excluded.updated, changes = changes + 1
          VersionPublished: |
            UPDATE packages SET version = :data ->> '$.version', suite = :data ->> '$.suite', updated = :time,
              changes = changes + 1 WHERE package = :data ->> '$.package'
          MaintainerChanged: UPDATE packages SET maintainer = :data ->> '$.maintainer', updated = :time WHERE package = :data ->> '$.package'
          HomepageChanged: UPDATE packages SET homepage = :data ->> '$.homepage', updated = :time WHERE package = :data ->> '$.package'
          SectionChanged: UPDATE packages SET section = :data ->> '$.section', updated = :time WHERE package = :data ->> '$.package'
          PackageRemoved: DELETE FROM packages WHERE package = :data ->> '$.package'
          VersionReleased: |
            INSERT INTO releases_per_year(maintainer, year, releases)
            VALUES (coalesce(nullif(:data ->> '$.author', ''), 'unknown'), CAST(substr(:time, 1, 4) AS INTEGER), 1)
            ON CONFLICT(maintainer, year) DO UPDATE SET releases = releases + 1
        """

    static func run(events file: String, rounds: Int) async throws {
        let folder = NSTemporaryDirectory() + "projector-sql-bench-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let log = try SQLiteEventLog(path: folder + "/events.sqlite")
        let imported = try await EventImporter(log: log).importLines(from: FileHandle(forReadingAtPath: file)!)
        try spec.write(toFile: folder + "/package-report.yml", atomically: true, encoding: .utf8)
        let projection = try ProjectionCatalog.spec(at: folder + "/package-report.yml") as! SQLProjection
        let total = imported.appended
        report("sql projection benchmark: \(total) events from \(file), \(rounds) rounds")
        var results: [String: [Double]] = [:]
        var digests: Set<String> = []
        for round in 1...rounds {
            for arm in round % 2 == 1 ? ["raw", "host"] : ["host", "raw"] {
                var store = folder + "/\(arm)-\(round).sqlite"
                if arm == "raw" {
                    let seconds = try raw(projection.spec, log: folder + "/events.sqlite", store: store)
                    results["raw", default: []].append(Double(total) / seconds)
                } else {
                    var logger = Logger(label: "bench")
                    logger.logLevel = .error
                    let host = try ProjectorHost(
                        log: log, projections: [projection], storesFolder: folder + "/host-\(round)", logger: logger)
                    let started = ContinuousClock.now
                    try await host.catchUp()
                    results["host", default: []].append(Double(total) / ((ContinuousClock.now - started) / .seconds(1)))
                    store = ProjectorHost.storePath(folder + "/host-\(round)", "package-report")
                }
                digests.insert(try digest(store))
            }
            report("round \(round): host \(Int(results["host"]!.last!))/s, raw \(Int(results["raw"]!.last!))/s")
        }
        guard digests.count == 1 else { throw BenchError("the arms built different tables: \(digests)") }
        let host = median(results["host"]!)
        let raw = median(results["raw"]!)
        report(
            String(
                format: "sql projection: host %.0f events/s, raw SQLite %.0f events/s, ratio %.3f (same tables: %@)",
                host, raw, host / raw, digests.first!))
    }

    static func median(_ values: [Double]) -> Double { values.sorted()[values.count / 2] }

    /// Row counts and a checksum of both tables: the arms must build the same thing.
    static func digest(_ path: String) throws -> String {
        let db = try RawSQLite(path: path, synchronous: "NORMAL")
        let query = try db.prepare(
            """
            SELECT (SELECT count(*) || '/' || total(changes) || '/' || count(DISTINCT maintainer) FROM packages)
                || ' ' || (SELECT count(*) || '/' || total(releases) FROM releases_per_year)
            """)
        defer { sqlite3_finalize(query) }
        guard sqlite3_step(query) == SQLITE_ROW else { throw BenchError("digest failed") }
        return query.text(0)
    }

    /// The same statements through the bare C API: read `perCommit` events, run each handler's
    /// statements with the event bound by name, move a checkpoint, commit.
    static func raw(_ spec: SQLSpec, log: String, store: String, perCommit: Int = 1000) throws -> Double {
        let source = try RawSQLite(path: log, synchronous: "FULL")
        let target = try RawSQLite(path: store, synchronous: "NORMAL")
        try target.exec(spec.setup)
        try target.exec("CREATE TABLE checkpoint(name TEXT PRIMARY KEY, position INTEGER); INSERT INTO checkpoint VALUES ('r', 0)")
        let read = try source.prepare(
            "SELECT position, id, stream, version, type, data, metadata, time, tenant FROM events WHERE position > ? ORDER BY position LIMIT \(perCommit)"
        )
        let checkpoint = try target.prepare("UPDATE checkpoint SET position = ? WHERE name = 'r'")
        // Per type: each statement and, per event parameter, its index (0 when unused).
        let names = [":position", ":id", ":stream", ":version", ":type", ":data", ":metadata", ":time"]
        var handlers: [String: [(OpaquePointer, [Int32])]] = [:]
        for handler in spec.handlers {
            handlers[handler.eventType] = try handler.statements.map { sql in
                let statement = try target.prepare(sql)
                return (statement, names.map { sqlite3_bind_parameter_index(statement, $0) })
            }
        }
        let started = ContinuousClock.now
        var position: Int64 = 0
        while true {
            read.bind(1, position)
            var rows:
                [(position: Int64, id: String, stream: String, version: Int64, type: String, data: String, metadata: String, time: String)] =
                    []
            while sqlite3_step(read) == SQLITE_ROW {
                rows.append((read.int(0), read.text(1), read.text(2), read.int(3), read.text(4), read.text(5), read.text(6), read.text(7)))
            }
            read.finish()
            guard let last = rows.last else { break }
            try target.exec("BEGIN IMMEDIATE")
            for row in rows {
                guard let statements = handlers[row.type] else { continue }
                for (statement, at) in statements {
                    if at[0] > 0 { statement.bind(at[0], row.position) }
                    if at[1] > 0 { statement.bind(at[1], row.id) }
                    if at[2] > 0 { statement.bind(at[2], row.stream) }
                    if at[3] > 0 { statement.bind(at[3], row.version) }
                    if at[4] > 0 { statement.bind(at[4], row.type) }
                    if at[5] > 0 { statement.bind(at[5], row.data) }
                    if at[6] > 0 { statement.bind(at[6], row.metadata) }
                    if at[7] > 0 { statement.bind(at[7], row.time) }
                    guard sqlite3_step(statement) == SQLITE_DONE else { throw BenchError(String(cString: sqlite3_errmsg(target.db))) }
                    sqlite3_reset(statement)
                }
            }
            checkpoint.bind(1, last.position)
            _ = sqlite3_step(checkpoint)
            checkpoint.finish()
            try target.exec("COMMIT")
            position = last.position
        }
        for statement in [read, checkpoint] + handlers.values.flatMap({ $0.map(\.0) }) { sqlite3_finalize(statement) }
        return (ContinuousClock.now - started) / .seconds(1)
    }
}
