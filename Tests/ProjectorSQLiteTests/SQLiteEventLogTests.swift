import Foundation
import GRDB
import ProjectorCore
import ProjectorSQLite
import ProjectorTesting
import Testing

@Suite struct SQLiteEventLogTests {
    let folder = TemporaryFolder()

    func makeLog() throws -> SQLiteEventLog {
        try SQLiteEventLog(path: folder.file("events.sqlite"))
    }

    func deposit(_ stream: String, _ amount: Int, expected: ExpectedVersion = .any, id: UUID? = nil) -> ProposedEvent {
        ProposedEvent(id: id, stream: stream, type: "Deposited", data: #"{"amount":\#(amount)}"#, expectedVersion: expected)
    }

    @Test func assignsGlobalPositionsAndStreamVersions() async throws {
        let log = try makeLog()
        let first = try await log.append([deposit("a", 1), deposit("b", 2), deposit("a", 3)])
        #expect(first.map(\.position) == [1, 2, 3])
        #expect(first.map(\.version) == [1, 1, 2])
        let second = try await log.append([deposit("a", 4)])
        #expect(second[0].position == 4 && second[0].version == 3)
        #expect(try await log.head() == 4)
        #expect(try await log.read(after: 1, limit: 2).map(\.position) == [2, 3])
        #expect(try await log.readStream("a", fromVersion: 2, limit: 10).map(\.version) == [2, 3])
    }

    @Test func streamsAreTheirBytesNotSwiftsCanonicalEquality() async throws {
        // "é" precomposed and decomposed are equal Swift strings but two streams in the table
        // (found by schemathesis: the version cache once mixed them up).
        let log = try makeLog()
        let (composed, decomposed) = ("caf\u{E9}", "cafe\u{301}")
        _ = try await log.append([
            ProposedEvent(stream: composed, type: "T", data: "{}"), ProposedEvent(stream: composed, type: "T", data: "{}"),
        ])
        let mixed = try await log.append([
            ProposedEvent(stream: decomposed, type: "T", data: "{}"), ProposedEvent(stream: composed, type: "T", data: "{}"),
            ProposedEvent(stream: decomposed, type: "T", data: "{}"),
        ])
        #expect(mixed.map(\.version) == [1, 3, 2])
        #expect(try await log.readStream(decomposed, fromVersion: 1, limit: 10).count == 2)
    }

    @Test func expectedVersionConflictNamesStreamAndVersionsAndWritesNothing() async throws {
        let log = try makeLog()
        _ = try await log.append([deposit("acct", 1, expected: .noStream), deposit("acct", 2, expected: .exactly(1))])
        await #expect {
            _ = try await log.append([deposit("other", 5), deposit("acct", 3, expected: .exactly(1))])
        } throws: { error in
            guard let error = error as? ProjectorError, error.code == .wrongExpectedVersion else { return false }
            return error.message.contains("'acct'") && error.message.contains("expected version 1")
                && error.message.contains("version 2")
        }
        await #expect(throws: ProjectorError.self) { _ = try await log.append([deposit("acct", 3, expected: .noStream)]) }
        #expect(try await log.head() == 2, "the rejected append wrote nothing, not even its good first event")
        #expect(try await log.readStream("other", fromVersion: 1, limit: 10).isEmpty)
        let ok = try await log.append([deposit("acct", 3, expected: .exactly(2))])
        #expect(ok[0].version == 3)
    }

    @Test func appendingTheSameIdTwiceIsANoOp() async throws {
        let log = try makeLog()
        let id = UUID()
        let first = try await log.append([deposit("a", 1, id: id)])
        let again = try await log.append([deposit("a", 1, expected: .noStream, id: id)])
        #expect(again == first, "a retry returns the stored event, even with an expectation that no longer holds")
        #expect(try await log.head() == 1)
        let outcomes = try await log.appendEach([deposit("a", 1, id: id), deposit("a", 2)])
        #expect(outcomes.count == 2)
        guard case .duplicate(let stored) = outcomes[0], case .appended(let added) = outcomes[1] else {
            Issue.record("unexpected outcomes \(outcomes)")
            return
        }
        #expect(stored.position == 1 && added.position == 2 && added.version == 2)
        await #expect(throws: ProjectorError.self, "a retry is checked like a new event") {
            _ = try await log.append([ProposedEvent(id: id, stream: "a", type: "Deposited\u{85}", data: "{}")])
        }
    }

    @Test(arguments: [
        (#"[1,2]"#, "data must be a JSON object"),
        (#""text""#, "data must be a JSON object"),
        (#"{"a":"#, "data must be a JSON object"),
        (#"null"#, "data must be a JSON object"),
    ])
    func dataThatIsNotAnObjectIsRejectedWithNothingWritten(data: String, message: String) async throws {
        let log = try makeLog()
        await #expect {
            _ = try await log.append([deposit("a", 1), ProposedEvent(stream: "a", type: "T", data: data)])
        } throws: { error in
            (error as? ProjectorError)?.message.contains(message) == true
        }
        #expect(try await log.head() == 0)
    }

    @Test func metadataMustBeAnObjectAndTenantIsKept() async throws {
        let log = try makeLog()
        await #expect(throws: ProjectorError.self) {
            _ = try await log.append([ProposedEvent(stream: "a", type: "T", data: "{}", metadata: "[]")])
        }
        let stored = try await log.append([
            ProposedEvent(stream: "a", type: "T", data: "{}", metadata: #"{ "tenant": "north" }"#)
        ])
        #expect(stored[0].tenant == "north")
        #expect(stored[0].metadata == #"{"tenant":"north"}"#)
    }

    @Test func badTimesAreRejectedAndGoodOnesNormalised() async throws {
        let log = try makeLog()
        await #expect(throws: ProjectorError.self) {
            _ = try await log.append([ProposedEvent(stream: "a", type: "T", data: "{}", time: "last tuesday")])
        }
        let stored = try await log.append([
            ProposedEvent(stream: "a", type: "T", data: "{}", time: "2026-01-02T03:04:05+01:00")
        ])
        #expect(stored[0].time == "2026-01-02T02:04:05.000Z")
    }

    @Test func eventLinesRoundTrip() async throws {
        let log = try makeLog()
        let stored = try await log.append([
            ProposedEvent(stream: "s \"q\"", type: "T", data: #"{"x":"é\n"}"#, metadata: #"{"m":1}"#)
        ])[0]
        let parsed = try EventLineParser.parse(stored.line)
        #expect(parsed.stream == stored.stream && parsed.data == stored.data && parsed.metadata == stored.metadata)
        #expect(parsed.id == stored.id && parsed.time == stored.time)
    }

    @Test func waitersWakeAtOnceOnAppendInTheSameProcess() async throws {
        let log = try SQLiteEventLog(path: folder.file("events.sqlite"), configuration: .init(pollInterval: .seconds(3600)))
        let started = ContinuousClock.now
        async let waited: Void = log.waitForEvents(after: 0)
        try await Task.sleep(for: .milliseconds(50))
        _ = try await log.append([deposit("a", 1)])
        try await waited
        #expect(ContinuousClock.now - started < .seconds(60), "woken by the append, not by the hourly poll")
    }

    @Test func waitersSeeAppendsFromAnotherConnection() async throws {
        let log = try makeLog()
        let other = try SQLiteEventLog(path: folder.file("events.sqlite"))
        async let waited: Void = log.waitForEvents(after: 0)
        try await Task.sleep(for: .milliseconds(30))
        _ = try await other.append([deposit("a", 1)])
        try await waited
        #expect(try await log.head() == 1)
    }

    @Test func anAppendByAnotherConnectionWakesAWaiterWithoutPolling() async throws {
        let log = try SQLiteEventLog(path: folder.file("events.sqlite"), configuration: .init(pollInterval: .seconds(3600)))
        let other = try SQLiteEventLog(path: folder.file("events.sqlite"))
        let started = ContinuousClock.now
        async let waited: Void = log.waitForEvents(after: 0)
        try await Task.sleep(for: .milliseconds(50))
        _ = try await other.append([deposit("a", 1)])
        try await waited
        #expect(ContinuousClock.now - started < .seconds(60), "woken by the file write, not by the hourly poll")
    }

    @Test func waitingIsCancellable() async throws {
        let log = try makeLog()
        let task = Task { try await log.waitForEvents(after: 0) }
        try await Task.sleep(for: .milliseconds(20))
        task.cancel()
        await #expect(throws: CancellationError.self) { try await task.value }
    }
}
