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
    public enum Coordination: String, Sendable, Equatable, Decodable {
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
    public var serverIdleTimeout: Duration
    /// How long a request may take to arrive whole once its head has.
    public var serverRequestTimeout: Duration
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
        do {
            return try read(explicitPath: explicitPath, environment: environment, workingDirectory: workingDirectory)
        } catch let problems as SpecProblems {
            throw problems.error(.invalidConfiguration)
        }
    }

    /// As `load`, throwing every problem of the file (``SpecProblems``) for `validate`.
    static func read(explicitPath: String?, environment: [String: String], workingDirectory: String) throws -> ProjectorConfiguration {
        let path: String? =
            explicitPath ?? environment["PROJECTOR_CONFIG"].flatMap { $0.isEmpty ? nil : $0 }
            ?? fileNames.map { workingDirectory + "/" + $0 }.first { FileManager.default.fileExists(atPath: $0) }
        let adminToken = environment["PROJECTOR_ADMIN_TOKEN"].flatMap { $0.isEmpty ? nil : $0 }
        guard let path else {
            return try ProjectorConfiguration(Document(), base: workingDirectory, file: nil, adminToken: adminToken)
        }
        let absolute = path.hasPrefix("/") ? path : workingDirectory + "/" + path
        let base = URL(fileURLWithPath: absolute).deletingLastPathComponent().path
        let values = try YAMLDocument.mapping(
            at: absolute, shownPath: path, expected: "a mapping of keys (log, stores, projections, server)", allowEmpty: true)
        let document = try SpecProblems.decode(Document.self, json: SpecProblems.canonicalJSON(values), file: path)
        return try ProjectorConfiguration(document, base: base, file: path, adminToken: adminToken)
    }

    /// The configuration file's fields, typed; problems are noted with their field.
    struct Document: Decodable {
        var log = "sqlite:.projector/events.sqlite"
        var coordination = Coordination.local
        var stores = ".projector/stores"
        var projections = "projections"
        var serverHost = "127.0.0.1"
        var serverPort = 8080
        var serverIdleTimeout = Duration.seconds(30)
        var serverRequestTimeout = Duration.seconds(10)
        var batchSize = 1000

        static let keys = ["log", "stores", "projections", "server", "batchSize", "coordination"]

        init() {}

        init(from decoder: any Decoder) {
            let fields = SpecFields(decoder, known: Self.keys, expected: "a mapping of keys (log, stores, projections, server)")
            let text = "must be a non-empty string"
            log = fields.optional("log", String.self, text, where: { !$0.isEmpty }) ?? log
            coordination = fields.optional("coordination", Coordination.self, "must be local or shared") ?? coordination
            stores = fields.optional("stores", String.self, text, where: { !$0.isEmpty }) ?? stores
            projections = fields.optional("projections", String.self, text, where: { !$0.isEmpty }) ?? projections
            batchSize =
                fields.optional("batchSize", Int.self, "must be a whole number from 1 to 100000", where: { (1...100_000).contains($0) })
                ?? batchSize
            let serverKeys = ["host", "port", "idleTimeout", "requestTimeout"]
            guard let server = fields.mapping("server", known: serverKeys, expected: "a mapping with host and port") else { return }
            serverHost = server.optional("host", String.self, text, where: { !$0.isEmpty }) ?? serverHost
            serverPort =
                server.optional("port", Int.self, "must be a whole number from 1 to 65535", where: { (1...65_535).contains($0) })
                ?? serverPort
            let seconds = "must be a number of seconds above 0 and at most 3600"
            if let idle = server.optional("idleTimeout", Double.self, seconds, where: { $0 > 0 && $0 <= 3600 }) {
                serverIdleTimeout = .milliseconds(Int64(idle * 1000))
            }
            if let request = server.optional("requestTimeout", Double.self, seconds, where: { $0 > 0 && $0 <= 3600 }) {
                serverRequestTimeout = .milliseconds(Int64(request * 1000))
            }
        }
    }

    init(_ document: Document, base: String, file: String?, adminToken: String?) throws {
        let where_ = file ?? "configuration"
        func resolve(_ path: String) -> String {
            path.hasPrefix("/") ? path : (base.hasSuffix("/") ? base : base + "/") + path
        }
        let logText = document.log
        if logText.hasPrefix("sqlite:") {
            let path = String(logText.dropFirst("sqlite:".count))
            guard !path.isEmpty else {
                throw SpecProblems(file: where_, field: "log", "sqlite: needs a path, e.g. sqlite:events.sqlite")
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
                throw SpecProblems(file: where_, field: "log", "eventsourcing+sqlite: needs a path")
            }
            log = .eventsourcingSQLite(path: resolve(path), table: table)
        } else if logText.hasPrefix("messagedb+postgres://") || logText.hasPrefix("messagedb+postgresql://") {
            log = .messageDB(url: String(logText.dropFirst("messagedb+".count)))
        } else {
            throw SpecProblems(
                file: where_, field: "log",
                "must be sqlite:PATH, postgres://…, eventsourcing+postgres://…, eventsourcing+sqlite:PATH "
                    + "or messagedb+postgres://…, found '\(logText)'")
        }
        guard document.coordination == .local || log.postgresURL != nil else {
            throw SpecProblems(file: where_, field: "coordination", "shared needs a PostgreSQL log (the leases live there)")
        }
        coordination = document.coordination
        stores = resolve(document.stores)
        projections = resolve(document.projections)
        serverHost = document.serverHost
        serverPort = document.serverPort
        serverIdleTimeout = document.serverIdleTimeout
        serverRequestTimeout = document.serverRequestTimeout
        batchSize = document.batchSize
        self.adminToken = adminToken
        self.file = file
    }
}
