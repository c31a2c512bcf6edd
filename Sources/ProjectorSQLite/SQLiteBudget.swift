import GRDBSQLite

/// A limit on the SQLite work outside code makes a connection do: a progress handler counts
/// virtual-machine steps per statement and watches a deadline, and stops the statement
/// (SQLITE_INTERRUPT) when either runs out.
///
/// Steps are deterministic (the same statement on the same data always takes the same number),
/// so a projection's budget fails the same event in every rebuild; the deadline is for requests.
package final class SQLiteBudget: @unchecked Sendable {
    /// Why the last statement was stopped.
    public enum Exhausted: Sendable, Equatable { case steps, deadline }

    /// Steps one statement may take; nil for no limit.
    public let steps: Int64?
    /// When every statement must have ended; nil for no deadline.
    public let deadline: ContinuousClock.Instant?
    /// Set when a statement was stopped by this budget (not by a cancellation).
    public private(set) var exhausted: Exhausted?
    private var ticks: Int64 = 0
    /// The handler runs every this many steps: cheap, and fine-grained enough to stop in time.
    static let stride: Int32 = 1000

    public init(steps: Int64?, deadline: ContinuousClock.Instant? = nil) {
        self.steps = steps
        self.deadline = deadline
    }

    /// Runs `body` with every statement it runs on `connection` counted against the budget.
    /// The count starts again at each ``startStatement()``.
    public func watch<T>(_ connection: OpaquePointer, _ body: () throws -> T) rethrows -> T {
        ticks = 0
        exhausted = nil
        sqlite3_progress_handler(connection, Self.stride, progress, Unmanaged.passUnretained(self).toOpaque())
        defer { sqlite3_progress_handler(connection, 0, nil, nil) }
        return try body()
    }

    /// The next statement starts with the whole step budget.
    public func startStatement() { ticks = 0 }

    /// Called by SQLite; true stops the statement.
    fileprivate func tick() -> Bool {
        ticks += 1
        if let steps, ticks * Int64(Self.stride) > steps {
            exhausted = .steps
            return true
        }
        // The clock is read on the first call and every 16th: every 16,000 steps, tens of microseconds.
        if let deadline, ticks & 15 == 1, ContinuousClock.now >= deadline {
            exhausted = .deadline
            return true
        }
        return false
    }

    /// What a stopped statement reports: the limit and the setting that raises it.
    public func message(setting: String) -> String {
        switch exhausted {
        case .steps?: "ran past its budget of \(Self.grouped(steps ?? 0)) SQLite steps (\(setting))"
        case .deadline?: "ran past its deadline"
        case nil: "was interrupted"
        }
    }

    /// 100000000 as 100,000,000.
    public static func grouped(_ number: Int64) -> String {
        var text = String(number)
        var index = text.endIndex
        while text.distance(from: text.startIndex, to: index) > 3 {
            index = text.index(index, offsetBy: -3)
            text.insert(",", at: index)
        }
        return text
    }
}

private func progress(_ context: UnsafeMutableRawPointer?) -> Int32 {
    guard let context else { return 0 }
    return Unmanaged<SQLiteBudget>.fromOpaque(context).takeUnretainedValue().tick() ? 1 : 0
}
