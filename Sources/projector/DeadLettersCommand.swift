import ArgumentParser
import Foundation
import ProjectorCore
import ProjectorHost
import ProjectorSQLite
import ProjectorSpecs

struct DeadLettersCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "dead-letters",
        abstract: "List the events projections could not apply (poison events), with their errors.",
        discussion: """
            An event that fails every try (see onError in the spec) is parked in its projection's \
            dead-letter table; the projection skips it or stops there. Fix the cause, then \
            `projector redrive NAME`.
            """)

    @OptionGroup var global: GlobalOptions
    @Argument(help: "Only this projection (default: all).") var name: String?
    @Flag(help: "Print JSON (an array of objects: projection, event, error, tries, failedAt).") var json = false

    func run() async throws {
        let configuration = try global.configuration()
        let log = try global.existingLog(configuration)
        try await log.whileRunning {
            let host = try global.host(configuration, log: log)
            let names =
                try name.map { name in
                    guard host.runner(named: name) != nil else { throw ProjectorError(.notFound, "no projection named '\(name)'") }
                    return [name]
                } ?? host.runners.map(\.name)
            var letters: [(String, DeadLetter)] = []
            for name in names {
                letters += try await host.deadLetters(name).map { (name, $0) }
            }
            if json {
                let output = OutputBuffer()
                output.line(
                    "["
                        + letters.map { name, letter in
                            "{\"projection\":\(JSONString.quote(name)),\"event\":\(letter.event.line),\"error\":\(JSONString.quote(letter.error)),"
                                + "\"tries\":\(letter.tries),\"failedAt\":\"\(letter.failedAt)\"}"
                        }.joined(separator: ",") + "]")
                output.flush()
                return
            }
            guard !letters.isEmpty else {
                Terminal.note("no dead letters")
                return
            }
            TablePrinter.print(
                header: ["PROJECTION", "POSITION", "TYPE", "STREAM", "TRIES", "FAILED AT", "ERROR"],
                rows: letters.map { name, letter in
                    [
                        name, String(letter.event.position), letter.event.type, letter.event.stream, String(letter.tries), letter.failedAt,
                        letter.error,
                    ]
                }, maxWidth: 100)
        }
    }
}

struct RedriveCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "redrive",
        abstract: "Apply a projection's dead letters again, each exactly once, oldest first.",
        discussion: """
            Each event is applied and removed from the dead letters in one transaction. One that \
            fails again stays parked with its new error (exit status 1). A projection that had \
            stopped at a poison event goes on from there.
            """)

    @OptionGroup var global: GlobalOptions
    @Argument(help: "The projection.") var name: String

    func run() async throws {
        let configuration = try global.configuration()
        let log = try global.log(configuration)
        try await log.whileRunning {
            let host = try global.host(configuration, log: log)
            let result = try await host.redrive(name)
            Terminal.note(
                "\(name): \(result.applied.count) dead letter\(result.applied.count == 1 ? "" : "s") applied, \(result.failed.count) still failing"
            )
            for (position, error) in result.failed { Terminal.error("event \(position): \(error)") }
            if !result.failed.isEmpty { throw ExitCode(1) }
        }
    }
}
