import ArgumentParser
import Foundation
import ProjectorCore
import ProjectorHost
import ProjectorSpecs

struct StatusCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "status",
        abstract: "Show every projection: state, position, head, lag, rate, dead letters, rebuild progress, last error.")

    @OptionGroup var global: GlobalOptions
    @Flag(help: "Print JSON (an array of projection objects).") var json = false

    func run() async throws {
        let configuration = try global.configuration()
        let log = try global.existingLog(configuration)
        try await log.whileRunning {
            let host = try global.host(configuration, log: log)
            let status = try await host.status()
            if json {
                let encoder = JSONEncoder()
                encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
                print(String(decoding: try encoder.encode(status), as: UTF8.self))
            } else {
                try await Self.printTable(status)
            }
        }
    }

    static func printTable(_ status: [ProjectionStatus]) async throws {
        let rows = status.map { item in
            [
                item.name, item.kind.rawValue, item.state.rawValue, String(item.position), String(item.head), String(item.lag),
                Format.rate(item.eventsPerSecond), String(item.deadLetters), rebuildText(item.rebuild),
                item.lastError ?? item.rebuild?.lastError ?? "",
            ]
        }
        TablePrinter.print(
            header: ["NAME", "KIND", "STATE", "POSITION", "HEAD", "LAG", "EVENTS/S", "DEAD", "REBUILD", "LAST ERROR"], rows: rows)
        for item in status { if let hint = hint(item) { Terminal.note("\(item.name): \(hint)") } }
    }

    /// The command that moves a projection on, for one that waits on its user.
    static func hint(_ item: ProjectionStatus) -> String? {
        guard item.state == .failed, item.rebuild == nil else { return nil }
        if item.lastError?.hasSuffix("it needs a rebuild") == true { return "run `projector rebuild \(item.name)`" }
        return "fix the cause, then run `projector redrive \(item.name)` (`projector dead-letters \(item.name)` shows the events)"
    }

    static func rebuildText(_ rebuild: ProjectionStatus.RebuildProgress?) -> String {
        guard let rebuild else { return "" }
        if rebuild.state == .failed { return "failed at \(rebuild.position)" }
        let eta = rebuild.etaSeconds.map { ", ETA \(Format.duration($0))" } ?? ""
        return String(format: "%.1f%%", rebuild.percent) + eta
    }
}

/// Aligned plain-text tables for terminals.
enum TablePrinter {
    static func print(header: [String], rows: [[String]], maxWidth: Int = 60) {
        let clipped = rows.map {
            $0.map { cell in
                let flat = cell.replacingOccurrences(of: "\n", with: " ")
                return flat.count > maxWidth ? String(flat.prefix(maxWidth - 1)) + "…" : flat
            }
        }
        var widths = header.map(\.count)
        for row in clipped { for (i, cell) in row.enumerated() where i < widths.count { widths[i] = max(widths[i], cell.count) } }
        func line(_ cells: [String]) -> String {
            cells.enumerated().map { i, cell in
                i == cells.count - 1 ? cell : cell.padding(toLength: widths[i], withPad: " ", startingAt: 0)
            }.joined(separator: "  ")
        }
        let output = OutputBuffer()
        output.line(line(header))
        for row in clipped { output.line(line(row)) }
        output.flush()
    }
}
