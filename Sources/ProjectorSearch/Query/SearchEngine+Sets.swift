import CFTS5
import Foundation
import GRDB
import ProjectorSQLite

/// The engine on document sets: totals, filters and facets are set algebra, and FTS5 only
/// ranks a bounded window of documents the sets already named, with `projector_bm25` given the
/// document frequencies the sets know (bm25 would walk every hit's doclist entry to learn them).
extension SearchEngine {
    /// Index rows a filtered query may read in rowid order (scoring only its window's) before it
    /// switches to point lookups.
    static let scanBudget = 10_000
    /// Point lookups a selective filter may cost (each seeks in every term's doclist).
    static let pointBudget = 200
    /// Facet fields with more values than this are counted by SQL, one row per hit.
    static let maxFacetSets = 100

    /// Sets first; FTS5 alone for raw syntax, a term without tokens, or an index without sets.
    static func answer(_ plan: QueryPlan, db: Database) throws -> SearchResult {
        if !plan.request.raw, try DocumentSets.answerQueries(plan.spec, db: db),
            let sets = try MatchSet.resolve(
                plan.query, filters: plan.request.filters, tenant: plan.request.tenant, spec: plan.spec, db: db)
        {
            return try answer(plan, from: sets, db: db)
        }
        return try answerByFTS5(plan, db: db)
    }

    /// The answer from `sets`: the total and facets by set algebra, the page ranked from impacts.
    static func answer(_ plan: QueryPlan, from sets: MatchSet, db: Database) throws -> SearchResult {
        let (request, spec, query, match, limit, offset, filters) = (
            plan.request, plan.spec, plan.query, plan.match, plan.limit, plan.offset, plan.filters
        )
        var result = SearchResult(
            index: spec.name, query: request.query, total: sets.documents.count, tookMs: 0, hits: [], facets: [:],
            suggestion: nil, corrected: nil, truncated: nil)
        var ordered: [(rowid: Int64, score: Double)] = []
        if result.total > 0, limit > 0, offset < result.total {
            ordered = try rank(sets, plan, db: db)
        }
        let page = try hits(
            ordered, match: match, highlighter: Highlighter(query: query, spec: spec, db: db), request: request, spec: spec, db: db)
        result.hits = page.hits
        result.truncated = page.truncated ? true : nil
        for facet in request.facets {
            if let counts = try facetCounts(facet, in: sets.documents, spec: spec, db: db) {
                result.facets[facet] = counts
            } else {
                let (join, arguments) = matchSQL(match: match, excluded: plan.excluded)
                result.facets[facet] = try facetCounts(
                    facet, matchJoin: join, filters: filters, arguments: StatementArguments(arguments + filters.arguments), db: db)
            }
        }
        return result
    }

    /// The page's documents in order, with their scores: by bm25 over every match (an exact
    /// name match first), or, without words, by the tie-break field or newest first.
    static func rank(_ sets: MatchSet, _ plan: QueryPlan, db: Database) throws -> [(rowid: Int64, score: Double)] {
        let (spec, query, limit, offset) = (plan.spec, plan.query, plan.limit, plan.offset)
        let documents = sets.documents
        let depth = offset + limit
        guard plan.match != nil, !sets.terms.isEmpty else {
            // No words: browse, by the tie-break field or newest first.
            if let tieBreak = spec.tieBreak {
                return Array(try byTieBreak(tieBreak, documents: documents, window: nil, count: depth, db: db).dropFirst(offset))
            }
            return documents.newest(limit, skipping: offset).map { ($0, 0) }
        }
        // FTS5's own row count, as its bm25 takes it (the set of all documents holds as many).
        // Within a tenant, the tenant's documents: no other tenant's words move its scores.
        let statistics = try DocumentSets.statistics(db)
        let terms: [(postings: Postings, idf: Double)]
        if let scope = sets.scope {
            terms = sets.terms.map { (postings: $0, idf: projector_idf(Int64(scope.count), Double($0.set.intersectionCount(scope)))) }
        } else {
            let rows = max(statistics.rows, documents.count)
            terms = sets.terms.map { (postings: $0, idf: projector_idf(Int64(rows), Double($0.set.count))) }
        }
        // Equal scores are ordered by the tie-break field: a few more than the page are kept so
        // that the page's last ones are the right ones among equals.
        var ordered = try Ranker.top(
            depth + (spec.tieBreak == nil ? 0 : tieMargin), of: documents, terms: terms, average: statistics.averageLength,
            spec: spec, db: db)
        if let tieBreak = spec.tieBreak { ordered = try byScoreThenField(ordered, field: tieBreak, db: db) }
        // A document named exactly as the query comes first, wherever its score puts it.
        let named = try exactNameMatches(query, spec: spec, tenant: plan.request.tenant, db: db).filter { documents.contains($0) }
        if !named.isEmpty {
            let first = try Ranker.top(
                named.count, of: DocumentSet(ascending: named.sorted()), terms: terms, average: statistics.averageLength,
                spec: spec, db: db)
            ordered = first + ordered.filter { hit in !named.contains(hit.rowid) }
        }
        return Array(ordered.dropFirst(offset).prefix(limit))
    }

    /// How many hits past the page are kept to order equal scores by the tie-break field.
    static let tieMargin = 20

    /// Hits by score, equal scores by the field's value (greater first), then newest first.
    static func byScoreThenField(
        _ hits: [(rowid: Int64, score: Double)], field: String, db: Database
    ) throws -> [(rowid: Int64, score: Double)] {
        let values = try values(of: field, for: hits.map(\.rowid), db: db)
        return hits.sorted { a, b in
            if a.score != b.score { return a.score > b.score }
            let (x, y) = (values[a.rowid] ?? nil, values[b.rowid] ?? nil)
            if x != y { return (x ?? "") > (y ?? "") }
            return a.rowid > b.rowid
        }
    }

    /// Documents whose heaviest text field is exactly the query's words (case aside).
    static func exactNameMatches(_ query: SearchQuery, spec: SearchSpec, tenant: String?, db: Database) throws -> [Int64] {
        guard !query.isEmpty else { return [] }
        let primary = spec.textFields[0].name.quotedDatabaseIdentifier
        let name = query.words.joined(separator: " ")
        let documents = SearchProjection.documents
        if let tenant {
            return try Int64.fetchAll(
                db.cachedStatement(
                    sql: "SELECT rowid FROM \(documents) WHERE \(primary) = ? COLLATE NOCASE AND \(SearchSpec.tenantField) = ? LIMIT 10"),
                arguments: [name, tenant])
        }
        return try Int64.fetchAll(
            db.cachedStatement(sql: "SELECT rowid FROM \(documents) WHERE \(primary) = ? COLLATE NOCASE LIMIT 10"), arguments: [name])
    }

    /// Documents by the spec's tie-break field, newest first among equals: within `window`, or
    /// walking the field's index until `count` members of `documents` are found.
    static func byTieBreak(
        _ field: String, documents: DocumentSet, window: [Int64]?, count: Int, db: Database
    ) throws -> [(rowid: Int64, score: Double)] {
        let column = field.quotedDatabaseIdentifier
        if let window {
            return try Int64.fetchAll(
                db,
                sql: """
                    SELECT rowid FROM \(SearchProjection.documents) WHERE rowid IN (\(sqlList(window)))
                    ORDER BY \(column) DESC, rowid DESC LIMIT ?
                    """,
                arguments: [count]
            ).map { ($0, 0) }
        }
        var ordered: [(rowid: Int64, score: Double)] = []
        let rows = try Int64.fetchCursor(
            db, sql: "SELECT rowid FROM \(SearchProjection.documents) ORDER BY \(column) DESC, rowid DESC")
        while ordered.count < count, let rowid = try rows.next() {
            if documents.contains(rowid) { ordered.append((rowid, 0)) }
        }
        return ordered
    }

    /// A field's stored values for some documents.
    static func values(of field: String, for rowids: [Int64], db: Database) throws -> [Int64: String?] {
        guard !rowids.isEmpty else { return [:] }
        var values: [Int64: String?] = [:]
        for row in try Row.fetchAll(
            db,
            sql: """
                SELECT rowid, \(field.quotedDatabaseIdentifier) FROM \(SearchProjection.documents)
                WHERE rowid IN (\(sqlList(rowids)))
                """)
        {
            values[row[0]] = row[1] as String?
        }
        return values
    }

    /// A filter field's facet counts from its value sets; nil for a text field or one with
    /// more than ``maxFacetSets`` values (SQL counts those).
    static func facetCounts(_ facet: String, in documents: DocumentSet, spec: SearchSpec, db: Database) throws -> [String: Int]? {
        guard spec.fields.first(where: { $0.name == facet })?.filter == true, try !DocumentSets.isOpen(facet, db: db) else {
            return nil
        }
        let values = try DocumentSets.filterValues(facet, limit: maxFacetSets, db: db)
        guard values.count <= maxFacetSets else { return nil }
        var counts: [String: Int] = [:]
        for value in values {
            guard let set = try DocumentSets.load(DocumentSets.filterKey(facet, value), db: db) else { continue }
            let count = documents.intersectionCount(set)
            if count > 0 { counts[value] = count }
        }
        return counts
    }

    /// The text fields' weights, as bm25's column arguments.
    static func columnWeights(_ spec: SearchSpec) -> String {
        spec.textFields.map { String($0.weight) }.joined(separator: ", ")
    }

    /// `projector_bm25` is registered per connection; a statement using it compiles only once it
    /// is, and GRDB keeps the compiled statement, so this costs a cache lookup after the first.
    static func registerRanking(_ db: Database) throws {
        let fts = SearchProjection.index
        let probe = "SELECT projector_bm25(\(fts)) FROM \(fts) WHERE 0"
        if (try? db.cachedStatement(sql: probe)) != nil { return }
        let code = projector_fts5_register(db.sqliteConnection)
        guard code == 0 else { throw DatabaseError(resultCode: ResultCode(rawValue: code), message: "cannot register projector_bm25") }
        _ = try db.cachedStatement(sql: probe)
    }
}
