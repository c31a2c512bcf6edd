/// Keeps projections that rebuild together within a few batches of each other, so that they
/// really share one scan of the log.
///
/// The batch reader keeps only a few recent batches. Without pacing, a fast projection (a small
/// table) pulls ahead of a slow one (a search index) within seconds, and from then on each reads
/// the log on its own: 3,817 reads for 1,000 batches when four rebuilt together at 1M events.
/// In a convoy the fastest waits while it is more than `lead` events ahead of the slowest; the
/// slowest never waits, and a member that is done (swapped, failed, or cancelled) leaves, so
/// nobody waits for it. The rebuild as a whole is as fast as its slowest member anyway.
public actor RebuildConvoy {
    /// How many batches the fastest member may be ahead of the slowest. The batch reader caches
    /// this many and a few more, so every member finds the batches the others read.
    public static let spreadInBatches = 4

    private var positions: [String: Int64]
    private let lead: Int64
    private var waiting: [CheckedContinuation<Void, Never>] = []

    /// - Parameter lead: how many events the fastest member may be ahead of the slowest; keep it
    ///   well inside what the batch reader caches.
    public init(members: [String], lead: Int64) {
        positions = Dictionary(members.map { ($0, 0) }, uniquingKeysWith: { first, _ in first })
        self.lead = lead
    }

    /// Records that `member` is about to read the events after `position`, and returns once it is
    /// no more than `lead` ahead of the slowest member still rebuilding.
    public func arrive(_ member: String, at position: Int64) async {
        guard positions[member] != nil else { return }
        positions[member] = position
        wakeAll()
        while !Task.isCancelled, let slowest = positions.values.min(), position - slowest > lead {
            await withTaskCancellationHandler {
                await withCheckedContinuation { waiting.append($0) }
            } onCancel: {
                Task { await self.wakeAll() }
            }
        }
    }

    /// `member` is done: nobody waits for it any longer.
    public func leave(_ member: String) {
        positions[member] = nil
        wakeAll()
    }

    private func wakeAll() {
        let woken = waiting
        waiting = []
        for continuation in woken { continuation.resume() }
    }
}
