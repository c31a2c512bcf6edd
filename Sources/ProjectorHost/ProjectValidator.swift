public import Foundation
public import ProjectorCore
import ProjectorReports
import ProjectorSearch
import ProjectorSQLite

/// `projector validate`: the configuration and every spec file, checked against the JSON
/// Schemas in `Schemas/` and then for meaning (SQL must prepare in the guarded sandbox, paths
/// must parse, names must be unique), plus warnings for event types the log has never seen.
public enum ProjectValidator {
    /// The embedded SQLite log, read-only; nil for other logs.
    public static func embeddedLog(_ configuration: ProjectorConfiguration) throws -> (any EventLog)? {
        guard case .sqlite(let path) = configuration.log, FileManager.default.fileExists(atPath: path) else { return nil }
        return try SQLiteEventLog(path: path, configuration: .init(readOnly: true))
    }

    public struct Finding: Sendable, Equatable {
        public enum Level: String, Sendable { case ok, warning, error }
        public var level: Level
        /// The file as the user named or sees it.
        public var file: String
        /// For `ok`, a summary; otherwise `field: problem`.
        public var message: String

        public init(level: Level, file: String, message: String) {
            self.level = level
            self.file = file
            self.message = message
        }
    }

    /// `openLog` opens the configured log for the unseen-type warnings (nil: skip them); the
    /// default opens the embedded log only, the CLI passes its own opener for the others.
    public static func validate(
        explicitPath: String? = nil, environment: [String: String] = ProcessInfo.processInfo.environment,
        workingDirectory: String = FileManager.default.currentDirectoryPath,
        openLog: (ProjectorConfiguration) throws -> (any EventLog)? = embeddedLog
    ) async -> [Finding] {
        let configuration: ProjectorConfiguration
        do {
            configuration = try ProjectorConfiguration.load(
                explicitPath: explicitPath, environment: environment, workingDirectory: workingDirectory)
        } catch {
            // Name every schema problem of the file when there is one; else the loader's error.
            let message = "\(error)".replacingOccurrences(of: workingDirectory + "/", with: "")
            let file = String(message.prefix { $0 != ":" })
            let absolute = file.hasPrefix("/") ? file : workingDirectory + "/" + file
            let problems = schemaProblems(at: absolute, shown: file, schema: "projector-config.schema.json", code: .invalidConfiguration)
            return (problems.isEmpty ? [strip(message, file)] : problems).map { Finding(level: .error, file: file, message: $0) }
        }
        var findings: [Finding] = []
        if let file = configuration.file {
            let absolute = file.hasPrefix("/") ? file : workingDirectory + "/" + file
            let problems = schemaProblems(at: absolute, shown: file, schema: "projector-config.schema.json", code: .invalidConfiguration)
            findings += problems.isEmpty
                ? [Finding(level: .ok, file: file, message: "log \(configuration.log), projections in \(configuration.projections)")]
                : problems.map { Finding(level: .error, file: file, message: $0) }
        } else {
            findings.append(Finding(level: .ok, file: "(no projector.yml)", message: "defaults: log \(configuration.log)"))
        }

        var valid: [(file: String, projection: any ProjectionDescription)] = []
        var names: [String: String] = [:]
        for file in ProjectionCatalog.specFiles(in: configuration.projections) {
            let shown = shownPath(file, workingDirectory)
            let values: [String: Any]
            do {
                values = try YAMLDocument.mapping(at: file, shownPath: shown, code: .invalidSpec, expected: "a mapping with name, kind, …")
            } catch {
                findings.append(Finding(level: .error, file: shown, message: strip("\(error)", shown)))
                continue
            }
            let schema: String
            switch values["kind"] as? String {
            case "search": schema = "search-projection.schema.json"
            case "sql": schema = "sql-projection.schema.json"
            case let other:
                findings.append(Finding(level: .error, file: shown, message: "kind: must be search or sql\(other.map { ", found '\($0)'" } ?? " (missing)")"))
                continue
            }
            let problems = (try? JSONSchemaValidator(schemaFile: schema).problems(values)) ?? ["(schema \(schema) missing from this build)"]
            guard problems.isEmpty else {
                findings += problems.map { Finding(level: .error, file: shown, message: $0) }
                continue
            }
            do {
                let projection = try ProjectionCatalog.spec(at: file)
                try ProjectionCatalog.checkNameIsFree(projection.name, file: file)
                if let other = names[projection.name] {
                    findings.append(Finding(level: .error, file: shown, message: "name: '\(projection.name)' is already used by \(other)"))
                    continue
                }
                names[projection.name] = shown
                valid.append((shown, projection as! any ProjectionDescription))
            } catch {
                findings.append(Finding(level: .error, file: shown, message: strip(strip("\(error)", file), shown)))
            }
        }

        let log = (try? openLog(configuration)) ?? nil
        for (file, projection) in valid {
            findings.append(Finding(level: .ok, file: file, message: projection.summary))
            guard let log else { continue }
            for (field, type) in projection.eventFields {
                if (try? await log.hasEvents(ofType: type)) == false {
                    findings.append(Finding(level: .warning, file: file, message: "\(field): no \(type) event in the log (yet): a typo?"))
                }
            }
        }
        if valid.isEmpty && !findings.contains(where: { $0.file != configuration.file && $0.level == .error }) {
            findings.append(Finding(level: .warning, file: shownPath(configuration.projections, workingDirectory), message: "no spec files (*.yml, *.yaml, *.json)"))
        }
        return findings
    }

    static func schemaProblems(at path: String, shown: String, schema: String, code: ProjectorError.Code) -> [String] {
        do {
            let values = try YAMLDocument.mapping(at: path, shownPath: shown, code: code, expected: "a mapping", allowEmpty: true)
            return try JSONSchemaValidator(schemaFile: schema).problems(values)
        } catch {
            return [strip("\(error)", shown)]
        }
    }

    static func shownPath(_ path: String, _ workingDirectory: String) -> String {
        let base = workingDirectory.hasSuffix("/") ? workingDirectory : workingDirectory + "/"
        return path.hasPrefix(base) ? String(path.dropFirst(base.count)) : path
    }

    static func strip(_ message: String, _ file: String) -> String {
        message.hasPrefix(file + ": ") ? String(message.dropFirst(file.count + 2)) : message
    }
}

/// What validate says about a spec it accepted.
protocol ProjectionDescription {
    var summary: String { get }
    /// The event types the spec names, with the field that names each.
    var eventFields: [(field: String, type: String)] { get }
}

extension SQLProjection: ProjectionDescription {
    var summary: String {
        let statements = spec.handlers.map(\.statements.count).reduce(0, +)
        return "sql: \(spec.handlers.count) event type\(spec.handlers.count == 1 ? "" : "s"), \(statements) statement\(statements == 1 ? "" : "s") prepared"
    }
    var eventFields: [(field: String, type: String)] { spec.handlers.map { ("on.\($0.eventType)", $0.eventType) } }
}

extension SearchProjection: ProjectionDescription {
    var summary: String {
        "search: \(spec.textFields.count) text field\(spec.textFields.count == 1 ? "" : "s"), \(spec.filterFields.count) filter field\(spec.filterFields.count == 1 ? "" : "s"), \(spec.eventTypes.map { "\($0.count) event types" } ?? "all events")"
    }
    var eventFields: [(field: String, type: String)] {
        ((spec.eventTypes ?? []).sorted().map { ("events", $0) }) + spec.deleteTypes.sorted().map { ("delete", $0) }
    }
}
