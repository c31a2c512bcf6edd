import Foundation
import PostgresNIO
import ProjectorCore

/// A PostgreSQL server, database and schema, from a `postgres://user:password@host:port/db` URL.
///
/// Query options: `schema` (the log's schema, default `projector`; for stores read in place, the
/// schema of their table), `table` (a store's table when it is not the default), `sslmode`
/// (`disable`, the default, or `require`).
public struct PostgresLocation: Sendable, Equatable {
    public var host: String
    public var port: Int
    public var user: String
    public var password: String?
    public var database: String
    public var schema: String?
    public var table: String?
    public var requireTLS: Bool

    public init(url: String) throws {
        let shown = url.replacingOccurrences(of: #":[^:@/]*@"#, with: ":***@", options: .regularExpression)
        guard let components = URLComponents(string: url),
            let scheme = components.scheme, scheme.hasSuffix("postgres") || scheme.hasSuffix("postgresql")
        else {
            throw ProjectorError(.invalidConfiguration, "log: '\(shown)' is not a postgres://user@host:port/database URL")
        }
        host = components.host.flatMap { $0.isEmpty ? nil : $0 } ?? "127.0.0.1"
        port = components.port ?? 5432
        user = components.user.flatMap { $0.removingPercentEncoding } ?? "postgres"
        password = components.password?.removingPercentEncoding
        let path = components.path.hasPrefix("/") ? String(components.path.dropFirst()) : components.path
        database = path.isEmpty ? user : path
        var requireTLS = false
        for item in components.queryItems ?? [] {
            let value = item.value ?? ""
            switch item.name {
            case "schema": schema = try Self.identifier(value, "schema", shown)
            case "table": table = try Self.identifier(value, "table", shown)
            case "sslmode":
                guard value == "disable" || value == "require" else {
                    throw ProjectorError(.invalidConfiguration, "log: '\(shown)': sslmode must be disable or require")
                }
                requireTLS = value == "require"
            default:
                throw ProjectorError(
                    .invalidConfiguration, "log: '\(shown)': unknown option '\(item.name)' (known: schema, table, sslmode)")
            }
        }
        self.requireTLS = requireTLS
    }

    /// Names go into SQL text (schemas and tables cannot be bound), so only plain ones pass.
    private static func identifier(_ value: String, _ key: String, _ shown: String) throws -> String {
        guard let first = value.unicodeScalars.first, first == "_" || ("a"..."z").contains(first),
            value.unicodeScalars.allSatisfy({ $0 == "_" || ("a"..."z").contains($0) || ("0"..."9").contains($0) }),
            value.count <= 63
        else {
            throw ProjectorError(.invalidConfiguration, "log: '\(shown)': \(key) must match [a-z_][a-z0-9_]*, found '\(value)'")
        }
        return value
    }

    var clientConfiguration: PostgresClient.Configuration {
        var configuration = PostgresClient.Configuration(
            host: host, port: port, username: user, password: password, database: database,
            tls: requireTLS ? .require(.makeClientConfiguration()) : .disable)
        configuration.options.maximumConnections = 16
        // Short statements over indexes: JIT compiling them costs more than running them.
        configuration.options.additionalStartupParameters = [("jit", "off"), ("application_name", "projector")]
        return configuration
    }

    func connectionConfiguration() throws -> PostgresConnection.Configuration {
        PostgresConnection.Configuration(
            host: host, port: port, username: user, password: password, database: database,
            tls: requireTLS ? .require(try .init(configuration: .makeClientConfiguration())) : .disable)
    }
}
