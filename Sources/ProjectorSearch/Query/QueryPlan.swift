import GRDB

/// One search as the engine runs it: the request, its parsed query and MATCH expressions, the
/// page and the filters, checked against the spec once.
struct QueryPlan {
    let request: SearchRequest
    let spec: SearchSpec
    let query: SearchQuery
    /// FTS5 MATCH expression of the positive terms (nil: none).
    let match: String?
    /// MATCH expression of the exclusions of a query with no positive terms.
    let excluded: String?
    let limit: Int
    let offset: Int
    let filters: SearchEngine.Filters

    /// The same request asking for `query` instead (a typo correction).
    func asking(_ query: SearchQuery) -> QueryPlan {
        QueryPlan(
            request: request, spec: spec, query: query, match: query.matchExpression(prefixes: spec.tokenizer != .trigram),
            excluded: SearchEngine.exclusion(query), limit: limit, offset: offset, filters: filters)
    }
}
