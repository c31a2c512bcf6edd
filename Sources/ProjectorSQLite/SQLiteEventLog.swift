import Foundation
import GRDB
import GRDBSQLite
public import ProjectorCore
import Synchronization

/// The embedded event log: one SQLite file in WAL mode, the default source of truth.
///
/// Writes run in `BEGIN IMMEDIATE` transactions, so positions are assigned by one writer at a
/// time and committed without gaps: a reader that has seen position N has seen every event
/// before it (no gap detection needed, unlike a PostgreSQL sequence). The log is synchronous
/// FULL: a projection store may never be ahead of the log it was built from.
public final class SQLiteEventLog: EventLog, Sendable {
    public struct Configuration: Sendable {
        /// How often waiters poll for appends from other processes when the folder cannot be
        /// watched; where it can (inotify), they wake on the write and poll once a second at most.
        public var pollInterval: Duration
        /// Read-only access (queries, status) never creates or migrates the file.
        public var readOnly: Bool

        public init(pollInterval: Duration = .milliseconds(10), readOnly: Bool = false) {
            self.pollInterval = pollInterval
            self.readOnly = readOnly
        }
    }

    public let path: String
    let pool: DatabasePool
    private let notifier = ChangeNotifier()
    private let configuration: Configuration
    /// Wakes waiters when another process writes the log; made by the first wait.
    private let watcher = Mutex<FileChangeWatcher??>(nil)
    /// The slowest a watched log is polled, in case a write went unseen.
    static let watchedPollInterval: Duration = .seconds(1)

    public init(path: String, configuration: Configuration = .init()) throws {
        self.path = path
        self.configuration = configuration
        if !configuration.readOnly {
            let folder = URL(fileURLWithPath: path).deletingLastPathComponent()
            try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        }
        var config = GRDB.Configuration()
        config.readonly = configuration.readOnly
        config.busyMode = .timeout(30)
        config.prepareDatabase { db in
            if !db.configuration.readonly {
                try db.execute(sql: "PRAGMA synchronous = FULL")
            }
        }
        pool = try DatabasePool(path: path, configuration: config)
        if !configuration.readOnly {
            try Self.migrator.migrate(pool)
        }
    }

    static var migrator: DatabaseMigrator {
        var migrator = DatabaseMigrator()
        migrator.registerMigration("v1") { db in
            try db.execute(
                sql: """
                    CREATE TABLE events(
                        position INTEGER PRIMARY KEY,
                        id TEXT NOT NULL UNIQUE,
                        stream TEXT NOT NULL,
                        version INTEGER NOT NULL,
                        type TEXT NOT NULL,
                        data TEXT NOT NULL,
                        metadata TEXT NOT NULL,
                        time TEXT NOT NULL,
                        tenant TEXT,
                        UNIQUE(stream, version)
                    );
                    """)
        }
        return migrator
    }

    // MARK: - Appending

    public func append(_ events: [ProposedEvent]) async throws -> [RecordedEvent] {
        guard !events.isEmpty else { return [] }
        let recorded = try await pool.writeWithoutTransaction { db in
            var result: [RecordedEvent] = []
            try db.inTransaction(.immediate) {
                var writer = try Writer(db)
                for event in events {
                    switch try writer.insert(event) {
                    case .appended(let stored), .duplicate(let stored): result.append(stored)
                    case .rejected(let error): throw error
                    }
                }
                return .commit
            }
            return result
        }
        notifier.signal()
        return recorded
    }

    public func appendEach(_ events: [ProposedEvent]) async throws -> [AppendOutcome] {
        guard !events.isEmpty else { return [] }
        let outcomes = try await pool.writeWithoutTransaction { db in
            var outcomes: [AppendOutcome] = []
            outcomes.reserveCapacity(events.count)
            try db.inTransaction(.immediate) {
                var writer = try Writer(db)
                for event in events {
                    outcomes.append(try writer.insert(event))
                }
                return .commit
            }
            return outcomes
        }
        notifier.signal()
        return outcomes
    }

    /// Appends inside one immediate transaction: per-stream versions cached for the batch.
    struct Writer {
        let db: Database
        var nextPosition: Int64
        /// Keyed by the stream's bytes, as SQLite compares them: Swift's String equality would
        /// make "é" and "e\u{301}" one stream here and two in the table.
        var versions: [[UInt8]: Int64] = [:]

        init(_ db: Database) throws {
            self.db = db
            nextPosition = (try Int64.fetchOne(db, sql: "SELECT max(position) FROM events") ?? 0) + 1
        }

        mutating func insert(_ event: ProposedEvent) throws -> AppendOutcome {
            do { try event.checkNames() } catch { return .rejected(error) }
            if let id = event.id, try exists(id), let existing = try SQLiteEventLog.fetchEvent(id: id, db) {
                return .duplicate(existing)
            }
            let fields: (data: String, metadata: String, time: String, tenant: String?)
            do {
                fields = try event.storedFields()
            } catch let error as ProjectorError {
                return .rejected(error)
            }
            let current: Int64
            let key = Array(event.stream.utf8)
            if let cached = versions[key] {
                current = cached
            } else {
                current =
                    try Int64.fetchOne(
                        db.cachedStatement(sql: "SELECT max(version) FROM events WHERE stream = ?"),
                        arguments: [event.stream]) ?? 0
            }
            guard event.expectedVersion.accepts(current) else {
                return .rejected(.wrongExpectedVersion(stream: event.stream, expected: event.expectedVersion, actual: current))
            }
            let recorded = RecordedEvent(
                position: nextPosition, id: event.id ?? UUID(), stream: event.stream, version: current + 1,
                type: event.type, data: fields.data, metadata: fields.metadata, time: fields.time, tenant: fields.tenant)
            try insertRow(recorded)
            versions[key] = recorded.version
            nextPosition += 1
            return .appended(recorded)
        }

        /// Whether the log holds `id`: the common answer is no, so no row is decoded.
        /// The hot loop binds through SQLite's C API on GRDB's cached statements: GRDB's
        /// argument machinery cost as much as SQLite's own work here.
        private func exists(_ id: UUID) throws -> Bool {
            let statement = try db.cachedStatement(sql: "SELECT 1 FROM events WHERE id = ?").sqliteStatement
            defer { sqlite3_reset(statement) }
            let text = UUIDText.format(id)
            SQLiteText.bind(statement, 1, text)
            let code = sqlite3_step(statement)
            guard code == SQLITE_ROW || code == SQLITE_DONE else { throw DatabaseError(resultCode: ResultCode(rawValue: code)) }
            return code == SQLITE_ROW
        }

        private func insertRow(_ event: RecordedEvent) throws {
            let statement = try db.cachedStatement(
                sql: """
                    INSERT INTO events(position, id, stream, version, type, data, metadata, time, tenant)
                    VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
                    """
            ).sqliteStatement
            defer {
                sqlite3_reset(statement)
                sqlite3_clear_bindings(statement)
            }
            sqlite3_bind_int64(statement, 1, event.position)
            SQLiteText.bind(statement, 2, UUIDText.format(event.id))
            SQLiteText.bind(statement, 3, event.stream)
            sqlite3_bind_int64(statement, 4, event.version)
            SQLiteText.bind(statement, 5, event.type)
            SQLiteText.bind(statement, 6, event.data)
            SQLiteText.bind(statement, 7, event.metadata)
            SQLiteText.bind(statement, 8, event.time)
            SQLiteText.bind(statement, 9, event.tenant)
            let code = sqlite3_step(statement)
            guard code == SQLITE_DONE else {
                throw DatabaseError(
                    resultCode: ResultCode(rawValue: code), message: String(cString: sqlite3_errmsg(db.sqliteConnection)))
            }
        }

    }

    // MARK: - Reading

    static let columns = "position, id, stream, version, type, data, metadata, time, tenant"

    static func event(_ row: Row) -> RecordedEvent {
        RecordedEvent(
            position: row[0], id: UUIDText.parse(row[1]) ?? UUID(), stream: row[2], version: row[3],
            type: row[4], data: row[5], metadata: row[6], time: row[7], tenant: row[8])
    }

    static func fetchEvent(id: UUID, _ db: Database) throws -> RecordedEvent? {
        try Row.fetchOne(
            db.cachedStatement(sql: "SELECT \(columns) FROM events WHERE id = ?"),
            arguments: [UUIDText.format(id)]
        ).map(event)
    }

    public func read(after position: Int64, limit: Int) async throws -> [RecordedEvent] {
        try await pool.read { db in
            try Self.read(after: position, limit: limit, db)
        }
    }

    /// Synchronous read for callers already inside a database access (C API: this is the
    /// host's hot path, once per batch for every projection).
    static func read(after position: Int64, limit: Int, _ db: Database) throws -> [RecordedEvent] {
        var events: [RecordedEvent] = []
        events.reserveCapacity(min(limit, 10_000))
        let statement = try db.cachedStatement(
            sql: "SELECT \(columns) FROM events WHERE position > ? ORDER BY position LIMIT ?"
        ).sqliteStatement
        defer { sqlite3_reset(statement) }
        sqlite3_bind_int64(statement, 1, position)
        sqlite3_bind_int64(statement, 2, Int64(limit))
        func text(_ column: Int32) -> String { SQLiteText.column(statement, column) ?? "" }
        while true {
            let code = sqlite3_step(statement)
            if code == SQLITE_DONE { break }
            guard code == SQLITE_ROW else {
                throw DatabaseError(resultCode: ResultCode(rawValue: code), message: String(cString: sqlite3_errmsg(db.sqliteConnection)))
            }
            events.append(
                RecordedEvent(
                    position: sqlite3_column_int64(statement, 0), id: UUIDText.parse(text(1)) ?? UUID(),
                    stream: text(2), version: sqlite3_column_int64(statement, 3), type: text(4), data: text(5),
                    metadata: text(6), time: text(7),
                    tenant: sqlite3_column_type(statement, 8) == SQLITE_NULL ? nil : text(8)))
        }
        return events
    }

    public func readStream(_ stream: String, fromVersion version: Int64, limit: Int) async throws -> [RecordedEvent] {
        try await pool.read { db in
            try Row.fetchAll(
                db,
                sql: "SELECT \(Self.columns) FROM events WHERE stream = ? AND version >= ? ORDER BY version LIMIT ?",
                arguments: [stream, version, limit]
            ).map(Self.event)
        }
    }

    public func head() async throws -> Int64 {
        try await pool.read { db in try Int64.fetchOne(db, sql: "SELECT max(position) FROM events") ?? 0 }
    }

    /// A scan of the log without an index on type: fast for types that occur, one pass for the
    /// rest. Only `projector validate` asks, so appends do not pay for a type index.
    public func hasEvents(ofType type: String) async throws -> Bool {
        try await pool.read { db in
            try Bool.fetchOne(db, sql: "SELECT EXISTS(SELECT 1 FROM events WHERE type = ?)", arguments: [type]) ?? false
        }
    }

    public func waitForEvents(after position: Int64) async throws {
        let interval = isWatched() ? max(configuration.pollInterval, Self.watchedPollInterval) : configuration.pollInterval
        while true {
            try Task.checkCancellation()
            let generation = notifier.generation
            if try await head() > position { return }
            await notifier.wait(after: generation, timeout: interval)
        }
    }

    /// Starts watching the log's folder on first use; whether writes by other processes wake
    /// the waiters (else they poll every `pollInterval`).
    private func isWatched() -> Bool {
        watcher.withLock { watcher in
            if watcher == nil {
                let url = URL(fileURLWithPath: path)
                let name = url.lastPathComponent
                let notifier = self.notifier
                watcher = .some(
                    FileChangeWatcher(folder: url.deletingLastPathComponent().path, names: [name, name + "-wal"]) {
                        notifier.signal()
                    })
            }
            return watcher! != nil
        }
    }
}
