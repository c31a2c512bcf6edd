public import Foundation

/// An event on its way into the log: the log assigns position and version.
public struct ProposedEvent: Hashable, Sendable {
    /// Appending an id the log already holds is a no-op; nil lets the log make one.
    public var id: UUID?
    public var stream: String
    public var type: String
    /// A JSON object, as text.
    public var data: String
    /// A JSON object, as text.
    public var metadata: String
    /// ISO-8601; nil means now.
    public var time: String?
    public var expectedVersion: ExpectedVersion

    public init(
        id: UUID? = nil, stream: String, type: String, data: String, metadata: String = "{}",
        time: String? = nil, expectedVersion: ExpectedVersion = .any
    ) {
        self.id = id
        self.stream = stream
        self.type = type
        self.data = data
        self.metadata = metadata
        self.time = time
        self.expectedVersion = expectedVersion
    }
}
