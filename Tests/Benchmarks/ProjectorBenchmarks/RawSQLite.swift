import Foundation
import GRDBSQLite

/// The baseline: the same statements through the bare SQLite C API, no Swift layers.
final class RawSQLite {
    let db: OpaquePointer

    /// `synchronous` and the cache settings mirror what the host uses for the same file: the
    /// log is FULL with SQLite's defaults; stores are NORMAL with an 8 MB cache and mmap.
    init(path: String, synchronous: String) throws {
        var handle: OpaquePointer?
        guard sqlite3_open_v2(path, &handle, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, nil) == SQLITE_OK, let handle
        else { throw BenchError("cannot open \(path)") }
        db = handle
        try exec("PRAGMA journal_mode = WAL; PRAGMA synchronous = \(synchronous)")
        if synchronous == "NORMAL" {
            try exec("PRAGMA cache_size = -8192; PRAGMA mmap_size = 4294967296")
        }
    }

    deinit { sqlite3_close_v2(db) }

    func exec(_ sql: String) throws {
        guard sqlite3_exec(db, sql, nil, nil, nil) == SQLITE_OK else {
            throw BenchError(String(cString: sqlite3_errmsg(db)))
        }
    }

    func prepare(_ sql: String) throws -> OpaquePointer {
        var statement: OpaquePointer?
        guard sqlite3_prepare_v3(db, sql, -1, UInt32(SQLITE_PREPARE_PERSISTENT), &statement, nil) == SQLITE_OK,
            let statement
        else { throw BenchError(String(cString: sqlite3_errmsg(db))) }
        return statement
    }
}

let SQLITE_TRANSIENT = unsafeBitCast(-1, to: sqlite3_destructor_type.self)

extension OpaquePointer {
    func bind(_ index: Int32, _ text: String?) {
        guard let text else {
            sqlite3_bind_null(self, index)
            return
        }
        sqlite3_bind_text(self, index, text, -1, SQLITE_TRANSIENT)
    }
    func bind(_ index: Int32, _ value: Int64) { sqlite3_bind_int64(self, index, value) }
    func text(_ column: Int32) -> String { String(cString: sqlite3_column_text(self, column)) }
    func int(_ column: Int32) -> Int64 { sqlite3_column_int64(self, column) }
    func finish() {
        sqlite3_reset(self)
        sqlite3_clear_bindings(self)
    }
}

struct BenchError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

/// Prints a line at once (stdout is block-buffered when redirected to a file).
func report(_ line: String) {
    FileHandle.standardOutput.write(Data((line + "\n").utf8))
}
