public import GRDB
public import Logging
public import ProjectorCore
public import ProjectorSQLite
public import ServiceLifecycle
import Synchronization

/// The projector host: runs every registered projection against one log.
///
/// One ``BatchReader`` serves all runners, so a batch is read from the log once however many
/// projections consume it. Each runner commits to its own store, so projections never wait for
/// each other and one failure stops only its own projection. Run it in a `ServiceGroup`: on
/// SIGINT/SIGTERM each runner finishes the transaction in flight and the host returns.
public final class ProjectorHost: Service, Sendable {
    public struct Configuration: Sendable {
        /// Events read from the log per batch (one transaction at the head; behind it up to
        /// `ProjectionRunner.batchesPerTransaction` batches share one).
        public var batchSize: Int
        /// First wait before retrying a failed transaction or event; doubled each try.
        public var retryBackoff: Duration
        /// Set when hosts share their stores: a projection runs only while this host holds its
        /// lease. Nil: this host runs every projection (its stores are its own).
        public var leases: (any ProjectionLeases)?
        /// A projection whose transaction has run this long is reported `stalled`, not live.
        public var stallAfter: Duration
        /// How often a live host looks for swaps, rebuilds and redrives other processes made
        /// to its stores (``refresh()``).
        public var refreshInterval: Duration

        public init(
            batchSize: Int = 1000, retryBackoff: Duration = .milliseconds(100), leases: (any ProjectionLeases)? = nil,
            stallAfter: Duration = .seconds(30), refreshInterval: Duration = .seconds(1)
        ) {
            self.batchSize = batchSize
            self.retryBackoff = retryBackoff
            self.leases = leases
            self.stallAfter = stallAfter
            self.refreshInterval = refreshInterval
        }
    }

    /// What an ``update(_:)`` changed, by projection name.
    public struct Changes: Sendable, Equatable {
        public var added: [String] = []
        /// Same name, new fingerprint: the new definition is refused until it is rebuilt.
        public var changed: [String] = []
        /// No longer defined: stopped, its store kept.
        public var removed: [String] = []

        public var isEmpty: Bool { added.isEmpty && changed.isEmpty && removed.isEmpty }

        public init(added: [String] = [], changed: [String] = [], removed: [String] = []) {
            self.added = added
            self.changed = changed
            self.removed = removed
        }
    }

    public let log: any EventLog
    public let reader: BatchReader
    public let storesFolder: String
    let logger: Logger
    let backoff: Duration
    let leases: (any ProjectionLeases)?
    let stallAfter: Duration
    let refreshInterval: Duration
    private let registered: Mutex<[ProjectionRunner]>
    /// Runners building a next generation in this process, by projection name.
    let builds = Mutex<[String: ProjectionRunner]>([:])
    /// Serializes rebuild requests, so concurrent ones record one next generation.
    let requests = Mutex<Void>(())
    /// Projections whose pending next generation this process is already attending to.
    let attending = Mutex<Set<String>>([])
    /// Called with each verified new generation just before it goes live.
    let warmers = Mutex<[@Sendable (String, ProjectionRunner) async -> Void]>([])
    /// Wakes the live loop when the set of runners changes.
    private let changes: AsyncStream<Void>
    private let changed: AsyncStream<Void>.Continuation

    /// Opens (creating when needed) one store per projection in `storesFolder`.
    public init(
        log: any EventLog, projections: [any Projection<Database>], storesFolder: String,
        configuration: Configuration = .init(), logger: Logger = Logger(label: "projector")
    ) throws {
        try Self.checkNames(projections)
        self.log = log
        self.logger = logger
        self.storesFolder = storesFolder
        self.reader = BatchReader(log: log, batchSize: configuration.batchSize)
        self.backoff = configuration.retryBackoff
        self.leases = configuration.leases
        self.stallAfter = configuration.stallAfter
        self.refreshInterval = configuration.refreshInterval
        let runners = try projections.map { projection in
            ProjectionRunner(
                projection: projection,
                store: try ProjectionStore(name: projection.name, path: Self.storePath(storesFolder, projection.name)),
                logger: logger, backoff: configuration.retryBackoff)
        }
        registered = Mutex(runners)
        (changes, changed) = AsyncStream.makeStream(bufferingPolicy: .bufferingNewest(1))
    }

    /// The runners, in registration order.
    public var runners: [ProjectionRunner] { registered.withLock { $0 } }

    /// Where a projection's live store generation lives.
    public static func storePath(_ folder: String, _ name: String) -> String {
        let pointer = StoreGenerations.Pointer(folder: folder, name: name)
        return pointer.path(pointer.read().live)
    }

    /// The generation pointer of a projection's store.
    public func pointer(_ name: String) -> StoreGenerations.Pointer {
        StoreGenerations.Pointer(folder: storesFolder, name: name)
    }

    /// Replaces the registered runner of `name` (after a swap or to restart its supervision).
    func replace(_ old: ProjectionRunner, with new: ProjectionRunner, wake: Bool) {
        registered.withLock { runners in
            if let index = runners.firstIndex(where: { $0 === old }) { runners[index] = new }
        }
        if wake { self.wake() }
    }

    /// Replaces `runner` with a fresh runner of the same projection on `store` (default: the
    /// same store), so its supervision starts over from what the store holds now.
    func restart(_ runner: ProjectionRunner, on store: ProjectionStore? = nil, wake: Bool) {
        let fresh = ProjectionRunner(projection: runner.projection, store: store ?? runner.store, logger: logger, backoff: backoff)
        replace(runner, with: fresh, wake: wake)
    }

    /// Adds a warmer: called with a projection's name and its verified new generation just before
    /// the swap (Elasticsearch's index warmers), e.g. to answer recent queries from it, so the
    /// first queries after the swap meet a warm cache instead of all missing at once.
    public func addWarmer(_ warmer: @escaping @Sendable (_ name: String, _ generation: ProjectionRunner) async -> Void) {
        warmers.withLock { $0.append(warmer) }
    }

    /// Tells the live loop to start and stop runner tasks to match the registered runners.
    func wake() { changed.yield() }

    /// Replaces the set of projections while the host runs: a new one starts from position 0
    /// while the others stay live; a changed one (new fingerprint) gets a runner that refuses
    /// to run the stale store until it is rebuilt; a removed one stops and keeps its store.
    @discardableResult
    public func update(_ projections: [any Projection<Database>]) throws -> Changes {
        try Self.checkNames(projections)
        let current = Dictionary(uniqueKeysWithValues: runners.map { ($0.name, $0) })
        var result = Changes()
        var next: [ProjectionRunner] = []
        for projection in projections {
            if let existing = current[projection.name] {
                if existing.projection.fingerprint == projection.fingerprint && existing.projection.kind == projection.kind {
                    next.append(existing)
                    continue
                }
                result.changed.append(projection.name)
                next.append(ProjectionRunner(projection: projection, store: existing.store, logger: logger, backoff: backoff))
            } else {
                result.added.append(projection.name)
                let store = try ProjectionStore(
                    name: projection.name, path: Self.storePath(storesFolder, projection.name))
                next.append(ProjectionRunner(projection: projection, store: store, logger: logger, backoff: backoff))
            }
        }
        let names = Set(projections.map(\.name))
        result.removed = current.keys.filter { !names.contains($0) }.sorted()
        registered.withLock { $0 = next }
        if !result.isEmpty { changed.yield() }
        return result
    }

    /// Catches up, then follows the log live until graceful shutdown.
    public func run() async throws {
        try await run(only: nil, until: nil)
    }

    /// Runs the selected runners (all when `only` is nil) until they reach `until` (nil: forever).
    /// Running all of them live, it follows ``update(_:)`` (added runners start, removed ones
    /// stop) and what other processes do to its stores (``refresh()``).
    public func run(only: Set<String>?, until target: Int64?) async throws {
        let selected = try select(only)
        guard only == nil, target == nil else {
            await withDiscardingTaskGroup { group in
                for runner in selected {
                    group.addTask { await self.superviseHeld(runner, until: target) }
                }
            }
            return
        }
        await withDiscardingTaskGroup { group in
            var running: [ObjectIdentifier: Task<Void, Never>] = [:]
            func sync() {
                let current = runners
                let wanted = Set(current.map(ObjectIdentifier.init))
                for (id, task) in running where !wanted.contains(id) {
                    task.cancel()
                    running[id] = nil
                }
                for runner in current where running[ObjectIdentifier(runner)] == nil {
                    // An unstructured task (it inherits the graceful-shutdown context) so one
                    // runner can be stopped alone; the group still waits for it.
                    let task = Task { await self.superviseHeld(runner, until: nil) }
                    running[ObjectIdentifier(runner)] = task
                    group.addTask {
                        await withTaskCancellationHandler {
                            await task.value
                        } onCancel: {
                            task.cancel()
                        }
                    }
                }
            }
            group.addTask { await self.refreshUntilShutdown() }
            sync()
            for await _ in changes.cancelOnGracefulShutdown() {
                sync()
            }
        }
    }

    /// Calls ``refresh()`` every `refreshInterval` until graceful shutdown or cancellation.
    private func refreshUntilShutdown() async {
        while !Task.isShuttingDownGracefully && !Task.isCancelled {
            do {
                try await cancelWhenGracefulShutdown { try await Task.sleep(for: self.refreshInterval) }
            } catch {
                return
            }
            await refresh()
        }
    }

    /// Supervises `runner`, under its lease when hosts share their stores. After a lost lease
    /// the runner is replaced by a fresh one, which starts from what the store holds then.
    private func superviseHeld(_ runner: ProjectionRunner, until target: Int64?) async {
        guard let leases else {
            _ = await supervise(runner, until: target)
            return
        }
        await leases.whileHolding(runner.name) {
            let current = self.runners.first { $0.name == runner.name } ?? runner
            _ = await self.supervise(current, until: target)
        }
    }

    /// Brings the selected projections up to the log's current head and returns.
    @discardableResult
    public func catchUp(only: Set<String>? = nil) async throws -> Int64 {
        let head = try await log.head()
        try await run(only: only, until: head)
        return head
    }

    public func runner(named name: String) -> ProjectionRunner? {
        runners.first { $0.name == name }
    }

    private static func checkNames(_ projections: [any Projection<Database>]) throws {
        var seen = Set<String>()
        for projection in projections {
            guard ProjectionName.isValid(projection.name) else {
                throw ProjectorError(.invalidSpec, "invalid projection name '\(projection.name)': use [a-z0-9_-]+")
            }
            guard seen.insert(projection.name).inserted else {
                throw ProjectorError(.invalidSpec, "two projections are named '\(projection.name)'")
            }
        }
    }

    private func select(_ only: Set<String>?) throws -> [ProjectionRunner] {
        let runners = self.runners
        guard let only else { return runners }
        for name in only where !runners.contains(where: { $0.name == name }) {
            let known = runners.map(\.name).sorted().joined(separator: ", ")
            throw ProjectorError(.notFound, "no projection named '\(name)' (known: \(known.isEmpty ? "none" : known))")
        }
        return runners.filter { only.contains($0.name) }
    }
}
