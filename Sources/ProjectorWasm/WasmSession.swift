import Foundation
import GRDB
import GRDBSQLite
import Logging
import ProjectorCore
import ProjectorSQLite
import WasmKit

/// One instance of a plugin applying one transaction's events: the host functions of ABI 1
/// over the transaction's database, the current event, and what the plugin emitted.
final class WasmSession {
    let name: String
    let plugin: WasmPlugin
    let checker: WasmSQLChecker
    /// The transaction's connection; nil while the module is only being checked.
    let connection: OpaquePointer?
    let budget: SQLiteBudget
    let searchFields: Set<String>?
    let logger: Logger
    let memoryCap: MemoryCap
    /// The interpreter's stack, reused by every call of the transaction.
    var stack: ExecutionStack
    var memory: WasmKit.Memory?
    var event: RecordedEvent?
    /// Why the current event failed (`fail`), and why the last host call returned -1.
    var failure: String?
    var lastError: String?
    /// The current transaction's documents for the search index, as synthetic events.
    var documents: [RecordedEvent] = []
    private var statements: [String: OpaquePointer] = [:]
    private var paths: [String: JSONPath] = [:]
    private var logLines = 0

    static let maxTransfer = 16 << 20
    static let maxLogLinesPerEvent = 100

    init(
        name: String, plugin: WasmPlugin, checker: WasmSQLChecker, connection: OpaquePointer?, searchFields: Set<String>?,
        logger: Logger
    ) {
        self.name = name
        self.plugin = plugin
        self.checker = checker
        self.connection = connection
        self.budget = SQLiteBudget(steps: plugin.limits.steps)
        self.searchFields = searchFields
        self.logger = logger
        memoryCap = MemoryCap(bytes: plugin.limits.memoryMB << 20)
        stack = ExecutionStack(engine: plugin.engine)
    }

    /// Makes `event` the current one, with no failure, error or log lines yet.
    func begin(_ event: RecordedEvent) {
        self.event = event
        failure = nil
        lastError = nil
        logLines = 0
        memoryCap.refused = nil
    }

    func close() {
        for statement in statements.values { sqlite3_finalize(statement) }
        statements = [:]
    }

    // MARK: Memory

    func memory(_ caller: borrowing Caller) throws -> WasmKit.Memory {
        if let memory { return memory }
        guard let memory = caller.instance?.exports[memory: "memory"] else { throw PluginFault("no memory exported") }
        return memory
    }

    /// The plugin's memory and the range a host call names in it, checked.
    func range(_ caller: borrowing Caller, _ pointer: Value, _ length: Value) throws -> (WasmKit.Memory, start: Int, count: Int) {
        let (start, count) = (Int(pointer.i32), Int(Int32(bitPattern: length.i32)))
        let memory = try memory(caller)
        guard count >= 0, count <= Self.maxTransfer, start + count <= memory.byteCount else {
            throw PluginFault("a host call named \(count) bytes at \(start), outside the plugin's \(memory.byteCount) bytes of memory")
        }
        return (memory, start, count)
    }

    func read(_ caller: borrowing Caller, _ pointer: Value, _ length: Value) throws -> [UInt8] {
        let (memory, start, count) = try range(caller, pointer, length)
        if count == 0 { return [] }
        return memory.withUnsafeBufferPointer(offset: UInt(start), count: count) { Array($0) }
    }

    func text(_ caller: borrowing Caller, _ pointer: Value, _ length: Value) throws -> String {
        let (memory, start, count) = try range(caller, pointer, length)
        if count == 0 { return "" }
        let text = memory.withUnsafeBufferPointer(offset: UInt(start), count: count) { String(validating: $0, as: UTF8.self) }
        guard let text else { throw PluginFault("a host call passed text that is not UTF-8") }
        return text
    }

    /// Writes `bytes` at `pointer` when they fit in `capacity`; returns their full length.
    func write(_ caller: borrowing Caller, _ bytes: [UInt8], to pointer: Value, capacity: Value) throws -> Value {
        let (start, cap) = (Int(pointer.i32), Int(Int32(bitPattern: capacity.i32)))
        guard bytes.count <= Int(Int32.max) else { throw PluginFault("a result larger than 2 GiB") }
        let memory = try memory(caller)
        let count = min(bytes.count, max(cap, 0))
        guard start + count <= memory.byteCount else {
            throw PluginFault("a host call asked for \(count) bytes at \(start), outside the plugin's \(memory.byteCount) bytes of memory")
        }
        if count > 0 {
            memory.withUnsafeMutableBufferPointer(offset: UInt(start), count: count) { buffer in
                buffer.copyBytes(from: bytes[0..<count])
            }
        }
        return .i32(UInt32(bytes.count))
    }

    // MARK: Host functions

    func imports(store: Store, wasi: Bool) -> Imports {
        var imports = Imports()
        // The raw form: the engine's own buffers, no arrays allocated per call.
        func define(
            _ name: String, _ parameters: Int, returns: Bool,
            _ body: @escaping (borrowing Caller, UnsafeBufferPointer<Value>) throws -> Value?
        ) {
            imports.define(
                module: "projector", name: name,
                Function(store: store, parameters: Array(repeating: .i32, count: parameters), results: returns ? [.i32] : []) {
                    caller, arguments, results in
                    if let result = try body(caller, arguments), !results.isEmpty { results[0] = result }
                })
        }
        let minusOne = Value.i32(UInt32(bitPattern: -1))
        define("event", 4, returns: true) { [unowned self] caller, a in
            let path = try text(caller, a[0], a[1])
            guard let event else { throw PluginFault("event called outside projector_apply") }
            let parsed: JSONPath
            if let known = paths[path] {
                parsed = known
            } else {
                do { parsed = try JSONPath(path) } catch { throw PluginFault("event: bad path '\(path)': \(error)") }
                paths[path] = parsed
            }
            guard let value = parsed.value(in: event) else { return minusOne }
            return try write(caller, Array(value.utf8), to: a[2], capacity: a[3])
        }
        define("sql_exec", 4, returns: true) { [unowned self] caller, a in
            let sql = try text(caller, a[0], a[1])
            let arguments = try PluginValue.decode(read(caller, a[2], a[3]))
            do {
                _ = try run(sql, arguments, rows: false)
                return .i32(UInt32(truncatingIfNeeded: sqlite3_changes(connection)))
            } catch let error as SQLFailure {
                lastError = error.message
                return minusOne
            }
        }
        define("sql_query", 6, returns: true) { [unowned self] caller, a in
            let sql = try text(caller, a[0], a[1])
            let arguments = try PluginValue.decode(read(caller, a[2], a[3]))
            do {
                let encoded = try run(sql, arguments, rows: true)
                return try write(caller, encoded, to: a[4], capacity: a[5])
            } catch let error as SQLFailure {
                lastError = error.message
                return minusOne
            }
        }
        define("search_upsert", 2, returns: true) { [unowned self] caller, a in
            let values = try PluginValue.decode(read(caller, a[0], a[1]))
            return try emit(values) ? .i32(0) : minusOne
        }
        define("search_delete", 2, returns: true) { [unowned self] caller, a in
            let id = try text(caller, a[0], a[1])
            return try emit([.text(id)], delete: true) ? .i32(0) : minusOne
        }
        define("log", 3, returns: false) { [unowned self] caller, a in
            log(Int32(bitPattern: a[0].i32), try text(caller, a[1], a[2]))
            return nil
        }
        define("last_error", 2, returns: true) { [unowned self] caller, a in
            try write(caller, Array((lastError ?? "").utf8), to: a[0], capacity: a[1])
        }
        define("fail", 2, returns: false) { [unowned self] caller, a in
            failure = try text(caller, a[0], a[1])
            return nil
        }
        if wasi {
            // fd_write(fd, iovs, iovs_len, nwritten): stdout and stderr become log lines.
            imports.define(
                module: WasmPlugin.wasiLog.module, name: WasmPlugin.wasiLog.name,
                Function(store: store, parameters: [.i32, .i32, .i32, .i32], results: [.i32]) { [unowned self] caller, a in
                    let vectors = try read(caller, a[1], .i32(a[2].i32 &* 8))
                    var written = 0
                    var bytes: [UInt8] = []
                    for index in 0..<Int(a[2].i32) {
                        let base = index * 8
                        let pointer = vectors[base..<base + 4].reversed().reduce(UInt32(0)) { $0 << 8 | UInt32($1) }
                        let length = vectors[base + 4..<base + 8].reversed().reduce(UInt32(0)) { $0 << 8 | UInt32($1) }
                        bytes += try read(caller, .i32(pointer), .i32(length))
                        written += Int(length)
                    }
                    log(a[0].i32 == 2 ? 2 : 1, String(decoding: bytes, as: UTF8.self))
                    _ = try write(caller, withUnsafeBytes(of: UInt32(written).littleEndian, Array.init), to: a[3], capacity: .i32(4))
                    return [.i32(0)]
                })
        }
        return imports
    }

    func log(_ level: Int32, _ text: String) {
        logLines += 1
        guard logLines <= Self.maxLogLinesPerEvent else { return }
        let line = "plugin \(name): " + String(text.trimmingCharacters(in: .newlines).prefix(4_096))
        switch level {
        case ...0: logger.debug("\(line)")
        case 1: logger.info("\(line)")
        case 2: logger.warning("\(line)")
        default: logger.error("\(line)")
        }
    }

    /// A document for the index: values id, then name and value pairs.
    func emit(_ values: [PluginValue], delete: Bool = false) throws -> Bool {
        guard let fields = searchFields else {
            lastError = "this plugin's spec declares no search index (search: fields)"
            return false
        }
        guard let event, case .text(let id)? = values.first, !id.isEmpty else {
            lastError = "a document starts with its id, as non-empty text"
            return false
        }
        var members: [String] = []
        var index = 1
        while index < values.count {
            guard index + 1 < values.count, case .text(let field) = values[index] else {
                lastError = "after the id, a document is pairs of field name (text) and value"
                return false
            }
            guard fields.contains(field) else {
                lastError = "no field '\(field)' in search.fields (\(fields.sorted().joined(separator: ", ")))"
                return false
            }
            let value: String
            switch values[index + 1] {
            case .null: value = "null"
            case .integer(let number): value = JSONString.quote(String(number))
            case .real(let number): value = JSONString.quote(String(number))
            case .text(let text): value = JSONString.quote(text)
            }
            members.append("\(JSONString.quote(field)):\(value)")
            index += 2
        }
        let data = "{\"id\":\(JSONString.quote(id)),\"fields\":{\(members.joined(separator: ","))}}"
        documents.append(
            RecordedEvent(
                position: event.position, id: event.id, stream: event.stream, version: event.version,
                type: delete ? WasmDocuments.deleteType : WasmDocuments.upsertType, data: data, metadata: "{}", time: event.time))
        return true
    }

    // MARK: SQL

    struct SQLFailure: Error { let message: String }

    /// Runs one statement with `arguments` bound; returns the encoded rows when `rows`.
    func run(_ sql: String, _ arguments: [PluginValue], rows: Bool) throws -> [UInt8] {
        guard let connection else { throw SQLFailure(message: "no store while the module is checked") }
        let statement = try prepared(sql, on: connection)
        for (offset, value) in arguments.enumerated() {
            let index = Int32(offset + 1)
            let code: Int32
            switch value {
            case .null: code = sqlite3_bind_null(statement, index)
            case .integer(let number): code = sqlite3_bind_int64(statement, index, number)
            case .real(let number): code = sqlite3_bind_double(statement, index, number)
            case .text(let text): code = sqlite3_bind_text(statement, index, text, -1, Self.transient)
            }
            guard code == SQLITE_OK else {
                throw SQLFailure(message: "cannot bind value \(index): the statement takes \(sqlite3_bind_parameter_count(statement))")
            }
        }
        budget.startStatement()
        var encoded: [UInt8] = []
        var rowCount: UInt32 = 0
        let columns = sqlite3_column_count(statement)
        var code = sqlite3_step(statement)
        while code == SQLITE_ROW {
            if rows {
                rowCount += 1
                for column in 0..<columns { Self.value(statement, column).encode(into: &encoded) }
                guard encoded.count <= Self.maxTransfer else { throw SQLFailure(message: "the query's result passes 16 MiB") }
            }
            code = sqlite3_step(statement)
        }
        if code != SQLITE_DONE {
            if budget.exhausted != nil {
                throw ProjectorError(.budgetExceeded, "plugin \(name): \(budget.message(setting: "limits.steps"))")
            }
            if code == SQLITE_INTERRUPT { throw CancellationError() }
            throw SQLFailure(message: String(cString: sqlite3_errmsg(connection)))
        }
        guard rows else { return [] }
        var header: [UInt8] = []
        for value in [UInt32(columns), rowCount] { header += withUnsafeBytes(of: value.littleEndian, Array.init) }
        return header + encoded
    }

    func prepared(_ sql: String, on connection: OpaquePointer) throws -> OpaquePointer {
        if let statement = statements[sql] {
            sqlite3_reset(statement)
            sqlite3_clear_bindings(statement)
            return statement
        }
        do {
            try checker.check(sql)
        } catch let error as ProjectorError {
            throw SQLFailure(message: error.message)
        }
        var statement: OpaquePointer?
        guard sqlite3_prepare_v2(connection, sql, -1, &statement, nil) == SQLITE_OK, let statement else {
            throw SQLFailure(message: String(cString: sqlite3_errmsg(connection)))
        }
        statements[sql] = statement
        return statement
    }

    static let transient = unsafeBitCast(-1, to: sqlite3_destructor_type.self)

    static func value(_ statement: OpaquePointer, _ column: Int32) -> PluginValue {
        switch sqlite3_column_type(statement, column) {
        case SQLITE_INTEGER: .integer(sqlite3_column_int64(statement, column))
        case SQLITE_FLOAT: .real(sqlite3_column_double(statement, column))
        case SQLITE_NULL: .null
        default: .text(sqlite3_column_text(statement, column).map { String(cString: $0) } ?? "")
        }
    }
}
