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

    /// Catching up, a commit leaves its pages in the WAL (copied every 20,000); at the head it
    /// copies them into the store file at once; compacting empties the WAL even when it does
    /// not rewrite the store.
    @Test func catchingUpCopiesTheWALLazilyAndCompactingEmptiesIt() async throws {
        let path = folder.file("docs.sqlite")
        let store = try ProjectionStore(name: "docs", path: path)
        let bytes = { (file: String) in (try FileManager.default.attributesOfItem(atPath: file)[.size] as? Int) ?? 0 }
        func commit(catchingUp: Bool) async throws {
            try await store.pool.writeWithoutTransaction { db in
                try ProjectionStore.setWALCopying(catchingUp: catchingUp, db)
                try db.inTransaction {
                    // About 2,500 pages: more than SQLite's default of 1,000 between copies.
                    try db.execute(
                        sql: """
                            CREATE TABLE IF NOT EXISTS docs(body BLOB NOT NULL);
                            WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 9000)
                            INSERT INTO docs SELECT randomblob(1000) FROM n;
                            """)
                    return .commit
                }
            }
        }
        try await commit(catchingUp: true)
        #expect(try bytes(path) < 1_000_000, "catching up, the pages stay in the WAL")
        #expect(try bytes(path + "-wal") > 9_000_000)

        #expect(try await !store.compact(), "a store written once is dense")
        #expect(try bytes(path + "-wal") == 0)
        #expect(try bytes(path) > 9_000_000)

        try await commit(catchingUp: false)
        #expect(try bytes(path) > 18_000_000, "at the head, the commit copied its pages")
    }
}
