import Foundation
public import GRDB
public import ProjectorCore
public import ProjectorSQLite
public import ProjectorSearch

/// `kind: search`: an FTS5 index with document sets, ranked by bm25.
public struct SearchKind: ProjectionKind {
    public init() {}

    public var name: ProjectionKindName { .search }

    public func projection(from spec: SpecFile) throws -> any Projection<Database> {
        SearchProjection(spec: try spec.decode(SearchSpec.self))
    }

    public func describe(_ projection: any Projection<Database>) -> SpecDescription {
        guard let spec = (projection as? SearchProjection)?.spec else { return SpecDescription(summary: "search", eventTypes: []) }
        let events = spec.eventTypes.map { plural($0.count, "event type") } ?? "all events"
        return SpecDescription(
            summary:
                "search: \(plural(spec.textFields.count, "text field")), \(plural(spec.visibleFields.filter(\.filter).count, "filter field")), \(events)"
                + (spec.tenant == nil ? "" : ", partitioned by tenant"),
            eventTypes: (spec.eventTypes ?? []).sorted().map { ("events", $0) } + spec.deleteTypes.sorted().map { ("delete", $0) })
    }

    /// The spec an index's store was built from: `current` when the fingerprints match, else the
    /// definition the store keeps (while a changed spec's next generation is built); nil when
    /// neither fits. Read back from its canonical JSON, so it yields the same fingerprint.
    public static func specAsBuilt(_ current: SearchSpec, store: ProjectionStore) async throws -> SearchSpec? {
        let name = current.name
        let (built, source) = try await store.pool.read { db in
            (try ProjectionStore.checkpoint(name, db)?.fingerprint, try ProjectionStore.definition(name, db))
        }
        if built == nil || built == SearchProjection(spec: current).fingerprint { return current }
        guard let source, let file = SpecFile(path: "\(name) (as built)", json: Data(source.utf8)) else { return nil }
        // An index fed by another kind (a plugin's documents) keeps the fields it declares.
        guard file.kind == .search else { return current }
        guard let old = try? file.decode(SearchSpec.self), SearchProjection(spec: old).fingerprint == built else { return nil }
        return old
    }
}
