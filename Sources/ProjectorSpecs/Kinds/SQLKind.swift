public import GRDB
public import ProjectorCore
import ProjectorReports

/// `kind: sql`: reporting tables written by SQL statements per event type.
public struct SQLKind: ProjectionKind {
    public init() {}

    public var name: ProjectionKindName { .sql }

    public func projection(from spec: SpecFile) throws -> any Projection<Database> {
        SQLProjection(spec: try spec.decode(SQLSpec.self))
    }

    public func describe(_ projection: any Projection<Database>) -> SpecDescription {
        guard let spec = (projection as? SQLProjection)?.spec else { return SpecDescription(summary: "sql", eventTypes: []) }
        let statements = spec.handlers.map(\.statements.count).reduce(0, +)
        // Rows kept per tenant outlive a purge unless the spec deletes them itself.
        let usesTenant = spec.handlers.contains { $0.statements.contains { $0.contains(":tenant") } }
        let purges = spec.handlers.contains { $0.eventType == TenantPurge.type }
        return SpecDescription(
            summary: "sql: \(plural(spec.handlers.count, "event type")), \(plural(statements, "statement")) prepared",
            eventTypes: spec.handlers.map { ("on.\($0.eventType)", $0.eventType) },
            warnings: usesTenant && !purges
                ? ["on: uses :tenant but has no \(TenantPurge.type) handler: a purged tenant's rows stay (docs/tenants.md)"] : [])
    }
}

/// "1 field", "2 fields".
func plural(_ count: Int, _ noun: String) -> String {
    "\(count) \(noun)\(count == 1 ? "" : "s")"
}
