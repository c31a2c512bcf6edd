import ArgumentParser
import Foundation
import Logging
import ProjectorCore
import ProjectorHost
import ProjectorSpecs

/// `projector`: the command-line front end of the projector host.
@main
struct Projector: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "projector",
        abstract: "An event-sourcing projector host: an event log feeding SQLite read models.",
        discussion: """
            Events go into the log (append, import); the host feeds every projection from it \
            (run, serve); each projection keeps its own store and checkpoint (status, query, rebuild).
            With no configuration file everything lives under ./.projector/.
            """,
        subcommands: [
            AppendCommand.self, ImportCommand.self, ExportCommand.self, EventsCommand.self,
            RunCommand.self, ServeCommand.self, StatusCommand.self, RebuildCommand.self, QueryCommand.self,
            SearchCommand.self, ValidateCommand.self, RollbackCommand.self, DeadLettersCommand.self, RedriveCommand.self,
            KeysCommand.self, TenantsCommand.self,
        ]
    )

    /// Errors are one line on stderr naming the problem; the exit status is non-zero.
    static func main() async {
        LoggingSystem.bootstrap(StreamLogHandler.standardError)
        MemorySettings.apply()
        do {
            var command = try parseAsRoot()
            if var command = command as? any AsyncParsableCommand {
                try await command.run()
            } else {
                try command.run()
            }
        } catch let error as ProjectorError {
            Terminal.error(error.message)
            Foundation.exit(1)
        } catch let error as ExitCode {
            Foundation.exit(error.rawValue)
        } catch let error as CocoaError {
            // A file system refusal, in one line naming the path (not Foundation's dump).
            Terminal.error(Self.describe(error))
            Foundation.exit(1)
        } catch {
            exit(withError: error)
        }
    }

    static func describe(_ error: CocoaError) -> String {
        let path = (error.userInfo[NSFilePathErrorKey] as? String).map { "\($0): " } ?? ""
        let posix = (error.userInfo[NSUnderlyingErrorKey] as? NSError).map { String(cString: strerror(Int32($0.code))) }
        return path + (posix ?? error.localizedDescription)
    }
}
