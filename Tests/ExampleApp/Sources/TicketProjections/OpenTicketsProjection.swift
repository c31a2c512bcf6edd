import GRDB
import ProjectorCore

/// Open tickets per queue, and the time spent on closed ones: the application's own Swift
/// projection, reading its events through the structs generated from Schemas/.
public struct OpenTicketsProjection: Projection {
    public let name = "open-tickets"
    public let fingerprint = "open-tickets-v1"
    public var eventTypes: Set<String>? { [TicketOpened.eventType, TicketClosed.eventType] }

    public init() {}

    public func setUp(_ db: Database) throws {
        try db.execute(
            sql: """
                CREATE TABLE tickets(ticket TEXT PRIMARY KEY, queue TEXT NOT NULL, subject TEXT NOT NULL,
                                     open INTEGER NOT NULL, minutes INTEGER);
                CREATE VIEW queues AS
                    SELECT queue, sum(open) AS open, count(*) - sum(open) AS closed, sum(minutes) AS minutes
                    FROM tickets GROUP BY queue;
                """)
    }

    public func apply(_ events: [RecordedEvent], _ db: Database) throws {
        for event in events {
            switch event.type {
            case TicketOpened.eventType:
                let opened = try event.decode(TicketOpened.self)
                try db.execute(
                    sql: "INSERT OR REPLACE INTO tickets(ticket, queue, subject, open) VALUES (?, ?, ?, 1)",
                    arguments: [event.stream, opened.queue, opened.subject])
            default:
                let closed = try event.decode(TicketClosed.self)
                try db.execute(
                    sql: "UPDATE tickets SET open = 0, minutes = ? WHERE ticket = ?",
                    arguments: [closed.minutesSpent, event.stream])
            }
        }
    }
}
