import Foundation
import ProjectorCore

extension Process {
    /// Waits for the process off the cooperative thread pool: blocking one of its two threads
    /// here would starve the other tests running meanwhile.
    func exit() async {
        await withCheckedContinuation { continuation in
            DispatchQueue.global().async {
                self.waitUntilExit()
                continuation.resume()
            }
        }
    }
}

/// Swift.Result, spelled out where CLI.Result shadows it.
typealias Result_<T> = Swift.Result<T, any Error>

/// Runs the built `projector` binary, as a user or a second process would.
struct CLI {
    /// Writes `notes`, a search spec partitioned by tenant, and appends a `Noted` event per
    /// note, its id as given and its tenant in the metadata.
    func addTenantNotes(_ notes: [(id: String, tenant: String, title: String)]) async throws {
        try FileManager.default.createDirectory(atPath: directory + "/projections", withIntermediateDirectories: true)
        try """
        name: notes
        kind: search
        events: [Noted]
        id: $.data.id
        tenant: true
        fields: { title: $.data.title }
        """.write(toFile: directory + "/projections/notes.yml", atomically: true, encoding: .utf8)
        for note in notes {
            let appended = try await run(
                "append", "note-\(note.tenant)", "Noted", #"{"id":"\#(note.id)","title":"\#(note.title)"}"#, "--metadata",
                #"{"tenant":"\#(note.tenant)"}"#)
            guard appended.status == 0 else { throw ProjectorError(.invalidEvent, appended.stderr) }
        }
    }

    struct Result {
        let status: Int32
        let stdout: String
        let stderr: String
    }

    /// The binary sits next to the test bundle in the build folder.
    static let binary: String = {
        let exe = (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0]
        var folder = URL(fileURLWithPath: exe).deletingLastPathComponent()
        if folder.lastPathComponent == "MacOS" {
            folder = folder.deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        }
        return folder.appendingPathComponent("projector").path
    }()

    let directory: String
    var environment: [String: String] = [:]

    init(directory: String) {
        self.directory = directory
    }

    func process(_ arguments: [String]) -> Process {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: Self.binary)
        process.arguments = arguments
        process.currentDirectoryURL = URL(fileURLWithPath: directory)
        var env = ProcessInfo.processInfo.environment
        env["PROJECTOR_CONFIG"] = nil
        env["PROJECTOR_ADMIN_TOKEN"] = nil
        for (key, value) in environment { env[key] = value }
        process.environment = env
        return process
    }

    /// Runs the binary off the cooperative thread pool (waiting for a process blocks a thread).
    @discardableResult
    func run(_ arguments: String..., input: String? = nil) async throws -> Result {
        try await withCheckedThrowingContinuation { continuation in
            DispatchQueue.global().async {
                continuation.resume(with: Result_ { try self.runBlocking(arguments, input: input) })
            }
        }
    }

    func runBlocking(_ arguments: [String], input: String?) throws -> Result {
        let process = process(arguments)
        let out = Pipe()
        let err = Pipe()
        process.standardOutput = out
        process.standardError = err
        let inputPipe = Pipe()
        process.standardInput = input == nil ? FileHandle.nullDevice : inputPipe
        try process.run()
        if let input {
            inputPipe.fileHandleForWriting.write(Data(input.utf8))
            try inputPipe.fileHandleForWriting.close()
        }
        // Read both pipes fully before waiting, so a chatty child never blocks on a full pipe.
        let group = DispatchGroup()
        nonisolated(unsafe) var errData = Data()
        group.enter()
        DispatchQueue.global().async {
            errData = err.fileHandleForReading.readDataToEndOfFile()
            group.leave()
        }
        let outData = out.fileHandleForReading.readDataToEndOfFile()
        group.wait()
        process.waitUntilExit()
        return Result(
            status: process.terminationStatus, stdout: String(decoding: outData, as: UTF8.self),
            stderr: String(decoding: errData, as: UTF8.self))
    }
}
