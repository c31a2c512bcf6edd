import Foundation
import GRDBSQLite
import ProjectorCore
package import ProjectorSQLite

/// Proves a SQL spec safe and well-formed before it ever touches a store: the setup runs in a
/// scratch in-memory database and every handler statement is prepared against the tables it
/// made, with an SQLite authorizer that refuses what a projection must not do (ATTACH another
/// file, PRAGMA, transactions, the host's `projector_*` tables, schema changes in handlers).
///
/// SQLite authorizes at prepare time, and the store's schema is exactly what the setup creates,
/// so a statement accepted here does the same in the store. Only the setup's schema statements
/// run here, under the spec's step budget; the rest (seed data) is prepared, not run: loading a
/// spec costs its DDL, and the data goes in once, when a store generation is set up.
package enum SQLSpecCheck {
    /// The event parameters a statement may use.
    static let parameters = ["position", "id", "stream", "version", "type", "data", "metadata", "time", "tenant"]

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

    /// Runs a setup's schema statements in a scratch database under the guard, for kinds other
    /// than `sql` that take setup SQL; errors are one line starting with `label`.
    package static func checkSetup(_ setup: String, steps: Int64, reserved: [String], at label: String) throws {
        let scratch = try Scratch(budget: SQLiteBudget(steps: steps), reserved: reserved)
        defer { scratch.close() }
        try scratch.runSchema(setup, at: label)
    }

    /// A private in-memory database with the guard installed.
    package final class Scratch {
        let db: OpaquePointer
        let budget: SQLiteBudget
        let guardian: SQLGuard

        package init(budget: SQLiteBudget, reserved: [String] = ["projector_"]) throws {
            self.budget = budget
            guardian = SQLGuard(reserved: reserved)
            var handle: OpaquePointer?
            guard sqlite3_open_v2(":memory:", &handle, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, nil) == SQLITE_OK,
                let handle
            else {
                throw ProjectorError(.unavailable, "cannot open an in-memory SQLite database to check SQL")
            }
            db = handle
            // The host's table, so the guard sees (and refuses) statements that name it.
            sqlite3_exec(db, "CREATE TABLE projector_checkpoint(name TEXT PRIMARY KEY, position INTEGER)", nil, nil, nil)
            guardian.install(on: db)
        }

        package func close() {
            guardian.remove(from: db)
            sqlite3_close_v2(db)
        }

        /// Prepares every statement of the setup and runs those that change the schema, each
        /// within the step budget.
        package func runSchema(_ sql: String, at: String) throws {
            guardian.mode = .setup
            try each(sql, at: at) { statement, label in
                guard guardian.changesSchema else { return }
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
            guardian.mode = .handler
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

        /// Prepares `sql`, which must be one statement, as a handler's would be (no schema
        /// change, no host table); returns its parameter count.
        package func checkStatement(_ sql: String, at: String) throws -> Int {
            guardian.mode = .handler
            var count = 0
            var parameters = 0
            try each(sql, at: at) { statement, label in
                count += 1
                guard count == 1 else { throw ProjectorError(.invalidSpec, "\(label): one statement per call") }
                parameters = Int(sqlite3_bind_parameter_count(statement))
            }
            guard count == 1 else { throw ProjectorError(.invalidSpec, "\(at): no SQL statement") }
            return parameters
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
                guardian.reset()
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
                    throw ProjectorError(.invalidSpec, "\(label): \(guardian.refusal ?? message())")
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
    }
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
