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
    /// How many full batches past the one asked for are read ahead.
    public let readAhead: Int
    private var cache: [Int64: Task<Batch, any Error>] = [:]
    private var keys: [Int64] = []
    /// Where each cached full batch ends: the key of the batch after it.
    private var ends: [Int64: Int64] = [:]
    /// The position of the latest batch asked for: read-ahead runs ahead of it.
    private var asked: Int64 = 0
    /// Room for a rebuild convoy's spread, the read-ahead and the live runners' batches at the head.
    private let capacity: Int
    /// How many reads actually hit the log (for tests and benchmarks).
    public private(set) var reads = 0

    /// `readAhead`: half a transaction's worth of batches by default: a runner far behind finds
    /// its next transaction's first half read when it has committed this one, and the rest is
    /// read while it takes them; every batch read ahead is held in memory until it is applied.
    public init(log: any EventLog, batchSize: Int, readAhead: Int = ProjectionRunner.batchesPerTransaction / 2) {
        self.log = log
        self.batchSize = batchSize
        self.readAhead = max(1, readAhead)
        capacity = RebuildConvoy.spreadInBatches + self.readAhead + 2
    }

    /// The batch of events after `position` (empty when the runner is at the head).
    ///
    /// Full batches start the reads of the ones after them, up to ``readAhead`` past the one
    /// asked for: the runners apply a transaction while the next one's batches are read on
    /// another core, as Marten's daemon fetches its next pages while the current one applies.
    /// (With one batch read ahead, a runner catching up waited for nine reads in a row each
    /// transaction: about 2 s of a 1M-event rebuild.) At the head a batch is short and nothing
    /// is read ahead.
    public func batch(after position: Int64) async throws -> Batch {
        // A cached read found empty or failed (ahead of time, or for another runner) is only
        // true for then: look again now.
        asked = position
        let batch: Batch
        if let cached = cache[position], let found = try? await settle(cached, after: position), !found.events.isEmpty {
            batch = found
        } else {
            batch = try await settle(read(after: position), after: position)
        }
        if batch.events.count == batchSize { fillReadAhead(after: position) }
        return batch
    }

    /// Starts the first read missing among the ``readAhead`` batches after the one at `position`,
    /// walking the full batches already read; a read in flight continues the walk when it lands,
    /// from the latest batch asked for by then.
    private func fillReadAhead(after position: Int64) {
        var key = position
        for _ in 0...readAhead {
            guard cache[key] != nil else {
                _ = read(after: key)
                return
            }
            guard let next = ends[key] else { return }
            key = next
        }
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

    private func read(after position: Int64) -> Task<Batch, any Error> {
        reads += 1
        let log = self.log
        let limit = batchSize
        let task = Task<Batch, any Error> {
            let events = try await log.read(after: position, limit: limit)
            let head = events.count == limit ? try await log.head() : (events.last?.position ?? position)
            if events.count == limit, let last = events.last?.position, self.cache[position] != nil {
                self.ends[position] = last
                self.fillReadAhead(after: self.asked)
            }
            return Batch(events: events, head: max(head, events.last?.position ?? position))
        }
        cache[position] = task
        keys.append(position)
        if keys.count > capacity {
            let evicted = keys.removeFirst()
            cache[evicted] = nil
            ends[evicted] = nil
        }
        return task
    }

    /// Drops a cached read, unless a newer read of the same position has replaced it.
    private func forget(_ position: Int64, _ task: Task<Batch, any Error>) {
        guard cache[position] == task else { return }
        cache[position] = nil
        ends[position] = nil
        keys.removeAll { $0 == position }
    }
}
