import ProjectorSearch
import Synchronization
import Testing

@testable import ProjectorServer

struct ResultCacheTests {
    final class Counter: Sendable {
        let count = Mutex(0)
    }

    /// A burst of identical misses (a cold start, a new event) costs one computation, not one
    /// per connection; the others wait for it and get the same answer.
    @Test func identicalMissesArrivingTogetherShareOneComputation() async throws {
        let cache = ResultCache()
        let computations = Counter()
        let answers = try await withThrowingTaskGroup(of: (body: String, source: ResultCache.Source, took: Duration).self) { group in
            for _ in 0..<8 {
                group.addTask {
                    try await cache.answer(for: "index|7|vim") {
                        computations.count.withLock { $0 += 1 }
                        try await Task.sleep(for: .milliseconds(300))
                        return ResultCache.Computed(body: "vim answer", keep: true, took: .zero)
                    }
                }
            }
            return try await group.reduce(into: []) { $0.append($1) }
        }
        #expect(computations.count.withLock { $0 } == 1)
        #expect(answers.allSatisfy { $0.body == "vim answer" })
        #expect(answers.filter { $0.source == .miss }.count == 1)
        #expect(answers.filter { $0.source == .shared }.count == 7)
        #expect(try await answer(cache, "index|7|vim", "recomputed", keep: true) == ("vim answer", .hit))
    }

    /// An answer computed while the index moved on is handed to its waiters but never kept.
    @Test func anAnswerThatMayNotBeKeptIsComputedAgainNextTime() async throws {
        let cache = ResultCache()
        #expect(try await answer(cache, "k", "stale", keep: false) == ("stale", .miss))
        #expect(try await answer(cache, "k", "fresh", keep: true) == ("fresh", .miss))
        #expect(try await answer(cache, "k", "unused", keep: true) == ("fresh", .hit))
    }

    /// A failed computation is not cached and does not block the next identical request.
    @Test func aFailedComputationIsRetriedByTheNextRequest() async throws {
        struct Failure: Error {}
        let cache = ResultCache()
        await #expect(throws: Failure.self) { try await cache.answer(for: "k") { throw Failure() } }
        #expect(try await answer(cache, "k", "answer", keep: true) == ("answer", .miss))
    }

    /// Many large answers never hold more than the capacity in bytes: the oldest go first.
    @Test func theCacheIsBoundedInBytesOldestFirst() {
        let cache = ResultCache(capacity: 1 << 20)
        let answer = String(repeating: "x", count: 50_000)
        for number in 0..<2_000 { cache.store(answer, for: "key-\(number)") }
        #expect(cache.bytes <= 1 << 20)
        #expect(cache.value(for: "key-1999") == answer)
        #expect(cache.value(for: "key-0") == nil)
        cache.store(String(repeating: "y", count: 100_000), for: "huge")
        #expect(cache.value(for: "huge") == nil, "an answer over a sixteenth of the capacity is not kept")
    }

    /// A new generation is warmed with the quick recent requests only.
    @Test func theWarmerSkipsSlowRequests() {
        let cache = ResultCache()
        cache.remember(SearchRequest(query: "quick"), index: "docs", took: .milliseconds(3))
        cache.remember(SearchRequest(query: "slow"), index: "docs", took: .seconds(30))
        #expect(cache.recentRequests(index: "docs").map(\.query) == ["quick"])
    }

    /// `cache.answer` of a computation that returns `body`, as (body, source).
    func answer(_ cache: ResultCache, _ key: String, _ body: String, keep: Bool) async throws -> (String, ResultCache.Source) {
        let answer = try await cache.answer(for: key) { ResultCache.Computed(body: body, keep: keep, took: .zero) }
        return (answer.body, answer.source)
    }
}
