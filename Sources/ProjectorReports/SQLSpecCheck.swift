import Foundation
import GRDBSQLite
import ProjectorCore
import ProjectorSQLite

/// Proves a SQL spec safe and well-formed before it ever touches a store: the setup runs in a
/// scratch in-memory database and every handler statement is prepared against the tables it
/// made, with an SQLite authorizer that refuses what a projection must not do (ATTACH another
/// file, PRAGMA, transactions, the host's `projector_*` tables, schema changes in handlers).
///
/// SQLite authorizes at prepare time, and the store's schema is exactly what the setup creates,
/// so a statement accepted here does the same in the store. Only the setup's schema statements
/// run here, under the spec's step budget; the rest (seed data) is prepared, not run: loading a
/// spec costs its DDL, and the data goes in once, when a store generation is set up.
enum SQLSpecCheck {
    /// The event parameters a statement may use.
    static let parameters = ["position", "id", "stream", "version", "type", "data", "metadata", "time"]

    /// Checks the setup and handlers; returns the handlers with each statement split out.
    static func check(
        name: String, setup: String, handlers: [SQLSpec.Handler], limits: SQLSpec.Limits, file: String
    ) throws -> [SQLSpec.Handler] {
        let scratch = try Scratch(budget: SQLiteBudget(steps: limits.steps))
        defer { scratch.close() }
        try scratch.runSchema(setup, at: "\(file): setup")
        var checked: [SQLSpec.Handler] = []
        for handler in handlers {
            var statements: [String] = []
            for (index, text) in handler.statements.enumerated() {
                let at = "\(file): on.\(handler.eventType)" + (handler.statements.count > 1 ? "[\(index)]" : "")
                statements += try scratch.prepareAll(text, at: at)
            }
            guard !statements.isEmpty else {
                throw ProjectorError(.invalidSpec, "\(file): on.\(handler.eventType): no SQL statement")
            }
            checked.append(SQLSpec.Handler(eventType: handler.eventType, statements: statements))
        }
        return checked
    }

    /// A private in-memory database with the guard installed.
    final class Scratch {
        enum Mode { case setup, handler }

        let db: OpaquePointer
        let budget: SQLiteBudget
        var mode = Mode.setup
        /// Why the authorizer refused the statement being prepared.
        var refusal: String?
        /// Whether the statement being prepared creates, drops or alters something.
        var changesSchema = false

        init(budget: SQLiteBudget) throws {
            self.budget = budget
            var handle: OpaquePointer?
            guard sqlite3_open_v2(":memory:", &handle, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, nil) == SQLITE_OK,
                let handle
            else {
                throw ProjectorError(.unavailable, "cannot open an in-memory SQLite database to check SQL")
            }
            db = handle
            // The host's table, so the guard sees (and refuses) statements that name it.
            sqlite3_exec(db, "CREATE TABLE projector_checkpoint(name TEXT PRIMARY KEY, position INTEGER)", nil, nil, nil)
            sqlite3_set_authorizer(db, authorize, Unmanaged.passUnretained(self).toOpaque())
        }

        func close() {
            sqlite3_set_authorizer(db, nil, nil)
            sqlite3_close_v2(db)
        }

        /// Prepares every statement of the setup and runs those that change the schema, each
        /// within the step budget.
        func runSchema(_ sql: String, at: String) throws {
            mode = .setup
            try each(sql, at: at) { statement, label in
                guard changesSchema else { return }
                try budget.watch(db) {
                    budget.startStatement()
                    var code = sqlite3_step(statement)
                    while code == SQLITE_ROW { code = sqlite3_step(statement) }
                    guard code == SQLITE_DONE else {
                        let reason = budget.exhausted == nil ? message() : budget.message(setting: "limits.steps")
                        throw ProjectorError(budget.exhausted == nil ? .invalidSpec : .budgetExceeded, "\(label): \(reason)")
                    }
                }
            }
        }

        /// Prepares every statement of a handler text, checks its parameters, returns the texts.
        func prepareAll(_ sql: String, at: String) throws -> [String] {
            mode = .handler
            var texts: [String] = []
            try each(sql, at: at) { statement, label in
                let count = sqlite3_bind_parameter_count(statement)
                if count > 0 {
                    for index in 1...count {
                        guard let raw = sqlite3_bind_parameter_name(statement, index) else {
                            throw ProjectorError(
                                .invalidSpec, "\(label): use named event parameters (:stream, :data …), not ?")
                        }
                        let name = String(cString: raw)
                        guard name.hasPrefix(":"), SQLSpecCheck.parameters.contains(String(name.dropFirst())) else {
                            throw ProjectorError(
                                .invalidSpec,
                                "\(label): unknown parameter \(name) (known: \(SQLSpecCheck.parameters.map { ":" + $0 }.joined(separator: " ")))"
                            )
                        }
                    }
                }
                texts.append(String(cString: sqlite3_sql(statement)))
            }
            return texts
        }

        /// Prepares the statements of `sql` one after another and hands each to `body`.
        private func each(_ sql: String, at: String, _ body: (OpaquePointer, String) throws -> Void) throws {
            var utf8 = Array(sql.utf8CString)
            let total = utf8.count - 1
            var offset = 0
            var number = 0
            while offset < total {
                var statement: OpaquePointer?
                var consumed = 0
                refusal = nil
                changesSchema = false
                let code = utf8.withUnsafeMutableBufferPointer { buffer -> Int32 in
                    var tail: UnsafePointer<CChar>?
                    let start = buffer.baseAddress! + offset
                    let code = sqlite3_prepare_v2(db, start, Int32(total - offset), &statement, &tail)
                    consumed = tail.map { $0 - UnsafePointer(start) } ?? (total - offset)
                    return code
                }
                number += 1
                let label = number > 1 ? "\(at) (statement \(number))" : at
                guard code == SQLITE_OK else {
                    throw ProjectorError(.invalidSpec, "\(label): \(refusal ?? message())")
                }
                offset += max(consumed, 1)
                guard let statement else { continue }  // only whitespace or a comment
                defer { sqlite3_finalize(statement) }
                if SQLSpecCheck.isVacuum(String(cString: sqlite3_sql(statement))) {
                    throw ProjectorError(.invalidSpec, "\(label): VACUUM is not allowed: the store's file is the host's")
                }
                try body(statement, label)
            }
        }

        private func message() -> String { String(cString: sqlite3_errmsg(db)) }

        func refuse(_ reason: String) -> Int32 {
            refusal = reason
            return SQLITE_DENY
        }
    }
}

/// The authorizer: called by SQLite for every action a statement being prepared would take.
private func authorize(
    _ context: UnsafeMutableRawPointer?, _ action: Int32, _ first: UnsafePointer<CChar>?,
    _ second: UnsafePointer<CChar>?, _ database: UnsafePointer<CChar>?, _ trigger: UnsafePointer<CChar>?
) -> Int32 {
    let scratch = Unmanaged<SQLSpecCheck.Scratch>.fromOpaque(context!).takeUnretainedValue()
    let name = first.map { String(cString: $0) } ?? ""
    switch action {
    case SQLITE_ATTACH, SQLITE_DETACH:
        return scratch.refuse("ATTACH/DETACH is not allowed: a projection reads and writes only its own store")
    case SQLITE_PRAGMA:
        return scratch.refuse("PRAGMA is not allowed in a projection (PRAGMA \(name))")
    case SQLITE_TRANSACTION, SQLITE_SAVEPOINT:
        return scratch.refuse("transactions are the host's: each batch and its checkpoint commit together")
    case SQLITE_FUNCTION:
        let function = (second.map { String(cString: $0) } ?? "").lowercased()
        return function == "load_extension" ? scratch.refuse("load_extension is not allowed") : SQLITE_OK
    case SQLITE_CREATE_TEMP_TABLE, SQLITE_CREATE_TEMP_INDEX, SQLITE_CREATE_TEMP_VIEW, SQLITE_CREATE_TEMP_TRIGGER,
        SQLITE_DROP_TEMP_TABLE, SQLITE_DROP_TEMP_INDEX, SQLITE_DROP_TEMP_VIEW, SQLITE_DROP_TEMP_TRIGGER:
        return scratch.refuse(
            "TEMP tables, views and triggers are not allowed: they vanish when the store is closed, so a restarted projection would differ from a rebuilt one"
        )
    case SQLITE_CREATE_TABLE, SQLITE_CREATE_INDEX, SQLITE_CREATE_VIEW, SQLITE_CREATE_TRIGGER, SQLITE_CREATE_VTABLE,
        SQLITE_DROP_TABLE, SQLITE_DROP_INDEX, SQLITE_DROP_VIEW, SQLITE_DROP_TRIGGER, SQLITE_DROP_VTABLE,
        SQLITE_ALTER_TABLE:
        if scratch.mode == .handler {
            return scratch.refuse("handlers may not change the schema: put tables and indexes in setup")
        }
        // A temporary table's name comes as the table with database "temp" on some actions.
        if let database, String(cString: database) == "temp" {
            return scratch.refuse("TEMP tables, views and triggers are not allowed: they vanish when the store is closed")
        }
        scratch.changesSchema = true
        // CREATE/DROP INDEX and TRIGGER name the table second; ALTER names it second too.
        let table = second.map { String(cString: $0) } ?? ""
        for candidate in [name, table] where isHostName(candidate) {
            return scratch.refuse("'\(candidate)': names starting with projector_ belong to the host")
        }
        return SQLITE_OK
    case SQLITE_INSERT, SQLITE_UPDATE, SQLITE_DELETE, SQLITE_READ:
        guard isHostName(name) else { return SQLITE_OK }
        return scratch.refuse("'\(name)': tables starting with projector_ belong to the host")
    default:
        return SQLITE_OK
    }
}

private func isHostName(_ name: String) -> Bool {
    name.lowercased().hasPrefix("projector_")
}

extension SQLSpecCheck {
    /// Whether a statement's first keyword (after comments) is VACUUM, which the authorizer
    /// never sees: it rewrites the whole file and cannot run in the host's transaction.
    static func isVacuum(_ sql: String) -> Bool {
        var text = Substring(sql)
        while true {
            text = text.drop { $0.isWhitespace }
            if text.hasPrefix("--") {
                text = text.drop { $0 != "\n" }
            } else if text.hasPrefix("/*") {
                guard let end = text.range(of: "*/") else { return false }
                text = text[end.upperBound...]
            } else {
                break
            }
        }
        return text.prefix(6).uppercased() == "VACUUM" && (text.count == 6 || !(text.dropFirst(6).first?.isLetter ?? false))
    }
}
