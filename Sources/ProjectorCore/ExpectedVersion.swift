/// What an append expects of its stream: optimistic concurrency.
public enum ExpectedVersion: Hashable, Sendable, CustomStringConvertible {
    /// Append whatever the stream's version.
    case any
    /// The stream must not exist yet.
    case noStream
    /// The stream's last event must have exactly this version.
    case exactly(Int64)

    /// Parses `any`, `no-stream` or a number (0 means no stream).
    public init?(parsing text: String) {
        switch text.lowercased() {
        case "any": self = .any
        case "no-stream", "nostream", "no_stream": self = .noStream
        default:
            guard let number = Int64(text), number >= 0 else { return nil }
            self = number == 0 ? .noStream : .exactly(number)
        }
    }

    /// Whether a stream at `version` (0 when it has no events) satisfies this expectation.
    public func accepts(_ version: Int64) -> Bool {
        switch self {
        case .any: true
        case .noStream: version == 0
        case .exactly(let expected): version == expected
        }
    }

    public var description: String {
        switch self {
        case .any: "any"
        case .noStream: "no-stream"
        case .exactly(let version): "version \(version)"
        }
    }
}
