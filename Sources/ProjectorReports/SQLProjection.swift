public import GRDB
import GRDBSQLite
public import ProjectorCore
import ProjectorSQLite

/// A reporting projection from a ``SQLSpec``: the setup's tables, written by the handlers'
/// statements with each event bound as parameters, in the host's transaction.
public struct SQLProjection: Projection {
    public let spec: SQLSpec
    public var name: String { spec.name }
    public var kind: ProjectionKindName { .sql }
    public let fingerprint: String
    public var eventTypes: Set<String>? { spec.eventTypes }
    public var errorPolicy: ErrorPolicy { spec.errorPolicy }

    public init(spec: SQLSpec) {
        self.spec = spec
        var parts = ["sql/1", spec.name, "setup=" + spec.setup]
        for handler in spec.handlers {
            parts.append("on=" + handler.eventType + "\n" + handler.statements.joined(separator: "\n;\n"))
        }
        // A budget decides which events apply, so a spec that sets one is a different function
        // of the log (the default leaves older fingerprints as they were).
        if spec.limits != SQLSpec.Limits() { parts.append("limits.steps=\(spec.limits.steps)") }
        fingerprint = Fingerprint.of(parts.joined(separator: "\n"))
    }

    /// Runs the setup in the store, each statement within the step budget.
    public func setUp(_ db: Database) throws {
        try Self.runSetup(spec.setup, steps: spec.limits.steps, file: spec.file, db: db)
    }

    /// Runs setup SQL in a store, each statement within `steps`; errors name `file` (for every
    /// kind that takes setup SQL).
    package static func runSetup(_ setup: String, steps: Int64, file: String, db: Database) throws {
        let budget = SQLiteBudget(steps: steps)
        let statements = try db.allStatements(sql: setup)
        try budget.watch(db.sqliteConnection!) {
            while let statement = try statements.next() {
                budget.startStatement()
                do {
                    try statement.execute()
                } catch let error as DatabaseError {
                    if budget.exhausted != nil {
                        throw ProjectorError(.budgetExceeded, "\(file): setup: \(budget.message(setting: "limits.steps"))")
                    }
                    if error.resultCode == .SQLITE_INTERRUPT { throw CancellationError() }
                    throw ProjectorError(.projectionFailed, "\(file): setup: \(error.message ?? "\(error)")")
                }
            }
        }
    }

    public func apply(_ events: [RecordedEvent], _ db: Database) throws {
        let connection = db.sqliteConnection!
        let plan = try BatchPlan(spec: spec, connection: connection)
        defer { plan.finalize() }
        let budget = SQLiteBudget(steps: spec.limits.steps)
        try budget.watch(connection) {
            for event in events {
                guard let statements = plan.handlers[event.type] else { continue }
                for statement in statements {
                    budget.startStatement()
                    try statement.run(event, spec: spec, budget: budget)
                }
            }
        }
    }
}

/// The handlers' statements prepared once for a batch, with each parameter's meaning resolved,
/// so an event costs binds and steps only.
struct BatchPlan {
    enum Parameter { case position, id, stream, version, type, data, metadata, time, tenant }

    struct Prepared {
        let handle: OpaquePointer
        let connection: OpaquePointer
        let parameters: [(index: Int32, value: Parameter)]
        let label: String

        func run(_ event: RecordedEvent, spec: SQLSpec, budget: SQLiteBudget) throws {
            for (index, parameter) in parameters {
                switch parameter {
                case .position: sqlite3_bind_int64(handle, index, event.position)
                case .version: sqlite3_bind_int64(handle, index, event.version)
                case .id: SQLiteText.bind(handle, index, UUIDText.format(event.id))
                case .stream: SQLiteText.bind(handle, index, event.stream)
                case .type: SQLiteText.bind(handle, index, event.type)
                case .data: SQLiteText.bind(handle, index, event.data)
                case .metadata: SQLiteText.bind(handle, index, event.metadata)
                case .time: SQLiteText.bind(handle, index, event.time)
                case .tenant: SQLiteText.bind(handle, index, event.tenant)
                }
            }
            defer { sqlite3_reset(handle) }
            var code = sqlite3_step(handle)
            while code == SQLITE_ROW { code = sqlite3_step(handle) }
            guard code == SQLITE_DONE else {
                let at = "\(spec.file): \(label): event \(event.position) (\(event.type) in stream '\(event.stream)'): "
                if budget.exhausted != nil {
                    throw ProjectorError(.budgetExceeded, at + "the statement " + budget.message(setting: "limits.steps"))
                }
                // Interrupted without running out: the host is stopping (the task was cancelled).
                if code == SQLITE_INTERRUPT { throw CancellationError() }
                throw ProjectorError(.projectionFailed, at + String(cString: sqlite3_errmsg(connection)))
            }
        }

    }

    let handlers: [String: [Prepared]]

    init(spec: SQLSpec, connection: OpaquePointer) throws {
        var handlers: [String: [Prepared]] = [:]
        var prepared: [Prepared] = []
        do {
            for handler in spec.handlers {
                var list: [Prepared] = []
                for (number, sql) in handler.statements.enumerated() {
                    let label = "on.\(handler.eventType)" + (handler.statements.count > 1 ? " (statement \(number + 1))" : "")
                    var handle: OpaquePointer?
                    guard sqlite3_prepare_v3(connection, sql, -1, UInt32(SQLITE_PREPARE_PERSISTENT), &handle, nil) == SQLITE_OK,
                        let handle
                    else {
                        throw ProjectorError(
                            .projectionFailed, "\(spec.file): \(label): \(String(cString: sqlite3_errmsg(connection)))")
                    }
                    var parameters: [(Int32, Parameter)] = []
                    let count = sqlite3_bind_parameter_count(handle)
                    if count > 0 {
                        for index in 1...count {
                            let name = sqlite3_bind_parameter_name(handle, index).map { String(cString: $0) } ?? ""
                            guard let parameter = Self.parameter(named: name) else {
                                throw ProjectorError(.projectionFailed, "\(spec.file): \(label): unknown parameter \(name)")
                            }
                            parameters.append((index, parameter))
                        }
                    }
                    let statement = Prepared(handle: handle, connection: connection, parameters: parameters, label: label)
                    prepared.append(statement)
                    list.append(statement)
                }
                handlers[handler.eventType] = list
            }
        } catch {
            for statement in prepared { sqlite3_finalize(statement.handle) }
            throw error
        }
        self.handlers = handlers
    }

    /// The event value a parameter name stands for (``SQLSpecCheck`` already refused others).
    static func parameter(named name: String) -> Parameter? {
        switch name {
        case ":position": .position
        case ":id": .id
        case ":stream": .stream
        case ":version": .version
        case ":type": .type
        case ":metadata": .metadata
        case ":time": .time
        case ":data": .data
        case ":tenant": .tenant
        default: nil
        }
    }

    func finalize() {
        for list in handlers.values {
            for statement in list { sqlite3_finalize(statement.handle) }
        }
    }
}

extension ProjectionKindName {
    /// Reporting tables written by SQL statements per event type (`kind: sql`).
    public static let sql: Self = "sql"
}
