public import Foundation
public import GRDB
public import ProjectorCore

/// The embedded event log: one SQLite file in WAL mode, the default source of truth.
///
/// Writes run in `BEGIN IMMEDIATE` transactions, so positions are assigned by one writer at a
/// time and committed without gaps: a reader that has seen position N has seen every event
/// before it (no gap detection needed, unlike a PostgreSQL sequence). The log is synchronous
/// FULL: a projection store may never be ahead of the log it was built from.
public final class SQLiteEventLog: EventLog, Sendable {
    public struct Configuration: Sendable {
        /// How often waiters in other processes poll for new events.
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
        var versions: [String: Int64] = [:]

        init(_ db: Database) throws {
            self.db = db
            nextPosition = (try Int64.fetchOne(db, sql: "SELECT max(position) FROM events") ?? 0) + 1
        }

        mutating func insert(_ event: ProposedEvent) throws -> AppendOutcome {
            if let id = event.id, let existing = try SQLiteEventLog.fetchEvent(id: id, db) {
                return .duplicate(existing)
            }
            let data: String
            let metadata: String
            do {
                guard !event.stream.isEmpty else { throw ProjectorError.invalidEvent("stream must not be empty") }
                guard !event.type.isEmpty else { throw ProjectorError.invalidEvent("type must not be empty") }
                data = try JSONObjectText.validated(event.data, field: "data")
                metadata = event.metadata == "{}" ? "{}" : try JSONObjectText.validated(event.metadata, field: "metadata")
            } catch let error as ProjectorError {
                return .rejected(error)
            }
            let time: String
            if let given = event.time {
                guard let normalized = EventTime.normalized(given) else {
                    return .rejected(.invalidEvent("time must be an ISO-8601 date-time, found \"\(given)\""))
                }
                time = normalized
            } else {
                time = EventTime.now()
            }
            let current: Int64
            if let cached = versions[event.stream] {
                current = cached
            } else {
                current = try Int64.fetchOne(
                    db, sql: "SELECT max(version) FROM events WHERE stream = ?", arguments: [event.stream]) ?? 0
            }
            guard event.expectedVersion.accepts(current) else {
                return .rejected(.wrongExpectedVersion(stream: event.stream, expected: event.expectedVersion, actual: current))
            }
            let recorded = RecordedEvent(
                position: nextPosition, id: event.id ?? UUID(), stream: event.stream, version: current + 1,
                type: event.type, data: data, metadata: metadata, time: time,
                tenant: metadata == "{}" ? nil : JSONObjectText.stringMember("tenant", of: metadata))
            let statement = try db.cachedStatement(
                sql: """
                    INSERT INTO events(position, id, stream, version, type, data, metadata, time, tenant)
                    VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
                    """)
            try statement.execute(arguments: [
                recorded.position, recorded.id.uuidString.lowercased(), recorded.stream, recorded.version,
                recorded.type, recorded.data, recorded.metadata, recorded.time, recorded.tenant,
            ])
            versions[event.stream] = recorded.version
            nextPosition += 1
            return .appended(recorded)
        }
    }

    // MARK: - Reading

    static let columns = "position, id, stream, version, type, data, metadata, time, tenant"

    static func event(_ row: Row) -> RecordedEvent {
        RecordedEvent(
            position: row[0], id: UUID(uuidString: row[1] as String) ?? UUID(), stream: row[2], version: row[3],
            type: row[4], data: row[5], metadata: row[6], time: row[7], tenant: row[8])
    }

    static func fetchEvent(id: UUID, _ db: Database) throws -> RecordedEvent? {
        try Row.fetchOne(
            db.cachedStatement(sql: "SELECT \(columns) FROM events WHERE id = ?"),
            arguments: [id.uuidString.lowercased()]
        ).map(event)
    }

    public func read(after position: Int64, limit: Int) async throws -> [RecordedEvent] {
        try await pool.read { db in
            try Self.read(after: position, limit: limit, db)
        }
    }

    /// Synchronous read for callers already inside a database access.
    static func read(after position: Int64, limit: Int, _ db: Database) throws -> [RecordedEvent] {
        var events: [RecordedEvent] = []
        events.reserveCapacity(min(limit, 10_000))
        let rows = try Row.fetchCursor(
            db.cachedStatement(sql: "SELECT \(columns) FROM events WHERE position > ? ORDER BY position LIMIT ?"),
            arguments: [position, limit])
        while let row = try rows.next() { events.append(event(row)) }
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

    public func waitForEvents(after position: Int64) async throws {
        while true {
            try Task.checkCancellation()
            let generation = notifier.generation
            if try await head() > position { return }
            await notifier.wait(after: generation, timeout: configuration.pollInterval)
        }
    }
}
