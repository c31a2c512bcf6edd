public import GRDB
public import ProjectorCore
import ProjectorSearch
public import ProjectorSpecs

/// `kind: wasm`: a sandboxed WebAssembly plugin beside its spec (see ``WasmProjection``).
public struct WasmKind: ProjectionKind {
    public init() {}

    public var name: ProjectionKindName { .wasm }

    /// A changed module has a new fingerprint: its next generation is built beside the live one.
    public var rebuildsWhenChanged: Bool { true }

    public func projection(from spec: SpecFile) throws -> any Projection<Database> {
        try WasmProjection(spec: spec.decode(WasmSpec.self))
    }

    public func describe(_ projection: any Projection<Database>) -> SpecDescription {
        guard let wasm = projection as? WasmProjection else { return SpecDescription(summary: "wasm", eventTypes: []) }
        let events = wasm.spec.eventTypes.map { "\($0.count) event type\($0.count == 1 ? "" : "s")" } ?? "all events"
        let index = wasm.spec.search.map { ", a search index of \($0.fields.count) fields" } ?? ""
        return SpecDescription(
            summary: "wasm: module \(wasm.moduleSummary), ABI \(WasmPlugin.abiVersion) (\(wasm.entryName)), \(events)\(index)",
            eventTypes: (wasm.spec.eventTypes ?? []).sorted().map { ("events", $0) })
    }
}
