import GRDB

/// The documents a query matches, computed from ``DocumentSets`` instead of walking doclists,
/// and each FTS5 phrase's document frequency (for `projector_bm25`).
struct MatchSet {
    /// Documents matching the words (all documents when there are none), before filters.
    var matching: DocumentSet
    /// `matching` within the filters: the answer's documents.
    var documents: DocumentSet
    /// Per phrase of the MATCH expression, in its order: how many documents contain it.
    var frequencies: [Int]

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
        func set(of term: SearchQuery.Term) throws -> DocumentSet? {
            let tokens = tokenizer.tokens(term.text, query: true, prefix: term.isPrefix)
            let set: DocumentSet
            switch tokens.count {
            case 1: set = try termSet(tokens[0], prefix: term.isPrefix, db: db)
            case 0: return nil
            case 2 where !term.isPrefix:
                set = try DocumentSets.load(DocumentSets.pairKey(tokens[0], tokens[1]), db: db)
                    ?? DocumentSet(ascending: try DocumentSets.indexed(term.text, prefix: false, db: db))
            default: set = DocumentSet(ascending: try DocumentSets.indexed(term.text, prefix: term.isPrefix, db: db))
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
            documents = documents.intersection(
                try DocumentSets.load(DocumentSets.filterKey(filter.field, filter.value), db: db) ?? DocumentSet())
        }
        return MatchSet(matching: matching, documents: documents, frequencies: frequencies)
    }

    /// A word's or prefix's documents: its set, or (a rare word, a long prefix) FTS5's list.
    static func termSet(_ token: String, prefix: Bool, db: Database) throws -> DocumentSet {
        let length = token.unicodeScalars.count
        if !prefix, let set = try DocumentSets.load(DocumentSets.wordKey(token), db: db) { return set }
        if prefix, length == 2 || length == 3, let set = try DocumentSets.load(DocumentSets.prefixKey(token), db: db) {
            return set
        }
        return DocumentSet(ascending: try DocumentSets.indexed(token, prefix: prefix, db: db))
    }
}
