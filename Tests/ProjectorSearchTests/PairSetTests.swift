import Foundation
import GRDB
import Logging
import ProjectorCore
import ProjectorHost
import ProjectorSQLite
import ProjectorTesting
import Testing

@testable import ProjectorSearch

/// Phrase totals come from pair sets for frequent words: held to FTS5's own phrase listing
/// through random upserts of whole documents and of single fields (merges), filter-only changes
/// and deletes, in transactions large enough to be prepared on the second thread and small ones.
@Suite struct PairSetTests {
    struct Seeded: RandomNumberGenerator {
        var state: UInt64
        mutating func next() -> UInt64 {
            state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            return state >> 11 ^ state
        }
    }

    static let words = [
        "the", "of", "and", "tool", "for", "a", "to", "make", "this", "package", "provides", "by",
        "library", "data", "files", "text", "editor", "night", "train", "common",
    ]

    @Test(arguments: [3, 17, 101]) func phraseTotalsAndPairSetsMatchFTS5ThroughMergesAndDeletes(seed: UInt64) async throws {
        let folder = TemporaryFolder()
        let log = try SQLiteEventLog(path: folder.file("events.sqlite"))
        let spec = try decodeSpec(
            SearchSpec.self,
            [
                "name": "docs", "kind": "search", "id": "$.stream",
                "fields": [
                    "title": ["path": "$.data.title", "weight": 5], "body": ["path": "$.data.body"],
                    "section": ["path": "$.data.section", "filter": true],
                ],
                "delete": ["Removed"],
            ], file: "docs.yml")
        // Small thresholds: words are frequent and pairs get sets after a few dozen documents.
        let projection = SearchProjection(spec: spec, catalog: SetCatalog(thresholds: .init(documents: 16, share: 64, pairShare: 8)))
        var logger = Logger(label: "test")
        logger.logLevel = .critical
        let host = try ProjectorHost(log: log, projections: [projection], storesFolder: folder.file("stores"), logger: logger)
        var random = Seeded(state: seed)
        func pick() -> String {
            // Zipf-like: the first words far more often than the last.
            let x = Double.random(in: 0..<1, using: &random)
            return Self.words[min(Self.words.count - 1, Int(pow(x, 2.2) * Double(Self.words.count)))]
        }
        func text() -> String { (0..<Int.random(in: 2...9, using: &random)).map { _ in pick() }.joined(separator: " ") }
        for round in 0..<6 {
            var events: [ProposedEvent] = []
            for _ in 0..<Int.random(in: 40...900, using: &random) {
                let stream = "d\(Int.random(in: 0..<600, using: &random))"
                let data: [String: String]
                let type: String
                switch Int.random(in: 0..<10, using: &random) {
                case 0..<4: (type, data) = ("Written", ["title": text(), "body": text(), "section": "s\(round % 3)"])
                case 4..<6: (type, data) = ("BodyChanged", ["body": text()])
                case 6: (type, data) = ("TitleChanged", ["title": text()])
                case 7: (type, data) = ("Moved", ["section": "s\(Int.random(in: 0..<4, using: &random))"])
                default: (type, data) = ("Removed", [:])
                }
                let json = String(decoding: try JSONSerialization.data(withJSONObject: data, options: [.sortedKeys]), as: UTF8.self)
                events.append(ProposedEvent(stream: stream, type: type, data: json))
            }
            _ = try await log.append(events)
            try await host.catchUp()
            let store = host.runners[0].store
            let pairs = try await store.pool.read { db in
                try String.fetchAll(db, sql: "SELECT key FROM \(DocumentSets.keys) WHERE key >= 'g:' AND key < 'h:'")
            }
            if round == 5 { #expect(pairs.count >= 10, "enough pairs have sets to test") }
            try await store.pool.read { db in
                for key in pairs {
                    // What FTS5 itself finds for the pair as a phrase.
                    let listed = try Int64.fetchAll(
                        db, sql: "SELECT rowid FROM documents_fts WHERE documents_fts MATCH ? ORDER BY rowid",
                        arguments: [SearchQuery.quote(String(key.dropFirst(2)))])
                    let stored = try DocumentSets.load(key, db: db).map { $0.newest(.max).sorted() } ?? []
                    let missing = Set(listed).subtracting(stored).sorted().prefix(5)
                    #expect(
                        stored == listed,
                        "round \(round): \(key): \(stored.count) documents, FTS5 lists \(listed.count) (missing \(missing)…)")
                }
                try DocumentSets.verify(spec: spec, db: db)
            }
            let index = SearchIndex(spec: spec, reader: store.pool)
            for _ in 0..<20 {
                let phrase = "\"\(pick()) \(pick())\""
                let expected = try await store.pool.read { db in
                    try Int.fetchOne(db, sql: "SELECT count(*) FROM documents_fts WHERE documents_fts MATCH ?", arguments: [phrase]) ?? 0
                }
                #expect(try await index.search(SearchRequest(query: phrase)).total == expected, "round \(round): \(phrase)")
            }
        }
    }
}
