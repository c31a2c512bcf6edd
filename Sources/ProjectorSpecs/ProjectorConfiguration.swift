public import Foundation
import ProjectorCore

/// `projector.yml` (or `.yaml`, `.json`): where the log, stores and specs live.
///
/// With no file, the defaults give a working embedded setup under `./.projector/`. Relative
/// paths are relative to the config file's folder, or to the working folder without a file.
public struct ProjectorConfiguration: Sendable, Equatable {
    /// Where events come from.
    public enum LogLocation: Sendable, Equatable, CustomStringConvertible {
        case sqlite(path: String)
        case postgres(url: String)
        /// The Python `eventsourcing` library's stored events, read in place.
        case eventsourcingPostgres(url: String)
        case eventsourcingSQLite(path: String, table: String)
        /// Message DB's messages table, read in place.
        case messageDB(url: String)

        /// As written in the configuration (a PostgreSQL password is not shown).
        public var description: String {
            func hidden(_ url: String) -> String {
                url.replacingOccurrences(of: #":[^:@/]*@"#, with: ":***@", options: .regularExpression)
            }
            switch self {
            case .sqlite(let path): return "sqlite:\(path)"
            case .postgres(let url): return hidden(url)
            case .eventsourcingPostgres(let url): return "eventsourcing+" + hidden(url)
            case .eventsourcingSQLite(let path, let table):
                return "eventsourcing+sqlite:\(path)" + (table == "stored_events" ? "" : "?table=\(table)")
            case .messageDB(let url): return "messagedb+" + hidden(url)
            }
        }

        /// The PostgreSQL server behind this log, if it is one (leases live there).
        public var postgresURL: String? {
            switch self {
            case .postgres(let url), .eventsourcingPostgres(let url), .messageDB(let url): url
            case .sqlite, .eventsourcingSQLite: nil
            }
        }
    }

    /// How hosts sharing one log divide the projections.
    public enum Coordination: String, Sendable, Equatable {
        /// Every host runs every projection on stores of its own (replicated search nodes).
        case local
        /// Hosts share the stores folder: each projection runs on exactly one host at a time,
        /// under a PostgreSQL advisory lock; another host takes over when it dies.
        case shared
    }

    public var log: LogLocation
    public var coordination: Coordination
    /// Folder of the projections' store files.
    public var stores: String
    /// Folder of the spec files users write.
    public var projections: String
    public var serverHost: String
    public var serverPort: Int
    /// How long an HTTP connection may sit with no request in flight.
    public var serverIdleTimeout: Duration = .seconds(30)
    /// How long a request may take to arrive whole once its head has.
    public var serverRequestTimeout: Duration = .seconds(10)
    /// From env `PROJECTOR_ADMIN_TOKEN`; admin routes are closed without it.
    public var adminToken: String?
    /// Events per batch.
    public var batchSize: Int
    /// The file this came from, nil for defaults.
    public var file: String?

    public static let fileNames = ["projector.yml", "projector.yaml", "projector.json"]

    /// Finds and reads the configuration: `explicitPath` (from `--config`), else env
    /// `PROJECTOR_CONFIG`, else a `projector.yml|yaml|json` in `workingDirectory`, else defaults.
    public static func load(
        explicitPath: String? = nil, environment: [String: String] = ProcessInfo.processInfo.environment,
        workingDirectory: String = FileManager.default.currentDirectoryPath
    ) throws -> ProjectorConfiguration {
        let path: String? =
            explicitPath ?? environment["PROJECTOR_CONFIG"].flatMap { $0.isEmpty ? nil : $0 }
            ?? fileNames.map { workingDirectory + "/" + $0 }.first { FileManager.default.fileExists(atPath: $0) }
        let adminToken = environment["PROJECTOR_ADMIN_TOKEN"].flatMap { $0.isEmpty ? nil : $0 }
        guard let path else {
            return try ProjectorConfiguration(values: [:], base: workingDirectory, file: nil, adminToken: adminToken)
        }
        let absolute = path.hasPrefix("/") ? path : workingDirectory + "/" + path
        let values = try YAMLDocument.mapping(
            at: absolute, shownPath: path, code: .invalidConfiguration,
            expected: "a mapping of keys (log, stores, projections, server)", allowEmpty: true)
        let base = URL(fileURLWithPath: absolute).deletingLastPathComponent().path
        return try ProjectorConfiguration(values: values, base: base, file: path, adminToken: adminToken)
    }

    init(values: [String: Any], base: String, file: String?, adminToken: String?) throws {
        let where_ = file ?? "configuration"
        let known: Set<String> = ["log", "stores", "projections", "server", "batchSize", "coordination"]
        if let unknown = values.keys.sorted().first(where: { !known.contains($0) }) {
            throw ProjectorError(
                .invalidConfiguration,
                "\(where_): unknown key '\(unknown)' (known: log, stores, projections, server, batchSize, coordination)")
        }
        func string(_ key: String, _ value: Any?, default fallback: String) throws -> String {
            guard let value else { return fallback }
            guard let text = value as? String, !text.isEmpty else {
                throw ProjectorError(.invalidConfiguration, "\(where_): \(key) must be a non-empty string")
            }
            return text
        }
        func resolve(_ path: String) -> String {
            path.hasPrefix("/") ? path : (base.hasSuffix("/") ? base : base + "/") + path
        }
        let logText = try string("log", values["log"], default: "sqlite:.projector/events.sqlite")
        if logText.hasPrefix("sqlite:") {
            let path = String(logText.dropFirst("sqlite:".count))
            guard !path.isEmpty else {
                throw ProjectorError(.invalidConfiguration, "\(where_): log: sqlite: needs a path, e.g. sqlite:events.sqlite")
            }
            log = .sqlite(path: resolve(path))
        } else if logText.hasPrefix("postgres://") || logText.hasPrefix("postgresql://") {
            log = .postgres(url: logText)
        } else if logText.hasPrefix("eventsourcing+postgres://") || logText.hasPrefix("eventsourcing+postgresql://") {
            log = .eventsourcingPostgres(url: String(logText.dropFirst("eventsourcing+".count)))
        } else if logText.hasPrefix("eventsourcing+sqlite:") {
            var path = String(logText.dropFirst("eventsourcing+sqlite:".count))
            var table = "stored_events"
            if let mark = path.range(of: "?table=") {
                table = String(path[mark.upperBound...])
                path = String(path[..<mark.lowerBound])
            }
            guard !path.isEmpty else {
                throw ProjectorError(.invalidConfiguration, "\(where_): log: eventsourcing+sqlite: needs a path")
            }
            log = .eventsourcingSQLite(path: resolve(path), table: table)
        } else if logText.hasPrefix("messagedb+postgres://") || logText.hasPrefix("messagedb+postgresql://") {
            log = .messageDB(url: String(logText.dropFirst("messagedb+".count)))
        } else {
            throw ProjectorError(
                .invalidConfiguration,
                "\(where_): log must be sqlite:PATH, postgres://…, eventsourcing+postgres://…, eventsourcing+sqlite:PATH "
                    + "or messagedb+postgres://…, found '\(logText)'")
        }
        let coordinationText = try string("coordination", values["coordination"], default: "local")
        guard let coordination = Coordination(rawValue: coordinationText) else {
            throw ProjectorError(.invalidConfiguration, "\(where_): coordination must be local or shared, found '\(coordinationText)'")
        }
        guard coordination == .local || log.postgresURL != nil else {
            throw ProjectorError(
                .invalidConfiguration, "\(where_): coordination: shared needs a PostgreSQL log (the leases live there)")
        }
        self.coordination = coordination
        stores = resolve(try string("stores", values["stores"], default: ".projector/stores"))
        projections = resolve(try string("projections", values["projections"], default: "projections"))
        serverHost = "127.0.0.1"
        serverPort = 8080
        if let server = values["server"] {
            guard let server = server as? [String: Any] else {
                throw ProjectorError(.invalidConfiguration, "\(where_): server must be a mapping with host and port")
            }
            let knownServer = ["host", "port", "idleTimeout", "requestTimeout"]
            if let unknown = server.keys.sorted().first(where: { !knownServer.contains($0) }) {
                throw ProjectorError(
                    .invalidConfiguration,
                    "\(where_): unknown key 'server.\(unknown)' (known: \(knownServer.sorted().joined(separator: ", ")))")
            }
            func seconds(_ key: String) throws -> Duration? {
                guard let value = server[key] else { return nil }
                guard let number = (value as? Double) ?? (value as? Int).map(Double.init), number > 0, number <= 3600 else {
                    throw ProjectorError(
                        .invalidConfiguration, "\(where_): server.\(key) must be a number of seconds above 0 and at most 3600")
                }
                return .milliseconds(Int64(number * 1000))
            }
            if let idle = try seconds("idleTimeout") { serverIdleTimeout = idle }
            if let request = try seconds("requestTimeout") { serverRequestTimeout = request }
            serverHost = try string("server.host", server["host"], default: serverHost)
            if let port = server["port"] {
                guard let number = port as? Int, (1...65_535).contains(number) else {
                    throw ProjectorError(.invalidConfiguration, "\(where_): server.port must be a number from 1 to 65535")
                }
                serverPort = number
            }
        }
        batchSize = 1000
        if let size = values["batchSize"] {
            guard let number = size as? Int, (1...100_000).contains(number) else {
                throw ProjectorError(.invalidConfiguration, "\(where_): batchSize must be a number from 1 to 100000")
            }
            batchSize = number
        }
        self.adminToken = adminToken
        self.file = file
    }
}
