import ProjectorSearch
import Synchronization

/// Encoded search answers, keyed by the index generation's file, the position it has applied
/// and the request: the Elasticsearch request-cache idea. Any applied event moves the position
/// and a rebuild swaps the file, so an entry can never answer for a different index state:
/// results stay exactly as fresh as without it. Bounded: when full it starts over.
final class ResultCache: Sendable {
    private let entries = Mutex<[String: String]>([:])
    /// The latest distinct requests per index, newest last: what a new generation is warmed with.
    private let recent = Mutex<[String: [SearchRequest]]>([:])
    let capacity: Int
    static let recentPerIndex = 32

    init(capacity: Int = 4096) {
        self.capacity = capacity
    }

    /// The cache key: the generation's file, the position it has applied, the request.
    static func key(path: String, position: Int64, _ request: SearchRequest) -> String {
        let filters = request.filters.map { "\($0.field):\($0.value)" }
        return "\(path)|\(position)|\(request.query)|\(request.limit)|\(request.offset)|\(filters)|\(request.facets)|\(request.raw)|\(request.autocorrect)"
    }

    func remember(_ request: SearchRequest, index: String) {
        recent.withLock { recent in
            var list = recent[index, default: []]
            list.removeAll { $0 == request }
            list.append(request)
            if list.count > Self.recentPerIndex { list.removeFirst(list.count - Self.recentPerIndex) }
            recent[index] = list
        }
    }

    func recentRequests(index: String) -> [SearchRequest] {
        recent.withLock { $0[index] ?? [] }
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
