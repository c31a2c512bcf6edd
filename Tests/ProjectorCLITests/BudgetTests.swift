import Foundation
import ProjectorTesting
import Testing

/// Work that never ends, as a careless spec author writes it, against the real binary: every
/// command still answers and a signal still stops the process.
@Suite struct BudgetTests {
    let folder = TemporaryFolder()
    var cli: CLI { CLI(directory: folder.path) }

    static let forever = "WITH RECURSIVE c(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM c) SELECT max(n) FROM c"

    func writeSpec(_ name: String, _ text: String) throws {
        try FileManager.default.createDirectory(atPath: folder.file("projections"), withIntermediateDirectories: true)
        try text.write(toFile: folder.file("projections/\(name).yml"), atomically: true, encoding: .utf8)
    }

    @Test func aSetupThatNeverEndsLeavesEveryCommandAnsweringAndNamesTheSpec() async throws {
        try await cli.run("append", "account-1", "Deposited", #"{"amount": 5}"#)
        try writeSpec("spin", "name: spin\nkind: sql\nsetup: CREATE TABLE t AS \(Self.forever);\non: { Deposited: 'SELECT 1' }\n")
        let status = try await cli.run("status")
        #expect(status.status == 0)
        #expect(
            status.stderr.contains("projections/spin.yml: setup: ran past its budget of 100,000,000 SQLite steps (limits.steps)"),
            "\(status.stderr)")
        #expect(status.stdout.contains("accounts"))
        let validate = try await cli.run("validate")
        #expect(validate.status == 1 && validate.stdout.contains("spin.yml: setup: ran past its budget"))
        let query = try await cli.run("run", "--once")
        #expect(query.status == 0 && query.stdout.contains("accounts"))
    }

    @Test func aSignalStopsAHandlerThatNeverEndsWithinSeconds() async throws {
        try writeSpec(
            "spin",
            """
            name: spin
            kind: sql
            limits: { steps: 1000000000000 }
            setup: CREATE TABLE t(x);
            on: { Deposited: 'INSERT INTO t \(Self.forever)' }
            """)
        try await cli.run("append", "account-1", "Deposited", #"{"amount": 5}"#)
        let process = cli.process(["run"])
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        defer { if process.isRunning { kill(process.processIdentifier, SIGKILL) } }
        // Until the handler is running: status in another process sees its store held.
        try await waitUntil { try await cli.run("status", "--json").stdout.contains(#""name":"spin""#) }
        try await Task.sleep(for: .seconds(1))
        let signalled = ContinuousClock.now
        kill(process.processIdentifier, SIGTERM)
        await process.exit()
        let took = ContinuousClock.now - signalled
        #expect(took < .seconds(12), "stopped \(took) after SIGTERM")
        let after = try await cli.run("status", "--json")
        #expect(after.stdout.contains(#""name":"spin""#) && !after.stdout.contains(#""deadLetters":1"#), "a stop is not the event's fault")
    }
}
