import ArgumentParser
import Foundation
import ProjectorCore

struct AppendCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "append",
        abstract: "Append one event to a stream and print it as stored.",
        discussion: """
            Prints the stored event as one event line, with its position and version. Appending \
            an --id the log already holds is a no-op that prints the stored event.
              projector append account-1 Deposited '{"amount": 100}'
              projector append account-1 Withdrawn '{"amount": 30}' --expected-version 1
            """)

    @OptionGroup var global: GlobalOptions

    @Argument(help: "The stream, e.g. account-42.") var stream: String
    @Argument(help: "The event type, e.g. Deposited.") var type: String
    @Argument(help: "The event data: a JSON object.") var data: String
    @Option(help: "Metadata: a JSON object (metadata.tenant partitions a multi-tenant log).") var metadata: String = "{}"
    @Option(help: "any, no-stream, or the version the stream must be at.") var expectedVersion: String = "any"
    @Option(help: "The event id (UUID); appending an id twice is a no-op.") var id: String?
    @Option(help: "The event time, ISO-8601 (default: now).") var time: String?

    func run() async throws {
        guard let expected = ExpectedVersion(parsing: expectedVersion) else {
            throw ProjectorError(.invalidEvent, "--expected-version must be any, no-stream or a number, found '\(expectedVersion)'")
        }
        var uuid: UUID?
        if let id {
            guard let parsed = UUID(uuidString: id) else { throw ProjectorError(.invalidEvent, "--id must be a UUID, found '\(id)'") }
            uuid = parsed
        }
        let configuration = try global.configuration()
        let log = try global.log(configuration)
        try await log.whileRunning {
            let event = ProposedEvent(
                id: uuid, stream: stream, type: type, data: data, metadata: metadata, time: time, expectedVersion: expected)
            let stored = try await log.append([event])
            print(stored[0].line)
        }
    }
}
