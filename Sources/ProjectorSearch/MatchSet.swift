import CFTS5
import GRDB
import GRDBSQLite

/// The documents a query matches, computed from ``DocumentSets`` instead of walking doclists,
/// and each FTS5 phrase's document frequency (for `projector_bm25`).
struct MatchSet {
    /// Documents matching the words (all documents when there are none), before filters.
    var matching: DocumentSet
    /// `matching` within the filters: the answer's documents.
    var documents: DocumentSet
    /// Per phrase of the MATCH expression, in its order: how many documents contain it.
    var frequencies: [Int]
    /// Each document's bm25 score, when the query's one positive term was listed by FTS5 (a
    /// phrase without a pair set, a rare word, a long prefix) and weighed in the same pass: its
    /// ranking then needs no second walk along the doclists.
    var scores: [Int64: Double]?

    /// A listing weighs at most this many documents (about a microsecond each); past it, ranking
    /// walks the newest of them again.
    static let weighedLimit = 2_000

    /// A phrase (or "foo-bar", which FTS5 reads as one) of two words is a pair set when it has
    /// one; any other is listed by FTS5 from positions, once: still one pass where the plain
    /// FTS5 path makes three (count, rank, facets). nil when a term has no tokens.
    static func resolve(
        _ query: SearchQuery, filters: [(field: String, value: String)], spec: SearchSpec, db: Database
    ) throws -> MatchSet? {
        // A store written before document sets existed (still live while its successor is
        // built) has no sets table, and an empty one no set of all documents yet.
        guard DocumentSets.supported(spec), try db.tableExists(DocumentSets.keys),
            try DocumentSets.isTracked(DocumentSets.allKey, db: db),
            let tokenizer = TextTokenizer(spec.tokenizer, db: db)
        else { return nil }
        var frequencies: [Int] = []
        var scores: [Int64: Double]?
        let single = query.groups.count == 1 && query.groups[0].count == 1
        func listed(_ text: String, prefix: Bool) throws -> DocumentSet {
            // Weighed only for the one positive term (exclusions are resolved after it).
            guard single, frequencies.isEmpty else {
                return DocumentSet(ascending: try DocumentSets.indexed(text, prefix: prefix, db: db))
            }
            let (rowids, weighed) = try weighedList(text, prefix: prefix, spec: spec, db: db)
            scores = weighed
            return DocumentSet(ascending: rowids)
        }
        func set(of term: SearchQuery.Term) throws -> DocumentSet? {
            let tokens = tokenizer.tokens(term.text, query: true, prefix: term.isPrefix)
            let set: DocumentSet
            switch tokens.count {
            case 1: set = try storedSet(tokens[0], prefix: term.isPrefix, db: db) ?? listed(tokens[0], prefix: term.isPrefix)
            case 0: return nil
            case 2 where !term.isPrefix:
                set = try DocumentSets.load(DocumentSets.pairKey(tokens[0], tokens[1]), db: db)
                    ?? listed(term.text, prefix: false)
            default: set = try listed(term.text, prefix: term.isPrefix)
            }
            frequencies.append(set.count)
            return set
        }
        var words: DocumentSet?
        for group in query.groups {
            var alternatives = DocumentSet()
            for term in group {
                guard let set = try set(of: term) else { return nil }
                alternatives = alternatives.union(set)
            }
            words = words.map { $0.intersection(alternatives) } ?? alternatives
        }
        guard var matching = try words ?? DocumentSets.load(DocumentSets.allKey, db: db) else { return nil }
        for term in query.excluded {
            guard let set = try set(of: SearchQuery.Term(text: term.text, isPhrase: term.isPhrase, isPrefix: false)) else {
                return nil
            }
            matching = matching.subtracting(set)
        }
        var documents = matching
        for filter in filters {
            documents = documents.intersection(try DocumentSets.filterSet(filter.field, filter.value, db: db))
        }
        return MatchSet(matching: matching, documents: documents, frequencies: frequencies, scores: scores)
    }

    /// A word's or prefix's set; nil for a rare word or a long prefix (FTS5 lists those).
    static func storedSet(_ token: String, prefix: Bool, db: Database) throws -> DocumentSet? {
        let length = token.unicodeScalars.count
        if !prefix { return try DocumentSets.load(DocumentSets.wordKey(token), db: db) }
        if length == 2 || length == 3 { return try DocumentSets.load(DocumentSets.prefixKey(token), db: db) }
        return nil
    }

    /// FTS5's list for one term with, when it holds at most ``weighedLimit`` documents, each
    /// one's bm25 score (`projector_weight` times the term's idf, known once the list ends).
    static func weighedList(
        _ text: String, prefix: Bool, spec: SearchSpec, db: Database
    ) throws -> (rowids: [Int64], scores: [Int64: Double]?) {
        try SearchEngine.registerRanking(db)
        let fts = SearchProjection.index
        let statement = try db.cachedStatement(
            sql: "SELECT rowid, projector_weight(\(fts), ?, \(SearchEngine.columnWeights(spec))), projector_rows(\(fts)) FROM \(fts) WHERE \(fts) MATCH ? ORDER BY rowid")
        try statement.setArguments([weighedLimit, SearchQuery.quote(text) + (prefix ? "*" : "")])
        let sqlite = statement.sqliteStatement
        defer { sqlite3_reset(sqlite) }
        var rowids: [Int64] = []
        var weights: [Double] = []
        var rows: Int64 = 0
        while true {
            let step = sqlite3_step(sqlite)
            if step == SQLITE_DONE { break }
            guard step == SQLITE_ROW else { throw db.error(step) }
            rowids.append(sqlite3_column_int64(sqlite, 0))
            if rowids.count <= weighedLimit {
                weights.append(sqlite3_column_double(sqlite, 1))
                rows = sqlite3_column_int64(sqlite, 2)
            }
        }
        guard rowids.count <= weighedLimit else { return (rowids, nil) }
        let idf = projector_idf(rows, Double(rowids.count))
        var scores: [Int64: Double] = [:]
        scores.reserveCapacity(rowids.count)
        for (rowid, weight) in zip(rowids, weights) { scores[rowid] = idf * weight }
        return (rowids, scores)
    }
}
