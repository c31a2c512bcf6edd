import Foundation
import GRDB
import ProjectorCore
import ProjectorHost
import ProjectorSQLite
import ProjectorTesting
import Testing

@testable import ProjectorSearch

/// Document sets are a second index: these tests hold them to the first (FTS5 and the
/// documents table), through inserts, revisions, filter-only changes and deletes.
@Suite struct DocumentSetTests {
    /// A deterministic generator, so a failure can be replayed.
    struct Seeded: RandomNumberGenerator {
        var state: UInt64
        mutating func next() -> UInt64 {
            state = state &* 6364136223846793005 &+ 1442695040888963407
            return state
        }
    }

    @Test(arguments: [0.002, 0.4]) func algebraAndStoredChunksAgreeWithPlainSets(density: Double) {
        var random = Seeded(state: 7)
        let a = Set((1..<100_000).filter { _ in Double.random(in: 0..<1, using: &random) < density }.map(Int64.init))
        let b = Set((1..<100_000).filter { _ in Double.random(in: 0..<1, using: &random) < density }.map(Int64.init))
        let x = DocumentSet(ascending: a.sorted())
        let y = DocumentSet(ascending: b.sorted())
        func plain(_ set: DocumentSet) -> Set<Int64> { Set(set.newest(.max)) }
        #expect(x.count == a.count && plain(x) == a)
        #expect(plain(x.intersection(y)) == a.intersection(b))
        #expect(x.intersectionCount(y) == a.intersection(b).count)
        #expect(plain(x.union(y)) == a.union(b))
        #expect(plain(x.subtracting(y)) == a.subtracting(b))
        #expect(x.newest(5, skipping: 3) == Array(a.sorted(by: >).dropFirst(3).prefix(5)))
        #expect(a.allSatisfy(x.contains) && !x.contains(0) && !x.contains(200_000))
        for bitmap in x.bitmaps {
            let stored = DocumentSet.encode(bitmap)
            let population = DocumentSet.population(bitmap)
            #expect(stored.count == (population > DocumentSet.maxListed ? DocumentSet.bitmapBytes : population * 2))
            #expect(stored.withUnsafeBytes { DocumentSet.decode($0) } == bitmap)
        }
    }

    /// A key's operations reach each chunk in the order they were made (a document removed, then
    /// its rowid taken again, must end up present), whichever chunks they interleave across.
    @Test func operationsAreSplitByChunkInTheirOrder() {
        let size = Int64(DocumentSet.chunkSize)
        // Operations as the writer packs them: a rowid added with its impact, or removed.
        func op(_ rowid: Int64) -> Int64 { SetOperation.pack(rowid, impact: rowid > 0 ? 7 : 0) }
        #expect(DocumentSetWriter.byChunk([5, 9, -5, 5].map(op)).map(\.chunk) == [0])
        let rowids: [Int64] = [-3, size + 1, -(2 * size + 7), 3, size + 2, -(size + 1), 2 * size + 7]
        let groups = DocumentSetWriter.byChunk(rowids.map(op))
        #expect(groups.map(\.chunk) == [0, 1, 2])
        #expect(
            groups.map(\.operations) == [[-3, 3], [size + 1, size + 2, -(size + 1)], [-(2 * size + 7), 2 * size + 7]].map { $0.map(op) })
        #expect(groups[1].operations.map(SetOperation.impact) == [7, 7, 0])
    }

    /// A transaction's log, grouped by key: each key's operations in the order they were made (a
    /// document removed, then added again, ends present), keys left out skipped.
    @Test func theSetLogGroupsOperationsByKeyInTheirOrder() {
        let next = Int64(DocumentSet.chunkSize) + 1
        var log = SetLog()
        log.append(2, impact: 5)
        log.append(0, impact: 3)
        log.endDocument(10, adding: true)
        log.endDocument(11, adding: true)  // no operations
        log.append(2, impact: 0)
        log.append(1, impact: 0)
        log.endDocument(10, adding: false)
        log.append(2, impact: 9)
        log.endDocument(10, adding: true)
        log.append(1, impact: 4)
        log.endDocument(next, adding: true)
        let grouped = log.grouped(keyCount: 3) { $0 != 0 }
        #expect(grouped.range(of: 0).isEmpty)
        #expect(
            grouped.operations(grouped.range(of: 2)) == [
                SetOperation.pack(10, impact: 5), SetOperation.pack(-10, impact: 0), SetOperation.pack(10, impact: 9),
            ])
        #expect(grouped.operations(grouped.range(of: 1)) == [SetOperation.pack(-10, impact: 0), SetOperation.pack(next, impact: 4)])
        #expect(grouped.soleChunk(grouped.range(of: 2)) == 0 && grouped.soleChunk(grouped.range(of: 1)) == nil)
    }

    /// A transaction's new documents are appended to a stored chunk without decoding it: the
    /// result must be exactly what decoding, adding and encoding would store.
    @Test func appendingToAStoredChunkStoresWhatEncodingWould() {
        func stored(_ offsets: [Int]) -> [UInt8] {
            var bitmap = [UInt64](repeating: 0, count: DocumentSet.words)
            for offset in offsets { bitmap[offset >> 6] |= 1 << UInt64(offset & 63) }
            return DocumentSet.encode(bitmap)
        }
        let chunk = Int64(3 << DocumentSet.chunkShift)
        let cases: [(before: [Int], added: [Int])] = [
            ([], [5, 9]),  // a new row
            ([1, 7, 300], [301, 9000]),  // a list grows
            (Array(0..<1000), Array(1000..<1100)),  // a list outgrows itself: refused
            (Array(stride(from: 0, to: 16_000, by: 4)), [1, 16_001]),  // a bitmap, bits anywhere
            ([1, 7, 300], [200]),  // not past the last offset: refused
        ]
        for (before, added) in cases {
            let old = stored(before)
            let result = old.withUnsafeBytes { DocumentSet.appending(added.map { chunk + Int64($0) }, to: $0) }
            let expected = stored(before + added)
            let listed = old.count != DocumentSet.bitmapBytes
            if listed && (before.count + added.count > DocumentSet.maxListed || added.first! <= (before.last ?? -1)) {
                #expect(result == nil, "\(before.count) + \(added)")
            } else {
                #expect(result == expected, "\(before.count) + \(added)")
            }
        }
    }

    static let words = (0..<24).map { "w\(String(UnicodeScalar(UInt8(97 + $0))))ord\($0 % 5)" } + ["rare", "zebra", "Éclair"]

    /// 2,400 documents from a small vocabulary (most words past the promotion threshold), each
    /// ending in "night train" (three in four) or "train night", then revisions, filter-only
    /// changes and deletes.
    static func fixture() async throws -> SearchFixture {
        let fixture = try SearchFixture(SearchFixture.packages)
        var random = Seeded(state: 11)
        func text(_ count: Int) -> String {
            (0..<count).map { _ in words[Int.random(in: 0..<words.count, using: &random)] }.joined(separator: " ")
        }
        for i in 0..<2400 {
            let body = text(8) + (i % 4 == 3 ? " train night" : " night train")
            try await fixture.add("p\(i)", ["name": "pkg\(i % 40)", "body": body, "section": ["libs", "devel", "net"][i % 3]])
        }
        try await fixture.host.catchUp()
        for i in stride(from: 0, to: 2400, by: 5) { try await fixture.add("p\(i)", type: "Revised", ["body": text(6)]) }
        for i in stride(from: 1, to: 2400, by: 7) { try await fixture.add("p\(i)", type: "Moved", ["section": "games"]) }
        for i in stride(from: 2, to: 2400, by: 11) { try await fixture.add("p\(i)", type: "Removed", [:]) }
        try await fixture.host.catchUp()
        return fixture
    }

    @Test func everyStoredSetIsExactlyWhatTheIndexFinds() async throws {
        let fixture = try await Self.fixture()
        try await fixture.host.runners[0].store.pool.read { db in
            let keys = try String.fetchAll(db, sql: "SELECT key FROM \(DocumentSets.keys)")
            #expect(keys.filter { $0.hasPrefix("w:") }.count >= 20)
            #expect(keys.contains("p:wa") && keys.contains("f:section\u{1}games") && keys.contains(DocumentSets.allKey))
            // Counted once both words were frequent: the common pair passed the threshold after
            // that, the other (600 documents in all) did not.
            #expect(keys.contains("g:night train") && !keys.contains("g:train night"))
            // A filter field with more values than sets are kept for is open: a marker, no set.
            #expect(keys.contains("o:updated") && !keys.contains { $0.hasPrefix("f:updated") })
            for key in keys where !key.hasPrefix("o:") {
                let text = String(key.dropFirst(2))
                let expected: [Int64] =
                    switch key.prefix(2) {
                    case "w:":
                        try Int64.fetchAll(
                            db, sql: "SELECT rowid FROM documents_fts WHERE documents_fts MATCH ?", arguments: [SearchQuery.quote(text)])
                    case "p:":
                        try Int64.fetchAll(
                            db, sql: "SELECT rowid FROM documents_fts WHERE documents_fts MATCH ?",
                            arguments: [SearchQuery.quote(text) + "*"])
                    case "g:":
                        try Int64.fetchAll(
                            db, sql: "SELECT rowid FROM documents_fts WHERE documents_fts MATCH ?", arguments: [SearchQuery.quote(text)])
                    case "f:":
                        try Int64.fetchAll(
                            db, sql: "SELECT rowid FROM documents WHERE \(text.prefix { $0 != "\u{1}" }) = ?",
                            arguments: [String(text.drop { $0 != "\u{1}" }.dropFirst())])
                    default: try Int64.fetchAll(db, sql: "SELECT rowid FROM documents")
                    }
                let stored = try DocumentSets.load(key, db: db)
                #expect(stored.map { Set($0.newest(.max)) } == Set(expected), "\(key)")
            }
        }
    }

    /// A pair's set is built from the documents seen with it since it was first counted, plus
    /// FTS5's phrase listing below that point: revisions and deletes while it is counted, on
    /// both sides of that point, must leave it exact.
    @Test func aPairCountedThroughRevisionsAndDeletesIsBuiltExactly() async throws {
        let fixture = try SearchFixture(SearchFixture.packages)
        var random = Seeded(state: 5)
        func text(_ count: Int) -> String {
            (0..<count).map { _ in Self.words[Int.random(in: 0..<24, using: &random)] }.joined(separator: " ")
        }
        func pairKeys() async throws -> [String] {
            try await fixture.host.runners[0].store.pool.read { db in
                try String.fetchAll(db, sql: "SELECT key FROM \(DocumentSets.keys) WHERE key LIKE 'g:%'")
            }
        }
        // Both words become frequent in the first transaction; its 80 pairs are not counted.
        for i in 0..<800 {
            try await fixture.add("p\(i)", ["body": i % 10 == 0 ? "night train " + text(3) : "night " + text(3) + " train"])
        }
        try await fixture.host.catchUp()
        for i in 800..<1200 { try await fixture.add("p\(i)", ["body": text(3) + " night train"]) }
        try await fixture.host.catchUp()
        // While counted: older documents gain the pair (a revision moves a document to a new
        // rowid) or go, counted ones lose it or go.
        for i in stride(from: 1, to: 800, by: 9) { try await fixture.add("p\(i)", type: "Revised", ["body": "night train " + text(2)]) }
        for i in stride(from: 20, to: 800, by: 40) { try await fixture.add("p\(i)", type: "Removed", [:]) }
        for i in stride(from: 800, to: 1200, by: 13) { try await fixture.add("p\(i)", type: "Revised", ["body": text(5)]) }
        for i in stride(from: 803, to: 1200, by: 17) { try await fixture.add("p\(i)", type: "Removed", [:]) }
        try await fixture.host.catchUp()
        #expect(try await pairKeys().isEmpty, "not yet 512 documents counted since its rows are kept (from its 64th)")
        for i in 1200..<1400 { try await fixture.add("p\(i)", ["body": "night train " + text(3)]) }
        try await fixture.host.catchUp()
        #expect(try await pairKeys() == ["g:night train"])
        try await fixture.host.runners[0].store.pool.read { db in
            let expected = try Int64.fetchAll(db, sql: "SELECT rowid FROM documents_fts WHERE documents_fts MATCH '\"night train\"'")
            #expect(expected.count > 512)
            #expect(try DocumentSets.load("g:night train", db: db).map { Set($0.newest(.max)) } == Set(expected))
        }
    }

    /// What the set writer saw of a store's pairs stays with that store: a new file under the
    /// same path (a cancelled rebuild's generation deleted, the next one named alike) opened by a
    /// new connection starts counting afresh.
    @Test func aNewStoreUnderAKnownPathDoesNotInheritWhatTheOldOneSaw() throws {
        let folder = TemporaryFolder()
        let path = folder.file("docs.sqlite")
        let projection = SearchProjection(spec: try decodeSpec(SearchSpec.self, SearchFixture.packages, file: "test.yml"))
        var position: Int64 = 0
        func events(_ bodies: [String]) -> [RecordedEvent] {
            bodies.map { body in
                position += 1
                return Self.event(position, stream: "p\(position)", type: "Published", body: body)
            }
        }
        func store(_ batches: [[String]]) throws {
            let queue = try DatabaseQueue(path: path)
            try queue.write { db in try projection.setUp(db) }
            for batch in batches { try queue.write { db in try projection.apply(events(batch), db) } }
        }
        // Both words frequent, then rowids 801-1100 seen with the pair, too few for its set.
        try store([Array(repeating: "night wa train", count: 800), Array(repeating: "night train", count: 300)])
        for suffix in ["", "-wal", "-shm"] { try? FileManager.default.removeItem(atPath: path + suffix) }
        // The new file's pair is at rowids 201-800 and gets its set.
        try store([Array(repeating: "night wa train", count: 200) + Array(repeating: "night train wb", count: 600)])
        try DatabaseQueue(path: path).read { db in
            let expected = try Int64.fetchAll(db, sql: "SELECT rowid FROM documents_fts WHERE documents_fts MATCH '\"night train\"'")
            #expect(expected.count == 600)
            #expect(try DocumentSets.load("g:night train", db: db).map { Set($0.newest(.max)) } == Set(expected))
        }
    }

    /// A phrase of a common word and one too rare to be frequent is slow for FTS5 at scale:
    /// its pair is counted through the common word, gets its set at the lower threshold, and the
    /// set is exact through revisions and deletes.
    @Test func aCommonWordsPairWithARareWordGetsAnExactSetWhenFTS5IsSlowForIt() throws {
        let folder = TemporaryFolder()
        let thresholds = SetCatalog.Thresholds(documents: 64, share: 16, pairShare: 8, common: 200, slowPair: 16, slowWalk: 600)
        let projection = SearchProjection(
            spec: try decodeSpec(SearchSpec.self, SearchFixture.packages, file: "test.yml"), catalog: SetCatalog(thresholds: thresholds))
        var random = Seeded(state: 3)
        var position: Int64 = 0
        func event(_ stream: String, _ type: String, _ body: String?) -> RecordedEvent {
            position += 1
            return Self.event(position, stream: stream, type: type, body: body)
        }
        // "the" is in every document (common), "grid" in 1 of 10 (not frequent: 1 of 8 needed),
        // next to each other in half of those.
        func body(_ i: Int) -> String {
            let filler = (0..<3).map { _ in Self.words[Int.random(in: 0..<24, using: &random)] }.joined(separator: " ")
            switch i % 20 {
            case 0: return "the grid " + filler
            case 10: return "grid " + filler + " the"
            default: return "the " + filler
            }
        }
        let queue = try DatabaseQueue(path: folder.file("docs.sqlite"))
        try queue.write { db in try projection.setUp(db) }
        for batch in 0..<6 {
            try queue.write { db in
                try projection.apply((0..<200).map { event("p\(batch * 200 + $0)", "Published", body(batch * 200 + $0)) }, db)
            }
        }
        try queue.write { db in
            try projection.apply(
                stride(from: 0, to: 1200, by: 30).map { event("p\($0)", "Revised", body($0 + 10)) }
                    + stride(from: 20, to: 1200, by: 60).map { event("p\($0)", "Removed", nil) }, db)
        }
        try queue.read { db in
            let expected = try Int64.fetchAll(db, sql: "SELECT rowid FROM documents_fts WHERE documents_fts MATCH '\"the grid\"'")
            #expect(expected.count > 16 && expected.count < 64, "past the slow threshold, under the usual one")
            #expect(try DocumentSets.load("g:the grid", db: db).map { Set($0.newest(.max)) } == Set(expected))
            #expect(try DocumentSets.load("g:grid the", db: db) == nil, "never adjacent in that order")
        }
    }

    /// An event at `position` with a body (none: no data), for projections applied directly.
    static func event(_ position: Int64, stream: String, type: String, body: String?) -> RecordedEvent {
        RecordedEvent(
            position: position, id: UUID(), stream: stream, version: 1, type: type,
            data: body.map { #"{"body":"\#($0)"}"# } ?? "{}", time: EventTime.format(epochMilliseconds: 1_700_000_000_000 + position))
    }

    /// Whether a query has words to rank by (else hits are browsed, newest first, score 0).
    func words(_ text: String) -> Bool { !SearchQuery(parsing: text).isEmpty }

    @Test func setsAnswerExactlyAsFTS5AloneDoes() async throws {
        let fixture = try await Self.fixture()
        let queries = [
            "wbord1 ", "wbord1 wcord2 ", "wb", "wbo", "wbor", "wbord1 OR rare ", "wbord1 -wcord2 ", "-wbord1 ", "",
            "eclair ", "zeb", "nothing ", "pkg3 ", "\"night train\" ", "night-train ", "\"night train\" wbord1 ",
            "wbord1 -\"night train\" ", "\"train night\" ", "\"wbord1 wcord2 wdord3\" ", "\"night train\"", "\"train nig\"",
            "\"waord0 wbord1\" ",
        ]
        let filters: [[(field: String, value: String)]] = [[], [("section", "libs")], [("section", "games")]]
        let spec = fixture.spec
        try await fixture.host.runners[0].store.pool.read { db in
            for text in queries {
                for filter in filters {
                    let request = SearchRequest(query: text, limit: 20, filters: filter, facets: ["section"])
                    let query = SearchQuery(parsing: text)
                    let match = query.matchExpression()
                    let excluded = SearchEngine.exclusion(query)
                    let clause = try SearchEngine.filterClause(filter, spec: spec)
                    let sets = try #require(try MatchSet.resolve(query, filters: filter, spec: spec, db: db), "\(text)")
                    func plan(limit: Int) -> QueryPlan {
                        QueryPlan(
                            request: request, spec: spec, query: query, match: match, excluded: excluded, limit: limit, offset: 0,
                            filters: clause)
                    }
                    let fast = try SearchEngine.answer(plan(limit: 20), from: sets, db: db)
                    let slow = try SearchEngine.answerByFTS5(plan(limit: 1000), db: db)
                    let label = "\(text.debugDescription) \(filter.map(\.value))"
                    #expect(fast.total == slow.total, "\(label)")
                    #expect(fast.facets == slow.facets, "\(label)")
                    guard words(text) else {
                        #expect(fast.hits.map(\.id) == slow.hits.prefix(20).map(\.id), "\(label)")
                        continue
                    }
                    // Ranked from impacts and lengths, bm25 is FTS5's own (scores are shown to
                    // 1/1000): each hit's score is its exact score, and no better than the exact
                    // 20th best is left out (among equal scores the order may differ).
                    let exact = Dictionary(slow.hits.map { ($0.id, $0.score) }, uniquingKeysWith: { a, _ in a })
                    let twentieth = slow.hits.prefix(20).last?.score ?? 0
                    for hit in fast.hits {
                        let score = try #require(exact[hit.id], "\(label) \(hit.id) not among FTS5's best 1000")
                        #expect(abs(hit.score - score) <= 0.0015, "\(label) \(hit.id): \(hit.score) vs \(score)")
                        #expect(score >= twentieth - 0.0015, "\(label) \(hit.id): \(score) below the 20th best \(twentieth)")
                    }
                }
            }
            // Totals big enough to mean something were compared.
            let broad = try SearchEngine.search(SearchRequest(query: "w", limit: 1), spec: spec, db: db)
            #expect(broad.total > 2000)
            let phrase = try SearchEngine.search(SearchRequest(query: "\"night train\"", limit: 1), spec: spec, db: db)
            #expect(phrase.total > 1000)
        }
    }

    @Test func aRebuildsVerificationRefusesSetsThatDifferFromTheIndex() async throws {
        let fixture = try await Self.fixture()
        let projection = SearchProjection(spec: fixture.spec)
        try await fixture.host.runners[0].store.pool.writeWithoutTransaction { db in
            try projection.verify(db)
            for key in ["f:section\u{1}libs", DocumentSets.allKey] {
                try db.inSavepoint {
                    try db.execute(
                        sql: """
                            DELETE FROM documents_sets WHERE id = (SELECT min(id) FROM documents_sets
                            WHERE id & 0xFFFFFFFF = (SELECT id FROM documents_set_keys WHERE key = ?))
                            """,
                        arguments: [key])
                    #expect(throws: ProjectorError.self, "\(key)") { try projection.verify(db) }
                    return .rollback
                }
            }
            try projection.verify(db)
        }
    }

    /// A store built from zero is verified once it is live (in the background); until then,
    /// and if its sets were ever found to differ from the index, queries do not use them.
    @Test func aFirstBuildIsVerifiedOnceLiveAndOnlyAVerifiedStoreAnswersFromSets() async throws {
        let fixture = try SearchFixture(SearchFixture.packages)
        for i in 0..<40 { try await fixture.add("p\(i)", ["name": "alpha\(i)", "body": "beta gamma", "section": "libs"]) }
        try await fixture.host.catchUp()
        let store = fixture.host.runners[0].store
        #expect(try await store.checkpoint()?.verified == true, "checked at the end of the catch-up")
        // Sets that lie (the set of all documents loses one): an unverified store answers from
        // FTS5 alone, and the next verification refuses the store.
        try await store.pool.write { db in
            try db.execute(sql: "UPDATE projector_checkpoint SET verified = 0")
            try db.execute(sql: "DELETE FROM documents_sets")
        }
        #expect(try await fixture.index.search(SearchRequest(query: "beta")).total == 40)
        try await fixture.add("p40", ["name": "late", "body": "beta", "section": "libs"])
        // Live, the check runs in the background once the runner is at the head.
        let running = Task { try await fixture.host.run(only: nil, until: nil) }
        defer { running.cancel() }
        try await waitUntil { try await store.checkpoint()?.state == .failed }
        let checkpoint = try #require(try await store.checkpoint())
        #expect(!checkpoint.verified)
        #expect(checkpoint.lastError?.hasPrefix("verification of the first build failed: document set") == true)
        #expect(try await fixture.index.search(SearchRequest(query: "beta")).total == 41)
    }

    /// A generation written before document sets existed stays live while its successor is
    /// built: it must still answer, through FTS5 alone.
    @Test func aStoreWithoutSetsIsSearchedThroughFTS5Alone() async throws {
        let fixture = try SearchFixture(SearchFixture.packages)
        try await fixture.add("p1", ["name": "alpha", "body": "beta gamma", "section": "libs"])
        try await fixture.host.catchUp()
        try await fixture.host.runners[0].store.pool.write { db in
            try db.execute(sql: "DROP TABLE \(DocumentSets.table); DROP TABLE \(DocumentSets.keys)")
        }
        let result = try await fixture.search("beta ", facets: ["section"])
        #expect(result.total == 1 && result.facets["section"] == ["libs": 1])
    }

    /// The phrase rerank decides "these words, in order" from the text with the index's own
    /// tokenizer, so it folds case and diacritics and skips punctuation exactly as MATCH does.
    @Test func phraseCheckTokenizesAsTheIndexDoes() throws {
        let tokenizer = try Self.unicode61()
        let phrase = { tokenizer.tokens($0, query: true) }
        #expect(tokenizer.contains(phrase("cafe au"), in: "Un CAFÉ, au lait"))
        #expect(tokenizer.contains(phrase("the the"), in: "and the the end"))
        #expect(tokenizer.contains(phrase("a a b"), in: "a a a b"))
        #expect(tokenizer.contains(phrase("x86 64"), in: "built for x86_64/Linux"))
        #expect(!tokenizer.contains(phrase("au cafe"), in: "Un café au lait"))
        #expect(!tokenizer.contains(phrase("the end"), in: "the ending"))
        #expect(!tokenizer.contains(phrase("a b"), in: "a c b"))
        #expect(!tokenizer.contains([], in: "anything"))
    }

    /// Highlights skip a field when the byte scan says none of the query's words is in it: the
    /// scan must find exactly the words the tokenizer itself would, whatever the text holds.
    @Test func theWordScanFindsWhatTheTokenizerFinds() throws {
        let tokenizer = try Self.unicode61()
        var random = Seeded(state: 11)
        for text in Self.mixedTexts(&random) {
            let tokens = tokenizer.tokens(text)
            var words = TextTokenizer.QueryWords()
            var probes: [(word: String, prefix: Bool)] = []
            for _ in 0..<4 {
                let candidates = tokens + ["editor", "cafe", "ecole", "file", "zzz", "vim", "x86", "don"]
                let word = candidates.randomElement(using: &random)!
                let prefix = Bool.random(using: &random)
                let probe = prefix ? String(word.prefix(Int.random(in: 1...max(1, word.count), using: &random))) : word
                if words.index(of: probe, prefix: prefix) == probes.count { probes.append((probe, prefix)) }
            }
            // The tokenizer's own walk says where each word first is.
            var matcher = PhraseMatcher(phrases: probes.map { [$0.word] }, prefixes: probes.map(\.prefix))
            tokenizer.scan(text, quick: false, with: &matcher)
            let expected = probes.indices.map { index in
                matcher.hits.first { $0.phrase == index }.map { matcher.spans[$0.first].start } ?? -1
            }
            #expect(tokenizer.firstOffsets(of: words, in: text) == expected, "\(text.debugDescription) \(probes)")
        }
    }

    /// Highlights split ASCII words themselves and hand the rest to unicode61: the same tokens at
    /// the same places as unicode61 alone.
    @Test func quickSplittingGivesTheTokenizersTokens() throws {
        let tokenizer = try Self.unicode61()
        var random = Seeded(state: 3)
        for text in Self.mixedTexts(&random) {
            let tokens = tokenizer.tokens(text)
            let distinct = Array(Set(tokens))
            func walk(quick: Bool) -> PhraseMatcher {
                var matcher = PhraseMatcher(phrases: distinct.map { [$0] }, prefixes: distinct.map { _ in false })
                tokenizer.scan(text, quick: quick, with: &matcher)
                return matcher
            }
            let (quick, real) = (walk(quick: true), walk(quick: false))
            #expect(quick.hits.map { distinct[$0.phrase] } == tokens, "\(text.debugDescription)")
            #expect(quick.hits.map(\.first) == real.hits.map(\.first) && quick.spans.elementsEqual(real.spans) { $0 == $1 })
        }
    }

    /// A unicode61 tokenizer as the index makes it (no connection needed once made).
    static func unicode61() throws -> TextTokenizer {
        try #require(try DatabaseQueue().read { TextTokenizer(.unicode61, db: $0) })
    }

    /// 300 texts of words with capitals, accents, scripts without case, digits and long runs,
    /// between ASCII and other separators.
    static func mixedTexts(_ random: inout Seeded) -> [String] {
        let pieces = [
            "Crème", "CAFÉ", "naïve", "東京", "foo—bar", "x86_64", "Editor", "editors", "e\u{301}cole", "TEXT", "2024",
            "ﬁle", String(repeating: "z", count: 300) + "editor", "don't", "<b>vim</b>", "vim.", "Ünïcode",
        ]
        let separators = [" ", ", ", "\n", "/", "-", "…", "\u{a0}", ""]
        return (0..<300).map { _ in
            (0..<Int.random(in: 0..<12, using: &random)).map { _ in
                pieces.randomElement(using: &random)! + separators.randomElement(using: &random)!
            }.joined()
        }
    }
}
