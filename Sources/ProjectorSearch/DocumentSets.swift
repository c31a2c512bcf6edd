import Foundation
import GRDB

/// The document sets of a search index: for each frequent word, each 2- and 3-letter prefix
/// and each filter value, the rowids of the documents it occurs in, written in the projection's
/// transaction like the index itself.
///
/// Why: FTS5 answers "which documents" by walking a doclist, so an exact total, a filter or a
/// facet costs time in proportion to the hits (45 ms to count a word in 568k of 1M documents,
/// 300 ms to filter one in 79k). Sets make those set algebra on compressed bitmaps, the way
/// Meilisearch keeps a bitmap per word, prefix and facet value. FTS5 stays the index for
/// ranking, phrases and highlights.
///
/// Words and prefixes get a set once they have been seen in ``SetPromoter/threshold``
/// documents; a rarer one is answered from FTS5, which is cheap for it. Filter values and the
/// set of all documents always have one. Only the unicode61 tokenizer (the default) has sets:
/// porter's stems are not stable when tokenized again, and a trigram word is many trigrams.
enum DocumentSets {
    static let table = "documents_sets"
    static let keys = "documents_set_keys"
    static let allKey = "a:"

    static func wordKey(_ token: String) -> String { "w:" + token }
    static func prefixKey(_ prefix: String) -> String { "p:" + prefix }
    static func filterKey(_ field: String, _ value: String) -> String { "f:" + field + "\u{1}" + value }

    static func supported(_ spec: SearchSpec) -> Bool { spec.tokenizer == .unicode61 }

    static func setUp(_ db: Database) throws {
        try db.execute(
            sql: """
                CREATE TABLE \(table)(key TEXT NOT NULL, chunk INTEGER NOT NULL, bits BLOB NOT NULL,
                    PRIMARY KEY (key, chunk)) WITHOUT ROWID;
                CREATE TABLE \(keys)(key TEXT PRIMARY KEY, docs INTEGER NOT NULL) WITHOUT ROWID;
                """)
    }

    /// The stored set of `key`, or nil when the key has none.
    static func load(_ key: String, db: Database) throws -> DocumentSet? {
        guard try documentCount(key, db: db) != nil else { return nil }
        var set = DocumentSet()
        let rows = try Row.fetchCursor(
            db.cachedStatement(sql: "SELECT chunk, bits FROM \(table) WHERE key = ? ORDER BY chunk"), arguments: [key])
        while let row = try rows.next() {
            let chunk: Int64 = row[0]
            try row.withUnsafeData(atIndex: 1) { data in
                guard let data else { return }
                data.withUnsafeBytes { set.append(chunk: chunk, container: $0) }
            }
        }
        return set
    }

    /// How many documents `key` occurs in, or nil when the key has no set.
    static func documentCount(_ key: String, db: Database) throws -> Int? {
        try Int.fetchOne(db.cachedStatement(sql: "SELECT docs FROM \(keys) WHERE key = ?"), arguments: [key])
    }

    /// The values of a filter field that occur in some document (at most `limit` + 1 of them).
    static func filterValues(_ field: String, limit: Int, db: Database) throws -> [String] {
        let prefix = filterKey(field, "")
        return try String.fetchAll(
            db.cachedStatement(sql: "SELECT key FROM \(keys) WHERE key > ? AND key < ? ORDER BY key LIMIT ?"),
            arguments: [prefix, filterKey(field, "\u{10FFFF}"), limit + 1]
        ).map { String($0.dropFirst(prefix.count)) }
    }
}
