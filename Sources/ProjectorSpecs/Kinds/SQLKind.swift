public import GRDB
public import ProjectorCore
import ProjectorReports

/// `kind: sql`: reporting tables written by SQL statements per event type.
public struct SQLKind: ProjectionKind {
    public init() {}

    public var name: String { "sql" }

    public var schema: String { GeneratedSchemas.byFile["sql-projection.schema.json"] ?? "" }

    public func projection(from spec: SpecFile) throws -> any Projection<Database> {
        SQLProjection(spec: try SQLSpec(spec.values, file: spec.path))
    }

    public func describe(_ projection: any Projection<Database>) -> SpecDescription {
        guard let spec = (projection as? SQLProjection)?.spec else { return SpecDescription(summary: "sql", eventTypes: []) }
        let statements = spec.handlers.map(\.statements.count).reduce(0, +)
        return SpecDescription(
            summary: "sql: \(plural(spec.handlers.count, "event type")), \(plural(statements, "statement")) prepared",
            eventTypes: spec.handlers.map { ("on.\($0.eventType)", $0.eventType) })
    }
}

/// "1 field", "2 fields".
func plural(_ count: Int, _ noun: String) -> String {
    "\(count) \(noun)\(count == 1 ? "" : "s")"
}
