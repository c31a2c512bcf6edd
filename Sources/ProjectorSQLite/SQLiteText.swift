import GRDBSQLite

/// Text in and out of SQLite's C API, for the hot paths that bind and read through it on GRDB's
/// cached statements (the log's appends and reads, SQL and search projections): one place for
/// the pointer handling instead of a copy in each.
package enum SQLiteText {
    /// SQLITE_TRANSIENT: SQLite copies the bytes before the call returns.
    static let transient = unsafeBitCast(-1, to: sqlite3_destructor_type.self)

    /// Binds the text's UTF-8 bytes (all of them, NULs included), or NULL for nil.
    public static func bind(_ statement: OpaquePointer, _ index: Int32, _ text: String?) {
        guard let text else {
            sqlite3_bind_null(statement, index)
            return
        }
        _ = text.withCString { sqlite3_bind_text(statement, index, $0, Int32(text.utf8.count), transient) }
    }

    /// A column as text, nil when it is NULL.
    public static func column(_ statement: OpaquePointer, _ index: Int32) -> String? {
        guard let pointer = sqlite3_column_text(statement, index) else { return nil }
        return String(decoding: UnsafeBufferPointer(start: pointer, count: Int(sqlite3_column_bytes(statement, index))), as: UTF8.self)
    }
}
