import ArgumentParser
import Foundation
import ProjectorCore
import ProjectorHost
import ProjectorSpecs
import Synchronization

struct ImportCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "import",
        abstract: "Import event lines (NDJSON) from a file or stdin.",
        discussion: """
            One event per line: {"stream":"…","type":"…","data":{…}} with optional id, metadata, \
            time and expectedVersion; position and version are assigned. Bad lines are reported \
            with their line numbers and skipped; good lines are kept. Importing the same file \
            again adds nothing. Exits 1 when any line was rejected.
            """)

    @OptionGroup var global: GlobalOptions

    @Argument(help: "An NDJSON file, or - for stdin.") var file: String

    @Option(help: "Stop listing rejected lines after this many (all are counted).") var maxErrors: Int = 100

    func run() async throws {
        let configuration = try global.configuration()
        let log = try global.log(configuration)
        try await log.whileRunning {
            let handle: FileHandle
            var total: Int64?
            if file == "-" {
                handle = .standardInput
            } else {
                var folder: ObjCBool = false
                if FileManager.default.fileExists(atPath: file, isDirectory: &folder), folder.boolValue {
                    throw ProjectorError(.invalidLine, "\(file): is a folder, not a file of event lines")
                }
                guard let opened = FileHandle(forReadingAtPath: file) else {
                    throw ProjectorError(.notFound, "\(file): cannot open the file")
                }
                handle = opened
                total = (try? FileManager.default.attributesOfItem(atPath: file)[.size] as? NSNumber)?.int64Value
            }
            let shown = Mutex(0)
            let limit = maxErrors
            let source = file == "-" ? "stdin" : file
            let bar = Mutex(ProgressBar(label: "importing"))
            let result = try await EventImporter(log: log).importLines(
                from: handle, totalBytes: total,
                onError: { error in
                    let count = shown.withLock { value -> Int in
                        value += 1
                        return value
                    }
                    if count <= limit {
                        Terminal.clearStatus()
                        Terminal.error("\(source): \(error)")
                    }
                },
                onProgress: { progress in
                    bar.withLock {
                        $0.update(
                            done: Double(progress.bytesRead), total: progress.totalBytes.map(Double.init), unit: "events",
                            count: progress.appended + progress.duplicates)
                    }
                })
            Terminal.clearStatus()
            let seconds = bar.withLock { $0.elapsed }
            let rate = Double(result.appended) / max(seconds, 0.001)
            Terminal.note(
                "imported \(result.appended) events (\(result.duplicates) already in the log, \(result.rejected) rejected) "
                    + "from \(result.lines) lines in \(Format.duration(seconds)) (\(Format.rate(rate)) events/s)")
            if result.rejected > limit {
                Terminal.note("(\(result.rejected - limit) more rejected lines not listed; see --max-errors)")
            }
            if result.rejected > 0 { throw ExitCode(1) }
        }
    }
}
