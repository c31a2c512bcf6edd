import Foundation
import GRDB
import GRDBSQLite
import Logging
import ProjectorCore
import ProjectorHost
import ProjectorSQLite

/// Issue 2's benchmark: import a corpus and project it, against raw SQLite loops doing the same
/// inserts, in the same process, alternating rounds.
enum SpineBenchmark {
    static func run(events file: String, rounds: Int) async throws {
        let lines = try loadLines(file)
        report("spine benchmark: \(lines.count) events from \(file), \(rounds) rounds")
        var results: [String: [Double]] = [:]
        for round in 1...rounds {
            let folder = NSTemporaryDirectory() + "projector-bench-\(UUID().uuidString)"
            try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
            defer { try? FileManager.default.removeItem(atPath: folder) }
            let baselineFirst = round % 2 == 1
            for arm in baselineFirst ? ["raw", "host"] : ["host", "raw"] {
                if arm == "raw" {
                    let seconds = try rawImport(lines, path: folder + "/raw-events.sqlite")
                    results["import raw", default: []].append(Double(lines.count) / seconds)
                    let projectSeconds = try rawProject(log: folder + "/raw-events.sqlite", store: folder + "/raw-store.sqlite")
                    results["project raw", default: []].append(Double(lines.count) / projectSeconds)
                } else {
                    let log = try SQLiteEventLog(path: folder + "/events.sqlite")
                    let started = ContinuousClock.now
                    let progress = try await EventImporter(log: log).importLines(from: FileHandle(forReadingAtPath: file)!)
                    let seconds = (ContinuousClock.now - started) / .seconds(1)
                    guard progress.appended == lines.count else { throw BenchError("imported \(progress.appended)") }
                    results["import host", default: []].append(Double(lines.count) / seconds)
                    var logger = Logger(label: "bench")
                    logger.logLevel = .error
                    let host = try ProjectorHost(
                        log: log, projections: [StreamSummaryProjection()], storesFolder: folder + "/stores", logger: logger)
                    let projectStarted = ContinuousClock.now
                    try await host.catchUp()
                    let projectSeconds = (ContinuousClock.now - projectStarted) / .seconds(1)
                    results["project host", default: []].append(Double(lines.count) / projectSeconds)
                }
            }
            report("round \(round): " + results.keys.sorted().map { "\($0) \(Int(results[$0]!.last!))/s" }.joined(separator: ", "))
        }
        func median(_ key: String) -> Double {
            let sorted = results[key]!.sorted()
            return sorted[sorted.count / 2]
        }
        for phase in ["import", "project"] {
            let host = median("\(phase) host")
            let raw = median("\(phase) raw")
            report(
                String(
                    format: "%@: host %.0f events/s, raw SQLite %.0f events/s, ratio %.3f (overhead %.1f%%)",
                    phase, host, raw, host / raw, (raw / host - 1) * 100))
        }
    }

    struct Line {
        let id: String
        let stream: String
        let type: String
        let data: String
        let metadata: String
        let time: String
    }

    /// Pre-parses the file for the raw loop (not timed): the baseline pays no JSON cost at all.
    static func loadLines(_ file: String) throws -> [Line] {
        let text = try String(contentsOfFile: file, encoding: .utf8)
        var chain = 0
        return try text.split(separator: "\n").map { line in
            let event = try EventLineParser.parse(String(line))
            chain += 1
            return Line(
                id: event.id?.uuidString.lowercased() ?? UUID().uuidString.lowercased(), stream: event.stream,
                type: event.type, data: event.data, metadata: event.metadata,
                time: event.time.flatMap(EventTime.normalized) ?? EventTime.now())
        }
    }

    /// The log's inserts: id check, stream version, insert; 2,000 events a transaction.
    static func rawImport(_ lines: [Line], path: String) throws -> Double {
        let db = try RawSQLite(path: path, synchronous: "FULL")
        try db.exec(
            """
            CREATE TABLE events(position INTEGER PRIMARY KEY, id TEXT NOT NULL UNIQUE, stream TEXT NOT NULL,
              version INTEGER NOT NULL, type TEXT NOT NULL, data TEXT NOT NULL, metadata TEXT NOT NULL,
              time TEXT NOT NULL, tenant TEXT, UNIQUE(stream, version))
            """)
        let byId = try db.prepare("SELECT position FROM events WHERE id = ?")
        let version = try db.prepare("SELECT max(version) FROM events WHERE stream = ?")
        let insert = try db.prepare(
            "INSERT INTO events(position, id, stream, version, type, data, metadata, time, tenant) VALUES (?,?,?,?,?,?,?,?,?)")
        let started = ContinuousClock.now
        var position: Int64 = 0
        var index = 0
        while index < lines.count {
            try db.exec("BEGIN IMMEDIATE")
            var versions: [String: Int64] = [:]
            for line in lines[index..<min(index + 2000, lines.count)] {
                byId.bind(1, line.id)
                let exists = sqlite3_step(byId) == SQLITE_ROW
                byId.finish()
                if exists { continue }
                var current = versions[line.stream] ?? -1
                if current < 0 {
                    version.bind(1, line.stream)
                    _ = sqlite3_step(version)
                    current = version.int(0)
                    version.finish()
                }
                position += 1
                insert.bind(1, position)
                insert.bind(2, line.id)
                insert.bind(3, line.stream)
                insert.bind(4, current + 1)
                insert.bind(5, line.type)
                insert.bind(6, line.data)
                insert.bind(7, line.metadata)
                insert.bind(8, line.time)
                insert.bind(9, nil as String?)
                guard sqlite3_step(insert) == SQLITE_DONE else { throw BenchError(String(cString: sqlite3_errmsg(db.db))) }
                insert.finish()
                versions[line.stream] = current + 1
            }
            try db.exec("COMMIT")
            index += 2000
        }
        for statement in [byId, version, insert] { sqlite3_finalize(statement) }
        return (ContinuousClock.now - started) / .seconds(1)
    }

    /// The projection's work: read `perCommit` events, upsert each, move a checkpoint, commit.
    static func rawProject(log: String, store: String, perCommit: Int = 1000) throws -> Double {
        let source = try RawSQLite(path: log, synchronous: "FULL")
        let target = try RawSQLite(path: store, synchronous: "NORMAL")
        try target.exec(StreamSummaryProjection.schema + "; CREATE TABLE checkpoint(name TEXT PRIMARY KEY, position INTEGER)")
        try target.exec("INSERT INTO checkpoint VALUES ('summary', 0)")
        let read = try source.prepare(
            "SELECT position, id, stream, version, type, data, metadata, time, tenant FROM events WHERE position > ? ORDER BY position LIMIT \(perCommit)"
        )
        let upsert = try target.prepare(StreamSummaryProjection.upsert)
        let checkpoint = try target.prepare("UPDATE checkpoint SET position = ? WHERE name = 'summary'")
        let started = ContinuousClock.now
        var position: Int64 = 0
        while true {
            read.bind(1, position)
            var rows: [(Int64, String, String, String, String)] = []
            while sqlite3_step(read) == SQLITE_ROW {
                // Read every column, as the host does.
                _ = (read.text(1), read.int(3), read.text(5), read.text(6))
                rows.append((read.int(0), read.text(2), read.text(4), read.text(7), ""))
            }
            read.finish()
            guard let last = rows.last else { break }
            try target.exec("BEGIN IMMEDIATE")
            for row in rows {
                upsert.bind(1, row.1)
                upsert.bind(2, row.2)
                upsert.bind(3, row.0)
                upsert.bind(4, row.3)
                guard sqlite3_step(upsert) == SQLITE_DONE else { throw BenchError(String(cString: sqlite3_errmsg(target.db))) }
                upsert.finish()
            }
            checkpoint.bind(1, last.0)
            _ = sqlite3_step(checkpoint)
            checkpoint.finish()
            try target.exec("COMMIT")
            position = last.0
        }
        for statement in [read, upsert, checkpoint] { sqlite3_finalize(statement) }
        return (ContinuousClock.now - started) / .seconds(1)
    }
}

/// A reporting table over any events: per stream, how many events, the last type and time.
struct StreamSummaryProjection: Projection {
    let name = "summary"
    let fingerprint = "summary-v1"

    static let schema = """
        CREATE TABLE streams(stream TEXT PRIMARY KEY, events INTEGER NOT NULL, last_type TEXT NOT NULL,
          last_position INTEGER NOT NULL, last_time TEXT NOT NULL)
        """
    static let upsert = """
        INSERT INTO streams(stream, events, last_type, last_position, last_time) VALUES (?1, 1, ?2, ?3, ?4)
        ON CONFLICT(stream) DO UPDATE SET events = events + 1, last_type = excluded.last_type,
          last_position = excluded.last_position, last_time = excluded.last_time
        """

    func setUp(_ db: Database) throws { try db.execute(sql: Self.schema) }

    /// Binds through the C API like the raw arm, so the comparison measures the host alone.
    func apply(_ events: [RecordedEvent], _ db: Database) throws {
        let statement = try db.cachedStatement(sql: Self.upsert).sqliteStatement
        for event in events {
            statement.bind(1, event.stream)
            statement.bind(2, event.type)
            statement.bind(3, event.position)
            statement.bind(4, event.time)
            guard sqlite3_step(statement) == SQLITE_DONE else { throw BenchError(String(cString: sqlite3_errmsg(db.sqliteConnection))) }
            statement.finish()
        }
    }
}
