import Foundation
public import GRDB
import ProjectorCore
import ProjectorSQLite

/// Runs searches against a search projection's tables, inside a read the caller owns.
///
/// Every query with words is ranked by bm25 with the spec's column weights over all its
/// matches: from the document sets and their impacts when the store has them (verified), else
/// by FTS5 itself (exact, but a walk over every hit). An exact name match comes first.
public enum SearchEngine {
    typealias Values = [(any DatabaseValueConvertible)?]

    /// Most hits one page may ask for.
    public static let maxLimit = 1000
    /// Deepest page start: past it, paging costs more than it can be worth.
    public static let maxOffset = 100_000

    public static func search(
        _ request: SearchRequest, spec: SearchSpec, db: Database, deadline: ContinuousClock.Instant? = nil
    ) throws -> SearchResult {
        let started = ContinuousClock.now
        let budget = SQLiteBudget(steps: nil, deadline: deadline)
        do {
            return try budget.watch(db.sqliteConnection!) {
                try search(request, spec: spec, db: db, started: started, deadline: deadline)
            }
        } catch let error as DatabaseError where budget.exhausted != nil || error.resultCode == .SQLITE_INTERRUPT {
            guard budget.exhausted != nil, let deadline else { throw CancellationError() }
            throw ProjectorError(
                .budgetExceeded, "the search ran past its \(Int((deadline - started) / .milliseconds(1))) ms deadline and was stopped")
        }
    }

    static func search(
        _ request: SearchRequest, spec: SearchSpec, db: Database, started: ContinuousClock.Instant,
        deadline: ContinuousClock.Instant?
    ) throws -> SearchResult {
        let query = SearchQuery(parsing: request.query)
        if !request.raw { try SearchQuery.checkLimits(request.query, parsed: query) }
        let limit = min(max(request.limit, 0), maxLimit)
        let offset = min(max(request.offset, 0), maxOffset)
        let visible = spec.visibleFields
        let names = visible.map(\.name).joined(separator: ", ")
        for filter in request.filters where !visible.contains(where: { $0.name == filter.field }) {
            throw ProjectorError(.invalidQuery, "unknown filter field '\(filter.field)' (fields: \(names))")
        }
        for facet in request.facets where !visible.contains(where: { $0.name == facet }) {
            throw ProjectorError(.invalidQuery, "unknown facet field '\(facet)' (fields: \(names))")
        }
        for field in request.fields ?? [] where !visible.contains(where: { $0.name == field }) {
            throw ProjectorError(.invalidQuery, "unknown field '\(field)' to return (fields: \(names))")
        }
        var request = request
        if let tenant = request.tenant {
            guard spec.tenant != nil else {
                throw ProjectorError(.invalidQuery, "index '\(spec.name)' is not partitioned by tenant: search it without one")
            }
            // Every part of the answer (total, facets, ranking, suggestions) comes from the
            // tenant's documents: the tenant is one more filter, always applied.
            request.filters.append((SearchSpec.tenantField, tenant))
        } else if spec.tenant != nil {
            throw ProjectorError(.invalidQuery, "index '\(spec.name)' is partitioned by tenant: name one (tenant=…)")
        }
        let filters = try filterClause(request.filters, spec: spec)
        for field in request.highlight ?? [] where !spec.textFields.contains(where: { $0.name == field }) {
            throw ProjectorError(
                .invalidQuery,
                "'\(field)' is not a text field to highlight (text fields: \(spec.textFields.map(\.name).joined(separator: ", ")))")
        }
        guard request.crop >= 0 else { throw ProjectorError(.invalidQuery, "crop must not be negative") }
        let match: String?
        if request.raw {
            match = try validatedRaw(request.query, db: db)
        } else {
            match = query.matchExpression(prefixes: spec.tokenizer != .trigram)
        }
        let plan = QueryPlan(
            request: request, spec: spec, query: query, match: match, excluded: request.raw ? nil : exclusion(query),
            limit: limit, offset: offset, filters: filters)
        var result = try answer(plan, db: db)
        if !request.raw, result.total < 3,
            let suggestion = try Suggester.suggest(
                for: query, spec: spec, tenant: try suggestionTenant(request.tenant, spec: spec, db: db), db: db, deadline: deadline)
        {
            result.suggestion = suggestion
            if result.total == 0, request.autocorrect {
                var corrected = try answer(plan.asking(SearchQuery(parsing: suggestion)), db: db)
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

    /// The tenant corrections come from, with its document set when the store answers from sets.
    static func suggestionTenant(_ tenant: String?, spec: SearchSpec, db: Database) throws -> Suggester.Tenant? {
        guard let tenant else { return nil }
        return Suggester.Tenant(
            name: tenant,
            documents: try DocumentSets.answerQueries(spec, db: db) ? try TenantSetCache.shared.documents(of: tenant, db: db) : nil)
    }

    /// Exclusions of a query with no positive terms, as their own MATCH expression.
    static func exclusion(_ query: SearchQuery) -> String? {
        guard query.isEmpty, !query.excluded.isEmpty else { return nil }
        return query.excluded.map { SearchQuery.quote($0.text) }.joined(separator: " OR ")
    }

    struct Filters {
        var sql: String
        var arguments: Values
    }

    static func filterClause(_ filters: [(field: String, value: String)], spec: SearchSpec) throws -> Filters {
        var parts: [String] = []
        var arguments: Values = []
        for filter in filters {
            guard spec.fields.contains(where: { $0.name == filter.field }) else {
                throw ProjectorError(
                    .invalidQuery,
                    "unknown filter field '\(filter.field)' (fields: \(spec.visibleFields.map(\.name).joined(separator: ", ")))")
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
                db,
                sql: "SELECT count(*) FROM (SELECT rowid FROM \(SearchProjection.index) WHERE \(SearchProjection.index) MATCH ? LIMIT 1)",
                arguments: [trimmed])
        } catch let error as DatabaseError where error.resultCode != .SQLITE_INTERRUPT {
            throw ProjectorError(.invalidQuery, "invalid FTS5 query: \(error.message ?? "syntax error")")
        }
        return trimmed
    }

    /// The answer by FTS5 alone: exact, but ranking walks every hit.
    static func answerByFTS5(_ plan: QueryPlan, db: Database) throws -> SearchResult {
        let (request, spec, query, match, limit, offset, filters) = (
            plan.request, plan.spec, plan.query, plan.match, plan.limit, plan.offset, plan.filters
        )
        let fts = SearchProjection.index
        var result = SearchResult(
            index: spec.name, query: request.query, total: 0, tookMs: 0, hits: [], facets: [:], suggestion: nil,
            corrected: nil, truncated: nil)
        let tieBreak = spec.tieBreak.map { ", d.\($0.quotedDatabaseIdentifier) DESC" } ?? ""
        let (matchJoin, matchArguments) = matchSQL(match: match, excluded: plan.excluded)
        let whereArguments = StatementArguments(matchArguments + filters.arguments)
        result.total = try total(match: match, query: query, matchJoin: matchJoin, filters: filters, arguments: whereArguments, db: db)
        var ordered: [(rowid: Int64, score: Double)] = []
        if result.total > 0, limit > 0, offset < result.total {
            if let match {
                // Join the documents only when a filter or the tie-break needs their columns.
                let indexOnly = "FROM \(fts) WHERE \(fts) MATCH ?"
                let ranked = filters.arguments.isEmpty && spec.tieBreak == nil ? indexOnly : matchJoin
                let scoreSQL = "bm25(\(fts), \(columnWeights(spec)))"
                let named = try exactNameMatches(query, spec: spec, tenant: request.tenant, db: db)
                let rows = try Row.fetchAll(
                    db,
                    sql: """
                        SELECT \(fts).rowid, \(scoreSQL) AS score \(ranked)\(filters.sql)
                        ORDER BY score\(tieBreak), \(fts).rowid DESC LIMIT ? OFFSET 0
                        """,
                    arguments: StatementArguments(matchArguments) + StatementArguments(filters.arguments)
                        + StatementArguments([offset + limit + named.count] as Values))
                ordered = rows.map { ($0[0], -($0[1] as Double)) }
                if !named.isEmpty {
                    // A document named exactly as the query comes first, wherever its score puts it.
                    let point = try db.cachedStatement(sql: "SELECT \(scoreSQL) \(ranked) AND \(fts).rowid = ?\(filters.sql)")
                    var first: [(rowid: Int64, score: Double)] = []
                    for rowid in named {
                        if let score = try Double.fetchOne(point, arguments: StatementArguments([match, rowid] + filters.arguments)) {
                            first.append((rowid, -score))
                        }
                    }
                    let firstIDs = Set(first.map(\.rowid))
                    ordered = first.sorted { $0.score > $1.score } + ordered.filter { !firstIDs.contains($0.rowid) }
                }
                ordered = Array(ordered.dropFirst(offset).prefix(limit))
            } else {
                let rows = try Row.fetchAll(
                    db,
                    sql:
                        "SELECT d.rowid \(matchJoin)\(filters.sql) ORDER BY \(tieBreak.isEmpty ? "" : String(tieBreak.dropFirst(2)) + ", ")d.rowid DESC LIMIT ? OFFSET ?",
                    arguments: whereArguments + StatementArguments([limit, offset] as Values))
                ordered = rows.map { ($0[0], 0) }
            }
        }
        let highlighter = request.raw ? nil : Highlighter(query: query, spec: spec, db: db)
        let page = try hits(
            ordered, match: match, highlighter: highlighter, request: request, spec: spec, db: db)
        result.hits = page.hits
        result.truncated = page.truncated ? true : nil
        for facet in request.facets {
            result.facets[facet] = try facetCounts(facet, matchJoin: matchJoin, filters: filters, arguments: whereArguments, db: db)
        }
        return result
    }

    /// A facet's counts by SQL: one row read per hit.
    static func facetCounts(
        _ facet: String, matchJoin: String, filters: Filters, arguments: StatementArguments, db: Database
    ) throws -> [String: Int] {
        let column = "d.\(facet.quotedDatabaseIdentifier)"
        let rows = try Row.fetchAll(
            db,
            sql:
                "SELECT \(column), count(*) AS n \(matchJoin)\(filters.sql) AND \(column) IS NOT NULL GROUP BY \(column) ORDER BY n DESC, \(column) LIMIT 100",
            arguments: arguments)
        var counts: [String: Int] = [:]
        for row in rows { counts[row[0] as String] = row[1] }
        return counts
    }

    /// The set of matching rowids, as SQL over `d` (documents), and its arguments.
    static func matchSQL(match: String?, excluded: String?) -> (join: String, arguments: Values) {
        let fts = SearchProjection.index
        let documents = SearchProjection.documents
        if let match {
            // CROSS JOIN keeps the index as the outer loop: with a filter, SQLite would otherwise
            // run the MATCH once per filtered document.
            return ("FROM \(fts) CROSS JOIN \(documents) d ON d.rowid = \(fts).rowid WHERE \(fts) MATCH ?", [match])
        } else if let excluded {
            // Only exclusions: every document without them, newest first.
            return ("FROM \(documents) d WHERE d.rowid NOT IN (SELECT rowid FROM \(fts) WHERE \(fts) MATCH ?)", [excluded])
        }
        // No words at all (an empty box, or only punctuation): browse, newest first.
        return ("FROM \(documents) d WHERE 1", [])
    }

    /// Exact total. (fts5vocab is no shortcut: it walks a term's doclist to count it too.)
    static func total(
        match: String?, query: SearchQuery, matchJoin: String, filters: Filters, arguments: StatementArguments,
        db: Database
    ) throws -> Int {
        if match != nil, filters.arguments.isEmpty {
            // Counting the index alone avoids a join per hit.
            return try Int.fetchOne(
                db, sql: "SELECT count(*) FROM \(SearchProjection.index) WHERE \(SearchProjection.index) MATCH ?",
                arguments: [match]) ?? 0
        }
        return try Int.fetchOne(db, sql: "SELECT count(*) \(matchJoin)\(filters.sql)", arguments: arguments) ?? 0
    }

    /// Rowids as an SQL list, for `rowid IN (…)`.
    static func sqlList(_ rowids: [Int64]) -> String { rowids.map(String.init).joined(separator: ",") }

    /// Fields and highlights of the page's documents, in rank order, each hit read, highlighted
    /// and cropped in turn; the hits end early when the answer reaches ``maxAnswerBytes``.
    static func hits(
        _ ordered: [(rowid: Int64, score: Double)], match: String?, highlighter: Highlighter?, request: SearchRequest,
        spec: SearchSpec, db: Database
    ) throws -> (hits: [SearchResult.Hit], truncated: Bool) {
        guard !ordered.isEmpty else { return ([], false) }
        let returned = request.fields.map { names in spec.fields.filter { names.contains($0.name) } } ?? spec.visibleFields
        let highlighted = request.highlight.map { names in spec.textFields.filter { names.contains($0.name) } } ?? spec.textFields
        let read = returned + highlighted.filter { field in !returned.contains { $0.name == field.name } }
        // Only as much of a long value as the crop or the highlight reads.
        let columns =
            (["doc_id"]
            + read.map { field -> String in
                let column = field.name.quotedDatabaseIdentifier
                if request.crop == 0, returned.contains(field) { return column }
                let characters = highlighted.contains(field) ? max(Highlighter.scannedBytes + 1, request.crop + 1) : request.crop + 1
                return "substr(\(column), 1, \(characters))"
            }).joined(separator: ", ")
        let row = try db.cachedStatement(sql: "SELECT \(columns) FROM \(SearchProjection.documents) WHERE rowid = ?")
        let fts = SearchProjection.index
        // Raw FTS5 syntax (NEAR, column filters) is only understood by FTS5's own snippet().
        let snippetColumns = highlighted.map {
            "snippet(\(fts), \(spec.textFields.firstIndex(of: $0)!), char(57344), char(57345), '…', 24)"
        }.joined(separator: ", ")
        let snippets =
            highlighter == nil && match != nil && !highlighted.isEmpty
            ? try db.cachedStatement(sql: "SELECT \(snippetColumns) FROM \(fts) WHERE \(fts) MATCH ? AND rowid = ?")
            : nil
        var hits: [SearchResult.Hit] = []
        var bytes = 0
        for item in ordered {
            guard let values = try Row.fetchOne(row, arguments: [item.rowid]) else { continue }
            var hit = SearchResult.Hit(
                id: spec.documentID(values[0]), score: (item.score * 1000).rounded() / 1000, fields: [:], highlights: [:])
            for (index, field) in read.enumerated() {
                guard let text = values[index + 1] as String? else { continue }
                if let highlighter, highlighted.contains(field), let html = highlighter.html(text) { hit.highlights[field.name] = html }
                if index < returned.count { hit.fields[field.name] = Self.cropped(text, to: request.crop) }
            }
            if let snippets, let match, let marked = try Row.fetchOne(snippets, arguments: [match, item.rowid]) {
                for (index, field) in highlighted.enumerated() {
                    if let text = marked[index] as String?, text.contains(SearchProjection.markOpen) {
                        hit.highlights[field.name] = Self.markedHTML(text)
                    }
                }
            }
            bytes += hit.id.utf8.count + 64
            for (name, value) in hit.fields { bytes += name.utf8.count + value.utf8.count + 8 }
            for (name, value) in hit.highlights { bytes += name.utf8.count + value.utf8.count + 8 }
            // The first hit is always returned, whole fields cut to the default crop if need be.
            if bytes > maxAnswerBytes {
                if hits.isEmpty {
                    hit.fields = hit.fields.mapValues { Self.cropped($0, to: SearchRequest.defaultCrop) }
                    hits.append(hit)
                }
                return (hits, true)
            }
            hits.append(hit)
        }
        return (hits, false)
    }

    /// Most bytes of fields and highlights one answer carries: a page of whole long fields
    /// (`crop=0`) ends early past it.
    public static let maxAnswerBytes = 4 << 20

    /// `text` cut to `length` characters at a word boundary, ending with "…" when it was cut
    /// (0: whole).
    static func cropped(_ text: String, to length: Int) -> String {
        guard length > 0, text.utf8.count > length,
            var end = text.index(text.startIndex, offsetBy: length, limitedBy: text.endIndex), end < text.endIndex
        else { return text }
        // Back to the last space when it is near, so no word is cut in two.
        if !text[end].isWhitespace, let space = text[..<end].lastIndex(where: \.isWhitespace),
            text.distance(from: space, to: end) < max(16, length / 5)
        {
            end = space
        }
        var kept = text[..<end]
        while let last = kept.last, last.isWhitespace { kept = kept.dropLast() }
        return kept + "…"
    }
}

extension SearchEngine {
    /// `snippet()` text with private-use markers as HTML: everything escaped, `<mark>` added.
    static func markedHTML(_ text: String) -> String {
        // The markers U+E000 and U+E001 are EE 80 80 and EE 80 81 in UTF-8.
        let bytes = Array(text.utf8)
        var out: [UInt8] = []
        out.reserveCapacity(bytes.count + 16)
        var index = 0
        while index < bytes.count {
            if bytes[index] == 0xEE, index + 2 < bytes.count, bytes[index + 1] == 0x80, bytes[index + 2] & 0xFE == 0x80 {
                out += bytes[index + 2] == 0x80 ? Highlighter.open : Highlighter.close
                index += 3
            } else {
                Highlighter.appendEscaped(bytes[index], to: &out)
                index += 1
            }
        }
        return String(decoding: out, as: UTF8.self)
    }
}
