import Foundation
public import GRDB
public import ProjectorCore
import ProjectorReports
import Yams
public import ProjectorSearch
public import ProjectorSQLite

/// Every projection the host runs: the built-in Swift ones, then the spec files of the
/// projections folder (`*.yml`, `*.yaml`, `*.json`, one projection per file).
public enum ProjectionCatalog {
    /// What reading the projections folder found.
    public struct Loaded: Sendable {
        public var projections: [any Projection<Database>]
        /// One line per spec file that could not be used (file and field named); the other
        /// projections still run.
        public var problems: [String]
    }

    /// Swift projections compiled into this binary.
    public static func builtIn() -> [any Projection<Database>] {
        [BankAccountsProjection()]
    }

    /// The built-ins plus every valid spec in the configuration's projections folder.
    public static func load(_ configuration: ProjectorConfiguration) -> Loaded {
        var loaded = Loaded(projections: builtIn(), problems: [])
        var names = Set(loaded.projections.map(\.name))
        for file in specFiles(in: configuration.projections) {
            do {
                let projection = try spec(at: file)
                try checkNameIsFree(projection.name, file: file)
                guard names.insert(projection.name).inserted else {
                    throw ProjectorError(.invalidSpec, "\(file): name: '\(projection.name)' is already used by another projection")
                }
                loaded.projections.append(projection)
            } catch let error as ProjectorError {
                loaded.problems.append(error.message)
            } catch {
                loaded.problems.append("\(file): \(error)")
            }
        }
        return loaded
    }

    /// Refuses a spec named like a built-in projection (the host runs the built-in).
    static func checkNameIsFree(_ name: String, file: String) throws {
        guard builtIn().contains(where: { $0.name == name }) else { return }
        throw ProjectorError(.invalidSpec, "\(file): name: '\(name)' is the built-in \(name) projection's name: choose another")
    }

    /// Spec files of a folder, sorted; a missing folder has none.
    public static func specFiles(in folder: String) -> [String] {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: folder)) ?? []
        return names.filter { name in
            !name.hasPrefix(".") && ["yml", "yaml", "json"].contains((name as NSString).pathExtension.lowercased())
        }.sorted().map { (folder.hasSuffix("/") ? folder : folder + "/") + $0 }
    }

    /// Reads one spec file into its projection.
    public static func spec(at file: String) throws -> any Projection<Database> {
        let values = try YAMLDocument.mapping(at: file, shownPath: file, code: .invalidSpec, expected: "a mapping with name, kind, …")
        switch values["kind"] as? String {
        case "search":
            return SearchProjection(spec: try SearchSpec(values, file: file))
        case "sql":
            return SQLProjection(spec: try SQLSpec(values, file: file))
        case let other:
            throw ProjectorError(
                .invalidSpec, "\(file): kind: must be search or sql\(other.map { ", found '\($0)'" } ?? " (missing)")")
        }
    }

    /// The search spec named `name` in the configuration's folder.
    public static func searchSpec(named name: String, _ configuration: ProjectorConfiguration) throws -> SearchSpec {
        let loaded = load(configuration)
        guard let projection = loaded.projections.first(where: { $0.name == name }) else {
            let problem = loaded.problems.first { $0.contains("/\(name).") }
            throw ProjectorError(
                .notFound,
                problem ?? "no projection named '\(name)' (known: \(loaded.projections.map(\.name).sorted().joined(separator: ", ")))")
        }
        guard let search = projection as? SearchProjection else {
            throw ProjectorError(.invalidQuery, "'\(name)' is a \(projection.kind) projection, not a search index")
        }
        return search.spec
    }

    /// The spec an index's store was built from: the current one when the fingerprints match,
    /// else the definition the store keeps (while a changed spec's next generation is built);
    /// nil when neither fits. Read back with the same YAML reader as spec files, so the stored
    /// definition yields the same fingerprint.
    public static func specAsBuilt(_ current: SearchSpec, store: ProjectionStore) async throws -> SearchSpec? {
        let name = current.name
        let (built, source) = try await store.pool.read { db in
            (try ProjectionStore.checkpoint(name, db)?.fingerprint, try ProjectionStore.definition(name, db))
        }
        if built == nil || built == SearchProjection(spec: current).fingerprint { return current }
        guard let source, let values = (try? Yams.load(yaml: source)) as? [String: Any],
            let old = try? SearchSpec(values, file: "\(name) (as built)"), SearchProjection(spec: old).fingerprint == built
        else { return nil }
        return old
    }

    /// Copies the bundled example specs into `folder`, never overwriting a file; returns the
    /// files written.
    public static func installExamples(into folder: String) throws -> [String] {
        guard let examples = Bundle.module.url(forResource: "examples", withExtension: nil) else { return [] }
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        var written: [String] = []
        for name in try FileManager.default.contentsOfDirectory(atPath: examples.path).sorted() {
            let target = (folder as NSString).appendingPathComponent(name)
            guard !FileManager.default.fileExists(atPath: target) else { continue }
            try FileManager.default.copyItem(atPath: examples.appendingPathComponent(name).path, toPath: target)
            written.append(target)
        }
        return written
    }
}
