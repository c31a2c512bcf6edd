import Foundation
import GRDB
import ProjectorSQLite
import ProjectorTesting
import Testing

@Suite struct ProjectionStoreTests {
    let folder = TemporaryFolder()

    /// A store whose rows were written out of order and rewritten (as a build from zero of
    /// updated documents does) is rewritten densely, same rows; a dense one is left alone.
    @Test func compactingAFragmentedStoreShrinksItAndKeepsEveryRow() async throws {
        let store = try ProjectionStore(name: "docs", path: folder.file("docs.sqlite"))
        try await store.pool.write { db in
            try db.execute(sql: "CREATE TABLE docs(id INTEGER PRIMARY KEY, body TEXT NOT NULL)")
            // Random ids split pages; every row then rewritten shorter leaves them part empty.
            var random = SystemRandomNumberGenerator()
            for id in (0..<20_000).shuffled(using: &random) {
                try db.execute(sql: "INSERT INTO docs VALUES (?, ?)", arguments: [id, String(repeating: "x", count: 300)])
            }
            try db.execute(sql: "UPDATE docs SET body = substr(body, 1, 40)")
        }
        let rows = { try await store.pool.read { db in try Row.fetchAll(db, sql: "SELECT * FROM docs ORDER BY id") } }
        let before = try await rows()
        let size = { try await store.pool.read { db in try Int.fetchOne(db, sql: "PRAGMA page_count")! } }
        let pages = try await size()

        #expect(try await store.compact())
        #expect(try await size() < pages / 2)
        #expect(try await rows() == before)
        #expect(try await !store.compact(), "a dense store is not rewritten again")
    }
}
