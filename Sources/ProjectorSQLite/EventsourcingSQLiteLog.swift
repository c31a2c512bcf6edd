import Foundation
import GRDB
public import ProjectorCore

/// The Python `eventsourcing` library's SQLite stored-events table, read in place (read-only).
///
/// Ordering: SQLite has one writer at a time and the library's application recorder numbers
/// notifications by `rowid`, so rowids become visible in order and reading `rowid > checkpoint`
/// never skips one. Other processes' commits are noticed by a poll.
public final class EventsourcingSQLiteLog: EventLog, Sendable {
    public let path: String
    public let table: String
    private let queue: DatabaseQueue
    private let pollInterval: Duration

    public init(path: String, table: String = "stored_events", pollInterval: Duration = .milliseconds(100)) throws {
        guard FileManager.default.fileExists(atPath: path) else {
            throw ProjectorError(.notFound, "no eventsourcing database at \(path)")
        }
        guard table.allSatisfy({ $0 == "_" || $0.isASCII && ($0.isLetter || $0.isNumber) }) else {
            throw ProjectorError(.invalidConfiguration, "table must match [A-Za-z0-9_]+, found '\(table)'")
        }
        self.path = path
        self.table = table
        self.pollInterval = pollInterval
        var configuration = Configuration()
        configuration.readonly = true
        configuration.busyMode = .timeout(30)
        queue = try DatabaseQueue(path: path, configuration: configuration)
    }

    public func append(_ events: [ProposedEvent]) async throws -> [RecordedEvent] {
        throw ProjectorError.readOnlyLog("the eventsourcing table \(table) in \(path)")
    }

    public func appendEach(_ events: [ProposedEvent]) async throws -> [AppendOutcome] {
        throw ProjectorError.readOnlyLog("the eventsourcing table \(table) in \(path)")
    }

    private func fetch(_ sql: String, _ arguments: StatementArguments) async throws -> [RecordedEvent] {
        try await queue.read { db in
            try Row.fetchAll(db, sql: sql, arguments: arguments).map { row in
                let state: Data? = row[4]
                return EventsourcingStoredEvent(
                    notificationID: row[0], originatorID: row[1], originatorVersion: row[2], topic: row[3] ?? "",
                    state: state.map { Array($0) } ?? []
                ).recorded
            }
        }
    }

    public func read(after position: Int64, limit: Int) async throws -> [RecordedEvent] {
        try await fetch(
            "SELECT rowid, originator_id, originator_version, topic, state FROM \(table) WHERE rowid > ? ORDER BY rowid LIMIT ?",
            [position, limit])
    }

    public func readStream(_ stream: String, fromVersion version: Int64, limit: Int) async throws -> [RecordedEvent] {
        try await fetch(
            """
            SELECT rowid, originator_id, originator_version, topic, state FROM \(table)
            WHERE originator_id = ? AND originator_version >= ? ORDER BY originator_version LIMIT ?
            """, [stream, version, limit])
    }

    public func head() async throws -> Int64 {
        try await queue.read { [table] db in try Int64.fetchOne(db, sql: "SELECT max(rowid) FROM \(table)") ?? 0 }
    }

    public func hasEvents(ofType type: String) async throws -> Bool {
        try await queue.read { [table] db in
            try Bool.fetchOne(
                db, sql: "SELECT EXISTS (SELECT 1 FROM \(table) WHERE topic = ? OR topic LIKE ?)", arguments: [type, "%:" + type])
                ?? false
        }
    }

    public func waitForEvents(after position: Int64) async throws {
        // The writer is another program: its writes to the file wake the waiter (inotify);
        // the poll is the fallback, and once a second a check in case a write went unseen.
        let url = URL(fileURLWithPath: path)
        let notifier = ChangeNotifier()
        let watcher = FileChangeWatcher(
            folder: url.deletingLastPathComponent().path, names: [url.lastPathComponent, url.lastPathComponent + "-wal"]
        ) { notifier.signal() }
        let interval = watcher == nil ? pollInterval : .seconds(1)
        while true {
            let generation = notifier.generation
            guard try await head() <= position else { break }
            try Task.checkCancellation()
            await notifier.wait(after: generation, timeout: interval)
        }
        withExtendedLifetime(watcher) {}
    }
}
