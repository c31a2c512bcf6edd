public import ProjectorCore

/// Reads each batch of the log once and hands it to every runner that asks for it.
///
/// Runners that stand at the same position (the usual case: all live, or several rebuilding
/// together) ask for the same key and share one read, and one in-flight read when they ask at
/// the same moment. A runner far behind (a new projection) reads its own batches without holding
/// the others back. A few recent batches are kept; events are immutable, so a cached batch is
/// never wrong, at most shorter than what the log now holds.
public actor BatchReader {
    /// A slice of the log plus the head seen when it was read.
    public struct Batch: Sendable {
        public let events: [RecordedEvent]
        public let head: Int64
    }

    public let log: any EventLog
    public let batchSize: Int
    private var cache: [Int64: Task<Batch, any Error>] = [:]
    private var keys: [Int64] = []
    private let capacity = 8
    /// How many reads actually hit the log (for tests and benchmarks).
    public private(set) var reads = 0

    public init(log: any EventLog, batchSize: Int) {
        self.log = log
        self.batchSize = batchSize
    }

    /// The batch of events after `position` (empty when the runner is at the head).
    public func batch(after position: Int64) async throws -> Batch {
        if let pending = cache[position] {
            return try await pending.value
        }
        reads += 1
        let log = self.log
        let limit = batchSize
        let task = Task<Batch, any Error> {
            let events = try await log.read(after: position, limit: limit)
            let head = events.count == limit ? try await log.head() : (events.last?.position ?? position)
            return Batch(events: events, head: max(head, events.last?.position ?? position))
        }
        cache[position] = task
        keys.append(position)
        if keys.count > capacity { cache[keys.removeFirst()] = nil }
        do {
            let batch = try await task.value
            // An empty answer is only true for now: the next ask must look again.
            if batch.events.isEmpty { forget(position) }
            return batch
        } catch {
            forget(position)
            throw error
        }
    }

    private func forget(_ position: Int64) {
        cache[position] = nil
        keys.removeAll { $0 == position }
    }
}
