import Synchronization

/// Encoded search answers, keyed by the index generation's file, the position it has applied
/// and the request: the Elasticsearch request-cache idea. Any applied event moves the position
/// and a rebuild swaps the file, so an entry can never answer for a different index state:
/// results stay exactly as fresh as without it. Bounded: when full it starts over.
final class ResultCache: Sendable {
    private let entries = Mutex<[String: String]>([:])
    let capacity: Int

    init(capacity: Int = 4096) {
        self.capacity = capacity
    }

    func value(for key: String) -> String? {
        entries.withLock { $0[key] }
    }

    func store(_ value: String, for key: String) {
        entries.withLock { entries in
            if entries.count >= capacity { entries.removeAll(keepingCapacity: true) }
            entries[key] = value
        }
    }
}
