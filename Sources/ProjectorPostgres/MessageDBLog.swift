import Foundation
public import Logging
import PostgresNIO
public import ProjectorCore
public import ServiceLifecycle
import Synchronization

/// Message DB's `message_store.messages` table, read in place.
///
/// Mapping: position = `global_position`, version = `position + 1` (Message DB counts a stream
/// from 0, Projector from 1), stream = `stream_name`, data and metadata as stored (null → `{}`),
/// time as recorded (UTC).
///
/// Ordering: Message DB orders writes within a category only. `write_message` takes a
/// transaction-scoped advisory lock on the category's hash *before* it takes a
/// `global_position`, so two categories commit their positions out of order, and reading
/// "global_position > checkpoint" could skip a slow transaction's message. The tailer reads
/// only up to a *safe mark*: with one statement it sees the highest visible position M and the
/// transactions holding one-key advisory locks right then (the writers in flight); M becomes
/// safe once every one of those transactions has ended. A writer that took its lock later
/// takes a position above M; one that committed in between is visible to the next read.
/// Message DB sends no notifications, so the tailer polls.
public final class MessageDBLog: EventLog, Sendable {
    public let location: PostgresLocation
    /// `schema.table`, default `message_store.messages`.
    public let table: String
    let session: PostgresSession
    private let pollInterval: Duration
    /// Highest position known safe, and observed marks waiting for their writers to end.
    private let marks = Mutex<(safe: Int64, pending: [(mark: Int64, writers: Set<String>)])>((0, []))

    public init(
        location: PostgresLocation, pollInterval: Duration = .milliseconds(100), logger: Logger = Logger(label: "projector.messagedb")
    ) {
        self.location = location
        table = "\(location.schema ?? "message_store").\(location.table ?? "messages")"
        self.pollInterval = pollInterval
        session = PostgresSession(location: location, channel: nil, logger: logger)
    }

    public func append(_ events: [ProposedEvent]) async throws -> [RecordedEvent] {
        throw ProjectorError.readOnlyLog("the Message DB table \(table)")
    }

    public func appendEach(_ events: [ProposedEvent]) async throws -> [AppendOutcome] {
        throw ProjectorError.readOnlyLog("the Message DB table \(table)")
    }

    /// Observes the visible head and the writers in flight, and returns the safe mark.
    func safeMark() async throws -> Int64 {
        let rows = try await session.pool().query(
            """
            SELECT (SELECT coalesce(max(global_position), 0) FROM \(unescaped: table)),
                coalesce((SELECT array_agg(DISTINCT virtualtransaction) FROM pg_locks
                    WHERE locktype = 'advisory' AND granted AND objsubid = 1 AND pid <> pg_backend_pid()
                    AND database = (SELECT oid FROM pg_database WHERE datname = current_database())), '{}')
            """)
        var observed: (Int64, [String]) = (0, [])
        for try await row in rows.decode((Int64, [String]).self) { observed = row }
        let (head, writers) = (observed.0, Set(observed.1))
        return marks.withLock { marks in
            marks.pending.append((head, writers))
            // A writer's locks live as long as its transaction: gone from the list, it ended.
            for entry in marks.pending where entry.writers.isDisjoint(with: writers) {
                marks.safe = max(marks.safe, entry.mark)
            }
            marks.pending.removeAll { $0.mark <= marks.safe }
            return marks.safe
        }
    }

    private var columns: String {
        """
        global_position, id, stream_name, position + 1, type, coalesce(data::text, '{}'), coalesce(metadata::text, '{}'),
            to_char(time, 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'), metadata ->> 'tenant'
        """
    }

    private func fetch(_ query: PostgresQuery) async throws -> [RecordedEvent] {
        var events: [RecordedEvent] = []
        for try await (position, id, stream, version, type, data, metadata, time, tenant) in try await session.pool().query(query)
            .decode((Int64, UUID, String, Int64, String, String, String, String, String?).self)
        {
            events.append(
                RecordedEvent(
                    position: position, id: id, stream: stream, version: version, type: type, data: data,
                    metadata: metadata, time: time, tenant: tenant))
        }
        return events
    }

    public func read(after position: Int64, limit: Int) async throws -> [RecordedEvent] {
        do {
            let safe = try await safeMark()
            guard safe > position else { return [] }
            return try await fetch(
                """
                SELECT \(unescaped: columns) FROM \(unescaped: table)
                WHERE global_position > \(position) AND global_position <= \(safe) ORDER BY global_position LIMIT \(limit)
                """)
        } catch {
            throw PostgresFailure.error(error, location)
        }
    }

    public func readStream(_ stream: String, fromVersion version: Int64, limit: Int) async throws -> [RecordedEvent] {
        do {
            return try await fetch(
                """
                SELECT \(unescaped: columns) FROM \(unescaped: table)
                WHERE stream_name = \(stream) AND position >= \(version - 1) ORDER BY position LIMIT \(limit)
                """)
        } catch {
            throw PostgresFailure.error(error, location)
        }
    }

    public func head() async throws -> Int64 {
        do {
            return try await safeMark()
        } catch {
            throw PostgresFailure.error(error, location)
        }
    }

    public func hasEvents(ofType type: String) async throws -> Bool {
        do {
            return try await session.value("SELECT EXISTS (SELECT 1 FROM \(unescaped: table) WHERE type = \(type))", Bool.self) ?? false
        } catch {
            throw PostgresFailure.error(error, location)
        }
    }

    /// Message DB sends no notifications: a poll.
    /// Runs the connection pool (and the listener, once waited on) until cancelled: in a
    /// service group beside the host, or around a command with `whileRunning`.
    public func run() async throws { try await session.run() }

    public func waitForEvents(after position: Int64) async throws {
        try await session.waitForEvents(after: position, poll: pollInterval, head: head)
    }
}

extension MessageDBLog: Service {}
