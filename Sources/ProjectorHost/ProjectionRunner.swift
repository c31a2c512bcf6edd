public import GRDB
public import Logging
public import ProjectorCore
public import ProjectorSQLite
import ServiceLifecycle
import Synchronization

/// Runs one projection: takes batches from the shared reader and, for each, applies the events
/// the projection wants and moves its checkpoint in ONE transaction in its own store.
///
/// A failing projection is marked `failed` with its error and stops; the others go on.
public final class ProjectionRunner: Sendable {
    public let projection: any Projection<Database>
    public let store: ProjectionStore
    private let logger: Logger
    private let live = Mutex(Checkpoint(name: "", position: 0, fingerprint: "", state: .stopped, updatedAt: ""))

    public var name: String { projection.name }

    public init(projection: any Projection<Database>, store: ProjectionStore, logger: Logger) {
        self.projection = projection
        self.store = store
        self.logger = logger
        live.withLock {
            $0 = Checkpoint(
                name: projection.name, position: 0, fingerprint: projection.fingerprint, state: .stopped,
                updatedAt: EventTime.now())
        }
    }

    /// The runner's view of its checkpoint, kept in memory for status at no cost.
    public var current: Checkpoint { live.withLock { $0 } }

    /// Opens the store: sets the projection up when the store is new, and refuses to run a
    /// store built by another definition (a changed fingerprint needs a rebuild).
    public func prepare() async throws -> Checkpoint {
        let projection = self.projection
        let checkpoint = try await store.pool.writeWithoutTransaction { db -> Checkpoint in
            var result: Checkpoint!
            try db.inTransaction(.immediate) {
                if let existing = try ProjectionStore.checkpoint(projection.name, db) {
                    result = existing
                    return .commit
                }
                try ProjectionStore.dropProjectionTables(db)
                try projection.setUp(db)
                let fresh = Checkpoint(
                    name: projection.name, position: 0, fingerprint: projection.fingerprint, state: .catchingUp,
                    updatedAt: EventTime.now())
                try ProjectionStore.save(fresh, db)
                result = fresh
                return .commit
            }
            return result
        }
        live.withLock { $0 = checkpoint }
        if checkpoint.fingerprint != projection.fingerprint {
            let message =
                "definition of '\(projection.name)' changed since its store was built (fingerprint "
                + "\(checkpoint.fingerprint.prefix(12)) → \(projection.fingerprint.prefix(12))); "
                + "run `projector rebuild \(projection.name)`"
            try await markFailed(message)
            throw ProjectorError(.projectionFailed, message)
        }
        return checkpoint
    }

    /// Applies batches until the checkpoint reaches `target` (nil: follow the log forever), a
    /// graceful shutdown, or a failure. Returns the final checkpoint.
    @discardableResult
    public func run(reader: BatchReader, until target: Int64? = nil) async -> Checkpoint {
        let wanted = projection.eventTypes
        var position: Int64
        do {
            position = try await prepare().position
        } catch {
            logger.error("projection \(name) cannot start: \(error)")
            return current
        }
        var failures = 0
        while !Task.isShuttingDownGracefully && !Task.isCancelled {
            if let target, position >= target { break }
            let batch: BatchReader.Batch
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
                await setState(.live, position: position)
                let waitingAt = position
                do {
                    try await cancelWhenGracefulShutdown { try await reader.log.waitForEvents(after: waitingAt) }
                } catch {
                    break
                }
                continue
            }
            let started = ContinuousClock.now
            let events = wanted.map { types in batch.events.filter { types.contains($0.type) } } ?? batch.events
            let state: ProjectionState = last.position >= batch.head ? .live : .catchingUp
            do {
                try await commit(events, from: position, to: last.position, state: state, scanned: batch.events.count,
                                 started: started)
                position = last.position
            } catch let error as ProjectorError where error.code == .staleCheckpoint {
                // Someone else (a rebuild, another host) moved the checkpoint: start from there.
                position = (try? await store.checkpoint()?.position) ?? position
                logger.notice("projection \(name) checkpoint moved elsewhere; resuming at \(position)")
            } catch {
                let message = "applying events \(position + 1)…\(last.position) failed: \(error)"
                logger.error("projection \(name) failed: \(message)")
                try? await markFailed(message)
                return current
            }
        }
        if current.state != .failed {
            // Detached: a runner stopped by cancellation still records that it stopped.
            let final = position
            await Task.detached { await self.setState(.stopped, position: final) }.value
        }
        return current
    }

    /// One transaction: check the checkpoint still stands where we think, apply, move it.
    private func commit(
        _ events: [RecordedEvent], from position: Int64, to end: Int64, state: ProjectionState, scanned: Int,
        started: ContinuousClock.Instant
    ) async throws {
        let projection = self.projection
        let previous = current
        let checkpoint = try await store.pool.writeWithoutTransaction { db -> Checkpoint in
            var saved: Checkpoint!
            try db.inTransaction(.immediate) {
                guard let stored = try ProjectionStore.checkpoint(projection.name, db), stored.position == position
                else {
                    throw ProjectorError(.staleCheckpoint, "checkpoint of \(projection.name) moved")
                }
                if !events.isEmpty { try projection.apply(events, db) }
                let seconds = max(1e-9, (ContinuousClock.now - started) / .seconds(1))
                let rate = Double(scanned) / seconds
                var next = stored
                next.position = end
                next.state = state
                next.lastError = nil
                next.updatedAt = EventTime.now()
                next.eventsPerSecond = previous.eventsPerSecond == 0 ? rate : previous.eventsPerSecond * 0.7 + rate * 0.3
                try ProjectionStore.save(next, db)
                saved = next
                return .commit
            }
            return saved
        }
        live.withLock { $0 = checkpoint }
    }

    private func setState(_ state: ProjectionState, position: Int64) async {
        guard current.state != state else { return }
        let name = self.name
        do {
            let saved = try await store.pool.write { db -> Checkpoint? in
                guard var checkpoint = try ProjectionStore.checkpoint(name, db), checkpoint.position == position else {
                    return nil
                }
                checkpoint.state = state
                checkpoint.updatedAt = EventTime.now()
                try ProjectionStore.save(checkpoint, db)
                return checkpoint
            }
            if let saved { live.withLock { $0 = saved } }
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
        if let saved { live.withLock { $0 = saved } }
    }

    /// Drops the projection's tables, sets it up again and moves its checkpoint to 0, in one
    /// transaction: the next run replays the log from the start.
    public func reset() async throws {
        let projection = self.projection
        let fresh = try await store.pool.writeWithoutTransaction { db -> Checkpoint in
            let checkpoint = Checkpoint(
                name: projection.name, position: 0, fingerprint: projection.fingerprint, state: .rebuilding,
                updatedAt: EventTime.now())
            try db.inTransaction(.immediate) {
                try ProjectionStore.dropProjectionTables(db)
                try projection.setUp(db)
                try ProjectionStore.save(checkpoint, db)
                return .commit
            }
            return checkpoint
        }
        live.withLock { $0 = fresh }
    }
}
