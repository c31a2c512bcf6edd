import CFTS5
import GRDB
import GRDBSQLite

/// The documents a query matches, computed from ``DocumentSets`` instead of walking doclists,
/// and each positive term's postings (documents and impacts) for ranking.
struct MatchSet {
    /// Documents matching the words (all documents when there are none), before filters.
    var matching: DocumentSet
    /// `matching` within the filters: the answer's documents.
    var documents: DocumentSet
    /// Per positive term of the query, in its order: its documents and impacts.
    var terms: [Postings]
    /// The tenant's documents, when the query runs within one (its ranking statistics).
    var scope: DocumentSet?

    /// A phrase (or "foo-bar", which FTS5 reads as one) of two words is a pair set when it has
    /// one; a rare word, a long prefix or any other phrase is listed by FTS5 from positions,
    /// once, weighed as it is listed. nil when a term has no tokens.
    static func resolve(
        _ query: SearchQuery, filters: [(field: String, value: String)], tenant: String? = nil, spec: SearchSpec,
        db: Database
    ) throws -> MatchSet? {
        // A store written before document sets existed (still live while its successor is
        // built) has no sets table, and an empty one no set of all documents yet.
        guard DocumentSets.supported(spec), try db.tableExists(DocumentSets.keys), try db.tableExists(DocumentSets.impacts),
            try DocumentSets.isTracked(DocumentSets.allKey, db: db),
            let tokenizer = TextTokenizer(spec.tokenizer, db: db)
        else { return nil }
        var terms: [Postings] = []
        func postings(of term: SearchQuery.Term) throws -> Postings? {
            let tokens = tokenizer.tokens(term.text, query: true, prefix: term.isPrefix)
            switch tokens.count {
            case 0: return nil
            case 1:
                if let key = storedKey(tokens[0], prefix: term.isPrefix), let stored = try DocumentSets.loadWeighed(key, db: db) {
                    return stored
                }
                return Postings(ascending: try DocumentSets.weighed(tokens[0], prefix: term.isPrefix, spec: spec, db: db))
            case 2 where !term.isPrefix:
                if let stored = try DocumentSets.loadWeighed(DocumentSets.pairKey(tokens[0], tokens[1]), db: db) { return stored }
                return Postings(ascending: try DocumentSets.weighed(term.text, prefix: false, spec: spec, db: db))
            default:
                return Postings(ascending: try DocumentSets.weighed(term.text, prefix: term.isPrefix, spec: spec, db: db))
            }
        }
        var words: DocumentSet?
        for group in query.groups {
            var alternatives: DocumentSet?
            for term in group {
                guard let found = try postings(of: term) else { return nil }
                terms.append(found)
                alternatives = alternatives.map { $0.union(found.set) } ?? found.set
            }
            let matched = alternatives ?? DocumentSet()
            words = words.map { $0.intersection(matched) } ?? matched
        }
        guard var matching = try words ?? DocumentSets.load(DocumentSets.allKey, db: db) else { return nil }
        for term in query.excluded {
            guard let found = try postings(of: SearchQuery.Term(text: term.text, isPhrase: term.isPhrase, isPrefix: false)) else {
                return nil
            }
            matching = matching.subtracting(found.set)
        }
        let scope = try tenant.map { try TenantSetCache.shared.documents(of: $0, db: db) }
        if let scope { matching = matching.intersection(scope) }
        var documents = matching
        for filter in filters where scope == nil || filter.field != SearchSpec.tenantField {
            documents = documents.intersection(try DocumentSets.filterSet(filter.field, filter.value, db: db))
        }
        return MatchSet(matching: matching, documents: documents, terms: terms, scope: scope)
    }

    /// The key of a word's or a 2- or 3-letter prefix's set; nil for a longer prefix (FTS5
    /// lists those).
    static func storedKey(_ token: String, prefix: Bool) -> String? {
        if !prefix { return DocumentSets.wordKey(token) }
        let length = token.unicodeScalars.count
        return length == 2 || length == 3 ? DocumentSets.prefixKey(token) : nil
    }
}
