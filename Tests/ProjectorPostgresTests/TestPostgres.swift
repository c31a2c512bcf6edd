import Foundation
import Logging
import PostgresNIO
import ProjectorCore
import ProjectorPostgres

/// The PostgreSQL server the tests use: `PROJECTOR_TEST_POSTGRES` (a postgres:// URL), set by
/// `.ci/run`, which starts a real cluster. Each test gets a schema of its own.
enum TestPostgres {
    static let url = ProcessInfo.processInfo.environment["PROJECTOR_TEST_POSTGRES"].flatMap { $0.isEmpty ? nil : $0 }
    static var available: Bool { url != nil }

    /// A new schema name, unique per call.
    static func schema() -> String {
        "t_" + UUID().uuidString.lowercased().replacingOccurrences(of: "-", with: "").prefix(12)
    }

    /// The server URL with options, e.g. `["schema": "t_1"]`.
    static func url(_ options: [String: String]) -> String {
        guard let url else { return "" }
        let query = options.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: "&")
        return query.isEmpty ? url : url + (url.contains("?") ? "&" : "?") + query
    }

    static func location(_ options: [String: String] = [:]) throws -> PostgresLocation {
        try PostgresLocation(url: url(options))
    }

    /// A plain client for SQL that "other software" runs in the tests.
    static func withClient<T: Sendable>(_ body: @Sendable (PostgresClient) async throws -> T) async throws -> T {
        let location = try location()
        let client = PostgresClient(
            configuration: .init(
                host: location.host, port: location.port, username: location.user, password: location.password,
                database: location.database, tls: .disable))
        return try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { await client.run() }
            defer { group.cancelAll() }
            return try await body(client)
        }
    }
}
