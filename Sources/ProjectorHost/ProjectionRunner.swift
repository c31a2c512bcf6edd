public import GRDB
public import Logging
import Metrics
public import ProjectorCore
public import ProjectorSQLite
import ServiceLifecycle
import Synchronization

/// Runs one projection over one generation of its store: takes batches from the shared reader
/// and, for each, applies the events the projection wants and moves its checkpoint in ONE
/// transaction in that store.
///
/// An error is retried with backoff; an event that keeps failing goes to the store's
/// dead-letter table and the projection skips it or stops there (its ``ErrorPolicy``). The
/// others never stop. A runner building a new generation reports `rebuilding` until the host
/// promotes it to live.
public final class ProjectionRunner: Sendable {
    public let projection: any Projection<Database>
    public let store: ProjectionStore
    private let logger: Logger
    /// First wait between tries; doubled each try, at most 5 s.
    private let backoff: Duration
    private let live = Mutex(Checkpoint(name: "", position: 0, fingerprint: "", state: .stopped, updatedAt: ""))
    private let building: Mutex<Bool>
    /// Signalled whenever the checkpoint moves (read-your-writes waiters wait on it).
    package let progress = ChangeNotifier()
    /// Set when the background check of a first build failed: the runner stops.
    private let failedVerification = Mutex(false)
    /// When the transaction in flight started (nil: none), to tell a stalled projection.
    private let transactionStarted = Mutex<ContinuousClock.Instant?>(nil)

    public var name: String { projection.name }

    public init(
        projection: any Projection<Database>, store: ProjectionStore, logger: Logger, backoff: Duration = .milliseconds(100),
        building: Bool = false
    ) {
        self.projection = projection
        self.store = store
        self.logger = logger
        self.backoff = backoff
        self.building = Mutex(building)
        live.withLock {
            $0 = Checkpoint(
                name: projection.name, position: 0, fingerprint: projection.fingerprint, state: .stopped,
                updatedAt: EventTime.now())
        }
    }

    /// Keeps `checkpoint` as the runner's view and wakes whoever waits for progress.
    private func record(_ checkpoint: Checkpoint) {
        live.withLock { $0 = checkpoint }
        progress.signal()
    }

    /// The runner's view of its checkpoint, kept in memory for status at no cost.
    public var current: Checkpoint { live.withLock { $0 } }

    /// True while this runner builds a generation that is not live yet.
    public var isBuilding: Bool { building.withLock { $0 } }

    /// The generation this runner built went live: from now on it reports live states.
    func promote() { building.withLock { $0 = false } }

    /// How long the transaction in flight has been running; nil when none is.
    public var transactionAge: Duration? { transactionStarted.withLock { $0 }.map { ContinuousClock.now - $0 } }

    /// Opens the store: sets the projection up when the store is new, and refuses to run a
    /// store built by another definition (a changed fingerprint needs a rebuild). A setup that
    /// fails is recorded as a failed checkpoint that was never set up, and tried again next time.
    public func prepare() async throws -> Checkpoint {
        let projection = self.projection
        let state: ProjectionState = isBuilding ? .rebuilding : .catchingUp
        let prepared: Checkpoint
        do {
            prepared = try await setUpIfNew(state: state)
        } catch let error where !(error is CancellationError) && !Task.isCancelled {
            let message = (error as? ProjectorError)?.message ?? "\(error)"
            let failed = Checkpoint(
                name: projection.name, position: 0, fingerprint: Checkpoint.notSetUp, state: .failed,
                updatedAt: EventTime.now(), lastError: "setup failed: \(message)")
            try? await store.pool.write { db in try ProjectionStore.save(failed, db) }
            record(failed)
            throw error
        }
        let checkpoint = prepared
        record(checkpoint)
        if checkpoint.fingerprint != projection.fingerprint {
            let message =
                "definition of '\(projection.name)' changed since its store was built (fingerprint "
                + "\(checkpoint.fingerprint.prefix(12)) → \(projection.fingerprint.prefix(12))); "
                + "it needs a rebuild"
            try await markFailed(message)
            throw ProjectorError(.projectionFailed, message)
        }
        return checkpoint
    }

    /// The store's checkpoint, after setting the projection up in the same transaction when
    /// the store has none (or only a failed setup's).
    private func setUpIfNew(state: ProjectionState) async throws -> Checkpoint {
        let projection = self.projection
        return try await store.pool.writeWithoutTransaction { db -> Checkpoint in
            var result: Checkpoint!
            try db.inTransaction(.immediate) {
                if let existing = try ProjectionStore.checkpoint(projection.name, db), existing.fingerprint != Checkpoint.notSetUp {
                    result = existing
                    return .commit
                }
                try ProjectionStore.dropProjectionTables(db)
                try projection.setUp(db)
                let fresh = Checkpoint(
                    name: projection.name, position: 0, fingerprint: projection.fingerprint, state: state,
                    updatedAt: EventTime.now())
                try ProjectionStore.save(fresh, db)
                try ProjectionStore.saveDefinition(projection.name, projection.definition, db)
                result = fresh
                return .commit
            }
            return result
        }
    }

    /// Applies batches until the checkpoint reaches `target` (nil: follow the log forever), a
    /// graceful shutdown, cancellation, or a stop. Returns the final checkpoint. In a `convoy`
    /// (several rebuilding together) it keeps pace with the others.
    @discardableResult
    public func run(reader: BatchReader, until target: Int64? = nil, convoy: RebuildConvoy? = nil) async -> Checkpoint {
        let running = FileLock(path: store.runningLockPath, shared: true)
        defer { withExtendedLifetime(running) {} }
        let wanted = projection.eventTypes
        var position: Int64
        do {
            position = try await prepare().position
        } catch {
            logger.error("projection \(name) cannot start: \(error)")
            return current
        }
        var failures = 0
        // A first build is verified in the background once it is live (see ``verifyFirstBuild(concurrently:)``).
        var verification: Task<Void, Never>?
        defer { verification?.cancel() }
        func verifyWhenLive() {
            guard target == nil, verification == nil, !isBuilding, !current.verified else { return }
            verification = Task {
                await self.compact()
                await self.verifyFirstBuild(concurrently: true)
            }
        }
        while !Task.isShuttingDownGracefully && !Task.isCancelled {
            if failedVerification.withLock({ $0 }) { return current }
            if let target, position >= target { break }
            let batch: BatchReader.Batch
            await convoy?.arrive(name, at: position)
            do {
                batch = try await reader.batch(after: position)
            } catch is CancellationError {
                break
            } catch {
                failures += 1
                logger.warning("projection \(name) cannot read the log (try \(failures)): \(error)")
                try? await Task.sleep(for: .milliseconds(min(5_000, 50 * (1 << min(failures, 7)))))
                continue
            }
            failures = 0
            guard let last = batch.events.last else {
                if target != nil { break }  // nothing more to read: caught up
                await setState(isBuilding ? .rebuilding : .live, position: position)
                verifyWhenLive()
                let waitingAt = position
                do {
                    try await cancelWhenGracefulShutdown { try await reader.log.waitForEvents(after: waitingAt) }
                } catch is CancellationError {
                    break
                } catch {
                    // A log busy for a moment (another process writing or checkpointing) is no
                    // reason to stop: wait as after a failed read, then look again.
                    if Task.isCancelled || Task.isShuttingDownGracefully { break }
                    failures += 1
                    logger.warning("projection \(name) cannot wait on the log (try \(failures)): \(error)")
                    try? await Task.sleep(for: .milliseconds(min(5_000, 50 * (1 << min(failures, 7)))))
                }
                continue
            }
            let taken = await takeMore(after: batch, reader: reader, until: target, convoy: convoy)
            let started = ContinuousClock.now
            let events = wanted.map { types in taken.events.filter { types.contains($0.type) } } ?? taken.events
            let end = taken.events.last?.position ?? last.position
            let state: ProjectionState = isBuilding ? .rebuilding : (end >= taken.head ? .live : .catchingUp)
            do {
                try await commit(
                    events, from: position, to: end, state: state, scanned: taken.events.count,
                    started: started)
                position = end
                MemorySettings.releaseFreePages()
                if state == .live { verifyWhenLive() }
            } catch let error as ProjectorError where error.code == .staleCheckpoint {
                // Someone else (another process on this store) moved the checkpoint: go on from there.
                position = (try? await store.checkpoint()?.position) ?? position
                logger.notice("projection \(name) checkpoint moved elsewhere; resuming at \(position)")
            } catch is CancellationError {
                break
            } catch {
                // A statement interrupted because the host is stopping is not the event's fault.
                if Task.isCancelled { break }
                guard let next = await recover(events, from: position, to: end, state: state, error: error) else {
                    return current
                }
                position = next
            }
        }
        // A catch-up to a target (`run --once`) leaves its first build checked, as a live runner does.
        if let target, position >= target, verification == nil, !isBuilding, !current.verified, current.state != .failed,
            !Task.isCancelled
        {
            await compact()
            await verifyFirstBuild(concurrently: false)
            if failedVerification.withLock({ $0 }) { return current }
        }
        if current.state != .failed {
            // Detached: a runner stopped by cancellation still records that it stopped.
            let final = position
            let stopped: ProjectionState = isBuilding ? .rebuilding : .stopped
            await Task.detached { await self.setState(stopped, position: final) }.value
        }
        return current
    }

    /// Behind the head (the batch was full), further full batches join the same transaction, up
    /// to about ``transactionTarget`` of work at the runner's measured rate and at most
    /// ``batchesPerTransaction`` batches. Fewer, larger commits are much cheaper for FTS5: each
    /// commit flushes its pending terms as a new segment, and every segment is merged again
    /// later (a raw loop indexing 300k events took 91 s committing every 1,000 and 65 s every
    /// 10,000). At the head batches are short and each one commits on its own, at once.
    private func takeMore(
        after first: BatchReader.Batch, reader: BatchReader, until target: Int64?, convoy: RebuildConvoy?
    ) async -> BatchReader.Batch {
        let most = reader.batchSize * Self.batchesPerTransaction
        let budget = Int(min(Double(most), current.eventsPerSecond * (Self.transactionTarget / .seconds(1))))
        var events = first.events
        var head = first.head
        var full = first.events.count == reader.batchSize
        while full, events.count + reader.batchSize <= budget, let last = events.last?.position,
            target.map({ last < $0 }) ?? true, !Task.isCancelled
        {
            await convoy?.arrive(name, at: last)
            // A failed read is left for the next transaction to meet (and retry) on its own.
            guard let next = try? await reader.batch(after: last), !next.events.isEmpty else { break }
            events += next.events
            head = max(head, next.head)
            full = next.events.count == reader.batchSize
        }
        return BatchReader.Batch(events: events, head: head)
    }

    /// Compacts the store after a build from zero; a store that cannot be compacted serves as it is.
    func compact() async {
        do {
            if try await store.compact() { logger.info("projection \(name): store compacted after its build") }
        } catch {
            logger.warning("projection \(name): store not compacted: \(error)")
        }
    }

    /// A store built from zero outside a rebuild is checked once it is live, in the background
    /// on a read connection (the runner goes on applying events), or at the end of a catch-up to
    /// a target on the writer's connection: until it passes, its
    /// projection answers without what the check vouches for (a search index: from FTS5 alone,
    /// not from its document sets). A failed check fails the projection.
    private func verifyFirstBuild(concurrently: Bool) async {
        let projection = self.projection
        do {
            try await store.verifyFirstBuild(concurrently: concurrently) { db in try projection.verify(db) }
            if let verified = try await store.checkpoint() { record(verified) }
        } catch {
            guard !Task.isCancelled else { return }  // stopping: the next start checks again
            logger.error("projection \(name): verification of its first build failed: \(error)")
            failedVerification.withLock { $0 = true }
            try? await markFailed("verification of the first build failed: \(error); rebuild it")
        }
    }

    /// At most this many batches in one transaction (10,000 events at the default batch size).
    public static let batchesPerTransaction = 10
    /// About this much work per transaction while behind: a crash or a poison event costs at
    /// most this much to redo, and the checkpoint (status, progress) still moves every few seconds.
    static let transactionTarget: Duration = .seconds(3)

    /// A transaction failed: try it again with backoff, then halve it down to the failing event,
    /// dead-lettering each event that fails every try. Returns the position reached, or nil when
    /// the projection stopped.
    private func recover(
        _ events: [RecordedEvent], from start: Int64, to end: Int64, state: ProjectionState, error first: any Error
    ) async -> Int64? {
        let policy = projection.errorPolicy
        var error = first
        // Transient causes (a locked file, a full disk freed meanwhile) pass on a plain retry;
        // an exhausted budget is the event's own and fails the same way every time.
        let tries = Self.isDeterministic(first) ? 1 : policy.tries
        for attempt in 1..<max(1, tries) {
            logger.warning("projection \(name): events \(start + 1)…\(end) failed (try \(attempt)): \(error)")
            guard await pause(attempt) else { return nil }
            do {
                try await commit(events, from: start, to: end, state: state, scanned: 0, started: .now)
                return end
            } catch let stale as ProjectorError where stale.code == .staleCheckpoint {
                return (try? await store.checkpoint()?.position) ?? start
            } catch let caught {
                error = caught
            }
        }
        // Find the poison by halving: a part that commits is done, a part that fails is split
        // again, and a single event gets its own tries. One poison among 10,000 events costs
        // about 28 transactions instead of 10,000 (each a new FTS5 segment in a search index).
        var position = start
        var parts: [ArraySlice<RecordedEvent>] = events.isEmpty ? [] : [events[...]]
        while let part = parts.popLast() {
            if part.count > 1, let last = part.last {
                do {
                    try await commit(Array(part), from: position, to: last.position, state: state, scanned: 0, started: .now)
                    position = last.position
                } catch let stale as ProjectorError where stale.code == .staleCheckpoint {
                    return (try? await store.checkpoint()?.position) ?? position
                } catch is CancellationError {
                    return nil
                } catch {
                    if Task.isCancelled { return nil }
                    let middle = part.startIndex + part.count / 2
                    parts.append(part[middle...])
                    parts.append(part[..<middle])
                }
                continue
            }
            guard let event = part.first else { continue }
            var tries = 0
            var failure: (any Error)?
            repeat {
                tries += 1
                do {
                    try await commit([event], from: position, to: event.position, state: state, scanned: 0, started: .now)
                    failure = nil
                } catch let stale as ProjectorError where stale.code == .staleCheckpoint {
                    return (try? await store.checkpoint()?.position) ?? position
                } catch {
                    if Task.isCancelled || error is CancellationError { return nil }
                    failure = error
                    if Self.isDeterministic(error) { break }
                    if tries < policy.tries { guard await pause(tries) else { return nil } }
                }
            } while failure != nil && tries < policy.tries
            if let failure {
                let message =
                    "event \(event.position) (\(event.type) in stream '\(event.stream)') failed \(tries) time\(tries == 1 ? "" : "s"): \(failure)"
                do {
                    try await deadLetter(
                        event, error: "\(failure)", tries: tries, from: position, skip: policy.then == .skip, message: message)
                } catch {
                    logger.error("projection \(name) cannot record a dead letter: \(error)")
                    try? await markFailed("\(message); recording it as a dead letter failed: \(error)")
                    return nil
                }
                if policy.then == .stop {
                    logger.error("projection \(name) stopped at a poison event: \(message)")
                    return nil
                }
                logger.error("projection \(name) skipped a poison event, kept as a dead letter: \(message)")
            }
            position = event.position
        }
        if position < end {
            do {
                try await commit([], from: position, to: end, state: state, scanned: 0, started: .now)
            } catch {
                try? await markFailed("moving past events \(position + 1)…\(end) failed: \(error)")
                return nil
            }
        }
        return end
    }

    /// Errors that a retry cannot change (an exhausted budget): the event gets one try.
    static func isDeterministic(_ error: any Error) -> Bool {
        (error as? ProjectorError)?.code == .budgetExceeded
    }

    /// Waits before try `attempt + 1`; false when the runner is asked to stop meanwhile.
    private func pause(_ attempt: Int) async -> Bool {
        let wait = min(backoff * (1 << min(attempt - 1, 16)), .seconds(5))
        do {
            try await cancelWhenGracefulShutdown { try await Task.sleep(for: wait) }
            return !Task.isShuttingDownGracefully
        } catch {
            return false
        }
    }

    /// One transaction: park the event and either move past it (skip) or mark the projection
    /// failed at the position before it (stop).
    private func deadLetter(
        _ event: RecordedEvent, error: String, tries: Int, from position: Int64, skip: Bool, message: String
    ) async throws {
        let name = self.name
        let saved = try await store.pool.writeWithoutTransaction { db -> Checkpoint in
            var saved: Checkpoint!
            try db.inTransaction(.immediate) {
                guard var checkpoint = try ProjectionStore.checkpoint(name, db), checkpoint.position == position else {
                    throw ProjectorError(.staleCheckpoint, "checkpoint of \(name) moved")
                }
                try ProjectionStore.addDeadLetter(event, error: error, tries: tries, db)
                if skip {
                    checkpoint.position = event.position
                } else {
                    checkpoint.state = .failed
                    checkpoint.lastError = message + "; fix the cause, then redrive it"
                }
                checkpoint.updatedAt = EventTime.now()
                try ProjectionStore.save(checkpoint, db)
                saved = checkpoint
                return .commit
            }
            return saved
        }
        record(saved)
    }

    /// One transaction: check the checkpoint still stands where we think, apply, move it.
    private func commit(
        _ events: [RecordedEvent], from position: Int64, to end: Int64, state: ProjectionState, scanned: Int,
        started: ContinuousClock.Instant
    ) async throws {
        let projection = self.projection
        let previous = current
        transactionStarted.withLock { $0 = .now }
        defer { transactionStarted.withLock { $0 = nil } }
        let checkpoint = try await store.pool.writeWithoutTransaction { db -> Checkpoint in
            try ProjectionStore.setWALCopying(catchingUp: state != .live, db)
            var saved: Checkpoint!
            try db.inTransaction(.immediate) {
                guard let stored = try ProjectionStore.checkpoint(projection.name, db), stored.position == position
                else {
                    throw ProjectorError(.staleCheckpoint, "checkpoint of \(projection.name) moved")
                }
                if !events.isEmpty { try projection.apply(events, db) }
                var next = stored
                next.position = end
                // A failed verification (in the background, on the writer's queue before or after
                // this) stands: the runner stops at its next turn.
                if !self.failedVerification.withLock({ $0 }) {
                    next.state = state
                    next.lastError = nil
                }
                next.updatedAt = EventTime.now()
                if scanned > 0 {
                    let seconds = max(1e-9, (ContinuousClock.now - started) / .seconds(1))
                    let rate = Double(scanned) / seconds
                    next.eventsPerSecond = previous.eventsPerSecond == 0 ? rate : previous.eventsPerSecond * 0.7 + rate * 0.3
                }
                try ProjectionStore.save(next, db)
                saved = next
                return .commit
            }
            return saved
        }
        record(checkpoint)
        // swift-metrics: a no-op until a backend is bootstrapped (serve bootstraps Prometheus).
        let dimensions = [("projection", projection.name)]
        Counter(label: "projector_events_applied_total", dimensions: dimensions).increment(by: events.count)
        if scanned > 0 {
            Timer(label: "projector_batch_duration_seconds", dimensions: dimensions).record(duration: ContinuousClock.now - started)
        }
    }

    func setState(_ state: ProjectionState, position: Int64) async {
        guard current.state != state else { return }
        let name = self.name
        do {
            let saved = try await store.pool.write { db -> Checkpoint? in
                // A failed verification is not overwritten by the live state it raced with.
                guard var checkpoint = try ProjectionStore.checkpoint(name, db), checkpoint.position == position,
                    !self.failedVerification.withLock({ $0 })
                else {
                    return nil
                }
                checkpoint.state = state
                checkpoint.updatedAt = EventTime.now()
                try ProjectionStore.save(checkpoint, db)
                return checkpoint
            }
            if let saved { record(saved) }
        } catch {
            logger.warning("projection \(name) cannot record state \(state.rawValue): \(error)")
        }
    }

    /// Records a failure on the checkpoint row (its own transaction: the failed one rolled back).
    func markFailed(_ message: String) async throws {
        let name = self.name
        let saved = try await store.pool.write { db -> Checkpoint? in
            guard var checkpoint = try ProjectionStore.checkpoint(name, db) else { return nil }
            checkpoint.state = .failed
            checkpoint.lastError = message
            checkpoint.updatedAt = EventTime.now()
            try ProjectionStore.save(checkpoint, db)
            return checkpoint
        }
        if let saved { record(saved) }
    }
}
