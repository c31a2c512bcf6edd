import ArgumentParser
import Foundation
import ProjectorCore
import ProjectorHost

struct RebuildCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "rebuild",
        abstract: "Rebuild a projection from position 0.",
        discussion: "Drops the projection's tables, sets them up again and replays the whole log.")

    @OptionGroup var global: GlobalOptions
    @Argument(help: "The projection to rebuild.") var name: String
    @Flag(help: "Wait until the rebuild has caught up with the head (the default here).") var wait = false

    func run() async throws {
        let configuration = try global.configuration()
        let log = try global.log(configuration)
        let host = try global.host(configuration, log: log)
        guard let runner = host.runner(named: name) else {
            throw ProjectorError(.notFound, "no projection named '\(name)' (known: \(host.runners.map(\.name).sorted().joined(separator: ", ")))")
        }
        let head = try await log.head()
        let started = ContinuousClock.now
        let checkpoint = try await withThrowingTaskGroup(of: Checkpoint?.self) { group in
            group.addTask { try await host.rebuild(name) }
            group.addTask {
                var bar = ProgressBar(label: "rebuilding \(name)")
                while !Task.isCancelled {
                    let position = runner.current.position
                    bar.update(done: Double(position), total: Double(head), unit: "events", count: Int(position))
                    try? await Task.sleep(for: .milliseconds(100))
                }
                return nil
            }
            let result = try await group.next()!
            group.cancelAll()
            return result!
        }
        Terminal.clearStatus()
        let seconds = (ContinuousClock.now - started) / .seconds(1)
        if checkpoint.state == .failed {
            throw ProjectorError(.projectionFailed, "rebuild of \(name) failed: \(checkpoint.lastError ?? "unknown error")")
        }
        Terminal.note("rebuilt \(name) to position \(checkpoint.position) in \(Format.duration(seconds))")
    }
}
