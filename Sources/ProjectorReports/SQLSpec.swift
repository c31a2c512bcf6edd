import Foundation
public import ProjectorCore
import ProjectorSQLite

/// A `kind: sql` spec: reporting tables built by SQL the user writes, fed by events.
///
/// ```yaml
/// name: balances
/// kind: sql
/// setup: |
///   CREATE TABLE balances(account TEXT PRIMARY KEY, balance INTEGER NOT NULL);
/// on:
///   Deposited: |
///     INSERT INTO balances(account, balance) VALUES (:stream, :data ->> '$.amount')
///     ON CONFLICT(account) DO UPDATE SET balance = balance + excluded.balance;
///   Withdrawn: UPDATE balances SET balance = balance - (:data ->> '$.amount') WHERE account = :stream;
/// ```
///
/// Each handler is one string (one or more statements) or a list of them. The event is bound as
/// parameters, never pasted into the SQL; ``SQLSpecCheck`` proves every statement prepares
/// against the setup's tables and writes nothing but them before the spec is ever run.
public struct SQLSpec: Sendable, Hashable {
    /// The statements one event type runs, in order, with where they came from.
    public struct Handler: Sendable, Hashable {
        public var eventType: String
        /// Each statement of the handler, split and trimmed.
        public var statements: [String]
    }

    /// How much work one statement may do (`limits:`), in setup and in handlers.
    public struct Limits: Sendable, Hashable {
        /// SQLite virtual-machine steps per statement; an upsert takes a few hundred.
        public var steps: Int64

        public static let defaultSteps: Int64 = 100_000_000
        public static let stepRange: ClosedRange<Int64> = 1_000...1_000_000_000_000

        public init(steps: Int64 = Limits.defaultSteps) {
            self.steps = steps
        }
    }

    public var name: String
    public var setup: String
    public var handlers: [Handler]
    public var errorPolicy: ErrorPolicy
    public var limits: Limits
    /// The file the spec came from, for error messages.
    public var file: String

    public var eventTypes: Set<String> { Set(handlers.map(\.eventType)) }

    /// Validates a decoded spec document and checks its SQL; errors name the file and the field.
    public init(_ values: [String: Any], file: String) throws {
        func fail(_ field: String, _ message: String) -> ProjectorError {
            ProjectorError(.invalidSpec, "\(file): \(field): \(message)")
        }
        let known: Set<String> = ["name", "kind", "description", "setup", "on", "onError", "limits"]
        if let unknown = values.keys.sorted().first(where: { !known.contains($0) }) {
            throw fail(unknown, "unknown key (known: \(known.sorted().joined(separator: ", ")))")
        }
        guard let name = values["name"] as? String, ProjectionName.isValid(name) else {
            throw fail("name", "required, [a-z0-9_-]+")
        }
        guard (values["kind"] as? String) == "sql" else { throw fail("kind", "must be sql") }
        guard let setup = values["setup"] as? String,
            !setup.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty
        else {
            throw fail("setup", "required: the CREATE TABLE (and index) statements of the projection's tables")
        }
        guard let on = values["on"] as? [String: Any], !on.isEmpty else {
            throw fail("on", "required: a mapping of event type to SQL (one string or a list)")
        }
        var handlers: [Handler] = []
        for (eventType, raw) in on.sorted(by: { $0.key < $1.key }) {
            let texts: [String]
            if let text = raw as? String {
                texts = [text]
            } else if let list = raw as? [Any], !list.isEmpty, list.allSatisfy({ $0 is String }) {
                texts = list.map { $0 as! String }
            } else {
                throw fail("on.\(eventType)", "must be SQL text or a list of SQL texts")
            }
            handlers.append(Handler(eventType: eventType, statements: texts))
        }
        self.name = name
        self.setup = setup
        self.file = file
        self.errorPolicy = try ErrorPolicy(specValue: values["onError"], file: file)
        self.limits = try Self.limits(values["limits"], fail: fail)
        self.handlers = try SQLSpecCheck.check(name: name, setup: setup, handlers: handlers, limits: limits, file: file)
    }

    static func limits(_ value: Any?, fail: (String, String) -> ProjectorError) throws -> Limits {
        guard let value else { return Limits() }
        guard let mapping = value as? [String: Any] else { throw fail("limits", "must be a mapping with steps") }
        if let unknown = mapping.keys.sorted().first(where: { $0 != "steps" }) {
            throw fail("limits.\(unknown)", "unknown key (known: steps)")
        }
        guard let raw = mapping["steps"] else { return Limits() }
        guard let steps = (raw as? Int).map(Int64.init), Limits.stepRange.contains(steps) else {
            throw fail(
                "limits.steps",
                "must be a whole number of SQLite steps per statement from \(SQLiteBudget.grouped(Limits.stepRange.lowerBound)) "
                    + "to \(SQLiteBudget.grouped(Limits.stepRange.upperBound))")
        }
        return Limits(steps: steps)
    }
}
