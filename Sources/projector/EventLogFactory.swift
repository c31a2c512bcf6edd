import ProjectorCore
import ProjectorHost
import ProjectorPostgres
import ProjectorSQLite
import ProjectorSpecs

/// Opens the log a configuration names. It lives in the command-line tool, not in ProjectorHost,
/// so applications embedding the host build PostgresNIO only when they use it.
enum EventLogFactory {
    static func open(_ configuration: ProjectorConfiguration, readOnly: Bool = false) throws -> any EventLog {
        switch configuration.log {
        case .sqlite(let path):
            return try SQLiteEventLog(path: path, configuration: .init(readOnly: readOnly))
        case .postgres(let url):
            return try PostgresEventLog(url: url)
        case .eventsourcingPostgres(let url):
            return EventsourcingPostgresLog(location: try PostgresLocation(url: url))
        case .eventsourcingSQLite(let path, let table):
            return try EventsourcingSQLiteLog(path: path, table: table)
        case .messageDB(let url):
            return MessageDBLog(location: try PostgresLocation(url: url))
        }
    }

    /// The leases of hosts sharing their stores (`coordination: shared`), nil otherwise.
    static func leases(_ configuration: ProjectorConfiguration) throws -> (any ProjectionLeases)? {
        guard configuration.coordination == .shared, let url = configuration.log.postgresURL else { return nil }
        let location = try PostgresLocation(url: url)
        return PostgresLeases(location: location, scope: "\(location.schema ?? "")/\(location.table ?? "")")
    }
}
