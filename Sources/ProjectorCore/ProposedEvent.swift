public import Foundation

/// An event on its way into the log: the log assigns position and version.
public struct ProposedEvent: Hashable, Sendable {
    /// Appending an id the log already holds is a no-op; nil lets the log make one.
    public var id: UUID?
    public var stream: String
    public var type: String
    /// A JSON object, as text.
    public var data: String {
        didSet { isCanonical = false }
    }
    /// A JSON object, as text.
    public var metadata: String {
        didSet { isCanonical = false }
    }
    /// ISO-8601; nil means now.
    public var time: String? {
        didSet { isCanonical = false }
    }
    public var expectedVersion: ExpectedVersion

    /// True when `data` and `metadata` are known to be compact JSON objects and `time` is
    /// normalised, because this module checked them (the NDJSON parser does, as it reads).
    /// Only this module can set it, and changing any of the three clears it, so the log may
    /// skip checking again what cannot have changed.
    public internal(set) var isCanonical = false

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

    public static func == (lhs: Self, rhs: Self) -> Bool {
        lhs.id == rhs.id && lhs.stream == rhs.stream && lhs.type == rhs.type && lhs.data == rhs.data
            && lhs.metadata == rhs.metadata && lhs.time == rhs.time && lhs.expectedVersion == rhs.expectedVersion
    }

    public func hash(into hasher: inout Hasher) {
        hasher.combine(id)
        hasher.combine(stream)
        hasher.combine(type)
        hasher.combine(data)
    }
}
