import Foundation
import GRDB
import ProjectorCore
import ProjectorHost
import ProjectorSQLite
import ProjectorSearch
import ProjectorTesting
import Synchronization
import Testing

/// Shared between the rebuilding task and the querying one.
final class Progress: Sendable {
    let done = Atomic(false)
    let answered = Atomic(0)
}

@Suite struct SearchDuringRebuildTests {
    @Test func queriesDuringARebuildNeverFailAndNeverSeeAHalfBuiltIndex() async throws {
        let fixture = try SearchFixture(SearchFixture.packages)
        let count = 3_000
        var events: [ProposedEvent] = []
        for number in 0..<count {
            events.append(
                ProposedEvent(
                    stream: "package-\(number)", type: "Published",
                    data: #"{"name":"tool\#(number)","body":"a common tool number \#(number)","section":"s\#(number % 7)"}"#))
        }
        _ = try await fixture.log.append(events)
        try await fixture.host.catchUp()
        let spec = fixture.spec
        let host = fixture.host
        let stores = fixture.folder.file("stores")
        let progress = Progress()
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask {
                let result = try await host.rebuild("packages")
                #expect(result.swapped)
                progress.done.store(true, ordering: .sequentiallyConsistent)
            }
            group.addTask {
                var round = 0
                while !progress.done.load(ordering: .sequentiallyConsistent) {
                    round += 1
                    // In this process through the host's live runner; every 5th query as another
                    // process would, through the generation pointer.
                    let reader: any DatabaseReader =
                        round % 5 == 0
                        ? try ProjectionStore(name: "packages", path: ProjectorHost.storePath(stores, "packages"), readOnly: true).pool
                        : host.runner(named: "packages")!.store.pool
                    let result = try await SearchIndex(spec: spec, reader: reader).search(
                        SearchRequest(query: "common", limit: 5, facets: ["section"]))
                    #expect(result.total == count, "a query saw \(result.total) of \(count) documents")
                    #expect(result.facets["section"]?.values.reduce(0, +) == count)
                    progress.answered.add(1, ordering: .relaxed)
                }
            }
            try await group.waitForAll()
        }
        #expect(progress.answered.load(ordering: .relaxed) > 3, "queries ran while the rebuild did")
        let live = try #require(host.runner(named: "packages"))
        #expect(live.store.path.hasSuffix("packages.2.sqlite"))
        let after = try await SearchIndex(spec: spec, reader: live.store.pool).search(SearchRequest(query: "tool1234"))
        #expect(after.hits.first?.id == "package-1234")
    }
}
