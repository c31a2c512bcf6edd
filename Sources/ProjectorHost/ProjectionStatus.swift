import GRDB
public import ProjectorCore
import ProjectorSQLite

/// One projection as `projector status` and `GET /v1/projections` report it.
public struct ProjectionStatus: Codable, Sendable, Equatable {
    public var name: String
    public var kind: ProjectionKindName
    public var fingerprint: String
    public var position: Int64
    public var head: Int64
    public var lag: Int64
    public var state: ProjectionState
    public var eventsPerSecond: Double
    public var deadLetters: Int
    public var lastError: String?
    /// The next generation being built, when a rebuild is running or pending.
    public var rebuild: RebuildProgress?

    /// How far a rebuild has come.
    public struct RebuildProgress: Codable, Sendable, Equatable {
        public var position: Int64
        public var head: Int64
        /// 0…100.
        public var percent: Double
        public var eventsPerSecond: Double
        /// Seconds left at the current rate; nil before there is a rate.
        public var etaSeconds: Double?
        /// `rebuilding`, or `failed` (with the error in `lastError` of the rebuild).
        public var state: ProjectionState
        public var lastError: String?
    }

    public init(
        name: String, kind: ProjectionKindName, fingerprint: String, position: Int64, head: Int64, state: ProjectionState,
        eventsPerSecond: Double, deadLetters: Int = 0, lastError: String? = nil, rebuild: RebuildProgress? = nil
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
        self.rebuild = rebuild
    }
}

extension ProjectorHost {
    /// Status of every projection, read from the stores (so it is true across processes).
    public func status() async throws -> [ProjectionStatus] {
        let head = try await log.head()
        var result: [ProjectionStatus] = []
        for runner in runners {
            let (stored, deadLetters) = try await runner.store.pool.read { db in
                (try ProjectionStore.checkpoint(runner.name, db), try ProjectionStore.deadLetterCount(db))
            }
            let checkpoint = stored ?? runner.current
            var rebuild: ProjectionStatus.RebuildProgress?
            if let next = await rebuildProgress(runner.name) {
                let left = Double(max(0, head - next.position))
                rebuild = .init(
                    position: next.position, head: head,
                    percent: head == 0 ? 100 : (Double(next.position) / Double(head) * 1000).rounded() / 10,
                    eventsPerSecond: (next.eventsPerSecond * 10).rounded() / 10,
                    etaSeconds: next.eventsPerSecond > 0 ? (left / next.eventsPerSecond).rounded() : nil,
                    state: next.state == .failed ? .failed : .rebuilding, lastError: next.lastError)
            }
            let stale = stored.map { $0.fingerprint != runner.projection.fingerprint && $0.fingerprint != Checkpoint.notSetUp } ?? false
            var state = stored == nil ? .stopped : checkpoint.state
            if [.live, .catchingUp].contains(checkpoint.state), !FileLock.isHeld(runner.store.runningLockPath) {
                state = .stopped  // its host is gone
            }
            if let age = runner.transactionAge, age > stallAfter { state = .stalled }
            if rebuild != nil && (stale || state == .stopped) { state = .rebuilding }
            result.append(
                ProjectionStatus(
                    name: runner.name, kind: runner.projection.kind, fingerprint: runner.projection.fingerprint,
                    position: checkpoint.position, head: head, state: state,
                    eventsPerSecond: (checkpoint.eventsPerSecond * 10).rounded() / 10, deadLetters: deadLetters,
                    lastError: stale && rebuild != nil ? nil : checkpoint.lastError, rebuild: rebuild))
        }
        return result
    }
}
