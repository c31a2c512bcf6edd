import Foundation
import GRDB
import ProjectorCore
import Synchronization

/// Holds a projection's transactions until the test opens it (at most a minute), so a test can
/// look at a transaction in flight without racing it.
final class Gate: Sendable {
    private let isOpen = Mutex(false)

    func open() { isOpen.withLock { $0 = true } }

    func pass() {
        let deadline = Date().addingTimeInterval(60)
        while !isOpen.withLock({ $0 }), Date() < deadline { Thread.sleep(forTimeInterval: 0.01) }
    }
}

/// Records every event it is given, so tests can see exactly what was applied and how often.
struct RecordingProjection: Projection {
    let name: String
    var fingerprint = "recording-v1"
    var eventTypes: Set<String>? = nil
    /// Throw when this position is reached (after writing the events before it in the batch).
    var failAt: Int64? = nil
    var errorPolicy = ErrorPolicy()
    /// Time each apply (one transaction: a batch, or several behind the head) takes on top of its
    /// writes (a slow projection, such as a big index).
    var pausePerBatch: Duration = .zero
    /// Each apply waits for this gate to open first.
    var gate: Gate? = nil

    func setUp(_ db: Database) throws {
        try db.execute(sql: "CREATE TABLE applied(seq INTEGER PRIMARY KEY AUTOINCREMENT, position INTEGER, stream TEXT, type TEXT)")
        // One row per transaction that applied events: how the host grouped them.
        try db.execute(sql: "CREATE TABLE transactions(seq INTEGER PRIMARY KEY AUTOINCREMENT, events INTEGER)")
    }

    func apply(_ events: [RecordedEvent], _ db: Database) throws {
        gate?.pass()
        if pausePerBatch > .zero { Thread.sleep(forTimeInterval: pausePerBatch / .seconds(1)) }
        try db.execute(sql: "INSERT INTO transactions(events) VALUES (?)", arguments: [events.count])
        for event in events {
            if event.position == failAt {
                throw ProjectorError(.projectionFailed, "boom at \(event.position)")
            }
            try db.execute(
                sql: "INSERT INTO applied(position, stream, type) VALUES (?, ?, ?)",
                arguments: [event.position, event.stream, event.type])
        }
    }
}
