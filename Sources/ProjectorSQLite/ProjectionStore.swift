import Foundation
public import GRDB
public import ProjectorCore

/// A parked event and why.
public struct DeadLetter: Sendable, Hashable {
    public var event: RecordedEvent
    public var error: String
    public var tries: Int
    public var failedAt: String
}

/// One projection's own SQLite file: its tables plus its checkpoint row.
///
/// Every projection gets a store of its own, so one projection's writes never wait for
/// another's, a rebuild is a file swap, and a handler cannot reach another projection's tables.
/// Stores are synchronous NORMAL: losing the last transactions on power loss only means
/// re-applying them from the log, which the checkpoint (written in the same transaction) makes
/// exact.
public final class ProjectionStore: Sendable {
    public let name: String
    public let path: String
    public let pool: DatabasePool

    /// A runner holds a shared lock on this file beside the store while it runs, so status in
    /// another process tells a running projection from one whose host has gone.
    public static let runningSuffix = "-run"
    public var runningLockPath: String { path + Self.runningSuffix }

    /// The host's own table in every store; projections may not use the `projector_` prefix.
    public static let checkpointTable = "projector_checkpoint"

    public init(name: String, path: String, readOnly: Bool = false) throws {
        self.name = name
        self.path = path
        if !readOnly {
            let folder = URL(fileURLWithPath: path).deletingLastPathComponent()
            try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        }
        var config = GRDB.Configuration()
        config.readonly = readOnly
        config.busyMode = .timeout(30)
        config.prepareDatabase { db in
            if !db.configuration.readonly {
                try db.execute(sql: "PRAGMA synchronous = NORMAL")
            }
            // External-content FTS5 tables need it for INSERT OR REPLACE to delete old tokens.
            try db.execute(sql: "PRAGMA recursive_triggers = ON")
            // Queries join index hits to documents by rowid: memory-mapped reads turn those
            // random lookups from a pread each into memory accesses. The writer reads through
            // its page cache instead: mapped pages count in the process's resident memory, so a
            // catch-up that touches the whole store would grow with the store.
            try db.execute(sql: "PRAGMA mmap_size = \(db.configuration.readonly ? 4_294_967_296 : 0)")
            try db.execute(sql: "PRAGMA cache_size = -8192")
        }
        pool = try DatabasePool(path: path, configuration: config)
        // A read first: a store whose writer is in a long transaction still opens at once.
        if !readOnly, try !pool.read({ db in try Self.hasCurrentTables(db) }) {
            try pool.write { db in try Self.createCheckpointTable(db) }
        }
    }

    /// The host's dead letters in every store: events a projection could not apply.
    public static let deadLetterTable = "projector_dead_letters"

    /// Whether the host's tables exist as this version writes them.
    static func hasCurrentTables(_ db: Database) throws -> Bool {
        try db.tableExists(deadLetterTable) && db.columns(in: checkpointTable).contains { $0.name == "verified" }
    }

    static func createCheckpointTable(_ db: Database) throws {
        try db.execute(
            sql: """
                CREATE TABLE IF NOT EXISTS \(checkpointTable)(
                    name TEXT PRIMARY KEY,
                    position INTEGER NOT NULL,
                    fingerprint TEXT NOT NULL,
                    state TEXT NOT NULL,
                    updated_at TEXT NOT NULL,
                    last_error TEXT,
                    events_per_second REAL NOT NULL DEFAULT 0,
                    definition TEXT,
                    verified INTEGER NOT NULL DEFAULT 0
                );
                CREATE TABLE IF NOT EXISTS \(deadLetterTable)(
                    position INTEGER PRIMARY KEY,
                    id TEXT NOT NULL,
                    stream TEXT NOT NULL,
                    version INTEGER NOT NULL,
                    type TEXT NOT NULL,
                    data TEXT NOT NULL,
                    metadata TEXT NOT NULL,
                    time TEXT NOT NULL,
                    tenant TEXT,
                    error TEXT NOT NULL,
                    tries INTEGER NOT NULL,
                    failed_at TEXT NOT NULL
                );
                """)
        // Stores made before definitions were kept, and before first builds were verified.
        let columns = try db.columns(in: checkpointTable).map(\.name)
        if !columns.contains("definition") {
            try db.execute(sql: "ALTER TABLE \(checkpointTable) ADD COLUMN definition TEXT")
        }
        if !columns.contains("verified") {
            try db.execute(sql: "ALTER TABLE \(checkpointTable) ADD COLUMN verified INTEGER NOT NULL DEFAULT 0")
        }
    }

    /// The checkpoint row, read inside a database access.
    public static func checkpoint(_ name: String, _ db: Database) throws -> Checkpoint? {
        guard try db.tableExists(checkpointTable) else { return nil }
        return try Row.fetchOne(
            db.cachedStatement(
                sql: """
                    SELECT name, position, fingerprint, state, updated_at, last_error, events_per_second, verified
                    FROM \(checkpointTable) WHERE name = ?
                    """),
            arguments: [name]
        ).map { row in
            Checkpoint(
                name: row[0], position: row[1], fingerprint: row[2],
                state: ProjectionState(rawValue: row[3]) ?? .stopped, updatedAt: row[4], lastError: row[5],
                eventsPerSecond: row[6], verified: row[7])
        }
    }

    /// Writes the checkpoint row, inside the caller's transaction.
    public static func save(_ checkpoint: Checkpoint, _ db: Database) throws {
        try db.cachedStatement(
            sql: """
                INSERT INTO \(checkpointTable)(name, position, fingerprint, state, updated_at, last_error, events_per_second, verified)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?)
                ON CONFLICT(name) DO UPDATE SET position = excluded.position, fingerprint = excluded.fingerprint,
                    state = excluded.state, updated_at = excluded.updated_at, last_error = excluded.last_error,
                    events_per_second = excluded.events_per_second, verified = excluded.verified
                """
        ).execute(arguments: [
            checkpoint.name, checkpoint.position, checkpoint.fingerprint, checkpoint.state.rawValue,
            checkpoint.updatedAt, checkpoint.lastError, checkpoint.eventsPerSecond, checkpoint.verified,
        ])
    }

    /// How often commits copy the WAL into the store (SQLite's `wal_autocheckpoint`): every ~80 MB
    /// while catching up, where transactions rewrite the same pages (FTS5 segments, the newest
    /// sets) and each is then copied once; SQLite's default at the head.
    public static func setWALCopying(catchingUp: Bool, _ db: Database) throws {
        try db.cachedStatement(sql: "PRAGMA wal_autocheckpoint = \(catchingUp ? bulkCheckpointPages : 1000)").execute()
    }

    static let bulkCheckpointPages = 20_000

    /// Whether the store's projection passed verification (see `Checkpoint.verified`).
    public static func isVerified(_ name: String, _ db: Database) throws -> Bool {
        try Bool.fetchOne(db.cachedStatement(sql: "SELECT verified FROM \(checkpointTable) WHERE name = ?"), arguments: [name]) ?? false
    }

    /// Runs the host's checks and the projection's own (`check`) in one write transaction and
    /// records the store as verified; returns the row count per table.
    public func verifyAndRecord(_ check: @escaping @Sendable (Database) throws -> Void) async throws -> [String: Int] {
        try await pool.write { [name] db in
            let counts = try Self.verify(db)
            try check(db)
            try db.execute(sql: "UPDATE \(Self.checkpointTable) SET verified = 1 WHERE name = ?", arguments: [name])
            return counts
        }
    }

    /// Runs the projection's own check (`check`) and records the store as verified: on a read
    /// connection, concurrently with the writer (`concurrently`), or on the writer's own, which
    /// reads through its page cache instead of mapping the store into memory.
    public func verifyFirstBuild(concurrently: Bool, _ check: @escaping @Sendable (Database) throws -> Void) async throws {
        if concurrently {
            try await pool.read { db in try check(db) }
        } else {
            try await pool.writeWithoutTransaction { db in
                try db.inTransaction(.deferred) {
                    try check(db)
                    return .commit
                }
            }
        }
        try await pool.write { [name] db in
            try db.execute(sql: "UPDATE \(Self.checkpointTable) SET verified = 1 WHERE name = ?", arguments: [name])
        }
    }

    /// Rewrites the store densely (`VACUUM`) when more than `unused` of its bytes are free or
    /// unused in pages, and empties the WAL either way (a build copies it lazily): a build from
    /// zero splits pages as it grows, and updates leave them part empty. Returns whether it
    /// rewrote; measuring costs one pass over page headers.
    @discardableResult
    public func compact(whenUnusedOver unused: Double = 0.15) async throws -> Bool {
        try await pool.writeWithoutTransaction { db in
            let sparse = try Self.isSparse(db, unused: unused)
            if sparse { try db.execute(sql: "VACUUM") }
            try db.execute(sql: "PRAGMA wal_checkpoint(TRUNCATE)")
            return sparse
        }
    }

    /// Whether more than `unused` of the store's bytes lie free or unused in its pages.
    private static func isSparse(_ db: Database, unused: Double) throws -> Bool {
        guard let row = try Row.fetchOne(db, sql: "SELECT sum(pgsize), sum(unused) FROM dbstat WHERE aggregate = 1"),
            let used = row[0] as Int64?, used > 0
        else { return false }
        let pageSize = try Int64.fetchOne(db, sql: "PRAGMA page_size") ?? 4096
        let free = (try Int64.fetchOne(db, sql: "PRAGMA freelist_count") ?? 0) * pageSize
        let spare = (row[1] as Int64? ?? 0) + free
        return Double(spare) > unused * Double(used + free)
    }

    /// The checkpoint as it stands now.
    public func checkpoint() async throws -> Checkpoint? {
        try await pool.read { [name] db in try Self.checkpoint(name, db) }
    }

    /// The definition the store was built from (see `Projection.definition`).
    public static func definition(_ name: String, _ db: Database) throws -> String? {
        guard try db.tableExists(checkpointTable) else { return nil }
        return try String.fetchOne(db, sql: "SELECT definition FROM \(checkpointTable) WHERE name = ?", arguments: [name])
    }

    public static func saveDefinition(_ name: String, _ definition: String?, _ db: Database) throws {
        try db.execute(sql: "UPDATE \(checkpointTable) SET definition = ? WHERE name = ?", arguments: [definition, name])
    }

    // MARK: - Dead letters

    /// Parks an event the projection could not apply, inside the caller's transaction.
    public static func addDeadLetter(_ event: RecordedEvent, error: String, tries: Int, _ db: Database) throws {
        try db.execute(
            sql: """
                INSERT INTO \(deadLetterTable)(position, id, stream, version, type, data, metadata, time, tenant, error, tries, failed_at)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                ON CONFLICT(position) DO UPDATE SET error = excluded.error, tries = tries + excluded.tries,
                    failed_at = excluded.failed_at
                """,
            arguments: [
                event.position, UUIDText.format(event.id), event.stream, event.version, event.type, event.data,
                event.metadata, event.time, event.tenant, error, tries, EventTime.now(),
            ])
    }

    public static func deadLetters(_ db: Database) throws -> [DeadLetter] {
        guard try db.tableExists(deadLetterTable) else { return [] }
        return try Row.fetchAll(
            db,
            sql: """
                SELECT position, id, stream, version, type, data, metadata, time, tenant, error, tries, failed_at
                FROM \(deadLetterTable) ORDER BY position
                """
        ).map { row in
            DeadLetter(
                event: RecordedEvent(
                    position: row[0], id: UUIDText.parse(row[1]) ?? UUID(), stream: row[2], version: row[3], type: row[4],
                    data: row[5], metadata: row[6], time: row[7], tenant: row[8]),
                error: row[9], tries: row[10], failedAt: row[11])
        }
    }

    public static func deadLetterCount(_ db: Database) throws -> Int {
        guard try db.tableExists(deadLetterTable) else { return 0 }
        return try Int.fetchOne(db, sql: "SELECT count(*) FROM \(deadLetterTable)") ?? 0
    }

    public static func removeDeadLetter(at position: Int64, _ db: Database) throws {
        try db.execute(sql: "DELETE FROM \(deadLetterTable) WHERE position = ?", arguments: [position])
    }

    // MARK: - Verification

    /// Checks a store before it goes live: every FTS5 index passes FTS5's own 'integrity-check'
    /// (with rank=1, which also compares the index with its external content), and every table
    /// is counted. Returns the row count per table.
    public static func verify(_ db: Database) throws -> [String: Int] {
        let tables = try Row.fetchAll(
            db,
            sql: """
                SELECT name, sql FROM sqlite_master WHERE type = 'table' AND \(userObjects) ORDER BY name
                """)
        var counts: [String: Int] = [:]
        let virtual = tables.compactMap { row -> String? in
            let sql: String = row["sql"] ?? ""
            return sql.range(of: "VIRTUAL TABLE", options: .caseInsensitive) != nil ? row["name"] : nil
        }
        for row in tables {
            let name: String = row["name"]
            let sql: String = row["sql"] ?? ""
            if sql.range(of: "USING fts5(", options: .caseInsensitive) != nil {
                do {
                    try db.execute(
                        sql:
                            "INSERT INTO \(name.quotedDatabaseIdentifier)(\(name.quotedDatabaseIdentifier), rank) VALUES ('integrity-check', 1)"
                    )
                } catch {
                    throw ProjectorError(.projectionFailed, "FTS5 index \(name) failed its integrity check: \(error)")
                }
            }
            // Shadow tables of virtual tables (name_data, name_idx...) are counted through their owner.
            if virtual.contains(where: { name != $0 && name.hasPrefix($0 + "_") }) { continue }
            if sql.range(of: "USING fts5vocab", options: .caseInsensitive) != nil { continue }
            counts[name] = try Int.fetchOne(db, sql: "SELECT count(*) FROM \(name.quotedDatabaseIdentifier)") ?? 0
        }
        return counts
    }

    /// Objects of sqlite_master that are the projection's: not SQLite's, not the host's. (`_` is
    /// a wildcard in LIKE, so prefixes are compared as text.)
    static let userObjects = "lower(substr(name, 1, 7)) <> 'sqlite_' AND lower(substr(name, 1, 10)) <> 'projector_'"

    /// Drops every table but the checkpoint's: the store is empty again, ready for `setUp`.
    public static func dropProjectionTables(_ db: Database) throws {
        let names = try String.fetchAll(
            db,
            sql: """
                SELECT name FROM sqlite_master
                WHERE type IN ('table', 'view') AND \(userObjects)
                """)
        for name in names {
            // Shadow tables of a virtual table disappear with their owner, so look again.
            let type = try String.fetchOne(db, sql: "SELECT type FROM sqlite_master WHERE name = ?", arguments: [name])
            guard let type else { continue }
            try db.execute(sql: "DROP \(type == "view" ? "VIEW" : "TABLE") IF EXISTS \(name.quotedDatabaseIdentifier)")
        }
    }
}
