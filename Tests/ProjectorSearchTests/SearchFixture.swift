import Foundation
import GRDB
import Logging
import ProjectorCore
import ProjectorHost
import ProjectorSQLite
import ProjectorSearch
import ProjectorTesting
import Testing

/// A real log, a host and one search projection in a temporary folder.
struct SearchFixture {
    let folder = TemporaryFolder()
    let log: SQLiteEventLog
    let host: ProjectorHost
    let spec: SearchSpec

    init(_ spec: [String: Any]) throws {
        log = try SQLiteEventLog(path: folder.file("events.sqlite"))
        self.spec = try decodeSpec(SearchSpec.self, spec, file: "test.yml")
        var logger = Logger(label: "test")
        logger.logLevel = .critical
        host = try ProjectorHost(
            log: log, projections: [SearchProjection(spec: self.spec)], storesFolder: folder.file("stores"), logger: logger)
    }

    /// The packages-like spec most tests use.
    static var packages: [String: Any] {
        [
            "name": "packages", "kind": "search", "id": "$.stream",
            "fields": [
                "name": ["path": "$.data.name", "weight": 10],
                "body": ["path": "$.data.body", "weight": 1],
                "page": ["path": "$.data.html", "format": "html"],
                "section": ["path": "$.data.section", "filter": true],
                "updated": ["path": "$.time", "filter": true],
            ],
            "delete": ["Removed"], "tieBreak": "updated",
        ]
    }

    func add(_ stream: String, type: String = "Published", _ data: [String: String]) async throws {
        let json = try String(decoding: JSONSerialization.data(withJSONObject: data, options: [.sortedKeys]), as: UTF8.self)
        _ = try await log.append([ProposedEvent(stream: stream, type: type, data: json)])
    }

    func search(_ query: String, limit: Int = 10, filters: [(field: String, value: String)] = [], facets: [String] = [])
        async throws -> SearchResult
    {
        try await host.catchUp()
        return try await index.search(SearchRequest(query: query, limit: limit, filters: filters, facets: facets))
    }

    var index: SearchIndex { SearchIndex(spec: spec, reader: host.runners[0].store.pool) }
}
