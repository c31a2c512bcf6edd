import GRDB
import GRDBSQLite
import Synchronization

/// The document sets of the tenants last searched, per reader connection, reused while that
/// connection has seen no commit (`PRAGMA data_version` for other connections', its change count
/// for its own): a large tenant's set is dozens of
/// chunk rows to read and decode, and every query on a partitioned index needs it.
final class TenantSetCache: @unchecked Sendable {
    static let shared = TenantSetCache()
    /// Tenants kept per connection.
    static let capacity = 16

    private struct Entry: @unchecked Sendable {
        /// The connection the sets were read on, compared by identity under the lock only; nil
        /// once it closed (its identifier may then be reused).
        weak var database: Database?
        var version: [Int64]
        var sets: [String: DocumentSet]
        var order: [String]
    }

    private let entries = Mutex<[ObjectIdentifier: Entry]>([:])

    /// The tenant's documents as `db` sees them now.
    func documents(of tenant: String, db: Database) throws -> DocumentSet {
        let id = ObjectIdentifier(db)
        let version = [
            try Int64.fetchOne(db.cachedStatement(sql: "PRAGMA data_version")) ?? 0, sqlite3_total_changes64(db.sqliteConnection),
        ]
        if let set = entries.withLock({ entries -> DocumentSet? in
            guard let entry = entries[id], entry.database === db, entry.version == version else { return nil }
            return entry.sets[tenant]
        }) {
            return set
        }
        let set = try DocumentSets.filterSet(SearchSpec.tenantField, tenant, db: db)
        entries.withLock { entries in
            var entry =
                entries[id].flatMap { $0.database === db && $0.version == version ? $0 : nil }
                ?? Entry(database: db, version: version, sets: [:], order: [])
            if entry.sets[tenant] == nil { entry.order.append(tenant) }
            entry.sets[tenant] = set
            if entry.order.count > Self.capacity { entry.sets[entry.order.removeFirst()] = nil }
            entries[id] = entry
            // Connections that closed leave their entries: drop them.
            if entries.count > 64 { entries = entries.filter { $0.value.database != nil } }
        }
        return set
    }
}
