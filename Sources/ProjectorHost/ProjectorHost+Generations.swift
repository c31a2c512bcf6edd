import Foundation
import GRDB
import Logging
public import ProjectorCore
public import ProjectorSQLite
import ServiceLifecycle
import Synchronization

/// Zero-downtime rebuilds: the next generation of a store is built from position 0 in its own
/// file while the live one keeps answering (and, when the definition is unchanged, keeps
/// following the log); once caught up with the head it is verified and the generation pointer
/// is swapped in one atomic rename. The previous generation is kept for a rollback.
///
/// Whoever holds `NAME.generations.json.lock` builds; a crashed builder's lock dies with it and
/// the next host (or `projector rebuild`) resumes the build from its checkpoint.
extension ProjectorHost {
    /// What a rebuild of one projection ended with.
    public struct RebuildResult: Sendable {
        public var checkpoint: Checkpoint
        /// Row count per table of the generation that went live (empty when it did not).
        public var tables: [String: Int]
        public var swapped: Bool
        /// The runner of the generation that went live.
        public var runner: ProjectionRunner? = nil
        /// Time spent verifying the new generation before the swap.
        public var verifySeconds: Double = 0
    }

    /// Runs one projection: its live generation, and a pending next one if there is any (or the
    /// definition changed). Returns the live runner's final checkpoint.
    func supervise(_ runner: ProjectionRunner, until target: Int64?) async -> Checkpoint {
        let name = runner.name
        let stored = try? await runner.store.checkpoint()
        let stale = stored.map { $0.fingerprint != runner.projection.fingerprint && $0.fingerprint != Checkpoint.notSetUp } ?? false
        let pending = pointer(name).read().next != nil
        guard stale || pending else { return await runner.run(reader: reader, until: target) }
        attending.withLock { _ = $0.insert(name) }
        defer { attending.withLock { _ = $0.remove(name) } }
        if stale {
            logger.notice("projection \(name): definition changed; building a new generation while the old one keeps answering")
        }
        return await withTaskGroup(of: Void.self) { group -> Checkpoint in
            // Same definition: the live generation stays current while the next one is built.
            if !stale { group.addTask { _ = await runner.run(reader: self.reader, until: target) } }
            while !Task.isCancelled && !Task.isShuttingDownGracefully {
                if let result = await build(runner.projection, until: target) {
                    group.cancelAll()
                    guard result.swapped, let built = result.runner else { return result.checkpoint }
                    replace(runner, with: built, wake: false)
                    if target == nil { return await built.run(reader: reader, until: nil) }
                    return built.current
                }
                // Another process builds it: stay live here and take over if it dies.
                try? await cancelWhenGracefulShutdown { try await Task.sleep(for: .seconds(1)) }
                if pointer(name).read().next == nil {
                    group.cancelAll()
                    return runner.current
                }
            }
            group.cancelAll()
            return runner.current
        }
    }

    private func registeredRunner(_ name: String) -> ProjectionRunner? { runners.first { $0.name == name } }

    /// Builds the next generation of `projection` to the head, verifies it and makes it live.
    /// Nil when another process holds the build lock.
    func build(_ projection: any Projection<Database>, until target: Int64?, convoy: RebuildConvoy? = nil) async -> RebuildResult? {
        let name = projection.name
        let pointer = self.pointer(name)
        try? FileManager.default.createDirectory(atPath: storesFolder, withIntermediateDirectories: true)
        guard let lock = FileLock(path: pointer.file + ".lock") else { return nil }
        defer { withExtendedLifetime(lock) {} }
        var shadow: ProjectionRunner?
        do {
            var generations = pointer.read()
            // Resume a generation this definition was building; start over for another definition.
            if let file = generations.next {
                let existing = try ProjectionStore(name: name, path: pointer.path(file))
                if let checkpoint = try await existing.checkpoint(), checkpoint.fingerprint != projection.fingerprint {
                    pointer.remove(file)
                    generations.next = nil
                }
            }
            let file = generations.next ?? pointer.newGenerationFile()
            if generations.next == nil {
                generations.next = file
                try pointer.write(generations)
            }
            let runner = ProjectionRunner(
                projection: projection, store: try ProjectionStore(name: name, path: pointer.path(file)), logger: logger,
                backoff: backoff, building: true)
            shadow = runner
            builds.withLock { $0[name] = runner }
            defer { builds.withLock { if $0[name] === runner { $0[name] = nil } } }
            // Catch up with a moving head; the head is read again after each pass.
            while true {
                let head = try await log.head()
                let checkpoint = await runner.run(reader: reader, until: head, convoy: convoy)
                guard checkpoint.state != .failed else { return RebuildResult(checkpoint: checkpoint, tables: [:], swapped: false) }
                guard !Task.isCancelled, !Task.isShuttingDownGracefully, pointer.read().next == file else {
                    return RebuildResult(checkpoint: checkpoint, tables: [:], swapped: false)
                }
                if checkpoint.position >= head { break }
            }
            await runner.compact()
            let tables: [String: Int]
            let verifyStarted = ContinuousClock.now
            do {
                tables = try await runner.store.verifyAndRecord { db in try projection.verify(db) }
            } catch {
                try? await runner.markFailed("verification of the new generation failed, the live one stays: \(error)")
                return RebuildResult(checkpoint: runner.current, tables: [:], swapped: false)
            }
            for warmer in warmers.withLock({ $0 }) { await warmer(name, runner) }
            // The swap: one atomic rename of the pointer. The old previous generation goes.
            let before = pointer.read()
            try pointer.write(StoreGenerations(live: file, next: nil, previous: before.live))
            if let old = before.previous, old != file, old != before.live { pointer.remove(old) }
            runner.promote()
            await runner.setState(target == nil ? .live : .stopped, position: runner.current.position)
            let summary = tables.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value)" }.joined(separator: ", ")
            logger.notice("projection \(name): new generation \(file) is live at position \(runner.current.position) (\(summary))")
            return RebuildResult(
                checkpoint: runner.current, tables: tables, swapped: true, runner: runner,
                verifySeconds: (ContinuousClock.now - verifyStarted) / .seconds(1))
        } catch {
            logger.error("projection \(name): rebuild failed: \(error)")
            if let shadow { try? await shadow.markFailed("rebuild failed: \(error)") }
            let fallback = Checkpoint(
                name: name, position: 0, fingerprint: projection.fingerprint, state: .failed, updatedAt: EventTime.now(),
                lastError: "\(error)")
            return RebuildResult(checkpoint: shadow?.current ?? fallback, tables: [:], swapped: false)
        }
    }

    /// Rebuilds the named projections from position 0, together (one shared scan of the log),
    /// each into a new generation that goes live once verified. Waits for them.
    public func rebuild(_ names: [String]) async throws -> [String: RebuildResult] {
        let selected = try names.map { name -> ProjectionRunner in
            guard let runner = registeredRunner(name) else {
                let known = runners.map(\.name).sorted().joined(separator: ", ")
                throw ProjectorError(.notFound, "no projection named '\(name)' (known: \(known.isEmpty ? "none" : known))")
            }
            return runner
        }
        let convoy = RebuildConvoy(members: selected.map(\.name), lead: Int64(reader.batchSize * RebuildConvoy.spreadInBatches))
        return await withTaskGroup(of: (String, RebuildResult).self) { group in
            for runner in selected {
                group.addTask {
                    while true {
                        let built = await self.build(runner.projection, until: 0, convoy: convoy)
                        await convoy.leave(runner.name)
                        if let result = built {
                            if result.swapped, let built = result.runner { self.replace(runner, with: built, wake: true) }
                            return (runner.name, result)
                        }
                        // Another process is building it: wait for its swap.
                        let pointer = self.pointer(runner.name)
                        if pointer.read().next == nil {
                            let store = try? ProjectionStore(name: runner.name, path: pointer.path(pointer.read().live), readOnly: true)
                            let checkpoint = (try? await store?.checkpoint()) ?? runner.current
                            return (runner.name, RebuildResult(checkpoint: checkpoint, tables: [:], swapped: true))
                        }
                        try? await Task.sleep(for: .milliseconds(200))
                        if Task.isCancelled { return (runner.name, RebuildResult(checkpoint: runner.current, tables: [:], swapped: false)) }
                    }
                }
            }
            var results: [String: RebuildResult] = [:]
            for await (name, result) in group { results[name] = result }
            return results
        }
    }

    /// One projection's rebuild.
    public func rebuild(_ name: String) async throws -> RebuildResult {
        try await rebuild([name])[name]!
    }

    /// Asks the running host to rebuild `name`: a next generation is recorded in its pointer,
    /// which supervision takes up (here, or in whichever process runs the projection). False
    /// when a rebuild is already asked for or running: requests never start two.
    @discardableResult
    public func requestRebuild(_ name: String) throws -> Bool {
        guard registeredRunner(name) != nil else { throw ProjectorError(.notFound, "no projection named '\(name)'") }
        let pointer = self.pointer(name)
        let asked = try requests.withLock { _ -> Bool in
            var generations = pointer.read()
            guard generations.next == nil, builds.withLock({ $0[name] == nil }) else { return false }
            generations.next = pointer.newGenerationFile()
            try pointer.write(generations)
            return true
        }
        if asked { refreshGenerations() }
        return asked
    }

    /// The progress of a next generation being built (here or by another process), if any.
    public func rebuildProgress(_ name: String) async -> Checkpoint? {
        if let runner = builds.withLock({ $0[name] }), runner.isBuilding { return runner.current }
        let pointer = self.pointer(name)
        guard let file = pointer.read().next, FileManager.default.fileExists(atPath: pointer.path(file)) else { return nil }
        guard let store = try? ProjectionStore(name: name, path: pointer.path(file), readOnly: true) else { return nil }
        return try? await store.checkpoint()
    }

    /// Drops a pending or running rebuild: the next generation's file is deleted; the live one
    /// is untouched. A builder in another process notices within a second and stops.
    public func cancelRebuild(_ name: String) throws -> Bool {
        let pointer = self.pointer(name)
        var generations = pointer.read()
        guard let file = generations.next else { return false }
        generations.next = nil
        try pointer.write(generations)
        pointer.remove(file)
        refreshGenerations()
        return true
    }

    /// Makes the previous generation live again (and the current one previous).
    public func rollback(_ name: String) throws -> StoreGenerations {
        guard registeredRunner(name) != nil else { throw ProjectorError(.notFound, "no projection named '\(name)'") }
        let pointer = self.pointer(name)
        guard let lock = FileLock(path: pointer.file + ".lock") else {
            throw ProjectorError(.unavailable, "a rebuild of '\(name)' is running: cancel it first")
        }
        defer { withExtendedLifetime(lock) {} }
        let generations = pointer.read()
        guard generations.next == nil else {
            throw ProjectorError(.unavailable, "a rebuild of '\(name)' is pending: cancel it first")
        }
        guard let previous = generations.previous, FileManager.default.fileExists(atPath: pointer.path(previous)) else {
            throw ProjectorError(.notFound, "'\(name)' has no previous generation to roll back to")
        }
        let swapped = StoreGenerations(live: previous, next: nil, previous: generations.live)
        try pointer.write(swapped)
        refreshGenerations()
        return swapped
    }

    /// Follows what other processes changed: generation pointers (a swap, a rollback, a rebuild
    /// request, a cancel) and a failed projection's store that a redrive set going again. The
    /// runners are replaced to match. Called by the folder watcher every second.
    public func refresh() async {
        for runner in runners where runner.current.state == .failed {
            if let stored = try? await runner.store.checkpoint(), stored.state != .failed,
                stored.fingerprint == runner.projection.fingerprint
            {
                restart(runner, wake: true)
            }
        }
        refreshGenerations()
    }

    func refreshGenerations() {
        var woke = false
        for runner in runners {
            let pointer = self.pointer(runner.name)
            let generations = pointer.read()
            let livePath = pointer.path(generations.live)
            let busy = builds.withLock { $0[runner.name] != nil } || attending.withLock { $0.contains(runner.name) }
            if livePath != runner.store.path {
                guard let store = try? ProjectionStore(name: runner.name, path: livePath) else { continue }
                restart(runner, on: store, wake: false)
                woke = true
            } else if generations.next != nil && !busy {
                // A rebuild was asked for elsewhere: restart supervision, which takes it up.
                restart(runner, wake: false)
                woke = true
            } else if generations.next == nil, busy, builds.withLock({ $0[runner.name]?.isBuilding == true }) {
                // The rebuild was cancelled elsewhere: stop building.
                restart(runner, wake: false)
                woke = true
            }
        }
        if woke { wake() }
    }
}
