import GRDB
import ProjectorCore
import ProjectorHost
import ProjectorSQLite
import ProjectorTesting
import Testing
import TicketProjections

@Suite struct OpenTicketsProjectionTests {
    let folder = TemporaryFolder()

    @Test func queuesCountOpenAndClosedTicketsInARealHost() async throws {
        let log = try SQLiteEventLog(path: folder.file("events.sqlite"))
        _ = try await log.append([
            try ProposedEvent(stream: "t-1", TicketOpened(queue: "billing", subject: "a")),
            try ProposedEvent(stream: "t-2", TicketOpened(queue: "billing", subject: "b")),
            try ProposedEvent(stream: "t-1", TicketClosed(resolution: "fixed", minutesSpent: 30)),
            ProposedEvent(stream: "t-9", type: "Unrelated", data: "{}"),
        ])
        let host = try ProjectorHost(log: log, projections: [OpenTicketsProjection()], storesFolder: folder.file("stores"))
        try await host.catchUp()
        let runner = try #require(host.runner(named: "open-tickets"))
        let rows = try runner.store.pool.read { db in try Row.fetchAll(db, sql: "SELECT * FROM queues") }
        #expect(rows == [["queue": "billing", "open": 1, "closed": 1, "minutes": 30]])
        #expect(try await runner.store.checkpoint()?.position == 4)
    }

    @Test func theGeneratedStructsFollowTheSchemas() throws {
        // snake_case keys become camelCase properties; optional unless required.
        let closed = TicketClosed(resolution: "duplicate")
        #expect(closed.minutesSpent == nil && TicketClosed.eventType == "TicketClosed")
        let event = RecordedEvent(
            position: 1, id: .init(), stream: "t", version: 1, type: "TicketClosed",
            data: #"{"resolution":"fixed","minutes_spent":12}"#, time: "2026-11-27T00:00:00.000Z")
        #expect(try event.decode(TicketClosed.self) == TicketClosed(resolution: "fixed", minutesSpent: 12))
    }
}
