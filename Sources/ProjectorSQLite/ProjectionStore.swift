import Foundation
public import GRDB
public import ProjectorCore

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
            // Queries join index hits to documents by rowid: memory-mapped reads and a larger
            // cache turn those random lookups from a pread each into memory accesses.
            try db.execute(sql: "PRAGMA mmap_size = 4294967296")
            try db.execute(sql: "PRAGMA cache_size = -65536")
        }
        pool = try DatabasePool(path: path, configuration: config)
        if !readOnly {
            try pool.write { db in try Self.createCheckpointTable(db) }
        }
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
                    events_per_second REAL NOT NULL DEFAULT 0
                )
                """)
    }

    /// The checkpoint row, read inside a database access.
    public static func checkpoint(_ name: String, _ db: Database) throws -> Checkpoint? {
        guard try db.tableExists(checkpointTable) else { return nil }
        return try Row.fetchOne(
            db.cachedStatement(
                sql: """
                    SELECT name, position, fingerprint, state, updated_at, last_error, events_per_second
                    FROM \(checkpointTable) WHERE name = ?
                    """),
            arguments: [name]
        ).map { row in
            Checkpoint(
                name: row[0], position: row[1], fingerprint: row[2],
                state: ProjectionState(rawValue: row[3]) ?? .stopped, updatedAt: row[4], lastError: row[5],
                eventsPerSecond: row[6])
        }
    }

    /// Writes the checkpoint row, inside the caller's transaction.
    public static func save(_ checkpoint: Checkpoint, _ db: Database) throws {
        try db.cachedStatement(
            sql: """
                INSERT INTO \(checkpointTable)(name, position, fingerprint, state, updated_at, last_error, events_per_second)
                VALUES (?, ?, ?, ?, ?, ?, ?)
                ON CONFLICT(name) DO UPDATE SET position = excluded.position, fingerprint = excluded.fingerprint,
                    state = excluded.state, updated_at = excluded.updated_at, last_error = excluded.last_error,
                    events_per_second = excluded.events_per_second
                """
        ).execute(arguments: [
            checkpoint.name, checkpoint.position, checkpoint.fingerprint, checkpoint.state.rawValue,
            checkpoint.updatedAt, checkpoint.lastError, checkpoint.eventsPerSecond,
        ])
    }

    /// The checkpoint as it stands now.
    public func checkpoint() async throws -> Checkpoint? {
        try await pool.read { [name] db in try Self.checkpoint(name, db) }
    }

    /// Drops every table but the checkpoint's: the store is empty again, ready for `setUp`.
    public static func dropProjectionTables(_ db: Database) throws {
        let names = try String.fetchAll(
            db,
            sql: """
                SELECT name FROM sqlite_master
                WHERE type IN ('table', 'view') AND name NOT LIKE 'sqlite_%' AND name <> ?
                """,
            arguments: [checkpointTable])
        for name in names {
            // Shadow tables of a virtual table disappear with their owner, so look again.
            let type = try String.fetchOne(db, sql: "SELECT type FROM sqlite_master WHERE name = ?", arguments: [name])
            guard let type else { continue }
            try db.execute(sql: "DROP \(type == "view" ? "VIEW" : "TABLE") IF EXISTS \(name.quotedDatabaseIdentifier)")
        }
    }
}
