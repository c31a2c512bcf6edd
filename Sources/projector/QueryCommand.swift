import ArgumentParser
import Foundation
import GRDB
import ProjectorCore
import ProjectorHost
import ProjectorSQLite
import ProjectorSpecs

struct QueryCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "query",
        abstract: "Run read-only SQL against a projection's live tables.",
        discussion: """
              projector query accounts 'SELECT account, balance FROM accounts ORDER BY balance DESC'
            Writes are refused: the store is opened read-only.
            """)

    @OptionGroup var global: GlobalOptions
    @Argument(help: "The projection.") var name: String
    @Argument(help: "One SQL statement.") var sql: String
    @Flag(help: "Print a JSON array of row objects.") var json = false
    @Option(help: "Stop the query after this many seconds.") var timeout: Double = 30

    func run() async throws {
        let configuration = try global.configuration()
        let names = ProjectionCatalog.load(configuration, kinds: GlobalOptions.kinds, builtIn: GlobalOptions.builtIn).projections.map(
            \.name)
        guard names.contains(name) else {
            throw ProjectorError(.notFound, "no projection named '\(name)' (known: \(names.sorted().joined(separator: ", ")))")
        }
        let store = try global.existingStore(name, configuration)
        guard timeout > 0 else { throw ValidationError("--timeout must be above 0") }
        let result: (columns: [String], rows: [[DatabaseValue]])
        let budget = SQLiteBudget(steps: nil, deadline: .now + .milliseconds(Int64(timeout * 1000)))
        do {
            result = try await store.pool.read { db in
                try db.execute(sql: "PRAGMA query_only = 1")
                let statements = try db.allStatements(sql: sql)
                guard let statement = try statements.next() else { throw ProjectorError(.invalidQuery, "no SQL statement") }
                guard try statements.next() == nil else {
                    throw ProjectorError(.invalidQuery, "one statement at a time: found more than one")
                }
                guard statement.isReadonly else {
                    throw ProjectorError(.invalidQuery, "only read-only SQL is allowed (SELECT, WITH, read-only PRAGMA)")
                }
                let rows = try budget.watch(db.sqliteConnection!) { try Row.fetchAll(statement) }
                return (statement.columnNames, rows.map { Array($0.databaseValues) })
            }
        } catch let error as DatabaseError {
            if budget.exhausted != nil {
                throw ProjectorError(
                    .budgetExceeded, "the query ran past its \(Format.duration(timeout)) limit (--timeout) and was stopped")
            }
            throw ProjectorError(.invalidQuery, "SQL error: \(error.message ?? "\(error)")")
        }
        if json {
            let objects = result.rows.map { row in
                "{" + zip(result.columns, row).map { JSONString.quote($0) + ":" + Self.json($1) }.joined(separator: ",") + "}"
            }
            print("[" + objects.joined(separator: ",") + "]")
        } else {
            TablePrinter.print(header: result.columns, rows: result.rows.map { $0.map(Self.text) })
        }
    }

    static func json(_ value: DatabaseValue) -> String {
        switch value.storage {
        case .null: "null"
        case .int64(let number): String(number)
        case .double(let number): number.isFinite ? String(number) : "null"
        case .string(let text): JSONString.quote(text)
        case .blob(let data): JSONString.quote(data.base64EncodedString())
        }
    }

    static func text(_ value: DatabaseValue) -> String {
        switch value.storage {
        case .null: "NULL"
        case .int64(let number): String(number)
        case .double(let number): String(number)
        case .string(let text): text
        case .blob(let data): "<\(data.count) bytes>"
        }
    }
}
