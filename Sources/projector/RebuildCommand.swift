import ArgumentParser
import Foundation
import ProjectorCore
import ProjectorHost
import ProjectorSQLite
import ProjectorSpecs

struct RebuildCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "rebuild",
        abstract: "Rebuild projections from position 0 without taking them offline.",
        discussion: """
            Builds the next generation of each store in its own file while the live one keeps \
            answering queries (and a running host keeps it current); once it has caught up with \
            the head it is verified (FTS5 integrity-check, row counts) and swapped in atomically. \
            The previous generation is kept for `projector rollback NAME`. Several names are \
            rebuilt together in one scan of the log. Interrupted (Ctrl-C, a crash), the rebuild \
            resumes where it stood with the next `rebuild`, `run` or `serve`; --cancel drops it.
            """)

    @OptionGroup var global: GlobalOptions
    @Argument(help: "The projections to rebuild.") var names: [String]
    @Flag(help: "Wait until the new generations are live (the default; kept for scripts).") var wait = false
    @Flag(help: "Drop a pending or running rebuild instead; the live generation stays.") var cancel = false

    func run() async throws {
        let configuration = try global.configuration()
        let log = try global.log(configuration)
        try await log.whileRunning {
            let host = try global.host(configuration, log: log)
            guard !names.isEmpty else { throw ValidationError("name at least one projection to rebuild") }
            if cancel {
                for name in names {
                    guard host.runner(named: name) != nil else { throw ProjectorError(.notFound, "no projection named '\(name)'") }
                    Terminal.note(try host.cancelRebuild(name) ? "cancelled the rebuild of \(name)" : "\(name) has no rebuild to cancel")
                }
                return
            }
            let head = try await log.head()
            let started = ContinuousClock.now
            let label = names.count == 1 ? "rebuilding \(names[0])" : "rebuilding \(names.count) projections"
            let results = try await withThrowingTaskGroup(of: [String: ProjectorHost.RebuildResult]?.self) { group in
                group.addTask { try await host.rebuild(names) }
                group.addTask {
                    var bar = ProgressBar(label: label)
                    while !Task.isCancelled {
                        var done: Int64 = 0
                        for name in names { done += await host.rebuildProgress(name)?.position ?? head }
                        let total = Int64(names.count) * max(head, 1)
                        bar.update(done: Double(done), total: Double(total), unit: "events", count: Int(done / Int64(names.count)))
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
            var failed: [String] = []
            for name in names {
                guard let result = results[name] else { continue }
                if result.swapped {
                    let tables = result.tables.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value) rows" }.joined(separator: ", ")
                    Terminal.note(
                        "rebuilt \(name) to position \(result.checkpoint.position) in \(Format.duration(seconds))"
                            + "\(tables.isEmpty ? "" : ": \(tables)"); the previous generation is kept for `projector rollback \(name)`"
                    )
                } else {
                    failed.append("\(name): \(result.checkpoint.lastError ?? "interrupted")")
                }
            }
            if !failed.isEmpty {
                throw ProjectorError(.projectionFailed, "rebuild failed, the live generation stays: " + failed.joined(separator: "; "))
            }
        }
    }
}

struct RollbackCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "rollback",
        abstract: "Make a projection's previous generation live again.",
        discussion: """
            The generation a rebuild replaced is kept until the next rebuild; rollback swaps it \
            back (and keeps the current one as previous, so a second rollback undoes the first). \
            It resumes from its own checkpoint.
            """)

    @OptionGroup var global: GlobalOptions
    @Argument(help: "The projection to roll back.") var name: String

    func run() async throws {
        let configuration = try global.configuration()
        let log = try global.log(configuration)
        try await log.whileRunning {
            let host = try global.host(configuration, log: log)
            let generations: StoreGenerations
            do {
                generations = try host.rollback(name)
            } catch let error as ProjectorError where error.code == .unavailable {
                throw ProjectorError(.unavailable, "\(error.message) (`projector rebuild \(name) --cancel`)")
            }
            Terminal.note("\(name): \(generations.live) is live again (\(generations.previous ?? "-") kept as previous)")
        }
    }
}
