/// Polls `condition` until it holds; throws when `timeout` passes first.
///
/// For tests of things that happen in another task or process (a live projection catching an
/// append): they assert an outcome, never a duration. The timeout is generous because CI runs
/// every suite at once on two cores, where a test may wait tens of seconds for a thread.
public func waitUntil(
    timeout: Duration = .seconds(120), _ condition: @Sendable () async throws -> Bool
) async throws {
    let deadline = ContinuousClock.now + timeout
    while try await !condition() {
        guard ContinuousClock.now < deadline else { throw ConditionTimeout(timeout: timeout) }
        try await Task.sleep(for: .milliseconds(5))
    }
}

/// `waitUntil` gave up.
public struct ConditionTimeout: Error, CustomStringConvertible {
    public let timeout: Duration
    public var description: String { "condition not met within \(timeout)" }
}
