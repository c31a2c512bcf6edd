/// The one error type users of Projector see: a code to branch on and a message for humans.
///
/// A struct over a private enum (the Hummingbird and ServiceLifecycle way), so new codes can be
/// added without breaking anyone's `switch`.
public struct ProjectorError: Error, Hashable, Sendable, CustomStringConvertible {
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        private enum Base: String, Hashable, Sendable {
            case wrongExpectedVersion = "wrong-expected-version"
            case invalidEvent = "invalid-event"
            case invalidLine = "invalid-line"
            case invalidConfiguration = "invalid-configuration"
            case invalidSpec = "invalid-spec"
            case invalidQuery = "invalid-query"
            case notFound = "not-found"
            case projectionFailed = "projection-failed"
            case staleCheckpoint = "stale-checkpoint"
            case unavailable = "unavailable"
            case budgetExceeded = "budget-exceeded"
        }
        private let base: Base
        private init(_ base: Base) { self.base = base }

        /// An append's expected stream version did not match the stream.
        public static let wrongExpectedVersion = Code(.wrongExpectedVersion)
        /// An event failed validation (data not an object, missing type, bad time...).
        public static let invalidEvent = Code(.invalidEvent)
        /// A line of an NDJSON import could not be read as an event.
        public static let invalidLine = Code(.invalidLine)
        /// The configuration file or an option is wrong.
        public static let invalidConfiguration = Code(.invalidConfiguration)
        /// A projection spec file is wrong.
        public static let invalidSpec = Code(.invalidSpec)
        /// A query (SQL or search) was refused.
        public static let invalidQuery = Code(.invalidQuery)
        /// A projection, stream or file does not exist.
        public static let notFound = Code(.notFound)
        /// A projection threw while applying events.
        public static let projectionFailed = Code(.projectionFailed)
        /// Another writer moved a projection's checkpoint under us.
        public static let staleCheckpoint = Code(.staleCheckpoint)
        /// A service (database, server) cannot be reached or used right now.
        public static let unavailable = Code(.unavailable)
        /// A piece of work ran out of its budget (steps, time, fuel, memory) and was stopped.
        public static let budgetExceeded = Code(.budgetExceeded)

        public var description: String { base.rawValue }
    }

    public let code: Code
    public let message: String

    public init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }

    public var description: String { message }

    /// The conflict error: names the stream and both versions.
    public static func wrongExpectedVersion(stream: String, expected: ExpectedVersion, actual: Int64) -> Self {
        let actualText = actual == 0 ? "no stream (version 0)" : "version \(actual)"
        return .init(
            .wrongExpectedVersion,
            "wrong expected version for stream '\(stream)': expected \(expected), stream is at \(actualText)"
        )
    }

    public static func invalidEvent(_ message: String) -> Self { .init(.invalidEvent, message) }
}

extension ProjectorError {
    /// Appending to a store that is read in place: the software that owns it appends.
    public static func readOnlyLog(_ what: String) -> Self {
        .init(.invalidConfiguration, "the log is \(what), read in place: append with the software that owns it")
    }
}
