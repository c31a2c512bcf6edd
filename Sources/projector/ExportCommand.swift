import ArgumentParser
import Foundation
import ProjectorCore

struct ExportCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "export",
        abstract: "Write events as NDJSON event lines to stdout (import reads them back).")

    @OptionGroup var global: GlobalOptions
    @Option(help: "First position (or, with --stream, first version) to export.") var from: Int64 = 1
    @Option(help: "Only this stream.") var stream: String?

    func run() async throws {
        let configuration = try global.configuration()
        let log = try global.existingLog(configuration)
        try await log.whileRunning { try await EventPrinter.print(log: log, from: from, stream: stream, limit: nil) }
    }
}

struct EventsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "events",
        abstract: "Show events as NDJSON event lines.")

    @OptionGroup var global: GlobalOptions
    @Option(help: "Only this stream (then --from is a version).") var stream: String?
    @Option(help: "First position (or version, with --stream).") var from: Int64 = 1
    @Option(help: "At most this many events.") var limit: Int = 100

    func run() async throws {
        guard limit > 0 else { throw ProjectorError(.invalidQuery, "--limit must be at least 1") }
        let configuration = try global.configuration()
        let log = try global.existingLog(configuration)
        try await log.whileRunning { try await EventPrinter.print(log: log, from: from, stream: stream, limit: limit) }
    }
}

/// Streams events to stdout in batches.
enum EventPrinter {
    static func print(log: any EventLog, from: Int64, stream: String?, limit: Int?) async throws {
        let output = OutputBuffer()
        var remaining = limit ?? Int.max
        var next = max(1, from)
        while remaining > 0 {
            let batch = min(remaining, 5000)
            let events =
                if let stream {
                    try await log.readStream(stream, fromVersion: next, limit: batch)
                } else {
                    try await log.read(after: next - 1, limit: batch)
                }
            for event in events { output.line(event.line) }
            guard let last = events.last, events.count == batch else { break }
            next = (stream == nil ? last.position : last.version) + 1
            remaining -= events.count
        }
        output.flush()
    }
}
