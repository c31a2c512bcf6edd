public import Foundation
public import GRDB
public import ProjectorCore
import ProjectorSQLite

/// `projector validate`: the configuration and every spec file, decoded (every field problem
/// named) and checked for meaning (SQL must prepare in the guarded sandbox, names must be
/// unique), plus warnings for event types the log has never seen.
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
        kinds: ProjectionKinds = .standard, builtIn: [any Projection<Database>] = [],
        openLog: (ProjectorConfiguration) throws -> (any EventLog)? = embeddedLog
    ) async -> [Finding] {
        let configuration: ProjectorConfiguration
        do {
            configuration = try ProjectorConfiguration.read(
                explicitPath: explicitPath, environment: environment, workingDirectory: workingDirectory)
        } catch let problems as SpecProblems {
            let file = shownPath(problems.file, workingDirectory)
            return problems.problems.map { Finding(level: .error, file: file, message: $0) }
        } catch {
            return [Finding(level: .error, file: "configuration", message: "\(error)")]
        }
        var findings: [Finding] = []
        if let file = configuration.file {
            findings.append(
                Finding(
                    level: .ok, file: shownPath(file, workingDirectory),
                    message: "log \(configuration.log), projections in \(configuration.projections)"))
        } else {
            findings.append(Finding(level: .ok, file: "(no projector.yml)", message: "defaults: log \(configuration.log)"))
        }

        var valid: [(file: String, description: SpecDescription)] = []
        var names: [String: String] = [:]
        for file in ProjectionCatalog.specFiles(in: configuration.projections) {
            let shown = shownPath(file, workingDirectory)
            do {
                let (kind, projection) = try ProjectionCatalog.read(file, shownPath: shown, kinds: kinds)
                try ProjectionCatalog.checkNameIsFree(projection.name, file: file, builtIn: builtIn)
                if let other = names[projection.name] {
                    findings.append(Finding(level: .error, file: shown, message: "name: '\(projection.name)' is already used by \(other)"))
                    continue
                }
                names[projection.name] = shown
                valid.append((shown, kind.describe(projection)))
            } catch let problems as SpecProblems {
                findings += problems.problems.map { Finding(level: .error, file: shown, message: $0) }
            } catch {
                findings.append(Finding(level: .error, file: shown, message: strip(strip("\(error)", file), shown)))
            }
        }

        // A purge is rare: a handler for one that never happened is no typo.
        let named = Set(valid.flatMap { $0.1.eventTypes.map(\.type) }).subtracting([TenantPurge.type])
        var unseen: Set<String> = []
        if let log = (try? openLog(configuration)) ?? nil { unseen = await Self.unseen(named, in: log) }
        for (file, description) in valid {
            findings.append(Finding(level: .ok, file: file, message: description.summary))
            for warning in description.warnings { findings.append(Finding(level: .warning, file: file, message: warning)) }
            for (field, type) in description.eventTypes where unseen.contains(type) {
                findings.append(Finding(level: .warning, file: file, message: "\(field): no \(type) event in the log (yet): a typo?"))
            }
        }
        if valid.isEmpty && !findings.contains(where: { $0.file != configuration.file && $0.level == .error }) {
            findings.append(
                Finding(
                    level: .warning, file: shownPath(configuration.projections, workingDirectory),
                    message: "no spec files (*.yml, *.yaml, *.json)"))
        }
        return findings
    }

    /// The types `log` holds no event of (none when it cannot be read).
    static func unseen(_ types: Set<String>, in log: any EventLog) async -> Set<String> {
        let found = try? await log.whileRunning {
            var unseen: Set<String> = []
            for type in types { if try await !log.hasEvents(ofType: type) { unseen.insert(type) } }
            return unseen
        }
        return found ?? []
    }

    static func shownPath(_ path: String, _ workingDirectory: String) -> String {
        let base = workingDirectory.hasSuffix("/") ? workingDirectory : workingDirectory + "/"
        return path.hasPrefix(base) ? String(path.dropFirst(base.count)) : path
    }

    static func strip(_ message: String, _ file: String) -> String {
        message.hasPrefix(file + ": ") ? String(message.dropFirst(file.count + 2)) : message
    }
}
