public import ProjectorCore
import ProjectorSQLite

/// Opens the log a configuration names.
public enum EventLogFactory {
    public static func open(_ configuration: ProjectorConfiguration, readOnly: Bool = false) throws -> any EventLog {
        switch configuration.log {
        case .sqlite(let path):
            return try SQLiteEventLog(path: path, configuration: .init(readOnly: readOnly))
        case .postgres:
            throw ProjectorError(.invalidConfiguration, "the PostgreSQL log is not built into this version yet")
        }
    }
}
