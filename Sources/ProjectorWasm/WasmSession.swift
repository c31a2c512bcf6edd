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
    /// The transaction's events, and which of them is current: the one `projector_apply` was
    /// called for, or the last one `next` handed to `projector_apply_batch`.
    var events: [RecordedEvent] = []
    var current: Int?
    var event: RecordedEvent? { current.map { events[$0] } }
    /// How many events `projector_apply_batch` has taken.
    var taken: Int { current.map { $0 + 1 } ?? 0 }
    /// Whether the module takes its events itself (`next` answers only then).
    var batch = false
    /// Why the current event failed (`fail`), and why the last host call returned -1.
    var failure: String?
    var lastError: String?
    /// The current transaction's documents for the search index, as synthetic events.
    var documents: [RecordedEvent] = []
    private var statements: [String: OpaquePointer] = [:]
    private var statementsAt = PluginMemory.Cache<OpaquePointer>()
    private var paths = PluginMemory.Cache<JSONPathList>()
    /// Values on their way into the plugin's memory, kept between calls for their capacity.
    private var scratch: [UInt8] = []
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

    /// Makes `events[index]` the current event, with no failure, error or log lines yet.
    func begin(_ index: Int) {
        current = index
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

    /// Runs `body` over the plugin's whole memory: one access through the engine per host call.
    func withMemory<T>(_ caller: borrowing Caller, _ body: (PluginMemory) throws -> T) throws -> T {
        let memory: WasmKit.Memory
        if let known = self.memory {
            memory = known
        } else {
            guard let exported = caller.instance?.exports[memory: "memory"] else { throw PluginFault("no memory exported") }
            memory = exported
        }
        return try memory.withUnsafeMutableBufferPointer(offset: 0, count: memory.byteCount) { try body(PluginMemory(bytes: $0)) }
    }

    // MARK: Host functions

    /// The host functions over this session. They hold it `unowned(unsafe)`: they run only
    /// inside the session's own calls into the module, and a counted reference costs every call.
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
        define("event", 4, returns: true) { [unowned(unsafe) self] caller, a in
            guard let current else { throw PluginFault("event called before the first projector_next") }
            return try withMemory(caller) { memory in
                let path = try paths(memory.slice(text: a[0].i32, a[1].i32), at: a[0].i32, call: "event")
                var written: UInt32?
                try events.withUnsafeBufferPointer { events in
                    try path.withValues(in: events[current]) { value in
                        written = try value.map { try memory.write(UnsafeRawBufferPointer($0), to: a[2].i32, capacity: a[3].i32) }
                    }
                }
                return written.map(Value.i32) ?? minusOne
            }
        }
        define("next", 0, returns: true) { [unowned(unsafe) self] caller, _ in
            guard batch, taken < events.count else { return .i32(0) }
            begin(taken)
            caller.store.fuel = Fuel(remaining: plugin.limits.fuel)
            return .i32(1)
        }
        define("event_values", 4, returns: true) { [unowned(unsafe) self] caller, a in
            guard let current else { throw PluginFault("event_values called before the first projector_next") }
            return try withMemory(caller) { memory in
                let list = try paths(memory.slice(a[0].i32, a[1].i32), at: a[0].i32, call: "event_values")
                return .i32(
                    try withScratch { encoded in
                        events.withUnsafeBufferPointer { events in
                            list.withValues(in: events[current]) { PluginValue.encode(utf8: $0, into: &encoded) }
                        }
                        return try encoded.withUnsafeBytes { try memory.write($0, to: a[2].i32, capacity: a[3].i32) }
                    })
            }
        }
        define("sql_exec", 4, returns: true) { [unowned(unsafe) self] caller, a in
            try withMemory(caller) { memory in
                do {
                    var none: [UInt8]?
                    try run(memory, sql: a[0].i32, a[1].i32, arguments: memory.slice(a[2].i32, a[3].i32), rows: &none)
                    return .i32(UInt32(truncatingIfNeeded: sqlite3_changes(connection)))
                } catch let error as SQLFailure {
                    lastError = error.message
                    return minusOne
                }
            }
        }
        define("sql_query", 6, returns: true) { [unowned(unsafe) self] caller, a in
            try withMemory(caller) { memory in
                do {
                    return .i32(
                        try withScratch { encoded in
                            var rows: [UInt8]? = encoded
                            defer { encoded = rows ?? [] }
                            try run(memory, sql: a[0].i32, a[1].i32, arguments: memory.slice(a[2].i32, a[3].i32), rows: &rows)
                            return try rows!.withUnsafeBytes { try memory.write($0, to: a[4].i32, capacity: a[5].i32) }
                        })
                } catch let error as SQLFailure {
                    lastError = error.message
                    return minusOne
                }
            }
        }
        define("search_upsert", 2, returns: true) { [unowned(unsafe) self] caller, a in
            return try withMemory(caller) { try upsert($0.slice(a[0].i32, a[1].i32)) } ? .i32(0) : minusOne
        }
        define("search_delete", 2, returns: true) { [unowned(unsafe) self] caller, a in
            let id = try withMemory(caller) { try $0.text(a[0].i32, a[1].i32) }
            return delete(id) ? .i32(0) : minusOne
        }
        define("log", 3, returns: false) { [unowned(unsafe) self] caller, a in
            log(Int32(bitPattern: a[0].i32), try withMemory(caller) { try $0.text(a[1].i32, a[2].i32) })
            return nil
        }
        define("last_error", 2, returns: true) { [unowned(unsafe) self] caller, a in
            var text = lastError ?? ""
            return .i32(
                try withMemory(caller) { memory in
                    try text.withUTF8 { try memory.write(UnsafeRawBufferPointer($0), to: a[0].i32, capacity: a[1].i32) }
                })
        }
        define("fail", 2, returns: false) { [unowned(unsafe) self] caller, a in
            failure = try withMemory(caller) { try $0.text(a[0].i32, a[1].i32) }
            return nil
        }
        if wasi {
            // fd_write(fd, iovs, iovs_len, nwritten): stdout and stderr become log lines.
            imports.define(
                module: WasmPlugin.wasiLog.module, name: WasmPlugin.wasiLog.name,
                Function(store: store, parameters: [.i32, .i32, .i32, .i32], results: [.i32]) { [unowned(unsafe) self] caller, a in
                    let bytes = try withMemory(caller) { memory in
                        let vectors = try memory.slice(a[1].i32, a[2].i32 &* 8)
                        var bytes: [UInt8] = []
                        for index in 0..<Int(a[2].i32) {
                            let pointer = vectors.loadUnaligned(fromByteOffset: index * 8, as: UInt32.self).littleEndian
                            let length = vectors.loadUnaligned(fromByteOffset: index * 8 + 4, as: UInt32.self).littleEndian
                            bytes += try memory.slice(pointer, length)
                        }
                        var written = UInt32(bytes.count).littleEndian
                        _ = try withUnsafeBytes(of: &written) { try memory.write($0, to: a[3].i32, capacity: 4) }
                        return bytes
                    }
                    log(a[0].i32 == 2 ? 2 : 1, String(decoding: bytes, as: UTF8.self))
                    return [.i32(0)]
                })
        }
        return imports
    }

    /// The JSON paths a plugin passes at `pointer` (separated by NULs; one after the last, a C
    /// literal's own, is allowed), parsed once per transaction.
    private func paths(_ text: UnsafeRawBufferPointer, at pointer: UInt32, call: String) throws -> JSONPathList {
        try paths.value(at: pointer, text) { text in
            JSONPathList(
                try (text.hasSuffix("\0") ? text.dropLast() : Substring(text)).split(separator: "\0", omittingEmptySubsequences: false)
                    .map { path in
                        do { return try JSONPath(String(path)) } catch { throw PluginFault("\(call): bad path '\(path)': \(error)") }
                    })
        }
    }

    /// Runs `body` on the session's buffer (emptied, its capacity kept between calls).
    private func withScratch<T>(_ body: (inout [UInt8]) throws -> T) rethrows -> T {
        var buffer = scratch
        scratch = []
        defer { scratch = buffer }
        buffer.removeAll(keepingCapacity: true)
        return try body(&buffer)
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

    /// Adds a document for the index: encoded values, id then name and value pairs.
    func upsert(_ encoded: UnsafeRawBufferPointer) throws -> Bool {
        guard let fields = searchFields else {
            lastError = "this plugin's spec declares no search index (search: fields)"
            return false
        }
        // The fields are the document event's data (built as it is read), its id is in its metadata.
        var id: String?
        var awaitingValue = false
        var data: [UInt8] = [UInt8(ascii: "{")]
        var problem: String?
        try PluginValue.forEach(in: encoded) { value in
            guard problem == nil else { return }
            if id == nil {
                guard case .text(let text) = value, !text.isEmpty else {
                    return problem = "a document starts with its id, as non-empty text"
                }
                id = String(decoding: text, as: UTF8.self)
            } else if !awaitingValue {
                guard case .text(let text) = value else {
                    return problem = "after the id, a document is pairs of field name (text) and value"
                }
                let name = String(decoding: text, as: UTF8.self)
                guard fields.contains(name) else {
                    return problem = "no field '\(name)' in search.fields (\(fields.sorted().joined(separator: ", ")))"
                }
                if data.count > 1 { data.append(UInt8(ascii: ",")) }
                JSONString.append(text, to: &data)
                data.append(UInt8(ascii: ":"))
                awaitingValue = true
            } else {
                awaitingValue = false
                switch value {
                case .null: data += "null".utf8
                case .integer(let number): data += JSONString.quote(String(number)).utf8
                case .real(let number): data += JSONString.quote(String(number)).utf8
                case .text(let text): JSONString.append(text, to: &data)
                }
            }
        }
        if id == nil { problem = problem ?? "a document starts with its id, as non-empty text" }
        if awaitingValue { problem = problem ?? "after the id, a document is pairs of field name (text) and value" }
        if let problem {
            lastError = problem
            return false
        }
        data.append(UInt8(ascii: "}"))
        return add(id: id!, data: String(decoding: data, as: UTF8.self), delete: false)
    }

    /// Removes a document from the index.
    func delete(_ id: String) -> Bool {
        guard searchFields != nil else {
            lastError = "this plugin's spec declares no search index (search: fields)"
            return false
        }
        guard !id.isEmpty else {
            lastError = "a document starts with its id, as non-empty text"
            return false
        }
        return add(id: id, data: "{}", delete: true)
    }

    /// The document as a synthetic event of the current one, for the index.
    private func add(id: String, data: String, delete: Bool) -> Bool {
        guard let event else { return false }
        documents.append(
            RecordedEvent(
                position: event.position, id: event.id, stream: event.stream, version: event.version,
                type: delete ? WasmDocuments.deleteType : WasmDocuments.upsertType, data: data,
                metadata: "{\"id\":\(JSONString.quote(id))}", time: event.time))
        return true
    }

    // MARK: SQL

    struct SQLFailure: Error { let message: String }

    /// Runs the statement at `sql` with `arguments` (encoded values) bound; encodes its rows into
    /// `rows` (its capacity reused) unless that is nil.
    func run(_ memory: PluginMemory, sql: UInt32, _ length: UInt32, arguments: UnsafeRawBufferPointer, rows: inout [UInt8]?) throws {
        guard let connection else { throw SQLFailure(message: "no store while the module is checked") }
        let statement = try statementsAt.value(at: sql, memory.slice(text: sql, length)) { try prepared($0, on: connection) }
        sqlite3_reset(statement)
        sqlite3_clear_bindings(statement)
        var index: Int32 = 0
        try PluginValue.forEach(in: arguments) { value in
            index += 1
            let code: Int32
            switch value {
            case .null: code = sqlite3_bind_null(statement, index)
            case .integer(let number): code = sqlite3_bind_int64(statement, index, number)
            case .real(let number): code = sqlite3_bind_double(statement, index, number)
            case .text(let text):
                if let start = text.baseAddress, !text.isEmpty {
                    code = sqlite3_bind_text(statement, index, start.assumingMemoryBound(to: CChar.self), Int32(text.count), Self.transient)
                } else {
                    code = sqlite3_bind_text(statement, index, "", 0, Self.transient)
                }
            }
            guard code == SQLITE_OK else {
                throw SQLFailure(message: "cannot bind value \(index): the statement takes \(sqlite3_bind_parameter_count(statement))")
            }
        }
        budget.startStatement()
        // A query's result: column and row counts (filled in at the end), then the values.
        rows?.removeAll(keepingCapacity: true)
        rows?.append(contentsOf: repeatElement(0, count: 8))
        var rowCount: UInt32 = 0
        let columns = sqlite3_column_count(statement)
        var code = sqlite3_step(statement)
        while code == SQLITE_ROW {
            if rows != nil {
                rowCount += 1
                for column in 0..<columns { Self.encode(statement, column, into: &rows!) }
                guard rows!.count <= Self.maxTransfer else { throw SQLFailure(message: "the query's result passes 16 MiB") }
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
        guard rows != nil else { return }
        for (offset, count) in [(0, UInt32(columns)), (4, rowCount)] {
            for byte in 0..<4 { rows![offset + byte] = UInt8(truncatingIfNeeded: count >> (8 * UInt32(byte))) }
        }
    }

    /// The statement of `sql`, checked by the guard and compiled once per session.
    func prepared(_ sql: String, on connection: OpaquePointer) throws -> OpaquePointer {
        if let statement = statements[sql] { return statement }
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

    /// Encodes a column of the current row; text and blobs as text (made UTF-8 if they are not).
    static func encode(_ statement: OpaquePointer, _ column: Int32, into bytes: inout [UInt8]) {
        switch sqlite3_column_type(statement, column) {
        case SQLITE_INTEGER: PluginValue.integer(sqlite3_column_int64(statement, column)).encode(into: &bytes)
        case SQLITE_FLOAT: PluginValue.real(sqlite3_column_double(statement, column)).encode(into: &bytes)
        case SQLITE_NULL: PluginValue.null.encode(into: &bytes)
        default:
            let text = UnsafeBufferPointer(
                start: sqlite3_column_text(statement, column), count: Int(sqlite3_column_bytes(statement, column)))
            if PluginValue.isUTF8(UnsafeRawBufferPointer(text)) {
                PluginValue.encode(utf8: text, into: &bytes)
            } else {
                PluginValue.text(String(decoding: text, as: UTF8.self)).encode(into: &bytes)
            }
        }
    }
}
