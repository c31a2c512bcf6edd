import GRDB
import GRDBSQLite
import Synchronization

/// The document sets of the tenants last searched, per reader connection, reused while that
/// connection has seen no commit (`PRAGMA data_version` for other connections', its change count
/// for its own): a tenant's set is a chunk row per 16,384 documents to read and decode, and every
/// query on a partitioned index needs it.
final class TenantSetCache: @unchecked Sendable {
    static let shared = TenantSetCache()
    /// Bytes of sets kept per connection (a chunk is a 2 KB bitmap in memory): the sets of 64
    /// tenants at a million documents, of all tenants at a few thousand.
    static let byteBudget = 8 << 20

    private struct Entry: @unchecked Sendable {
        /// The connection the sets were read on, compared by identity under the lock only; nil
        /// once it closed (its identifier may then be reused).
        weak var database: Database?
        var version: [Int64]
        var sets: [String: DocumentSet]
        var order: [String]
        var bytes = 0
    }

    private let entries = Mutex<[ObjectIdentifier: Entry]>([:])

    /// The tenant's documents as `db` sees them now.
    func documents(of tenant: String, db: Database) throws -> DocumentSet {
        let id = ObjectIdentifier(db)
        let version = [
            try Int64.fetchOne(db.cachedStatement(sql: "PRAGMA data_version")) ?? 0, sqlite3_total_changes64(db.sqliteConnection),
        ]
        if let set = entries.withLock({ entries -> DocumentSet? in
            guard let entry = entries[id], entry.database === db, entry.version == version, let set = entry.sets[tenant] else {
                return nil
            }
            // Least recently searched goes first.
            if let index = entry.order.lastIndex(of: tenant), index != entry.order.count - 1 {
                entries[id]?.order.remove(at: index)
                entries[id]?.order.append(tenant)
            }
            return set
        }) {
            return set
        }
        let set = try DocumentSets.filterSet(SearchSpec.tenantField, tenant, db: db)
        entries.withLock { entries in
            var entry =
                entries[id].flatMap { $0.database === db && $0.version == version ? $0 : nil }
                ?? Entry(database: db, version: version, sets: [:], order: [])
            if entry.sets[tenant] == nil {
                entry.order.append(tenant)
                entry.sets[tenant] = set
                entry.bytes += Self.bytes(set)
            }
            while entry.bytes > Self.byteBudget, entry.order.count > 1, let old = entry.sets.removeValue(forKey: entry.order.removeFirst())
            {
                entry.bytes -= Self.bytes(old)
            }
            entries[id] = entry
            // Connections that closed leave their entries: drop them.
            if entries.count > 64 { entries = entries.filter { $0.value.database != nil } }
        }
        return set
    }

    static func bytes(_ set: DocumentSet) -> Int { set.chunks.count * DocumentSet.bitmapBytes }
}
