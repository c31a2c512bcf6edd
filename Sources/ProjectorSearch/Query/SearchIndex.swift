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

    /// Answers a search. Any query text within the limits is valid; unknown filter or facet
    /// fields are errors, and so is a search still running `timeout` after it started (`budget-exceeded`;
    /// waiting for a connection on a busy machine is not the search's work).
    public func search(_ request: SearchRequest, timeout: Duration = SearchIndex.timeout) async throws -> SearchResult {
        let spec = self.spec
        return try await reader.read { db in
            try SearchEngine.search(request, spec: spec, db: db, deadline: ContinuousClock.now + timeout)
        }
    }

    /// How long a search may run by default: far past any normal answer (milliseconds).
    public static let timeout: Duration = .seconds(2)
}
