import CFTS5
import Foundation
import GRDB
import GRDBSQLite
import ProjectorCore
import ProjectorSQLite

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
/// Words and prefixes get a set once they have been seen in ``SetCatalog/threshold``
/// documents and in 1 of ``SetCatalog/share`` of all; a rarer one is answered from FTS5, which
/// is cheap for it. So do pairs of adjacent frequent words (`g:a b`, see ``SetCatalog``).
/// Filter values and the set of all documents always have one. Only the unicode61 tokenizer
/// (the default) has sets: porter's stems are not stable when tokenized again, and a trigram
/// word is many trigrams.
///
/// Storage: one row per (chunk, key), keyed by one integer, `chunk << 32 | key id`, so a
/// transaction, whose new documents all fall in the newest chunk or two, rewrites rows that sit
/// together instead of one page per key, and a chunk is one b-tree seek (a text key beside an
/// index on it cost two, on every read and write). A set is read back with one seek per chunk.
/// The key list only grows: a key in it has a set.
enum DocumentSets {
    static let table = "documents_sets"
    static let keys = "documents_set_keys"
    /// Per chunk row of a word, prefix or pair: its members' impact codes, in member order.
    static let impacts = "documents_impacts"
    /// Per chunk: each rowid's length in tokens, two bytes little-endian (0: no document).
    static let lengths = "documents_lengths"
    static let allKey = "a:"

    static func wordKey(_ token: String) -> String { "w:" + token }
    static func prefixKey(_ prefix: String) -> String { "p:" + prefix }
    /// Two adjacent words (a token never holds a space).
    static func pairKey(_ first: String, _ second: String) -> String { "g:" + first + " " + second }
    /// The two words of a pair's key, nil for any other key.
    static func pairWords(_ key: String) -> (String, String)? {
        guard key.hasPrefix("g:") else { return nil }
        let words = key.dropFirst(2).split(separator: " ", maxSplits: 1)
        return words.count == 2 ? (String(words[0]), String(words[1])) : nil
    }
    static func filterKey(_ field: String, _ value: String) -> String { "f:" + field + "\u{1}" + value }
    /// Listed once a filter field has more than ``maxFilterValues`` values: from then on the
    /// field has no sets, and its filters and facets are answered from the documents table.
    static func openKey(_ field: String) -> String { "o:" + field }
    static let maxFilterValues = 100

    /// Whether a filter field's values have outgrown their sets.
    static func isOpen(_ field: String, db: Database) throws -> Bool { try isTracked(openKey(field), db: db) }

    /// The documents with a filter value: its set, or the documents table's index on the field.
    static func filterSet(_ field: String, _ value: String, db: Database) throws -> DocumentSet {
        if try isOpen(field, db: db) {
            return DocumentSet(
                ascending: try Int64.fetchAll(
                    db.cachedStatement(
                        sql: "SELECT rowid FROM \(SearchProjection.documents) WHERE \(field.quotedDatabaseIdentifier) = ? ORDER BY rowid"),
                    arguments: [value]))
        }
        return try load(filterKey(field, value), db: db) ?? DocumentSet()
    }

    static func supported(_ spec: SearchSpec) -> Bool { spec.tokenizer == .unicode61 }

    /// Whether queries may answer from the store's sets: it has them and passed verification
    /// (a first build reaching the head, or a rebuild); until then FTS5 alone is exact.
    static func answerQueries(_ spec: SearchSpec, db: Database) throws -> Bool {
        try supported(spec) && (try? ProjectionStore.isVerified(spec.name, db)) == true && db.tableExists(keys)
    }

    static func setUp(_ db: Database) throws {
        try db.execute(
            sql: """
                CREATE TABLE \(table)(id INTEGER PRIMARY KEY, bits BLOB NOT NULL);
                CREATE TABLE \(keys)(id INTEGER PRIMARY KEY, key TEXT NOT NULL UNIQUE);
                CREATE TABLE \(impacts)(id INTEGER PRIMARY KEY, impacts BLOB NOT NULL);
                CREATE TABLE \(lengths)(chunk INTEGER PRIMARY KEY, lengths BLOB NOT NULL);
                """)
    }

    /// The row id of one chunk of one key's set: chunk-major, as transactions write them.
    static func rowID(chunk: Int64, key id: Int64) -> Int64 { chunk << 32 | id }

    /// The id of a key with a set, or nil.
    static func id(of key: String, db: Database) throws -> Int64? {
        let statement = try db.cachedStatement(sql: "SELECT id FROM \(keys) WHERE key = ?").sqliteStatement
        defer { sqlite3_reset(statement) }
        SQLiteText.bind(statement, 1, key)
        return sqlite3_step(statement) == SQLITE_ROW ? sqlite3_column_int64(statement, 0) : nil
    }

    static func isTracked(_ key: String, db: Database) throws -> Bool { try id(of: key, db: db) != nil }

    /// The id of the newest key: it moves exactly when a set is made (or a made one rolled back).
    static func newestKeyID(_ db: Database) throws -> Int64 {
        try Int64.fetchOne(db.cachedStatement(sql: "SELECT max(id) FROM \(keys)")) ?? 0
    }

    /// The stored set of `key`, or nil when the key has none.
    static func load(_ key: String, db: Database) throws -> DocumentSet? {
        try load(key, impacts: false, db: db)?.set
    }

    /// The stored set of a word, prefix or pair with its members' impact codes, or nil when
    /// the key has none.
    static func loadWeighed(_ key: String, db: Database) throws -> Postings? {
        try load(key, impacts: true, db: db)
    }

    /// A key's chunks in order, with their impacts when asked (filter values and the set of all
    /// documents have none).
    private static func load(_ key: String, impacts withImpacts: Bool, db: Database) throws -> Postings? {
        guard let id = try id(of: key, db: db) else { return nil }
        let last = try Int64.fetchOne(db.cachedStatement(sql: "SELECT max(rowid) FROM \(SearchProjection.documents)")) ?? 0
        let bits = try db.cachedStatement(sql: "SELECT bits FROM \(table) WHERE id = ?").sqliteStatement
        let codes = withImpacts ? try db.cachedStatement(sql: "SELECT impacts FROM \(impacts) WHERE id = ?").sqliteStatement : nil
        var set = DocumentSet()
        var impacts: [[UInt8]] = []
        for chunk in 0...(last >> DocumentSet.chunkShift) {
            let row = rowID(chunk: chunk, key: id)
            sqlite3_bind_int64(bits, 1, row)
            if sqlite3_step(bits) == SQLITE_ROW {
                set.append(chunk: chunk, container: blob(bits, 0))
                if let codes {
                    sqlite3_bind_int64(codes, 1, row)
                    impacts.append(sqlite3_step(codes) == SQLITE_ROW ? Array(blob(codes, 0)) : [])
                    sqlite3_reset(codes)
                }
            }
            sqlite3_reset(bits)
        }
        return Postings(set: set, impacts: impacts)
    }

    /// The row count and average document length FTS5's bm25 uses (tokens over all text
    /// columns per row), from the index's own averages record: a varint row count, then a total
    /// per column.
    static func statistics(_ db: Database) throws -> (rows: Int, averageLength: Double) {
        guard
            let block = try Data.fetchOne(
                db.cachedStatement(sql: "SELECT block FROM \(SearchProjection.index)_data WHERE id = 1"))
        else { return (0, 1) }
        let values = block.withUnsafeBytes { varints($0) }
        guard let rows = values.first, rows > 0 else { return (0, 1) }
        return (Int(rows), Double(values.dropFirst().reduce(0, +)) / Double(rows))
    }

    /// The unit impact codes count in: the text fields' weights' greatest common divisor (to
    /// 1/1000), so a weighted frequency of whole occurrences is a whole number of units.
    static func impactUnit(_ spec: SearchSpec) -> Double {
        func gcd(_ a: Int, _ b: Int) -> Int { b == 0 ? a : gcd(b, a % b) }
        let thousandths = spec.textFields.map { max(1, Int(($0.weight * 1000).rounded())) }
        return Double(thousandths.reduce(0, gcd)) / 1000
    }

    /// What FTS5 finds for one word, prefix or phrase, in rowid order, with each document's
    /// impact code: where a word's set and impacts are built from, and what a rare term is
    /// ranked by. `below`: only rowids under it.
    static func weighed(
        _ text: String, prefix: Bool, below: Int64 = .max, spec: SearchSpec, db: Database
    ) throws -> [(rowid: Int64, impact: UInt8)] {
        try SearchEngine.registerRanking(db)
        let fts = SearchProjection.index
        let statement = try db.cachedStatement(
            sql:
                "SELECT rowid, projector_frequency(\(fts), \(SearchEngine.columnWeights(spec))) FROM \(fts) WHERE \(fts) MATCH ? AND rowid < ? ORDER BY rowid"
        )
        try statement.setArguments([SearchQuery.quote(text) + (prefix ? "*" : ""), below])
        let sqlite = statement.sqliteStatement
        defer { sqlite3_reset(sqlite) }
        let unit = impactUnit(spec)
        var members: [(rowid: Int64, impact: UInt8)] = []
        while true {
            let step = sqlite3_step(sqlite)
            if step == SQLITE_DONE { break }
            guard step == SQLITE_ROW else { throw db.error(step) }
            let frequency = sqlite3_column_double(sqlite, 1)
            members.append((sqlite3_column_int64(sqlite, 0), UInt8(projector_impact_code(frequency, unit))))
        }
        return members
    }

    /// The values of a filter field that occur in some document (at most `limit` + 1 of them).
    static func filterValues(_ field: String, limit: Int, db: Database) throws -> [String] {
        let prefix = filterKey(field, "")
        return try String.fetchAll(
            db.cachedStatement(sql: "SELECT key FROM \(keys) WHERE key > ? AND key < ? ORDER BY key LIMIT ?"),
            arguments: [prefix, filterKey(field, "\u{10FFFF}"), limit + 1]
        ).map { String($0.dropFirst(prefix.count)) }
    }

    /// How many keys of each kind verification compares with FTS5: a phrase or a short prefix
    /// costs FTS5 a walk of several doclists (344 pairs took 0.8 s on the Debian corpus).
    static let verifiedPerKind = ["w:": 256, "p:": 64, "g:": 32]

    /// Checks the sets of a store before it answers from them: the set of all documents and
    /// every filter value's set exactly, against the documents table; words, prefixes and pairs
    /// against FTS5's own lists, a sample of each (``verifiedPerKind``) spread over the key list.
    static func verify(spec: SearchSpec, db: Database) throws {
        let documents = SearchProjection.documents
        func check(_ key: String, _ expected: [Int64]) throws {
            let stored = try load(key, db: db) ?? DocumentSet()
            guard stored == DocumentSet(ascending: expected) else {
                throw ProjectorError(
                    .projectionFailed,
                    "document set \(key.debugDescription) of \(spec.name) differs from the index: \(stored.count) documents, expected \(expected.count)"
                )
            }
        }
        try check(allKey, Int64.fetchAll(db, sql: "SELECT rowid FROM \(documents) ORDER BY rowid"))
        for field in spec.filterFields where try !isOpen(field.name, db: db) {
            var byValue: [String: [Int64]] = [:]
            let rows = try Row.fetchCursor(
                db, sql: "SELECT rowid, \(field.name.quotedDatabaseIdentifier) FROM \(documents) ORDER BY rowid")
            while let row = try rows.next() {
                if let value = row[1] as String? { byValue[value, default: []].append(row[0]) }
            }
            let listed = try filterValues(field.name, limit: Int.max - 1, db: db)
            for value in Set(listed).union(byValue.keys) { try check(filterKey(field.name, value), byValue[value] ?? []) }
        }
        // Words, prefixes and pairs: each checked against FTS5's own list, a sample of each
        // kind spread over the key list (checking all would cost as much as building them).
        for (kind, verifiedPerKind) in verifiedPerKind.sorted(by: { $0.key < $1.key }) {
            let count =
                try Int.fetchOne(
                    db, sql: "SELECT count(*) FROM \(keys) WHERE key >= ? AND key < ?", arguments: [kind, kind + "\u{10FFFF}"]) ?? 0
            let step = max(1, count / verifiedPerKind)
            let sample = try String.fetchAll(
                db, sql: "SELECT key FROM \(keys) WHERE key >= ? AND key < ? ORDER BY id", arguments: [kind, kind + "\u{10FFFF}"]
            ).enumerated().filter { $0.offset % step == 0 }.map(\.element)
            for key in sample { try checkWeighed(key, prefix: kind == "p:", spec: spec, db: db) }
        }
        try verifyLengths(spec: spec, db: db)
    }

    /// A word's, prefix's or pair's stored set and impacts against FTS5's own list and weighted
    /// frequencies.
    private static func checkWeighed(_ key: String, prefix: Bool, spec: SearchSpec, db: Database) throws {
        let expected = Postings(ascending: try weighed(String(key.dropFirst(2)), prefix: prefix, spec: spec, db: db))
        let stored = try loadWeighed(key, db: db) ?? Postings(ascending: [])
        guard stored.set == expected.set else {
            throw ProjectorError(
                .projectionFailed,
                "document set \(key.debugDescription) of \(spec.name) differs from the index: \(stored.set.count) documents, expected \(expected.set.count)"
            )
        }
        guard stored.impacts == expected.impacts else {
            throw ProjectorError(.projectionFailed, "the impacts of \(key.debugDescription) in \(spec.name) differ from the index")
        }
    }

    /// Every document's stored length code against FTS5's own size record of it.
    private static func verifyLengths(spec: SearchSpec, db: Database) throws {
        let statement = try db.makeStatement(sql: "SELECT id, sz FROM \(SearchProjection.index)_docsize ORDER BY id")
        defer { withExtendedLifetime(statement) {} }
        let sizes = statement.sqliteStatement
        let stored = try db.cachedStatement(sql: "SELECT lengths FROM \(lengths) WHERE chunk = ?").sqliteStatement
        var chunk: Int64 = -1
        var known: [UInt16] = []
        while true {
            let step = sqlite3_step(sizes)
            if step == SQLITE_DONE { break }
            guard step == SQLITE_ROW else { throw db.error(step) }
            let rowid = sqlite3_column_int64(sizes, 0)
            if rowid >> DocumentSet.chunkShift != chunk {
                chunk = rowid >> DocumentSet.chunkShift
                sqlite3_bind_int64(stored, 1, chunk)
                known = sqlite3_step(stored) == SQLITE_ROW ? lengthsRow(blob(stored, 0)) : []
                sqlite3_reset(stored)
            }
            let offset = Int(rowid & Int64(DocumentSet.chunkSize - 1))
            let expected = UInt16(projector_length_code(Int64(varints(blob(sizes, 1)).reduce(0, +))))
            guard offset < known.count, known[offset] == expected else {
                throw ProjectorError(.projectionFailed, "the length of document \(rowid) in \(spec.name) differs from the index")
            }
        }
    }

    /// A chunk's row of lengths, read.
    static func lengthsRow(_ bytes: UnsafeRawBufferPointer) -> [UInt16] {
        (0..<bytes.count / 2).map { UInt16(bytes[2 * $0]) | UInt16(bytes[2 * $0 + 1]) << 8 }
    }

    /// A chunk's row of lengths, to store.
    static func lengthsBlob(_ lengths: [UInt16]) -> [UInt8] {
        lengths.flatMap { [UInt8($0 & 0xFF), UInt8($0 >> 8)] }
    }

    /// The SQLite varints of a record, in order (FTS5's size and averages records).
    static func varints(_ bytes: UnsafeRawBufferPointer) -> [Int64] {
        var values: [Int64] = []
        var index = 0
        while index < bytes.count {
            var value: Int64 = 0
            var length = 0
            while index < bytes.count {
                let byte = bytes[index]
                index += 1
                length += 1
                if length == 9 {
                    value = value << 8 | Int64(byte)
                    break
                }
                value = value << 7 | Int64(byte & 0x7F)
                if byte & 0x80 == 0 { break }
            }
            values.append(value)
        }
        return values
    }

    /// A blob column's bytes, valid until the statement moves on.
    static func blob(_ statement: OpaquePointer, _ column: Int32) -> UnsafeRawBufferPointer {
        UnsafeRawBufferPointer(start: sqlite3_column_blob(statement, column), count: Int(sqlite3_column_bytes(statement, column)))
    }
}
