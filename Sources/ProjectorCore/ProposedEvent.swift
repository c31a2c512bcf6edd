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

extension ProposedEvent {
    /// What a log stores for this event: `data` and `metadata` as compact JSON objects, `time`
    /// normalised (now when absent) and the tenant from `metadata`. Throws naming the field.
    /// Every log calls this, so every log accepts and refuses exactly the same events.
    public func storedFields() throws -> (data: String, metadata: String, time: String, tenant: String?) {
        try checkNames()
        let data: String
        let metadata: String
        let time: String
        if isCanonical, let given = self.time {
            // Checked by this module as it was read (an import line): not again.
            (data, metadata, time) = (self.data, self.metadata, given)
        } else {
            data = try JSONObjectText.validated(self.data, field: "data")
            metadata = self.metadata == "{}" ? "{}" : try JSONObjectText.validated(self.metadata, field: "metadata")
            if let given = self.time {
                guard let normalized = EventTime.normalized(given) else {
                    throw ProjectorError.invalidEvent("time must be an ISO-8601 date-time, found \"\(given)\"")
                }
                time = normalized
            } else {
                time = EventTime.now()
            }
        }
        return (data, metadata, time, metadata == "{}" ? nil : JSONObjectText.stringMember("tenant", of: metadata))
    }

    /// Checks the stream name and type; logs call it before a duplicate id is answered, so a
    /// retry that would be refused as new is refused as a retry too.
    public func checkNames() throws(ProjectorError) {
        try Self.checkName(stream, field: "stream")
        try Self.checkName(type, field: "type")
    }

    /// Checks a stream name or event type: not empty, no control character (a NUL would cut
    /// the name short in some readers and not in others).
    public static func checkName(_ value: String, field: String) throws(ProjectorError) {
        guard !value.isEmpty else { throw ProjectorError.invalidEvent("\(field) must not be empty") }
        for (offset, scalar) in value.unicodeScalars.enumerated()
        where scalar.value < 0x20 || (0x7F...0x9F).contains(scalar.value) {
            let code = "U+" + String(scalar.value, radix: 16, uppercase: true).leftPadded(to: 4)
            throw ProjectorError.invalidEvent("\(field) must not contain control characters (\(code) at character \(offset + 1))")
        }
    }
}

extension String {
    fileprivate func leftPadded(to width: Int) -> String {
        count >= width ? self : String(repeating: "0", count: width - count) + self
    }
}
