import Foundation
import GRDB
import Logging
import ProjectorCore
import ProjectorDemo
import ProjectorHost
import ProjectorSQLite
import ProjectorSearch
import ProjectorSpecs
import ProjectorTesting
import Testing

/// Searches over the bundled sample of real Debian events, with the example spec the
/// quickstart uses.
@Suite(.serialized) struct SampleSearchTests {
    /// Built once, by the first test that asks, without blocking a thread of the cooperative
    /// pool (a blocked one of its two threads stalled every test running meanwhile).
    static let shared = Task<(TemporaryFolder, SearchIndex), any Error> {
        let folder = TemporaryFolder()
        let log = try SQLiteEventLog(path: folder.file("events.sqlite"))
        _ = try await EventImporter(log: log).importLines(from: FileHandle(forReadingFrom: SampleData.eventsURL!))
        let files = try SampleData.installExamples(into: folder.file("projections"))
        let projection = try ProjectionCatalog.spec(at: files.first { $0.hasSuffix("packages.yml") }!) as! SearchProjection
        var logger = Logger(label: "test")
        logger.logLevel = .critical
        let host = try ProjectorHost(log: log, projections: [projection], storesFolder: folder.file("stores"), logger: logger)
        try await host.catchUp()
        return (folder, SearchIndex(spec: projection.spec, reader: host.runners[0].store.pool))
    }

    static func index() async throws -> SearchIndex { try await shared.value.1 }

    @Test(arguments: [
        ("compresion ", "compression"), ("libary ", "library"), ("pyhton ", "python"),
        ("documantation ", "documentation"),
    ])
    func typosAreCorrectedFromTheIndexVocabulary(typo: String, fixed: String) async throws {
        let result = try await Self.index().search(SearchRequest(query: typo))
        #expect(result.suggestion == fixed)
        #expect(result.corrected == true && result.total > 0)
    }

    @Test func shortWordsAndKnownWordsAreLeftAlone() async throws {
        #expect(try await Self.index().search(SearchRequest(query: "pyt ")).suggestion == nil, "3 letters: no typo allowed")
        #expect(try await Self.index().search(SearchRequest(query: "python ")).suggestion == nil)
        let noFix = try await Self.index().search(SearchRequest(query: "compresion ", autocorrect: false))
        #expect(noFix.total == 0 && noFix.suggestion == "compression" && noFix.corrected == nil)
    }

    @Test func htmlDocumentsAreSearchable() async throws {
        let result = try await Self.index().search(SearchRequest(query: "zlib usage example"))
        #expect(result.total >= 0)
        let docs = try await Self.index().search(SearchRequest(query: "stylesheet ", limit: 50))
        #expect(docs.hits.allSatisfy { !($0.highlights["page"] ?? "").contains("<script") })
    }

    @Test func atLeastAHundredHostileQueriesNeverError() async throws {
        var queries: [String] = [
            "", " ", "\"", "\"\"", "\"unclosed phrase", "unbalanced \" quote", "(", ")", "((", "a)", "[x]", "{}", "*",
            "**", "a*", "*a", "-", "--", "-a", "- a", "a -", "a - b", ":", "a:", ":a", "title:vim", "name:", "col:(x",
            "AND", "OR", "NOT", "a AND", "OR a", "NOT a", "a NOT", "AND OR NOT", "a OR OR b", "NEAR(a b)", "NEAR(",
            "a NEAR b", "^a", "a^", "+a", "a+b", "c++", "e-mail", "it's", "don't stop", "o'reilly's", "'", "''", "`",
            "\\", "\\\"", "%", "%%", "_", "a%b", "';--", "1' OR '1'='1", "DROP TABLE documents;", "\u{0}", "a\u{0}b",
            "\u{1}\u{2}\u{3}", "\t\n\r", "\u{7F}", "\u{FEFF}vim", "\u{200B}", "\u{E000}mark\u{E001}", "😀", "😀 vim",
            "vim😀", "👩‍👩‍👧", "🏳️‍🌈 flag", "日本語", "テキスト", "한국어", "العربية", "עברית", "Ελληνικά", "кириллица",
            "Straße", "ﬁdélité", "İstanbul", "e\u{301}", "café", "CAFÉ", "ǅemal", "1.2.3", "v1.2.3-rc1", "0x1F",
            "-1", "3.14", "1e10", "NaN", "null", "true", "{\"a\":1}", "[1,2]", "<script>alert(1)</script>",
            "<b>bold</b>", "&amp;", "&lt;", "%00", "%s%s%s", "{{template}}", "$(rm -rf /)", "`cmd`", "a/b", "/", "//",
            "\\\\server", "http://example.com/?q=1&r=2", "user@example.com", "#hashtag", "@mention", "a|b", "a&b",
            "a;b", "a,b", "a.b", "...", "…", "—", "«quoted»", "„quoted“", "\"phrase\" -excluded OR other*",
            String(repeating: "a", count: 5000), String(repeating: "a ", count: 3000), String(repeating: "\"", count: 999),
            String(repeating: "(", count: 1000), String(repeating: "-", count: 1000), String(repeating: "OR ", count: 500),
            String(repeating: "😀", count: 2000),
        ]
        var generator = SystemRandomNumberGenerator()
        let alphabet = Array("abcdefghijklmnopqrstuvwxyz -\"*():^+'.,;!?<>&%\\/\u{0}😀é日")
        for _ in 0..<60 {
            queries.append(String((0..<Int.random(in: 1...40, using: &generator)).map { _ in alphabet.randomElement(using: &generator)! }))
        }
        queries.append(String(decoding: (0..<10_240).map { _ in UInt8.random(in: 0...255, using: &generator) }, as: UTF8.self))
        #expect(queries.count >= 100)
        for query in queries {
            do {
                let result = try await Self.index().search(SearchRequest(query: query, facets: ["section"]))
                #expect(result.total >= 0)
            } catch let error as ProjectorError where error.code == .invalidQuery && error.message.hasPrefix("q: at most") {
                // Past the length or term limit: refused whole, naming the limit.
                #expect(throws: ProjectorError.self) { try SearchQuery.checkLimits(query) }
            } catch {
                Issue.record("query \(query.debugDescription.prefix(80)) threw \(error)")
            }
        }
    }

    @Test func queriesPastTheLimitsAreRefusedNamingTheLimitAndAnyWithinThemIsCheap() async throws {
        for (query, message) in [
            (String(repeating: "a", count: 513), "q: at most 512 characters, found 513"),
            (String(repeating: "a ", count: 33), "q: at most 32 terms, found 33"),
            (String(repeating: "😀", count: 600), "q: at most 512 characters, found 600"),
        ] {
            await #expect {
                _ = try await Self.index().search(SearchRequest(query: query))
            } throws: { error in
                (error as? ProjectorError)?.message == message && (error as? ProjectorError)?.code == .invalidQuery
            }
        }
        // Typo correction of words no vocabulary holds, in any script, within the limits.
        for query in [
            String(repeating: "漢", count: 512), String(repeating: "a", count: 512), String(repeating: "é", count: 500),
            (0..<32).map { _ in "zqxjkvbw" }.joined(separator: " "), String(repeating: "👩‍👩‍👧", count: 100),
        ] {
            let started = ContinuousClock.now
            _ = try await Self.index().search(SearchRequest(query: query))
            #expect(ContinuousClock.now - started < .seconds(2), "bounded: \(query.prefix(8))")
        }
    }

    @Test func aSearchPastItsDeadlineIsStoppedWithAClearError() async throws {
        let index = try await Self.index()
        let spec = index.spec
        let error = try await index.reader.read { db -> ProjectorError? in
            do {
                _ = try SearchEngine.search(
                    SearchRequest(query: "a*", facets: ["section"], raw: true), spec: spec, db: db, deadline: .now - .seconds(1))
                return nil
            } catch let error as ProjectorError {
                return error
            }
        }
        #expect(error?.code == .budgetExceeded)
        #expect(error?.message.contains("ms deadline and was stopped") == true)
    }
}
