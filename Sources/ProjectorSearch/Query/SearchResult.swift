/// The answer to a search, in the documented JSON shape (CLI `--json` and HTTP).
public struct SearchResult: Codable, Sendable, Equatable {
    public struct Hit: Codable, Sendable, Equatable {
        public var id: String
        public var score: Double
        public var fields: [String: String]
        /// HTML-escaped text with only `<mark>` tags added.
        public var highlights: [String: String]
    }

    public var index: String
    public var query: String
    /// Exact number of matching documents.
    public var total: Int
    public var tookMs: Double
    public var hits: [Hit]
    public var facets: [String: [String: Int]]
    /// A corrected query when this one found little or nothing.
    public var suggestion: String?
    /// When the suggestion was run instead of the query (typo auto-correction).
    public var corrected: Bool?
    /// Set when the page's hits end early because the answer reached
    /// ``SearchEngine/maxAnswerBytes``: the next page starts after the last hit returned.
    public var truncated: Bool?

    enum CodingKeys: String, CodingKey {
        case index, query, total, tookMs, hits, facets, suggestion, corrected, truncated
    }

    /// `suggestion` is always present (null when there is none), as the contract shows.
    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(index, forKey: .index)
        try container.encode(query, forKey: .query)
        try container.encode(total, forKey: .total)
        try container.encode(tookMs, forKey: .tookMs)
        try container.encode(hits, forKey: .hits)
        try container.encode(facets, forKey: .facets)
        try container.encode(suggestion, forKey: .suggestion)
        try container.encodeIfPresent(corrected, forKey: .corrected)
        try container.encodeIfPresent(truncated, forKey: .truncated)
    }
}

/// What to search for.
public struct SearchRequest: Sendable, Hashable {
    public var query: String
    public var limit: Int
    public var offset: Int
    /// FIELD=VALUE pairs, AND-ed; the field must be a field of the spec.
    public var filters: [(field: String, value: String)]
    public var facets: [String]
    /// Treat the query as raw FTS5 syntax (validated first). Off by default.
    public var raw: Bool
    /// Run the suggested correction when the query finds nothing.
    public var autocorrect: Bool
    /// The fields each hit returns (nil: all of them).
    public var fields: [String]?
    /// The text fields each hit highlights (nil: all of them).
    public var highlight: [String]?
    /// Characters a returned field keeps: a longer value is cut at a word boundary and ends
    /// with "…" (0: whole values). Highlights are fragments whatever this is.
    public var crop: Int

    /// The tenant a partitioned index is searched within (required there, refused elsewhere).
    public var tenant: String?

    /// What ``crop`` is unless asked: a summary's worth of a long field.
    public static let defaultCrop = 300

    public init(
        query: String, limit: Int = 20, offset: Int = 0, filters: [(field: String, value: String)] = [],
        facets: [String] = [], raw: Bool = false, autocorrect: Bool = true, fields: [String]? = nil,
        highlight: [String]? = nil, crop: Int = SearchRequest.defaultCrop, tenant: String? = nil
    ) {
        self.tenant = tenant
        self.query = query
        self.limit = limit
        self.offset = offset
        self.filters = filters
        self.facets = facets
        self.raw = raw
        self.autocorrect = autocorrect
        self.fields = fields
        self.highlight = highlight
        self.crop = crop
    }

    public static func == (lhs: Self, rhs: Self) -> Bool {
        lhs.query == rhs.query && lhs.limit == rhs.limit && lhs.offset == rhs.offset && lhs.facets == rhs.facets
            && lhs.raw == rhs.raw && lhs.autocorrect == rhs.autocorrect && lhs.fields == rhs.fields
            && lhs.highlight == rhs.highlight && lhs.crop == rhs.crop && lhs.tenant == rhs.tenant
            && lhs.filters.map { "\($0.field)=\($0.value)" } == rhs.filters.map { "\($0.field)=\($0.value)" }
    }

    public func hash(into hasher: inout Hasher) {
        hasher.combine(query)
        hasher.combine(limit)
        hasher.combine(offset)
        hasher.combine(tenant)
    }
}
