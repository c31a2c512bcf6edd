import Foundation
public import GRDB
public import ProjectorCore
public import ProjectorSearch

/// Every projection a host runs: the application's built-in Swift ones, then the spec files of
/// the projections folder (`*.yml`, `*.yaml`, `*.json`, one projection per file).
public enum ProjectionCatalog {
    /// What reading the projections folder found.
    public struct Loaded: Sendable {
        public var projections: [any Projection<Database>]
        /// One line per spec file that could not be used (file and field named); the other
        /// projections still run.
        public var problems: [String]
    }

    /// `builtIn` plus every valid spec of a registered kind in the configuration's projections folder.
    public static func load(
        _ configuration: ProjectorConfiguration, kinds: ProjectionKinds = .standard, builtIn: [any Projection<Database>] = []
    ) -> Loaded {
        var loaded = Loaded(projections: builtIn, problems: [])
        var names = Set(builtIn.map(\.name))
        for file in specFiles(in: configuration.projections) {
            do {
                let projection = try read(file, shownPath: file, kinds: kinds).projection
                try checkNameIsFree(projection.name, file: file, builtIn: builtIn)
                guard names.insert(projection.name).inserted else {
                    throw ProjectorError(.invalidSpec, "\(file): name: '\(projection.name)' is already used by another projection")
                }
                loaded.projections.append(projection)
            } catch let problems as SpecProblems {
                loaded.problems += problems.problems.map { "\(file): \($0)" }
            } catch let error as ProjectorError {
                loaded.problems.append(error.message)
            } catch {
                loaded.problems.append("\(file): \(error)")
            }
        }
        return loaded
    }

    /// Refuses a spec named like a built-in projection (the host runs the built-in).
    static func checkNameIsFree(_ name: String, file: String, builtIn: [any Projection<Database>]) throws {
        guard builtIn.contains(where: { $0.name == name }) else { return }
        throw ProjectorError(.invalidSpec, "\(file): name: '\(name)' is the built-in \(name) projection's name: choose another")
    }

    /// Spec files of a folder, sorted; a missing folder has none.
    public static func specFiles(in folder: String) -> [String] {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: folder)) ?? []
        return names.filter { name in
            !name.hasPrefix(".") && ["yml", "yaml", "json"].contains((name as NSString).pathExtension.lowercased())
        }.sorted().map { (folder.hasSuffix("/") ? folder : folder + "/") + $0 }
    }

    /// Reads one spec file into its projection, by the kind it names.
    public static func spec(at file: String, kinds: ProjectionKinds = .standard) throws -> any Projection<Database> {
        do {
            return try read(file, shownPath: file, kinds: kinds).projection
        } catch let problems as SpecProblems {
            throw problems.error(.invalidSpec)
        }
    }

    /// As `spec(at:)`, throwing every problem of the file (``SpecProblems``); YAML errors name `shownPath`.
    static func read(
        _ file: String, shownPath: String, kinds: ProjectionKinds
    ) throws -> (kind: any ProjectionKind, projection: any Projection<Database>) {
        let spec = try SpecFile(
            path: file, values: YAMLDocument.mapping(at: file, shownPath: shownPath, expected: "a mapping with name, kind, …"))
        let kind = try kinds.kind(of: spec)
        return (kind, try kind.projection(from: spec))
    }

    /// The search spec named `name` in the configuration's folder.
    public static func searchSpec(
        named name: String, _ configuration: ProjectorConfiguration, kinds: ProjectionKinds = .standard
    ) throws -> SearchSpec {
        let loaded = load(configuration, kinds: kinds)
        guard let projection = loaded.projections.first(where: { $0.name == name }) else {
            let problem = loaded.problems.first { $0.contains("/\(name).") }
            throw ProjectorError(
                .notFound,
                problem ?? "no projection named '\(name)' (known: \(loaded.projections.map(\.name).sorted().joined(separator: ", ")))")
        }
        guard let spec = (projection as? any SearchIndexed)?.searchSpec else {
            throw ProjectorError(.invalidQuery, "'\(name)' is a \(projection.kind) projection, not a search index")
        }
        return spec
    }
}
