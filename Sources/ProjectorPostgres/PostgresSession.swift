import Logging
import PostgresNIO
import ProjectorCore
import ServiceLifecycle
import Synchronization

/// One PostgreSQL database as a log uses it: a pool of connections and, once someone waits for
/// events on a named channel, one more connection that LISTENs on it and wakes waiters on every
/// NOTIFY. Both live in `run()`, in the caller's structured task (a service group's, or
/// `EventLog.whileRunning`'s); polling stays the fallback while the listener reconnects.
final class PostgresSession: Sendable {
    let location: PostgresLocation
    let notifier = ChangeNotifier()
    private let client: PostgresClient
    private let channel: String?
    private let logger: Logger
    private enum State { case idle, running, ended }
    private let state = Mutex(State.idle)
    /// Signalled when `run()` starts.
    private let started = ChangeNotifier()
    private let listenRequests = AsyncStream<Void>.makeStream(bufferingPolicy: .bufferingNewest(1))

    init(location: PostgresLocation, channel: String?, logger: Logger) {
        self.location = location
        self.channel = channel
        self.logger = logger
        client = PostgresClient(configuration: location.clientConfiguration, backgroundLogger: logger)
    }

    /// Runs the pool, and the listener from the first wait for events on, until the task is
    /// cancelled or its service group shuts down. Once per session.
    func run() async throws {
        try state.withLock { state in
            guard state == .idle else { throw ProjectorError(.unavailable, "\(description): the log runs only once") }
            state = .running
        }
        started.signal()
        defer { state.withLock { $0 = .ended } }
        await cancelWhenGracefulShutdown {
            await withDiscardingTaskGroup { group in
                group.addTask { await self.client.run() }
                if let channel = self.channel {
                    group.addTask {
                        for await _ in self.listenRequests.stream { break }
                        guard !Task.isCancelled else { return }
                        await Self.listen(self.location, channel, self.notifier, self.logger)
                    }
                }
            }
        }
    }

    /// The pool while `run()` runs; a call made before it starts waits a moment for it, then
    /// fails naming the cause (a pool nobody runs would hang every query).
    func pool() async throws -> PostgresClient {
        let deadline = ContinuousClock.now + .seconds(5)
        while true {
            let generation = started.generation
            switch state.withLock({ $0 }) {
            case .running: return client
            case .ended: throw ProjectorError(.unavailable, "\(description): the log has stopped running")
            case .idle:
                guard ContinuousClock.now < deadline else {
                    throw ProjectorError(
                        .unavailable,
                        "\(description): the log is not running: run it beside its users (EventLog.whileRunning, or a service group)")
                }
                await started.wait(after: generation, timeout: .milliseconds(100))
            }
        }
    }

    private var description: String { "PostgreSQL \(location.host):\(location.port)/\(location.database)" }

    /// Starts the listener the first time it is needed (one-shot commands never open it).
    func listen() {
        if channel != nil { listenRequests.continuation.yield() }
    }

    /// The first column of the first row, nil when there is none.
    func value<Value: PostgresDecodable & Sendable>(_ query: PostgresQuery, _ type: Value.Type) async throws -> Value? {
        for try await value in try await pool().query(query, logger: Self.quiet).decode(Value.self) { return value }
        return nil
    }

    /// Returns once `head()` passes `position`: woken by a NOTIFY on the channel (when there is
    /// one), else by the poll.
    func waitForEvents(after position: Int64, poll: Duration, head: () async throws -> Int64) async throws {
        listen()
        while true {
            try Task.checkCancellation()
            let generation = notifier.generation
            if try await head() > position { return }
            await notifier.wait(after: generation, timeout: poll)
        }
    }

    static let quiet = Logger(label: "projector.postgres.query", factory: { _ in SwiftLogNoOpLogHandler() })

    private static func listen(_ location: PostgresLocation, _ channel: String, _ notifier: ChangeNotifier, _ logger: Logger) async {
        var id = 0
        while !Task.isCancelled {
            id += 1
            do {
                let connection = try await PostgresConnection.connect(
                    configuration: location.connectionConfiguration(), id: id, logger: logger)
                do {
                    try await connection.listen(on: channel) { notifications in
                        // Events may have landed while nobody listened.
                        notifier.signal()
                        for try await _ in notifications { notifier.signal() }
                    }
                } catch {
                    logger.debug("listener on \(channel) ended: \(PostgresFailure.describe(error))")
                }
                try? await connection.close()
            } catch {
                logger.debug("listener on \(channel) cannot connect: \(PostgresFailure.describe(error))")
            }
            try? await Task.sleep(for: .seconds(1))
        }
    }
}

/// PostgresNIO keeps server messages out of its errors' descriptions (they may hold data);
/// Projector's users need them, so this reads them out.
enum PostgresFailure {
    static func describe(_ error: any Error) -> String {
        if let error = error as? PostgresTransactionError {
            return describe(error.closureError ?? error.beginError ?? error.commitError ?? error.rollbackError ?? error)
        }
        guard let error = error as? PSQLError else { return "\(error)" }
        if let message = error.serverInfo?[.message] {
            let state = error.serverInfo?[.sqlState].map { " (\($0))" } ?? ""
            return message + state
        }
        if let underlying = error.underlying { return "\(error.code): \(underlying)" }
        return "\(error.code)"
    }

    /// The SQLSTATE of a server error, e.g. 23505 for a unique violation.
    static func sqlState(_ error: any Error) -> String? {
        if let error = error as? PostgresTransactionError {
            return (error.closureError ?? error.commitError).flatMap(sqlState)
        }
        return (error as? PSQLError)?.serverInfo?[.sqlState]
    }

    /// A `ProjectorError` naming the database and the server's message.
    static func error(_ error: any Error, _ location: PostgresLocation) -> any Error {
        if error is ProjectorError || error is CancellationError { return error }
        if let inner = (error as? PostgresTransactionError)?.closureError, inner is ProjectorError || inner is CancellationError {
            return inner
        }
        return ProjectorError(
            .unavailable, "PostgreSQL \(location.host):\(location.port)/\(location.database): \(describe(error))")
    }
}
