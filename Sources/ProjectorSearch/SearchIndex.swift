public import GRDB
import ProjectorCore

/// A search projection's store opened for queries: the library API the CLI and HTTP call.
public struct SearchIndex: Sendable {
    public let spec: SearchSpec
    public let reader: any DatabaseReader

    public init(spec: SearchSpec, reader: any DatabaseReader) {
        self.spec = spec
        self.reader = reader
    }

    /// Answers a search. Any query text is valid; unknown filter or facet fields are errors.
    public func search(_ request: SearchRequest) async throws -> SearchResult {
        let spec = self.spec
        return try await reader.read { db in try SearchEngine.search(request, spec: spec, db: db) }
    }
}
