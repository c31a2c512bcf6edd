import ProjectorCore
import ProjectorSQLite

/// One projection as `projector status` and `GET /v1/projections` report it.
public struct ProjectionStatus: Codable, Sendable, Equatable {
    public var name: String
    public var kind: String
    public var fingerprint: String
    public var position: Int64
    public var head: Int64
    public var lag: Int64
    public var state: String
    public var eventsPerSecond: Double
    public var deadLetters: Int
    public var lastError: String?

    public init(
        name: String, kind: String, fingerprint: String, position: Int64, head: Int64, state: String,
        eventsPerSecond: Double, deadLetters: Int = 0, lastError: String? = nil
    ) {
        self.name = name
        self.kind = kind
        self.fingerprint = fingerprint
        self.position = position
        self.head = head
        self.lag = max(0, head - position)
        self.state = state
        self.eventsPerSecond = eventsPerSecond
        self.deadLetters = deadLetters
        self.lastError = lastError
    }
}

extension ProjectorHost {
    /// Status of every projection, read from the stores (so it is true across processes).
    public func status() async throws -> [ProjectionStatus] {
        let head = try await log.head()
        var result: [ProjectionStatus] = []
        for runner in runners {
            let stored = try await runner.store.checkpoint()
            let checkpoint = stored ?? runner.current
            result.append(
                ProjectionStatus(
                    name: runner.name, kind: runner.projection.kind, fingerprint: runner.projection.fingerprint,
                    position: checkpoint.position, head: head,
                    state: stored == nil ? "stopped" : checkpoint.state.rawValue,
                    eventsPerSecond: (checkpoint.eventsPerSecond * 10).rounded() / 10,
                    lastError: checkpoint.lastError))
        }
        return result
    }
}
