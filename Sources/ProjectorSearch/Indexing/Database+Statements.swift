import GRDB
import GRDBSQLite

/// The two helpers of the hot paths that step GRDB's cached statements through SQLite's C API.
extension Database {
    /// Steps a statement that returns no rows and resets it (bindings are all rebound before
    /// each use, so they need no clearing).
    func runToCompletion(_ statement: OpaquePointer) throws {
        let code = sqlite3_step(statement)
        sqlite3_reset(statement)
        guard code == SQLITE_DONE else { throw error(code) }
    }

    /// SQLite's error for a result code, with the connection's message.
    func error(_ code: Int32) -> DatabaseError {
        DatabaseError(resultCode: ResultCode(rawValue: code), message: String(cString: sqlite3_errmsg(sqliteConnection)))
    }
}
