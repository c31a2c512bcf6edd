import Foundation
public import GRDB
import GRDBSQLite
import Logging
public import ProjectorCore
import ProjectorReports
import ProjectorSQLite
public import ProjectorSearch
import WasmKit

/// A projection run by a sandboxed WebAssembly plugin (``WasmSpec``): each event goes to the
/// module's `projector_apply` under a fuel budget and a memory cap; it writes its own tables
/// and, when its spec declares an index, search documents, all in the host's transaction.
public struct WasmProjection: Projection, SearchIndexed {
    public let spec: WasmSpec
    let plugin: WasmPlugin
    let checker: WasmSQLChecker
    /// The index the plugin's documents feed, when the spec declares one.
    let search: SearchProjection?
    public var name: String { spec.name }
    public var kind: ProjectionKindName { .wasm }
    public let fingerprint: String
    public var eventTypes: Set<String>? { spec.eventTypes }
    public var errorPolicy: ErrorPolicy { spec.errorPolicy }
    public var definition: String? { spec.source }
    public var searchSpec: SearchSpec? { search?.spec }
    /// The module's size and content hash.
    public var moduleSummary: String { "\(spec.module) (\(plugin.bytes.count) bytes, \(plugin.hash))" }
    /// The entry it exports: `projector_apply_batch` (one call per transaction) or `projector_apply`.
    public let entryName: String

    /// Reads and checks the module and the setup SQL; errors name the spec file and the problem.
    /// Without `meteringFuel` (benchmarks only) nothing bounds a plugin's loops.
    package init(spec: WasmSpec, meteringFuel: Bool) throws {
        self.spec = spec
        plugin = try WasmPlugin(
            path: spec.modulePath, limits: spec.limits, meteringFuel: meteringFuel, label: "\(spec.file): module \(spec.module)")
        checker = try WasmSQLChecker(setup: spec.setup, steps: spec.limits.steps, file: spec.file)
        search = spec.search.map { SearchProjection(spec: $0) }
        fingerprint = Fingerprint.of(["wasm/1", spec.source, "module=" + plugin.hash].joined(separator: "\n"))
        // Instantiating once proves the imports' types, the exports and the ABI version.
        let probe = WasmSession(
            name: spec.name, plugin: plugin, checker: checker, connection: nil, searchFields: nil, logger: Logger(label: "projector"))
        let (_, _, _, entry) = try plugin.instantiate(probe, label: "\(spec.file): module \(spec.module)")
        entryName = entry.name
    }

    /// Reads and checks the module and the setup SQL; errors name the spec file and the problem.
    public init(spec: WasmSpec) throws {
        try self.init(spec: spec, meteringFuel: true)
    }

    public func setUp(_ db: Database) throws {
        if let search { try search.setUp(db) }
        try SQLProjection.runSetup(spec.setup, steps: spec.limits.steps, file: spec.file, db: db)
    }

    public func verify(_ db: Database) throws {
        try search?.verify(db)
    }

    public func apply(_ events: [RecordedEvent], _ db: Database) throws {
        let session = WasmSession(
            name: name, plugin: plugin, checker: checker, connection: db.sqliteConnection!,
            searchFields: search.map { Set($0.spec.fields.map(\.name)) }, logger: Logger(label: "projector"))
        defer { session.close() }
        // A fresh instance per transaction: plugin state lives in its tables, never in memory.
        let (store, _, memory, entry) = try plugin.instantiate(session, label: "plugin \(name)")
        session.memory = memory
        session.events = events
        try session.budget.watch(db.sqliteConnection!) {
            switch entry {
            case .each:
                for index in events.indices {
                    session.begin(index)
                    store.fuel = Fuel(remaining: spec.limits.fuel)
                    try call(entry, session)
                }
            case .batch:
                session.batch = true
                // Called again while events are left, as long as each call takes one.
                while session.taken < events.count {
                    let before = session.taken
                    store.fuel = Fuel(remaining: spec.limits.fuel)
                    try call(entry, session)
                    guard session.taken > before else {
                        throw ProjectorError(
                            .projectionFailed,
                            "plugin \(name): projector_apply_batch returned without taking an event (it takes each with projector_next)")
                    }
                }
            }
        }
        if let search, !session.documents.isEmpty { try search.apply(session.documents, db) }
    }

    /// Runs the module's entry; a trap, running out of fuel or a non-zero result fails the
    /// session's current event, named with its cause.
    private func call(_ entry: WasmPlugin.Entry, _ session: WasmSession) throws {
        func failure(_ cause: String) -> ProjectorError {
            let event = session.event.map { "event \($0.position) (\($0.type))" } ?? "its first event"
            return ProjectorError(.projectionFailed, "plugin \(name) failed on \(event): \(cause)")
        }
        let result: [Value]
        do {
            result = try entry.function.invoke([], on: &session.stack)
        } catch let error as ProjectorError {
            throw error
        } catch is CancellationError {
            throw CancellationError()
        } catch {
            var cause = WasmPlugin.oneLine(error)
            if "\(error)".contains("out of fuel") {
                cause = "ran out of fuel (limits.fuel: \(spec.limits.fuel) per event): an endless loop?"
            } else if let refused = session.memoryCap.refused {
                cause += " after its memory was refused growth to \(refused >> 20) MiB (limits.memoryMB: \(spec.limits.memoryMB))"
            }
            throw failure(cause)
        }
        if result != [.i32(0)] {
            let code = result.first.map { Int32(bitPattern: $0.i32) } ?? -1
            var cause = session.failure ?? session.lastError ?? "\(entry.name) returned \(code)"
            if let refused = session.memoryCap.refused {
                cause += " (memory growth to \(refused >> 20) MiB refused: limits.memoryMB \(spec.limits.memoryMB))"
            }
            throw failure(cause)
        }
    }
}

extension ProjectionKindName {
    /// A sandboxed WebAssembly plugin (`kind: wasm`).
    public static let wasm: Self = "wasm"
}
