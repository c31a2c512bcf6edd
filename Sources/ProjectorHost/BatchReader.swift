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
    /// Room for a rebuild convoy's spread, its read-ahead and the live runners' batch at the head.
    private let capacity = RebuildConvoy.spreadInBatches + 8
    /// How many reads actually hit the log (for tests and benchmarks).
    public private(set) var reads = 0

    public init(log: any EventLog, batchSize: Int) {
        self.log = log
        self.batchSize = batchSize
    }

    /// The batch of events after `position` (empty when the runner is at the head).
    ///
    /// A full batch starts the read of the next one at once (read-ahead): the runners apply this
    /// batch while the next is read on another core, as Marten's daemon fetches its next page
    /// while the current one applies. At the head a batch is short and nothing is read ahead.
    public func batch(after position: Int64) async throws -> Batch {
        // A cached read found empty or failed (ahead of time, or for another runner) is only
        // true for then: look again now.
        if let cached = cache[position], let batch = try? await settle(cached, after: position), !batch.events.isEmpty {
            return readingAhead(batch)
        }
        return readingAhead(try await settle(read(after: position), after: position))
    }

    /// The read's answer; a failed or empty read is forgotten, since it is only true for now.
    private func settle(_ task: Task<Batch, any Error>, after position: Int64) async throws -> Batch {
        do {
            let batch = try await task.value
            if batch.events.isEmpty { forget(position, task) }
            return batch
        } catch {
            forget(position, task)
            throw error
        }
    }

    private func readingAhead(_ batch: Batch) -> Batch {
        if batch.events.count == batchSize, let last = batch.events.last?.position, cache[last] == nil {
            _ = read(after: last)
        }
        return batch
    }

    private func read(after position: Int64) -> Task<Batch, any Error> {
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
        return task
    }

    /// Drops a cached read, unless a newer read of the same position has replaced it.
    private func forget(_ position: Int64, _ task: Task<Batch, any Error>) {
        guard cache[position] == task else { return }
        cache[position] = nil
        keys.removeAll { $0 == position }
    }
}
