import Foundation
public import GRDB
public import ProjectorCore

/// Runs searches against a search projection's tables, inside a read the caller owns.
///
/// Bounded latency: ranking with bm25 costs time in proportion to the hits (1.2 s for a term in
/// 986k of 1M documents). When a query matches more than ``rankWindow`` documents, only the
/// newest `rankWindow` matches (rowid order is recency order: a changed document moves to a new
/// rowid) are ranked by bm25, plus exact name matches wherever they are; the total stays exact.
/// A term that common carries almost no relevance signal (its IDF is near zero), so recency is
/// the better order among such hits anyway. The answer says when it did this (`rankedWindow`).
public enum SearchEngine {
    typealias Values = [(any DatabaseValueConvertible)?]

    public static let rankWindow = 2000
    static let maxLimit = 1000
    static let maxOffset = 100_000

    public static func search(_ request: SearchRequest, spec: SearchSpec, db: Database) throws -> SearchResult {
        let started = ContinuousClock.now
        let limit = min(max(request.limit, 0), maxLimit)
        let offset = min(max(request.offset, 0), maxOffset)
        let filters = try filterClause(request.filters, spec: spec)
        for facet in request.facets where !spec.fields.contains(where: { $0.name == facet }) {
            throw ProjectorError(.invalidQuery, "unknown facet field '\(facet)' (fields: \(spec.fields.map(\.name).joined(separator: ", ")))")
        }
        let query = SearchQuery(parsing: request.query)
        let match: String?
        if request.raw {
            match = try validatedRaw(request.query, db: db)
        } else {
            match = query.matchExpression(prefixes: spec.tokenizer != .trigram)
        }
        var result = try run(
            match: match, query: query, excluded: request.raw ? nil : exclusion(query), request: request, limit: limit,
            offset: offset, filters: filters, spec: spec, db: db)
        if !request.raw, result.total < 3, let suggestion = try Suggester.suggest(for: query, spec: spec, db: db) {
            result.suggestion = suggestion
            if result.total == 0, request.autocorrect {
                let fixed = SearchQuery(parsing: suggestion)
                var corrected = try run(
                    match: fixed.matchExpression(prefixes: spec.tokenizer != .trigram), query: fixed,
                    excluded: exclusion(fixed), request: request, limit: limit, offset: offset, filters: filters,
                    spec: spec, db: db)
                if corrected.total > 0 {
                    corrected.suggestion = suggestion
                    corrected.corrected = true
                    result = corrected
                }
            }
        }
        result.query = request.query
        result.tookMs = ((ContinuousClock.now - started) / .milliseconds(1) * 1000).rounded() / 1000
        return result
    }

    /// Exclusions of a query with no positive terms, as their own MATCH expression.
    static func exclusion(_ query: SearchQuery) -> String? {
        guard query.isEmpty, !query.excluded.isEmpty else { return nil }
        return query.excluded.map { SearchQuery.quote($0.text) }.joined(separator: " OR ")
    }

    struct Filters {
        var sql: String
        var arguments: [String]
    }

    static func filterClause(_ filters: [(field: String, value: String)], spec: SearchSpec) throws -> Filters {
        var parts: [String] = []
        var arguments: [String] = []
        for filter in filters {
            guard spec.fields.contains(where: { $0.name == filter.field }) else {
                throw ProjectorError(
                    .invalidQuery,
                    "unknown filter field '\(filter.field)' (fields: \(spec.fields.map(\.name).joined(separator: ", ")))")
            }
            parts.append("d.\(filter.field.quotedDatabaseIdentifier) = ?")
            arguments.append(filter.value)
        }
        return Filters(sql: parts.isEmpty ? "" : " AND " + parts.joined(separator: " AND "), arguments: arguments)
    }

    /// Raw FTS5 syntax, only when asked for, and checked before it runs.
    static func validatedRaw(_ text: String, db: Database) throws -> String? {
        let trimmed = text.trimmingCharacters(in: .whitespacesAndNewlines)
        guard !trimmed.isEmpty else { return nil }
        do {
            _ = try Int.fetchOne(
                db, sql: "SELECT count(*) FROM (SELECT rowid FROM \(SearchProjection.index) WHERE \(SearchProjection.index) MATCH ? LIMIT 1)",
                arguments: [trimmed])
        } catch let error as DatabaseError {
            throw ProjectorError(.invalidQuery, "invalid FTS5 query: \(error.message ?? "syntax error")")
        }
        return trimmed
    }

    static func run(
        match: String?, query: SearchQuery, excluded: String?, request: SearchRequest, limit: Int, offset: Int,
        filters: Filters, spec: SearchSpec, db: Database
    ) throws -> SearchResult {
        let fts = SearchProjection.index
        let documents = SearchProjection.documents
        var result = SearchResult(
            index: spec.name, query: request.query, total: 0, tookMs: 0, hits: [], facets: [:], suggestion: nil,
            corrected: nil, rankedWindow: nil)
        let tieBreak = spec.tieBreak.map { ", d.\($0.quotedDatabaseIdentifier) DESC" } ?? ""
        // The set of matching rowids, as SQL over `d` (documents).
        let matchJoin: String
        var matchArguments: Values = []
        if let match {
            matchJoin = "FROM \(fts) JOIN \(documents) d ON d.rowid = \(fts).rowid WHERE \(fts) MATCH ?"
            matchArguments = [match]
        } else if let excluded {
            // Only exclusions: every document without them, newest first.
            matchJoin = "FROM \(documents) d WHERE d.rowid NOT IN (SELECT rowid FROM \(fts) WHERE \(fts) MATCH ?)"
            matchArguments = [excluded]
        } else {
            // No words at all (an empty box, or only punctuation): browse, newest first.
            matchJoin = "FROM \(documents) d WHERE 1"
        }
        let whereArguments = StatementArguments(matchArguments + filters.arguments.map { $0 as (any DatabaseValueConvertible)? })
        result.total = try total(match: match, query: query, matchJoin: matchJoin, filters: filters, arguments: whereArguments, db: db)
        var ordered: [(rowid: Int64, score: Double)] = []
        if result.total > 0, limit > 0, offset < result.total {
            if let match {
                var window = ""
                var windowArguments: Values = []
                if result.total > rankWindow {
                    let cutoff = try Int64.fetchOne(
                        db, sql: "SELECT d.rowid \(matchJoin)\(filters.sql) ORDER BY \(fts).rowid DESC LIMIT 1 OFFSET ?",
                        arguments: whereArguments + StatementArguments([rankWindow - 1] as Values))
                    if let cutoff {
                        window = " AND \(fts).rowid >= ?"
                        windowArguments = [cutoff]
                        result.rankedWindow = rankWindow
                    }
                }
                let weights = spec.textFields.map { String($0.weight) }.joined(separator: ", ")
                var boost = ""
                var boostArguments: Values = []
                let primary = spec.textFields[0].name.quotedDatabaseIdentifier
                let phraseText = query.words.joined(separator: " ")
                if !query.isEmpty {
                    boost += "(d.\(primary) = ? COLLATE NOCASE) DESC, "
                    boostArguments.append(phraseText)
                }
                if let phrase = query.phraseExpression() {
                    boost += "(\(fts).rowid IN (SELECT rowid FROM \(fts) WHERE \(fts) MATCH ?\(window))) DESC, "
                    boostArguments.append(phrase)
                    boostArguments += windowArguments
                }
                let sql = """
                    SELECT d.rowid, bm25(\(fts), \(weights)) AS score \(matchJoin)\(window)\(filters.sql)
                    ORDER BY \(boost)score\(tieBreak), d.rowid DESC LIMIT ? OFFSET ?
                    """
                let rows = try Row.fetchAll(
                    db, sql: sql,
                    arguments: StatementArguments(matchArguments) + StatementArguments(windowArguments)
                        + StatementArguments(filters.arguments.map { $0 as (any DatabaseValueConvertible)? }) + StatementArguments(boostArguments)
                        + StatementArguments([limit, offset] as Values))
                ordered = rows.map { ($0[0], -($0[1] as Double)) }
                // Exact name matches outside the ranked window still come first.
                if result.rankedWindow != nil, offset == 0, !query.isEmpty {
                    let named = try Row.fetchAll(
                        db,
                        sql: """
                            SELECT d.rowid, bm25(\(fts), \(weights)) \(matchJoin)\(filters.sql)
                            AND d.rowid IN (SELECT rowid FROM \(documents) WHERE \(primary) = ? COLLATE NOCASE LIMIT 10)
                            """,
                        arguments: whereArguments + StatementArguments([phraseText] as Values))
                    let namedRows = named.map { (rowid: $0[0] as Int64, score: -($0[1] as Double)) }
                    let namedIDs = Set(namedRows.map(\.rowid))
                    ordered = Array((namedRows + ordered.filter { !namedIDs.contains($0.rowid) }).prefix(limit))
                }
            } else {
                let rows = try Row.fetchAll(
                    db, sql: "SELECT d.rowid \(matchJoin)\(filters.sql) ORDER BY \(tieBreak.isEmpty ? "" : String(tieBreak.dropFirst(2)) + ", ")d.rowid DESC LIMIT ? OFFSET ?",
                    arguments: whereArguments + StatementArguments([limit, offset] as Values))
                ordered = rows.map { ($0[0], 0) }
            }
        }
        result.hits = try hits(ordered, match: match, spec: spec, db: db)
        for facet in request.facets {
            let column = "d.\(facet.quotedDatabaseIdentifier)"
            let rows = try Row.fetchAll(
                db,
                sql: "SELECT \(column), count(*) AS n \(matchJoin)\(filters.sql) AND \(column) IS NOT NULL GROUP BY \(column) ORDER BY n DESC, \(column) LIMIT 100",
                arguments: whereArguments)
            var counts: [String: Int] = [:]
            for row in rows { counts[row[0] as String] = row[1] }
            result.facets[facet] = counts
        }
        return result
    }

    /// Exact total; a single plain word is counted from the vocabulary (O(1), not O(hits)).
    static func total(
        match: String?, query: SearchQuery, matchJoin: String, filters: Filters, arguments: StatementArguments,
        db: Database
    ) throws -> Int {
        if match != nil, filters.arguments.isEmpty, query.excluded.isEmpty, query.groups.count == 1,
            query.groups[0].count == 1, !query.groups[0][0].isPhrase, !query.groups[0][0].isPrefix,
            let token = Suggester.singleToken(query.groups[0][0].text)
        {
            if let count = try Int.fetchOne(
                db, sql: "SELECT doc FROM \(SearchProjection.vocabulary) WHERE term = ?", arguments: [token])
            {
                return count
            }
        }
        if match != nil, filters.arguments.isEmpty {
            // Counting the index alone avoids a join per hit.
            return try Int.fetchOne(
                db, sql: "SELECT count(*) FROM \(SearchProjection.index) WHERE \(SearchProjection.index) MATCH ?",
                arguments: [match]) ?? 0
        }
        return try Int.fetchOne(db, sql: "SELECT count(*) \(matchJoin)\(filters.sql)", arguments: arguments) ?? 0
    }

    /// Fields and highlights of the page's documents, in rank order.
    static func hits(_ ordered: [(rowid: Int64, score: Double)], match: String?, spec: SearchSpec, db: Database) throws
        -> [SearchResult.Hit]
    {
        guard !ordered.isEmpty else { return [] }
        let ids = ordered.map { String($0.rowid) }.joined(separator: ",")
        let names = spec.fields.map { $0.name.quotedDatabaseIdentifier }
        var stored: [Int64: (String, [String: String])] = [:]
        for row in try Row.fetchAll(
            db, sql: "SELECT rowid, doc_id, \(names.joined(separator: ", ")) FROM \(SearchProjection.documents) WHERE rowid IN (\(ids))")
        {
            var fields: [String: String] = [:]
            for (index, field) in spec.fields.enumerated() {
                if let value = row[index + 2] as String? { fields[field.name] = value }
            }
            stored[row[0]] = (row[1], fields)
        }
        var snippets: [Int64: [String: String]] = [:]
        if let match {
            let fts = SearchProjection.index
            let columns = spec.textFields.indices.map {
                "snippet(\(fts), \($0), char(57344), char(57345), '…', 24)"
            }.joined(separator: ", ")
            for row in try Row.fetchAll(
                db, sql: "SELECT rowid, \(columns) FROM \(fts) WHERE \(fts) MATCH ? AND rowid IN (\(ids))", arguments: [match])
            {
                var highlights: [String: String] = [:]
                for (index, field) in spec.textFields.enumerated() {
                    if let text = row[index + 1] as String?, text.contains(SearchProjection.markOpen) {
                        highlights[field.name] = Highlighter.html(text)
                    }
                }
                snippets[row[0]] = highlights
            }
        }
        return ordered.compactMap { item in
            guard let (id, fields) = stored[item.rowid] else { return nil }
            return SearchResult.Hit(
                id: id, score: (item.score * 1000).rounded() / 1000, fields: fields, highlights: snippets[item.rowid] ?? [:])
        }
    }
}

/// Turns snippet text with private-use markers into HTML: everything escaped, `<mark>` added.
enum Highlighter {
    static func html(_ text: String) -> String {
        var out = ""
        out.reserveCapacity(text.utf8.count + 16)
        for character in text {
            switch character {
            case SearchProjection.markOpen: out += "<mark>"
            case SearchProjection.markClose: out += "</mark>"
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&quot;"
            case "'": out += "&#39;"
            default: out.append(character)
            }
        }
        return out
    }
}
