// The application's host: Projector's runtime with the application's projections registered.
// Appends a few typed events, catches up, prints the queues; with --follow it keeps following
// the log until SIGINT or SIGTERM.
import Foundation
import ProjectorCore
import ProjectorHost
import ProjectorSQLite
import TicketProjections

let folder = CommandLine.arguments.dropFirst().first { !$0.hasPrefix("--") } ?? ".ticket-app"
let log = try SQLiteEventLog(path: folder + "/events.sqlite")
_ = try await log.append([
    try ProposedEvent(stream: "ticket-1", TicketOpened(queue: "billing", subject: "Charged twice")),
    try ProposedEvent(stream: "ticket-2", TicketOpened(queue: "billing", subject: "Invoice address", tags: ["vat"])),
    try ProposedEvent(stream: "ticket-3", TicketOpened(queue: "platform", subject: "Export is slow")),
    try ProposedEvent(stream: "ticket-1", TicketClosed(resolution: "fixed", minutesSpent: 25)),
])
let host = try ProjectorHost(log: log, projections: [OpenTicketsProjection()], storesFolder: folder + "/stores")
try await host.runUntilSignalled(once: !CommandLine.arguments.contains("--follow"))
let queues = try host.runner(named: "open-tickets")!.store.pool.read { db in
    try String.fetchAll(db, sql: "SELECT queue || ': ' || open || ' open, ' || closed || ' closed' FROM queues ORDER BY queue")
}
print(queues.joined(separator: "\n"))
