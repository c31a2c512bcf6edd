/// Where a projection stands: one row in the projection's own store, written in the same
/// transaction as its data.
public struct Checkpoint: Hashable, Sendable, Codable {
    public var name: String
    /// The last log position whose effects are in the store (0: none).
    public var position: Int64
    public var fingerprint: String
    public var state: ProjectionState
    /// UTC, ISO-8601.
    public var updatedAt: String
    public var lastError: String?
    /// Throughput of the last batches, for status.
    public var eventsPerSecond: Double
    /// The store passed the checks a rebuild's generation passes before it goes live (set when
    /// a first build reaches the head, or by the rebuild that made it).
    public var verified: Bool

    /// The fingerprint of a store whose setup failed: it holds no projection yet.
    public static let notSetUp = ""

    public init(
        name: String, position: Int64, fingerprint: String, state: ProjectionState, updatedAt: String,
        lastError: String? = nil, eventsPerSecond: Double = 0, verified: Bool = false
    ) {
        self.name = name
        self.position = position
        self.fingerprint = fingerprint
        self.state = state
        self.updatedAt = updatedAt
        self.lastError = lastError
        self.eventsPerSecond = eventsPerSecond
        self.verified = verified
    }
}

/// The life of a projection as status reports it.
public enum ProjectionState: String, Hashable, Sendable, Codable, CaseIterable {
    case catchingUp = "catching-up"
    case live
    case rebuilding
    case failed
    case stopped
    /// Status only: a transaction has run longer than the host's `stallAfter`.
    case stalled
}
