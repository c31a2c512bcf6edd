import Foundation
import ProjectorCore
import ProjectorHost
import ProjectorSQLite
import ProjectorSearch
import Testing

/// A partitioned index answers every part of a query from one tenant's documents.
@Suite struct TenantSearchTests {
    static var spec: [String: Any] {
        [
            "name": "notes", "kind": "search", "id": "$.data.id", "tenant": true,
            "fields": [
                "title": ["path": "$.data.title", "weight": 5],
                "body": ["path": "$.data.body"],
                "label": ["path": "$.data.label", "filter": true],
            ],
            "delete": ["NoteDeleted"],
        ]
    }

    /// A small seeded generator, so a failing case can be replayed.
    struct Generator: RandomNumberGenerator {
        var state: UInt64
        mutating func next() -> UInt64 {
            state &+= 0x9E37_79B9_7F4A_7C15
            var z = state
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
    }

    struct Note {
        var tenant: String
        var id: String
        var title: String
        var body: String
        var label: String
    }

    static func append(_ notes: [Note], to fixture: SearchFixture) async throws {
        for note in notes {
            let data = try JSONSerialization.data(
                withJSONObject: ["id": note.id, "title": note.title, "body": note.body, "label": note.label], options: [.sortedKeys])
            _ = try await fixture.log.append([
                ProposedEvent(
                    stream: "note-\(note.tenant)-\(note.id)", type: "NoteWritten", data: String(decoding: data, as: UTF8.self),
                    metadata: "{\"tenant\":\(JSONString.quote(note.tenant))}")
            ])
        }
    }

    /// Random tenants with words of their own and shared ones, the same document ids in
    /// several tenants, and queries of every kind (other tenants' words, typos of them, hostile
    /// text): no answer for a tenant holds, counts, facets, highlights or suggests anything
    /// only another tenant has.
    @Test(arguments: [1, 2, 3] as [UInt64])
    func noAnswerLeaksAnotherTenantsDocuments(seed: UInt64) async throws {
        var random = Generator(state: seed)
        let tenants = (0..<Int.random(in: 3...5, using: &random)).map { "tenant\($0)" }
        let shared = ["report", "meeting", "budget", "invoice", "travel"]
        // Each tenant's own words: long enough to be corrected when mistyped.
        var own: [String: [String]] = [:]
        for tenant in tenants {
            own[tenant] = (0..<6).map { _ in
                String((0..<Int.random(in: 6...9, using: &random)).map { _ in "abcdefghijklmnopqrstuvwxyz".randomElement(using: &random)! })
            }
        }
        var notes: [Note] = []
        for tenant in tenants {
            for number in 0..<Int.random(in: 5...25, using: &random) {
                let words = (0..<6).map { _ in
                    Bool.random(using: &random) ? shared.randomElement(using: &random)! : own[tenant]!.randomElement(using: &random)!
                }
                notes.append(
                    Note(
                        tenant: tenant, id: "n\(number)", title: words.prefix(2).joined(separator: " "),
                        body: words.joined(separator: " "), label: "\(tenant)-label\(number % 3)"))
            }
        }
        let fixture = try SearchFixture(Self.spec)
        try await Self.append(notes, to: fixture)
        try await fixture.host.catchUp()
        let allOwn = Set(own.values.joined())
        for tenant in tenants {
            let mine = notes.filter { $0.tenant == tenant }
            let myWords = Set(mine.flatMap { ($0.title + " " + $0.body).split(separator: " ").map(String.init) })
            let theirs = allOwn.subtracting(myWords)
            var queries = ["", "report", "budget invoice", "\"meeting budget\"", "rep", "-travel", "a OR b", "\"", "*", "NOT", ":-'"]
            for word in theirs.shuffled(using: &random).prefix(4) {
                queries.append(word)
                queries.append(String(word.dropLast()))  // a typo of another tenant's word
                queries.append(String(word.prefix(3)))
            }
            for query in queries {
                let result = try await fixture.index.search(
                    SearchRequest(query: query, limit: 1000, facets: ["label"], tenant: tenant))
                let ids = Set(mine.map(\.id))
                for hit in result.hits {
                    #expect(ids.contains(hit.id), "tenant \(tenant), query '\(query)': hit \(hit.id) is not the tenant's")
                    #expect(hit.fields["tenant"] == nil)
                    let text = hit.fields.values.joined(separator: " ") + hit.highlights.values.joined(separator: " ")
                    for word in theirs { #expect(!text.contains(word), "tenant \(tenant), query '\(query)': '\(word)' shown") }
                }
                #expect(result.total <= mine.count)
                #expect(result.hits.count == min(result.total, 1000), "total \(result.total) for \(result.hits.count) hits")
                for value in (result.facets["label"] ?? [:]).keys {
                    #expect(value.hasPrefix(tenant + "-"), "tenant \(tenant), query '\(query)': facet value \(value)")
                }
                if let suggestion = result.suggestion {
                    for word in suggestion.split(separator: " ") where allOwn.contains(String(word)) {
                        #expect(myWords.contains(String(word)), "tenant \(tenant), query '\(query)': suggested '\(word)'")
                    }
                }
            }
            // Totals are the tenant's own: a shared word counts this tenant's documents only.
            let report = try await fixture.index.search(SearchRequest(query: "report ", limit: 0, tenant: tenant))
            #expect(report.total == mine.filter { ($0.title + " " + $0.body).contains("report") }.count)
        }
    }

    @Test func sameIdsInTwoTenantsAreTwoDocumentsAndDeletesStayWithinTheirTenant() async throws {
        let fixture = try SearchFixture(Self.spec)
        try await Self.append(
            [
                Note(tenant: "acme", id: "1", title: "quarterly plan", body: "acme body", label: "x"),
                Note(tenant: "globex", id: "1", title: "quarterly plan", body: "globex body", label: "y"),
            ], to: fixture)
        _ = try await fixture.log.append([
            ProposedEvent(stream: "note-acme-1", type: "NoteDeleted", data: #"{"id":"1"}"#, metadata: #"{"tenant":"acme"}"#)
        ])
        try await fixture.host.catchUp()
        let acme = try await fixture.index.search(SearchRequest(query: "quarterly", tenant: "acme"))
        let globex = try await fixture.index.search(SearchRequest(query: "quarterly", tenant: "globex"))
        #expect(acme.total == 0)
        #expect(globex.total == 1)
        #expect(globex.hits.first?.id == "1")
        #expect(globex.hits.first?.fields["body"] == "globex body")
    }

    @Test func aPartitionedIndexNeedsATenantAndAnOtherIndexRefusesOne() async throws {
        let fixture = try SearchFixture(Self.spec)
        try await fixture.host.catchUp()
        await #expect(throws: ProjectorError.self) { try await fixture.index.search(SearchRequest(query: "plan")) }
        await #expect(throws: ProjectorError.self) {
            try await fixture.index.search(SearchRequest(query: "plan", filters: [("tenant", "acme")], tenant: "globex"))
        }
        let plain = try SearchFixture(SearchFixture.packages)
        try await plain.host.catchUp()
        await #expect(throws: ProjectorError.self) { try await plain.index.search(SearchRequest(query: "vim", tenant: "acme")) }
    }

    /// A purge removes the tenant's documents, leaves the others, and a rebuild from zero
    /// (the purge event is in the log) does not bring them back; later documents are kept.
    @Test func aPurgedTenantStaysGoneAfterARebuildFromZero() async throws {
        let fixture = try SearchFixture(Self.spec)
        try await Self.append(
            [
                Note(tenant: "acme", id: "1", title: "secret roadmap", body: "acme plans", label: "x"),
                Note(tenant: "acme", id: "2", title: "roadmap two", body: "more acme plans", label: "x"),
                Note(tenant: "globex", id: "1", title: "roadmap", body: "globex plans", label: "y"),
            ], to: fixture)
        _ = try await fixture.log.append([TenantPurge.event("acme")])
        try await Self.append([Note(tenant: "acme", id: "3", title: "fresh start", body: "after the purge", label: "x")], to: fixture)
        try await fixture.host.catchUp()
        func totals() async throws -> (acme: Int, fresh: Int, globex: Int) {
            (
                try await fixture.index.search(SearchRequest(query: "roadmap", tenant: "acme")).total,
                try await fixture.index.search(SearchRequest(query: "fresh", tenant: "acme")).total,
                try await fixture.index.search(SearchRequest(query: "roadmap", tenant: "globex")).total
            )
        }
        #expect(try await totals() == (0, 1, 1))
        _ = try await fixture.host.rebuild("notes")
        #expect(try await totals() == (0, 1, 1))
    }
}
