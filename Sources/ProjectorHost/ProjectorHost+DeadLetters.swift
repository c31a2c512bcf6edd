import GRDB
import ProjectorCore
public import ProjectorSQLite

/// Poison events parked by the runners, and their redrive.
extension ProjectorHost {
    /// What a redrive did.
    public struct RedriveResult: Sendable {
        /// Positions applied (and removed from the dead letters), in order.
        public var applied: [Int64] = []
        /// Positions that failed again, with the new error; they stay parked.
        public var failed: [(position: Int64, error: String)] = []
    }

    /// The dead letters of a projection's live generation, oldest first.
    public func deadLetters(_ name: String) async throws -> [DeadLetter] {
        let runner = try named(name)
        return try await runner.store.pool.read { db in try ProjectionStore.deadLetters(db) }
    }

    /// Re-applies each dead letter once, oldest first: in one transaction the event is applied
    /// and its dead letter removed, so it is never applied twice (even by two redrives at once).
    /// A projection stopped at a poison event moves past it and is started again.
    public func redrive(_ name: String) async throws -> RedriveResult {
        let runner = try named(name)
        let projection = runner.projection
        let letters = try await runner.store.pool.read { db in try ProjectionStore.deadLetters(db) }
        var result = RedriveResult()
        for letter in letters {
            let position = letter.event.position
            do {
                let applied = try await runner.store.pool.write { db -> Bool in
                    guard try ProjectionStore.deadLetters(db).contains(where: { $0.event.position == position }) else {
                        return false  // redriven meanwhile by someone else
                    }
                    try projection.apply([letter.event], db)
                    try ProjectionStore.removeDeadLetter(at: position, db)
                    if var checkpoint = try ProjectionStore.checkpoint(name, db), checkpoint.state == .failed,
                        checkpoint.position < position
                    {
                        checkpoint.position = position
                        checkpoint.state = .catchingUp
                        checkpoint.lastError = nil
                        checkpoint.updatedAt = EventTime.now()
                        try ProjectionStore.save(checkpoint, db)
                    }
                    return true
                }
                if applied { result.applied.append(position) }
            } catch {
                try? await runner.store.pool.write { db in
                    try ProjectionStore.addDeadLetter(letter.event, error: "\(error)", tries: 1, db)
                }
                result.failed.append((position, "\(error)"))
            }
        }
        // A runner that stopped at a poison event starts again from where the store now stands.
        if runner.current.state == .failed, let stored = try await runner.store.checkpoint(), stored.state != .failed {
            restart(runner, wake: true)
        }
        return result
    }

    func named(_ name: String) throws -> ProjectionRunner {
        guard let runner = runner(named: name) else {
            let known = runners.map(\.name).sorted().joined(separator: ", ")
            throw ProjectorError(.notFound, "no projection named '\(name)' (known: \(known.isEmpty ? "none" : known))")
        }
        return runner
    }
}
