import GRDBSQLite

/// The SQLite authorizer that keeps a projection's SQL to its own tables: no ATTACH, PRAGMA,
/// transactions, TEMP objects or `load_extension`, no host table (`projector_*` and the
/// `reserved` prefixes), and no schema change outside setup. SQLite asks it at prepare time.
package final class SQLGuard {
    package enum Mode { case setup, handler }

    package var mode = Mode.setup
    /// Table name prefixes (lowercase) that belong to the host.
    package let reserved: [String]
    /// Why the statement being prepared was refused.
    package private(set) var refusal: String?
    /// Whether the statement being prepared creates, drops or alters something.
    package private(set) var changesSchema = false

    package init(reserved: [String] = ["projector_"]) {
        self.reserved = reserved
    }

    package func install(on db: OpaquePointer) {
        sqlite3_set_authorizer(db, authorize, Unmanaged.passUnretained(self).toOpaque())
    }

    package func remove(from db: OpaquePointer) {
        sqlite3_set_authorizer(db, nil, nil)
    }

    /// Forgets the last statement's verdict, before preparing the next.
    package func reset() {
        refusal = nil
        changesSchema = false
    }

    func refuse(_ reason: String) -> Int32 {
        refusal = reason
        return SQLITE_DENY
    }

    func isReserved(_ name: String) -> Bool {
        let lower = name.lowercased()
        return reserved.contains { lower.hasPrefix($0) }
    }

    func decide(_ action: Int32, _ name: String, _ second: String, database: String?) -> Int32 {
        switch action {
        case SQLITE_ATTACH, SQLITE_DETACH:
            return refuse("ATTACH/DETACH is not allowed: a projection reads and writes only its own store")
        case SQLITE_PRAGMA:
            return refuse("PRAGMA is not allowed in a projection (PRAGMA \(name))")
        case SQLITE_TRANSACTION, SQLITE_SAVEPOINT:
            return refuse("transactions are the host's: each batch and its checkpoint commit together")
        case SQLITE_FUNCTION:
            return second.lowercased() == "load_extension" ? refuse("load_extension is not allowed") : SQLITE_OK
        case SQLITE_CREATE_TEMP_TABLE, SQLITE_CREATE_TEMP_INDEX, SQLITE_CREATE_TEMP_VIEW, SQLITE_CREATE_TEMP_TRIGGER,
            SQLITE_DROP_TEMP_TABLE, SQLITE_DROP_TEMP_INDEX, SQLITE_DROP_TEMP_VIEW, SQLITE_DROP_TEMP_TRIGGER:
            return refuse(
                "TEMP tables, views and triggers are not allowed: they vanish when the store is closed, "
                    + "so a restarted projection would differ from a rebuilt one")
        case SQLITE_CREATE_TABLE, SQLITE_CREATE_INDEX, SQLITE_CREATE_VIEW, SQLITE_CREATE_TRIGGER, SQLITE_CREATE_VTABLE,
            SQLITE_DROP_TABLE, SQLITE_DROP_INDEX, SQLITE_DROP_VIEW, SQLITE_DROP_TRIGGER, SQLITE_DROP_VTABLE,
            SQLITE_ALTER_TABLE:
            if mode == .handler {
                return refuse("handlers may not change the schema: put tables and indexes in setup")
            }
            // A temporary table's name comes as the table with database "temp" on some actions.
            if database == "temp" {
                return refuse("TEMP tables, views and triggers are not allowed: they vanish when the store is closed")
            }
            changesSchema = true
            // CREATE/DROP INDEX and TRIGGER name the table second; ALTER names it second too.
            for candidate in [name, second] where isReserved(candidate) {
                return refuse("'\(candidate)': names starting with \(reservedText) belong to the host")
            }
            return SQLITE_OK
        case SQLITE_INSERT, SQLITE_UPDATE, SQLITE_DELETE, SQLITE_READ:
            guard isReserved(name) else { return SQLITE_OK }
            return refuse("'\(name)': tables starting with \(reservedText) belong to the host")
        default:
            return SQLITE_OK
        }
    }

    var reservedText: String { reserved.joined(separator: " or ") }
}

/// The C callback: hands each action to the guard installed with it.
private func authorize(
    _ context: UnsafeMutableRawPointer?, _ action: Int32, _ first: UnsafePointer<CChar>?,
    _ second: UnsafePointer<CChar>?, _ database: UnsafePointer<CChar>?, _ trigger: UnsafePointer<CChar>?
) -> Int32 {
    let guardian = Unmanaged<SQLGuard>.fromOpaque(context!).takeUnretainedValue()
    return guardian.decide(
        action, first.map { String(cString: $0) } ?? "", second.map { String(cString: $0) } ?? "",
        database: database.map { String(cString: $0) })
}
