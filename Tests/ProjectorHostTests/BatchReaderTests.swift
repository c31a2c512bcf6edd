import Foundation
import ProjectorCore
import ProjectorHost
import ProjectorSQLite
import ProjectorTesting
import Testing

@Suite struct BatchReaderTests {
    let folder = TemporaryFolder()

    func append(_ log: SQLiteEventLog, _ count: Int) async throws {
        _ = try await log.append((0..<count).map { ProposedEvent(stream: "s-\($0 % 3)", type: "Noted", data: #"{"n":\#($0)}"#) })
    }

    @Test func aFullBatchReadsTheNextAheadAndTheHeadDoesNot() async throws {
        let log = try SQLiteEventLog(path: folder.file("events.sqlite"))
        try await append(log, 25)
        let reader = BatchReader(log: log, batchSize: 10, readAhead: 1)

        #expect(try await reader.batch(after: 0).events.map(\.position) == Array(1...10))
        #expect(await reader.reads == 2, "the batch after 10 is read while the first one applies")
        #expect(try await reader.batch(after: 10).events.map(\.position) == Array(11...20))
        #expect(await reader.reads == 3)
        // Served by the read ahead; a short batch means the head: nothing more is read ahead.
        #expect(try await reader.batch(after: 20).events.map(\.position) == Array(21...25))
        #expect(await reader.reads == 3)
    }

    /// A runner far behind finds the next `readAhead` batches read while it applies, never more.
    @Test func readAheadKeepsItsDepthAsTheRunnerMoves() async throws {
        let log = try SQLiteEventLog(path: folder.file("events.sqlite"))
        try await append(log, 100)
        let reader = BatchReader(log: log, batchSize: 10, readAhead: 3)
        /// The reads once `expected` were made (or 10 s passed) and then 100 ms more, in which a
        /// read past them would have started.
        func reads(reaching expected: Int) async throws -> Int {
            let deadline = ContinuousClock.now + .seconds(10)
            while await reader.reads < expected, ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(5)) }
            try await Task.sleep(for: .milliseconds(100))
            return await reader.reads
        }
        _ = try await reader.batch(after: 0)
        #expect(try await reads(reaching: 4) == 4, "the batch asked for and the three after it")
        // Served from what was read ahead; one more is read past it.
        #expect(try await reader.batch(after: 10).events.map(\.position) == Array(11...20))
        #expect(try await reads(reaching: 5) == 5)
        for position in stride(from: 20, to: 100, by: 10) {
            #expect(try await reader.batch(after: Int64(position)).events.first?.position == Int64(position) + 1)
        }
        // Ten batches and one look past the head, each read once.
        #expect(await reader.reads == 11)
    }

    @Test func anEmptyReadAheadNeverHidesEventsAppendedSince() async throws {
        let log = try SQLiteEventLog(path: folder.file("events.sqlite"))
        try await append(log, 20)
        let reader = BatchReader(log: log, batchSize: 10)
        _ = try await reader.batch(after: 0)
        let second = try await reader.batch(after: 10)
        #expect(second.events.count == 10 && second.head == 20)
        // The read ahead of the batch after 20 found nothing; events arrive after it.
        while await reader.reads < 3 { await Task.yield() }
        try await Task.sleep(for: .milliseconds(50))
        try await append(log, 4)
        #expect(try await reader.batch(after: 20).events.map(\.position) == Array(21...24))
    }
}
