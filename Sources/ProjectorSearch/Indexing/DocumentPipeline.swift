import Dispatch
import ProjectorCore
import Synchronization

/// Prepares a batch's document changes (JSON fields, HTML to text, sanitizing) on a thread of
/// its own while the caller writes the ones already prepared. On a rebuild the preparation is
/// about a fifth of the work; overlapped with the writes it no longer adds to the time the
/// writer holds SQLite. Small batches (a live tail) are prepared in line.
enum DocumentPipeline {
    static let chunkSize = 64
    static let minimumBatch = 256
    /// How many chunks the preparation may run ahead of the writer: it is the faster of the
    /// two, and every prepared document waiting holds its text and keys.
    static let lead = 8

    /// `queue` runs the preparation, one chunk at a time; `afterChunk` is called on the
    /// caller's thread after each prepared chunk's changes (not for a batch prepared in line),
    /// and what it puts on `queue` runs before the next chunk is prepared.
    static func forEach(
        _ events: [RecordedEvent], on queue: DispatchQueue, prepare: @escaping @Sendable (RecordedEvent) -> DocumentChange?,
        afterChunk: () -> Void = {}, _ body: (DocumentChange) throws -> Void
    ) rethrows {
        guard events.count >= minimumBatch else {
            for event in events {
                if let change = prepare(event) { try body(change) }
            }
            return
        }
        let prepared = Prepared(count: events.count, chunkSize: chunkSize)
        let start = { @Sendable (chunk: Int) in
            queue.async {
                // The writer gave up (an error): nothing waits for the chunk.
                guard !prepared.abandoned.load(ordering: .relaxed) else { return }
                for index in prepared.chunks[chunk] { prepared.changes[index] = prepare(events[index]) }
                prepared.ready[chunk].signal()
            }
        }
        for chunk in prepared.chunks.indices.prefix(lead) { start(chunk) }
        defer { prepared.abandoned.store(true, ordering: .relaxed) }
        for chunk in prepared.chunks.indices {
            prepared.ready[chunk].wait()
            for index in prepared.chunks[chunk] {
                // Written, a change is let go: the batch's texts are never all held at once.
                let change = prepared.changes[index]
                prepared.changes[index] = nil
                if let change { try body(change) }
            }
            afterChunk()
            if chunk + lead < prepared.chunks.count { start(chunk + lead) }
        }
    }

    /// The changes of one batch, filled chunk by chunk. Each element is written by the preparing
    /// thread before it signals its chunk and read by the writer only after waiting for it.
    final class Prepared: @unchecked Sendable {
        let changes: UnsafeMutableBufferPointer<DocumentChange?>
        let chunks: [Range<Int>]
        let ready: [DispatchSemaphore]
        let abandoned = Atomic(false)

        init(count: Int, chunkSize: Int) {
            changes = .allocate(capacity: count)
            changes.initialize(repeating: nil)
            chunks = stride(from: 0, to: count, by: chunkSize).map { $0..<min(count, $0 + chunkSize) }
            ready = chunks.map { _ in DispatchSemaphore(value: 0) }
        }

        deinit {
            changes.deinitialize()
            changes.deallocate()
        }
    }
}
