import Foundation
public import Logging
import NIOCore
import PostgresNIO
public import ProjectorCore
public import ServiceLifecycle

/// The Python `eventsourcing` library's PostgreSQL stored-events table, read in place.
///
/// Ordering: the library's application recorder takes `LOCK TABLE … IN EXCLUSIVE MODE` in
/// every inserting transaction and holds it until commit, so `notification_id`s become visible
/// in order; reading `notification_id > checkpoint` never skips one. A rolled-back insert leaves
/// a hole that is never filled, which the host steps over. Its inserts `NOTIFY` the table's
/// channel, which wakes the tailer; polling is the fallback. (Software that inserts without
/// that lock breaks the library's own readers as well as this one.)
public final class EventsourcingPostgresLog: EventLog, Sendable {
    public let location: PostgresLocation
    /// `schema.table`, default `public.stored_events`.
    public let table: String
    let session: PostgresSession
    private let pollInterval: Duration

    public init(
        location: PostgresLocation, pollInterval: Duration = .milliseconds(500), logger: Logger = Logger(label: "projector.eventsourcing")
    ) {
        self.location = location
        let name = location.table ?? "stored_events"
        table = "\(location.schema ?? "public").\(name)"
        self.pollInterval = pollInterval
        session = PostgresSession(location: location, channel: name, logger: logger)
    }

    public func append(_ events: [ProposedEvent]) async throws -> [RecordedEvent] {
        throw ProjectorError.readOnlyLog("the eventsourcing table \(table)")
    }

    public func appendEach(_ events: [ProposedEvent]) async throws -> [AppendOutcome] {
        throw ProjectorError.readOnlyLog("the eventsourcing table \(table)")
    }

    private func fetch(_ query: PostgresQuery) async throws -> [RecordedEvent] {
        do {
            var events: [RecordedEvent] = []
            for try await (id, originator, version, topic, state) in try await session.pool().query(query).decode(
                (Int64, String, Int64, String?, ByteBuffer?).self)
            {
                let bytes = state.map { Array($0.readableBytesView) } ?? []
                events.append(
                    EventsourcingStoredEvent(
                        notificationID: id, originatorID: originator, originatorVersion: version, topic: topic ?? "",
                        state: bytes
                    ).recorded)
            }
            return events
        } catch {
            throw PostgresFailure.error(error, location)
        }
    }

    private var columns: String { "notification_id, originator_id::text, originator_version, topic, state" }

    public func read(after position: Int64, limit: Int) async throws -> [RecordedEvent] {
        try await fetch(
            "SELECT \(unescaped: columns) FROM \(unescaped: table) WHERE notification_id > \(position) ORDER BY notification_id LIMIT \(limit)"
        )
    }

    public func readStream(_ stream: String, fromVersion version: Int64, limit: Int) async throws -> [RecordedEvent] {
        try await fetch(
            """
            SELECT \(unescaped: columns) FROM \(unescaped: table)
            WHERE originator_id::text = \(stream) AND originator_version >= \(version) ORDER BY originator_version LIMIT \(limit)
            """)
    }

    public func head() async throws -> Int64 {
        do {
            return try await session.value("SELECT coalesce(max(notification_id), 0) FROM \(unescaped: table)", Int64.self) ?? 0
        } catch {
            throw PostgresFailure.error(error, location)
        }
    }

    public func hasEvents(ofType type: String) async throws -> Bool {
        do {
            return try await session.value(
                "SELECT EXISTS (SELECT 1 FROM \(unescaped: table) WHERE topic = \(type) OR topic LIKE \("%:" + type))", Bool.self)
                ?? false
        } catch {
            throw PostgresFailure.error(error, location)
        }
    }

    /// Runs the connection pool (and the listener, once waited on) until cancelled: in a
    /// service group beside the host, or around a command with `whileRunning`.
    public func run() async throws { try await session.run() }

    public func waitForEvents(after position: Int64) async throws {
        try await session.waitForEvents(after: position, poll: pollInterval, head: head)
    }
}

extension EventsourcingPostgresLog: Service {}
