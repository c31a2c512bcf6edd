import ProjectorCore
import ProjectorSearch
import Synchronization

/// Encoded search answers, keyed by the index generation's file, the position it has applied
/// and the request: the Elasticsearch request-cache idea. Any applied event moves the position
/// and a rebuild swaps the file, so an entry can never answer for a different index state:
/// results stay exactly as fresh as without it. Bounded in bytes: the oldest answers go first,
/// and an answer larger than a sixteenth of the whole is never kept.
///
/// Identical misses that arrive together share one computation (request coalescing): a burst
/// of the same queries on a cold cache, as after a start or a new event, costs one query each
/// instead of one per connection, so the burst drains in the time of one answer.
final class ResultCache: Sendable {
    /// Where an answer came from, as the `Projector-Cache` header says it.
    enum Source: String, Sendable {
        /// Answered before at the same index position.
        case hit
        /// The same request was already being answered; this one waited for that answer.
        case shared
        /// Computed for this request.
        case miss
    }

    /// The kept answers, and their keys oldest first (from `start`) with the bytes they hold.
    private struct Entries {
        var bodies: [String: String] = [:]
        var order: [String] = []
        var start = 0
        var bytes = 0
    }

    private let entries = Mutex(Entries())
    /// Answers being computed, by key: later identical requests wait for them.
    private let running = Mutex<[String: Task<Computed, any Error>]>([:])
    /// The latest distinct requests per index, newest last, with how long the engine worked on
    /// each (not the time spent waiting on a busy machine): what a new generation is warmed with.
    private let recent = Mutex<[String: [(request: SearchRequest, took: Duration)]]>([:])
    /// Bytes of answers (keys included) kept at most.
    let capacity: Int
    static let recentPerIndex = 32
    /// A request that took longer than this is not replayed by the warmer.
    static let warmLimit: Duration = .seconds(1)

    init(capacity: Int = 64 << 20) {
        self.capacity = capacity
    }

    /// The cache key: the generation's file, the position it has applied, the request, every
    /// text quoted so that no query or tenant can spell another request's key.
    static func key(path: String, position: Int64, _ request: SearchRequest) -> String {
        func list(_ texts: [String]?) -> String { texts.map { "[" + $0.map(JSONString.quote).joined(separator: ",") + "]" } ?? "*" }
        let parts: [String] = [
            JSONString.quote(path), String(position), request.tenant.map(JSONString.quote) ?? "-", JSONString.quote(request.query),
            String(request.limit), String(request.offset), list(request.filters.flatMap { [$0.field, $0.value] }),
            list(request.facets), String(request.raw), String(request.autocorrect), list(request.fields), list(request.highlight),
            String(request.crop),
        ]
        return parts.joined(separator: "|")
    }

    func remember(_ request: SearchRequest, index: String, took: Duration) {
        recent.withLock { recent in
            var list = recent[index, default: []]
            list.removeAll { $0.request == request }
            list.append((request, took))
            if list.count > Self.recentPerIndex { list.removeFirst(list.count - Self.recentPerIndex) }
            recent[index] = list
        }
    }

    /// The recent requests worth replaying on a new generation: the quick ones.
    func recentRequests(index: String) -> [SearchRequest] {
        recent.withLock { $0[index] ?? [] }.filter { $0.took <= Self.warmLimit }.map(\.request)
    }

    /// The answer for `key`: cached, shared with the identical request being answered, or
    /// computed by `compute`, which also says whether its answer may be kept (it may not when
    /// the index moved on while it ran) and how long the engine worked on it (zero for a hit).
    func answer(
        for key: String, compute: @escaping @Sendable () async throws -> Computed
    ) async throws -> (body: String, source: Source, took: Duration) {
        if let cached = value(for: key) { return (cached, .hit, .zero) }
        let (task, joined) = running.withLock { running in
            if let task = running[key] { return (task, true) }
            let task = Task { try await compute() }
            running[key] = task
            return (task, false)
        }
        guard !joined else {
            let answer = try await task.value
            return (answer.body, .shared, answer.took)
        }
        // Keep the answer before letting go of the computation, so nobody computes it twice.
        defer { running.withLock { _ = $0.removeValue(forKey: key) } }
        let answer = try await task.value
        if answer.keep { store(answer.body, for: key) }
        return (answer.body, .miss, answer.took)
    }

    /// An answer computed for the cache.
    struct Computed: Sendable {
        var body: String
        var keep: Bool
        var took: Duration
    }

    func value(for key: String) -> String? {
        entries.withLock { $0.bodies[key] }
    }

    /// Bytes the kept answers hold now.
    var bytes: Int { entries.withLock { $0.bytes } }

    func store(_ value: String, for key: String) {
        let size = value.utf8.count + key.utf8.count
        guard size <= capacity / 16 else { return }
        entries.withLock { entries in
            if let old = entries.bodies.updateValue(value, forKey: key) {
                entries.bytes += value.utf8.count - old.utf8.count
            } else {
                entries.order.append(key)
                entries.bytes += size
            }
            while entries.bytes > capacity, entries.start < entries.order.count {
                let oldest = entries.order[entries.start]
                entries.start += 1
                if let body = entries.bodies.removeValue(forKey: oldest) { entries.bytes -= body.utf8.count + oldest.utf8.count }
            }
            if entries.start > 1024, entries.start * 2 > entries.order.count {
                entries.order.removeFirst(entries.start)
                entries.start = 0
            }
        }
    }
}
