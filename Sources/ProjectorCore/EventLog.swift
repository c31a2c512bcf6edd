/// The source of truth: an append-only log of events, read forward by position.
///
/// Implementations: the embedded SQLite log (default) and, later, PostgreSQL and existing
/// event stores read in place. Positions are global and increasing; the first event is 1.
public protocol EventLog: Sendable {
    /// Appends events in one transaction. Every event's expected version is checked against its
    /// stream as it stands after the events before it in the same call. Events whose id the log
    /// already holds are skipped (idempotent retries) and returned as stored. Any failure writes
    /// nothing.
    func append(_ events: [ProposedEvent]) async throws -> [RecordedEvent]

    /// Appends events one by one inside one transaction, keeping the good ones: the import path.
    func appendEach(_ events: [ProposedEvent]) async throws -> [AppendOutcome]

    /// Up to `limit` events with a position greater than `position`, in order.
    func read(after position: Int64, limit: Int) async throws -> [RecordedEvent]

    /// A stream's events from `version` on, in order.
    func readStream(_ stream: String, fromVersion version: Int64, limit: Int) async throws -> [RecordedEvent]

    /// The position of the last event, 0 for an empty log.
    func head() async throws -> Int64

    /// Whether the log holds any event of `type` (for warnings about specs that name a type
    /// nobody ever wrote).
    func hasEvents(ofType type: String) async throws -> Bool

    /// Returns once the log's head is beyond `position`: at once in the appending process, by a
    /// cheap poll from other processes. Throws `CancellationError` when the task is cancelled.
    func waitForEvents(after position: Int64) async throws

    /// Runs what the log needs in the background (a PostgreSQL log's connection pool) until the
    /// task is cancelled; the other calls are made while it runs. An embedded log needs nothing.
    func run() async throws
}

extension EventLog {
    public func run() async throws {}

    /// `body`'s result, with the log running while `body` runs: a command's whole lifetime.
    public func whileRunning<T>(_ body: () async throws -> T) async throws -> T {
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await self.run() }
            defer { group.cancelAll() }
            return try await body()
        }
    }
}

/// What happened to one event of ``EventLog/appendEach(_:)``.
public enum AppendOutcome: Sendable, Hashable {
    case appended(RecordedEvent)
    /// The log already held an event with this id; nothing was written.
    case duplicate(RecordedEvent)
    case rejected(ProjectorError)
}
