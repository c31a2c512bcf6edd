import Foundation
import ProjectorCore
import ProjectorReports
import ProjectorSQLite

/// Proves each distinct SQL text a plugin runs before it touches the store: prepared once in a
/// scratch database holding the plugin's setup, under the guard of `kind: sql` specs (its own
/// tables only; no ATTACH, PRAGMA, transactions, schema changes, host or search tables).
final class WasmSQLChecker: @unchecked Sendable {
    /// Table prefixes a plugin may not name: the host's and its search index's.
    static let reserved = ["projector_", "documents"]
    private let lock = NSLock()
    private let scratch: SQLSpecCheck.Scratch
    private var accepted: Set<String> = []

    /// Runs the setup's schema statements in the scratch database; errors name `file`.
    init(setup: String, steps: Int64, file: String) throws {
        scratch = try SQLSpecCheck.Scratch(budget: SQLiteBudget(steps: steps), reserved: Self.reserved)
        try scratch.runSchema(setup, at: "\(file): setup")
    }

    deinit { scratch.close() }

    /// Throws the guard's refusal (or SQLite's error) for a statement the plugin may not run.
    func check(_ sql: String) throws {
        try lock.withLock {
            guard !accepted.contains(sql) else { return }
            _ = try scratch.checkStatement(sql, at: "SQL '\(sql.prefix(120))'")
            if accepted.count < 10_000 { accepted.insert(sql) }
        }
    }
}
