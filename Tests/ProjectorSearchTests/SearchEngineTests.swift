import Foundation
import GRDB
import ProjectorCore
import ProjectorHost
import ProjectorSQLite
import ProjectorTesting
import Synchronization
import Testing

@testable import ProjectorSearch

@Suite struct SearchEngineTests {
    @Test func aNameMatchBeatsABodyMatch() async throws {
        let fixture = try SearchFixture(SearchFixture.packages)
        try await fixture.add("p-1", ["name": "editor-tools", "body": "vim vim vim is mentioned here often, vim"])
        try await fixture.add("p-2", ["name": "vim", "body": "a text editor"])
        try await fixture.add("p-3", ["name": "nano", "body": "not vim"])
        let result = try await fixture.search("vim ")
        #expect(result.hits.first?.id == "p-2")
        #expect(result.total == 3)
    }

    /// Words rank by bm25 (frequency and length, not proximity); quoted, they must be a phrase.
    @Test func wordsRankByBM25AndAQuotedPhraseMatchesOnlyThePhrase() async throws {
        let fixture = try SearchFixture(SearchFixture.packages)
        try await fixture.add("scattered", ["name": "a", "body": "the editor is a fine program for text and more text"])
        try await fixture.add("phrase", ["name": "b", "body": "a text editor"])
        try await fixture.add("scattered-2", ["name": "c", "body": "editor editor text text"])
        let words = try await fixture.search("text editor ")
        #expect(words.hits.map(\.id) == ["scattered-2", "phrase", "scattered"])
        let phrase = try await fixture.search("\"text editor\" ")
        #expect(phrase.hits.map(\.id) == ["phrase"])
    }

    @Test func highlightsAreEscapedWithOnlyMarkAdded() async throws {
        let fixture = try SearchFixture(SearchFixture.packages)
        try await fixture.add("x", ["name": "xss", "body": #"<script>alert("vim")</script> & vim's <b>bold</b>"#])
        let result = try await fixture.search("vim ")
        let body = try #require(result.hits.first?.highlights["body"])
        #expect(body.contains("<mark>vim</mark>"))
        #expect(!body.contains("<script>") && !body.contains("<b>"))
        #expect(body.contains("&lt;script&gt;") && body.contains("&amp;") && body.contains("&#39;"))
        let stripped = body.replacingOccurrences(of: "<mark>", with: "").replacingOccurrences(of: "</mark>", with: "")
        #expect(!stripped.contains("<") && !stripped.contains(">"))
    }

    /// Highlights come from the stored text and the index's tokenizer: the window of 24 tokens
    /// with the most distinct terms, ellipses where it was cut, marks on whole matches only.
    @Test func highlightsShowTheBestWindowWithEveryKindOfMatch() async throws {
        let fixture = try SearchFixture(SearchFixture.packages)
        let filler = (1...40).map { "w\($0)" }
        let body = (filler.prefix(20) + ["Crème", "brûlée", "recipes", "for", "a", "crème", "caramel"] + filler.suffix(20))
            .joined(separator: " ")
        try await fixture.add("long", ["name": "desserts", "body": body])
        let both = try #require(try await fixture.search("creme rec").hits.first?.highlights["body"])
        #expect(both.hasPrefix("…") && both.hasSuffix("…"))
        #expect(both.contains("<mark>Crème</mark> brûlée <mark>recipes</mark>"))
        #expect(both.contains("a <mark>crème</mark> caramel"))
        #expect(!both.contains("w1 ") && !both.contains("w40"))
        let phrase = try #require(try await fixture.search(#""creme caramel""#).hits.first?.highlights["body"])
        #expect(phrase.contains("<mark>crème caramel</mark>") && !phrase.contains("<mark>Crème</mark>"))
        try await fixture.add("short", ["name": "tart", "body": "Crème tart."])
        let short = try await fixture.search("tart ").hits.first { $0.id == "short" }
        #expect(short?.highlights == ["name": "<mark>tart</mark>", "body": "Crème <mark>tart</mark>."])
    }

    /// Terms far apart in a long field: the walk looks on for a window holding them all only so
    /// far (``PhraseMatcher/patience`` tokens) past the point where each was seen.
    @Test func aHighlightLooksForAllTermsTogetherOnlySoFarPastWhereEachWasSeen() async throws {
        let fixture = try SearchFixture(SearchFixture.packages)
        func filler(_ count: Int, _ tag: String) -> String { (1...count).map { "\(tag)\($0)" }.joined(separator: " ") }
        let near = [filler(10, "a"), "alpha", filler(50, "b"), "omega", filler(500, "c"), "alpha omega", filler(10, "d")]
        let far = [filler(10, "a"), "alpha", filler(50, "b"), "omega", filler(1_200, "c"), "alpha omega", filler(10, "d")]
        try await fixture.add("near", ["name": "n", "body": near.joined(separator: " ")])
        try await fixture.add("far", ["name": "f", "body": far.joined(separator: " ")])
        let hits = try await fixture.search("alpha omega ").hits
        let nearBody = try #require(hits.first { $0.id == "near" }?.highlights["body"])
        #expect(nearBody.contains("<mark>alpha</mark> <mark>omega</mark>"), "found within the patience")
        let farBody = try #require(hits.first { $0.id == "far" }?.highlights["body"])
        #expect(farBody.contains("<mark>alpha</mark>") && !farBody.contains("<mark>alpha</mark> <mark>omega</mark>"))
    }

    /// A highlight skips a text without the query's words and starts its walk shortly before the
    /// first of them: it must give exactly what a walk from the start gives.
    @Test func lookingAheadForTheWordsChangesNoHighlight() throws {
        let spec = try decodeSpec(SearchSpec.self, SearchFixture.packages, file: "test.yml")
        let db = try DatabaseQueue()
        try db.write { try $0.execute(sql: "CREATE VIRTUAL TABLE probe USING fts5(x)") }
        let pieces = ["alpha", "Omega", "crème", "brûlée", "x86_64", "—", "delta-omega", "w1", "w2", "w3", "<b>", "Ünïcode", "2024"]
        var random = DocumentSetTests.Seeded(state: 5)
        let queries = ["alpha ", "omega alp", "\"creme brulee\" ", "x86 delta", "\"alpha omega\" ", "unicode 2024 ", "zeta "]
        try db.read { db in
            for _ in 0..<200 {
                let count = Int.random(in: 0..<400, using: &random)
                let text = (0..<count).map { _ in
                    Bool.random(using: &random) ? "w\(Int.random(in: 1...9, using: &random))" : pieces.randomElement(using: &random)!
                }.joined(separator: Bool.random(using: &random) ? " " : ", ")
                let query = SearchQuery(parsing: queries.randomElement(using: &random)!)
                let quick = try #require(Highlighter(query: query, spec: spec, db: db))
                let slow = try #require(Highlighter(query: query, spec: spec, db: db, lookingAhead: false))
                #expect(quick.html(text) == slow.html(text), "\(query) in \(text.debugDescription)")
            }
        }
    }

    /// An application chooses what each hit carries; long values are cut at a word, highlights
    /// still come from the whole text, and a page of huge values stops at the size bound.
    @Test func answersCarryTheFieldsAskedForCroppedAndBounded() async throws {
        let fixture = try SearchFixture(SearchFixture.packages)
        let long = (1...200).map { "word\($0)" }.joined(separator: " ") + " needle"
        try await fixture.add("p", ["name": "tool", "body": long, "section": "utils"])
        try await fixture.host.catchUp()
        let chosen = try await fixture.index.search(SearchRequest(query: "needle ", fields: ["name", "section"], highlight: ["body"]))
        let hit = try #require(chosen.hits.first)
        #expect(hit.fields == ["name": "tool", "section": "utils"])
        #expect(hit.highlights.keys.sorted() == ["body"] && hit.highlights["body"]!.contains("<mark>needle</mark>"))
        let cropped = try #require(try await fixture.index.search(SearchRequest(query: "needle ", crop: 40)).hits.first?.fields["body"])
        #expect(cropped == "word1 word2 word3 word4 word5 word6…", "cut at the last word that fits, marked")
        let whole = try await fixture.index.search(SearchRequest(query: "needle ", crop: 0))
        #expect(whole.hits.first?.fields["body"] == long)
        let none = try await fixture.index.search(SearchRequest(query: "needle ", fields: [], highlight: []))
        #expect(none.hits.first.map { $0.fields.isEmpty && $0.highlights.isEmpty } == true)
        for bad in [SearchRequest(query: "x", fields: ["nope"]), SearchRequest(query: "x", highlight: ["section"])] {
            await #expect { _ = try await fixture.index.search(bad) } throws: { error in
                (error as? ProjectorError).map {
                    $0.code == .invalidQuery && $0.message.contains("nope") || $0.message.contains("'section' is not a text field")
                } == true
            }
        }

        // Three hits of 1.5 MB each, whole: the third would pass the 4 MiB bound. (Long words
        // keep the test fast.)
        let huge = "bulk " + String(repeating: String(repeating: "y", count: 999) + " ", count: 1500)
        for i in 0..<3 { try await fixture.add("big\(i)", ["name": "big", "body": huge]) }
        try await fixture.host.catchUp()
        let bounded = try await fixture.index.search(SearchRequest(query: "bulk ", crop: 0))
        #expect(bounded.total == 3 && bounded.hits.count == 2 && bounded.truncated == true)
        let cut = try await fixture.index.search(SearchRequest(query: "bulk "))
        #expect(cut.hits.count == 3 && cut.truncated == nil && cut.hits.allSatisfy { $0.fields["body"]!.count <= 301 })
    }

    @Test func htmlFieldsAreIndexedAsText() async throws {
        let fixture = try SearchFixture(SearchFixture.packages)
        try await fixture.add(
            "doc",
            ["name": "manual", "html": "<head><title>t</title></head><script>secretword()</script><p>first</p><p>second&amp;third</p>"])
        #expect(try await fixture.search("secretword ").total == 0, "script text is not indexed")
        #expect(try await fixture.search("firstsecond ").total == 0, "blocks are separate words")
        #expect(try await fixture.search("second ").total == 1)
        #expect(try await fixture.search("third ").total == 1, "entities decoded")
    }

    @Test func mergeKeepsAbsentFieldsAndDeleteRemoves() async throws {
        let fixture = try SearchFixture(SearchFixture.packages)
        try await fixture.add("pkg", ["name": "zstd", "body": "fast compression", "section": "utils"])
        try await fixture.add("pkg", type: "Changed", ["body": "fast lossless compression algorithm"])
        var result = try await fixture.search("zstd ")
        #expect(result.total == 1, "the name survived a merge that did not carry it")
        #expect(result.hits[0].fields["body"] == "fast lossless compression algorithm")
        #expect(result.hits[0].fields["section"] == "utils")
        #expect(try await fixture.search("lossless ").total == 1)
        try await fixture.add("pkg", type: "Changed", ["section": "archivers"])
        result = try await fixture.search("zstd", filters: [("section", "archivers")])
        #expect(result.total == 1)
        #expect(try await fixture.search("zstd", filters: [("section", "utils")]).total == 0)
        try await fixture.add("pkg", type: "Removed", [:])
        #expect(try await fixture.search("zstd ").total == 0)
        #expect(try await fixture.search("compression ").total == 0, "no stale tokens left behind")
        try await fixture.host.runners[0].store.pool.write { db in
            try db.execute(sql: "INSERT INTO documents_fts(documents_fts, rank) VALUES('integrity-check', 1)")
        }
    }

    /// A rebuild-sized batch is prepared on another thread while it is written: merges and
    /// deletes across its chunks must land exactly as when every event is applied on its own.
    @Test func aLargeBatchIndexesExactlyWhatEventByEventApplicationDoes() throws {
        let projection = SearchProjection(spec: try decodeSpec(SearchSpec.self, SearchFixture.packages, file: "test.yml"))
        let events = (1...1_200).map { position -> RecordedEvent in
            let stream = "pkg-\(position * 7 % 40)"
            let (type, data): (String, String) =
                switch position % 9 {
                case 0: ("Removed", "{}")
                case 1, 4: ("Changed", #"{"body":"revised text \#(position) compression"}"#)
                case 2: ("Changed", #"{"section":"s\#(position % 3)"}"#)
                case 3: ("Published", #"{"name":"tool\#(position % 50)","html":"<p>page \#(position)</p><script>x()</script>"}"#)
                default: ("Published", #"{"name":"lib\#(position % 60)","body":"library \#(position)\u0007 bell","section":"libs"}"#)
                }
            return RecordedEvent(
                position: Int64(position), id: UUID(), stream: stream, version: 1, type: type, data: data,
                time: EventTime.format(epochMilliseconds: 1_700_000_000_000 + Int64(position)))
        }
        func indexed(_ batches: [[RecordedEvent]]) throws -> [[String?]] {
            let db = try DatabaseQueue()
            return try db.write { db in
                try projection.setUp(db)
                for batch in batches { try projection.apply(batch, db) }
                try db.execute(sql: "INSERT INTO documents_fts(documents_fts, rank) VALUES ('integrity-check', 1)")
                let documents = try Row.fetchAll(
                    db, sql: "SELECT doc_id, CAST(position AS TEXT), name, body, page, section, updated FROM documents ORDER BY doc_id"
                )
                .map { row in (0..<7).map { row[$0] as String? } }
                let matches = try ["compression", "library", "page", "tool1*", "bell"].map { term in
                    try String.fetchAll(
                        db, sql: "SELECT doc_id FROM documents JOIN documents_fts(?) f ON f.rowid = documents.rowid ORDER BY doc_id",
                        arguments: [term])
                }
                return documents + matches.map { $0 as [String?] }
            }
        }
        let together = try indexed([events])
        #expect(together == (try indexed(events.map { [$0] })))
        #expect(together.count > 5)
    }

    @Test func filtersFacetsTotalsAndPaging() async throws {
        let fixture = try SearchFixture(SearchFixture.packages)
        for i in 0..<25 {
            try await fixture.add("p\(i)", ["name": "lib\(i)", "body": "library number \(i)", "section": i % 3 == 0 ? "libs" : "devel"])
        }
        let all = try await fixture.search("library ", limit: 10, facets: ["section"])
        #expect(all.total == 25 && all.hits.count == 10)
        #expect(all.facets["section"] == ["libs": 9, "devel": 16])
        let page3 = try await fixture.index.search(SearchRequest(query: "library ", limit: 10, offset: 20))
        #expect(page3.hits.count == 5)
        let filtered = try await fixture.search("library ", filters: [("section", "libs")], facets: ["section"])
        #expect(filtered.total == 9 && filtered.facets["section"] == ["libs": 9])
        let browse = try await fixture.search("", limit: 3)
        #expect(browse.total == 25 && browse.hits.count == 3)
        await #expect(throws: ProjectorError.self) { _ = try await fixture.search("x", filters: [("nope", "1")]) }
        await #expect(throws: ProjectorError.self) { _ = try await fixture.search("x", facets: ["nope"]) }
        let excluded = try await fixture.search("library -number")
        #expect(excluded.total == 0)
    }

    @Test func prefixMatchesAsYouType() async throws {
        let fixture = try SearchFixture(SearchFixture.packages)
        try await fixture.add("p", ["name": "postgresql", "body": "database server"])
        #expect(try await fixture.search("postg").total == 1)
        #expect(try await fixture.search("datab").total == 1)
        #expect(try await fixture.search("postg ").total == 0, "a finished word is not a prefix")
    }

    @Test func rawSyntaxOnlyWhenAskedAndValidated() async throws {
        let fixture = try SearchFixture(SearchFixture.packages)
        try await fixture.add("p", ["name": "postgresql", "body": "database server"])
        try await fixture.add("q", ["name": "escaped", "body": "a <b> & 'quoted' \"server\""])
        try await fixture.host.catchUp()
        let raw = try await fixture.index.search(SearchRequest(query: "name:postgresql OR body:nothing", raw: true))
        #expect(raw.total == 1)
        #expect(raw.hits.first?.highlights["name"] == "<mark>postgresql</mark>")
        // FTS5's own snippet() marks raw queries' matches; the text around them is escaped.
        let marked = try await fixture.index.search(SearchRequest(query: "body:server AND name:escaped", raw: true))
        #expect(marked.hits.first?.highlights["body"] == "a &lt;b&gt; &amp; &#39;quoted&#39; &quot;<mark>server</mark>&quot;")
        await #expect {
            _ = try await fixture.index.search(SearchRequest(query: "name:(", raw: true))
        } throws: { error in
            (error as? ProjectorError)?.code == .invalidQuery
        }
    }

    @Test func resultJSONHasTheDocumentedShape() async throws {
        let fixture = try SearchFixture(SearchFixture.packages)
        try await fixture.add("p", ["name": "postgresql", "body": "database server", "section": "db"])
        let result = try await fixture.search("database ", facets: ["section"])
        let json = try JSONSerialization.jsonObject(with: JSONEncoder().encode(result)) as! [String: Any]
        for key in ["index", "query", "total", "tookMs", "hits", "facets", "suggestion"] {
            #expect(json.keys.contains(key), "\(key)")
        }
        #expect(json["suggestion"] is NSNull)
        let hit = (json["hits"] as! [[String: Any]])[0]
        #expect(Set(hit.keys) == ["id", "score", "fields", "highlights"])
    }

    @Test func aSearchDuringAnImportNeverErrors() async throws {
        let fixture = try SearchFixture(SearchFixture.packages)
        try await fixture.host.catchUp()  // sets the index up
        let running = Task { try await fixture.host.run() }
        defer { running.cancel() }
        let importing = Task {
            var lines = ""
            for i in 0..<3000 {
                lines +=
                    #"{"stream":"s\#(i % 700)","type":"Published","data":{"name":"pkg\#(i)","body":"word\#(i % 50) common text"}}"# + "\n"
            }
            let path = fixture.folder.file("in.ndjson")
            try lines.write(toFile: path, atomically: true, encoding: .utf8)
            return try await EventImporter(log: fixture.log, batchSize: 100).importLines(from: FileHandle(forReadingAtPath: path)!)
        }
        var searches = 0
        var lastTotal = 0
        while true {
            let result = try await fixture.index.search(SearchRequest(query: "common tex", facets: ["section"]))
            #expect(result.total >= lastTotal || result.total <= 700)
            lastTotal = result.total
            searches += 1
            if searches > 20, (try? await fixture.host.runners[0].store.checkpoint()?.position) == 3000 { break }
            if searches > 5000 { break }
        }
        #expect(try await importing.value.appended == 3000)
        #expect(searches > 20)
    }
}
