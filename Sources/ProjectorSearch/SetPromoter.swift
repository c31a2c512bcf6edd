import Synchronization

/// Counts, across transactions, the documents of words and prefixes that have no document set
/// yet; one that reaches ``threshold`` gets its set (built from FTS5, then kept in step). Memory
/// only: after a restart the counting starts over, which only delays a set, never loses one.
final class SetPromoter: Sendable {
    /// Below this many documents FTS5 lists a word's rowids in well under a millisecond.
    static let threshold = 128
    /// Counts kept at most; past it the words seen only a few times are forgotten.
    static let capacity = 200_000

    private let counts = Mutex<[String: Int]>([:])

    /// Adds one transaction's counts; returns the keys that reached the threshold (and forgets
    /// them: from now on their sets count).
    func record(_ seen: [(key: String, documents: Int)]) -> [String] {
        counts.withLock { counts in
            var promoted: [String] = []
            for (key, documents) in seen {
                let total = counts[key, default: 0] + documents
                if total >= Self.threshold {
                    counts[key] = nil
                    promoted.append(key)
                } else {
                    counts[key] = total
                }
            }
            if counts.count > Self.capacity { counts = counts.filter { $0.value >= 4 } }
            return promoted
        }
    }
}
