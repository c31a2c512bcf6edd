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
public struct SQLSpec: Sendable, Hashable, Decodable {
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

    /// Reads a spec file's fields, then checks its SQL; problems name the field.
    public init(from decoder: any Decoder) throws {
        let fields = SpecFields(decoder, known: Self.keys, expected: "a mapping with name, kind, setup and on")
        let name = fields.required("name", String.self, "required, 1-64 characters of a-z, 0-9, _ and -", where: ProjectionName.isValid)
        _ = fields.required("kind", String.self, "must be sql", where: { $0 == "sql" })
        let setup = fields.required(
            "setup", String.self, "required: the CREATE TABLE (and index) statements of the projection's tables",
            where: { !$0.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty })
        var handlers: [Handler] = []
        if let on = fields.requiredMapping("on", known: nil, expected: "a mapping of event type to SQL (one string or a list)") {
            for eventType in on.keys {
                let texts =
                    on.attempt(eventType, String.self).map { [$0] }
                    ?? on.required(eventType, [String].self, "must be SQL text or a list of SQL texts", where: { !$0.isEmpty })
                if let texts { handlers.append(Handler(eventType: eventType, statements: texts)) }
            }
        }
        errorPolicy = fields.optional("onError", ErrorPolicy.self, "must be a mapping with tries and then") ?? ErrorPolicy()
        limits = Limits(steps: Self.steps(fields) ?? Limits.defaultSteps)
        try fields.stopIfProblems()
        self.name = name ?? ""
        self.setup = setup ?? ""
        self.file = fields.file
        self.handlers = try SQLSpecCheck.check(name: self.name, setup: self.setup, handlers: handlers, limits: limits, file: file)
    }

    static let keys = ["name", "kind", "description", "setup", "on", "onError", "limits"]

    /// `limits: { steps: N }`, nil when absent or wrong (noted).
    static func steps(_ fields: SpecFields) -> Int64? {
        guard let limits = fields.mapping("limits", known: ["steps"], expected: "a mapping with steps") else { return nil }
        return limits.optional(
            "steps", Int64.self,
            "must be a whole number of SQLite steps per statement from \(SQLiteBudget.grouped(Limits.stepRange.lowerBound)) "
                + "to \(SQLiteBudget.grouped(Limits.stepRange.upperBound))",
            where: Limits.stepRange.contains)
    }
}
