import Foundation
import GRDB
import Logging
import ProjectorCore
import ProjectorDemo
import ProjectorHost
import ProjectorSQLite
import ProjectorTesting
import Testing

@Suite struct CLITests {
    let folder = TemporaryFolder()
    var cli: CLI { CLI(directory: folder.path) }

    @Test func appendPrintsTheStoredEventAndConflictsAreOneLineErrors() async throws {
        let first = try await cli.run("append", "account-1", "Deposited", #"{"amount": 100}"#)
        #expect(first.status == 0)
        let stored = try EventLineParser.parse(first.stdout.trimmingCharacters(in: .newlines))
        #expect(stored.stream == "account-1" && stored.data == #"{"amount":100}"#)
        #expect(first.stdout.hasPrefix(#"{"position":1,"#) && first.stdout.contains(#""version":1,"#))

        let conflict = try await cli.run("append", "account-1", "Withdrawn", #"{"amount":1}"#, "--expected-version", "no-stream")
        #expect(conflict.status != 0)
        #expect(conflict.stderr == "error: wrong expected version for stream 'account-1': expected no-stream, stream is at version 1\n")

        let notObject = try await cli.run("append", "account-1", "Deposited", "[1]")
        #expect(notObject.status != 0 && notObject.stderr.hasPrefix("error: data must be a JSON object"))
        #expect(try await cli.run("events").stdout.split(separator: "\n").count == 1, "nothing of a rejected append is written")
    }

    @Test func appendWithTheSameIdIsANoOp() async throws {
        let id = "1b4e28ba-2fa1-11d2-883f-0016d3cca427"
        let a = try await cli.run("append", "s", "T", "{}", "--id", id)
        let b = try await cli.run("append", "s", "T", "{}", "--id", id)
        #expect(a.status == 0 && a.stdout == b.stdout)
        #expect(try await cli.run("events").stdout.split(separator: "\n").count == 1)
    }

    @Test func importReportsBadLinesAndIsIdempotent() async throws {
        let text = """
            {"stream":"a","type":"Deposited","data":{"amount":1}}
            {broken
            {"stream":"a","type":"Deposited","data":"nope"}
            {"stream":"a","data":{}}
            {"stream":"b","type":"Deposited","data":{"amount":2}}
            """
        let first = try await cli.run("import", "-", input: text)
        #expect(first.status == 1, "rejected lines make the exit status non-zero")
        let errors = first.stderr.split(separator: "\n").filter { $0.hasPrefix("error:") }
        #expect(errors.count == 3)
        #expect(errors[0].hasPrefix("error: stdin: line 2: not a JSON object"))
        #expect(errors[1] == "error: stdin: line 3: data must be a JSON object, found string")
        #expect(errors[2] == "error: stdin: line 4: missing type")
        #expect(first.stderr.contains("imported 2 events (0 already in the log, 3 rejected) from 5 lines"))

        try Data(text.utf8).write(to: URL(fileURLWithPath: folder.file("events.ndjson")))
        let again = try await cli.run("import", "events.ndjson")
        #expect(again.stderr.contains("imported 0 events (2 already in the log, 3 rejected)"))

        // export | import into another log reproduces it exactly.
        let exported = try await cli.run("export").stdout
        try "log: sqlite:copy.sqlite\nstores: copy-stores\n".write(toFile: folder.file("copy.yml"), atomically: true, encoding: .utf8)
        let copied = try await cli.run("import", "-", "--config", "copy.yml", input: exported)
        #expect(copied.status == 0)
        #expect(try await cli.run("export", "--config", "copy.yml").stdout == exported)
    }

    @Test func runQueryAndStatusWork() async throws {
        try await cli.run("append", "acct-1", "Deposited", #"{"amount":100}"#)
        try await cli.run("append", "acct-1", "Withdrawn", #"{"amount":30}"#)
        try await cli.run("append", "acct-2", "Deposited", #"{"amount":5}"#)
        let run = try await cli.run("run", "--once")
        #expect(run.status == 0)
        let query = try await cli.run("query", "accounts", "SELECT account, balance FROM accounts ORDER BY account", "--json")
        #expect(query.stdout == #"[{"account":"acct-1","balance":70},{"account":"acct-2","balance":5}]"# + "\n")
        let write = try await cli.run("query", "accounts", "DELETE FROM accounts")
        #expect(write.status != 0 && write.stderr.hasPrefix("error:") && write.stderr.contains("read-only"))
        let status = try await cli.run("status", "--json")
        let decoded = try JSONDecoder().decode([ProjectionStatus].self, from: Data(status.stdout.utf8))
        let accounts = try #require(decoded.first { $0.name == "accounts" })
        #expect(accounts.position == 3 && accounts.head == 3 && accounts.lag == 0 && accounts.kind == "swift")
        let unknown = try await cli.run("query", "nope", "SELECT 1")
        #expect(unknown.status != 0 && unknown.stderr.contains("no projection named 'nope'"))
    }

    @Test func everyCommandHasHelp() async throws {
        for command in [
            "append", "import", "export", "events", "run", "serve", "status", "rebuild", "query", "search", "validate", "keys", "tenants",
        ] {
            let help = try await cli.run(command, "--help")
            #expect(help.status == 0 && help.stdout.contains("USAGE: projector \(command)"), "\(command) --help")
        }
    }

    /// Keys are made, listed without secrets and revoked; a purge removes a tenant from a
    /// partitioned index and from a SQL spec that handles it, and the search asks for a tenant.
    @Test func keysAndTenantPurgesFromTheCommandLine() async throws {
        let made = try await cli.run("keys", "create", "backend", "--action", "search", "--index", "notes")
        #expect(made.status == 0 && made.stdout.hasPrefix("prj_"), "\(made.stderr)")
        let list = try await cli.run("keys", "list", "--json")
        let keys = try #require(try JSONSerialization.jsonObject(with: Data(list.stdout.utf8)) as? [[String: Any]])
        #expect(keys.count == 1 && keys[0]["name"] as? String == "backend" && !list.stdout.contains("prj_"))
        let id = try #require(keys[0]["id"] as? String)
        let token = try await cli.run("keys", "token", made.stdout.trimmingCharacters(in: .newlines), "--tenant", "acme")
        #expect(token.status == 0 && token.stdout.split(separator: ".").count == 3)
        #expect(try await cli.run("keys", "revoke", id).status == 0)
        #expect(try await cli.run("keys", "list").stdout.contains("revoked"))
        #expect(try await cli.run("keys", "revoke", "nosuchkey").stderr == "error: no key with id 'nosuchkey'\n")
        #expect(try await cli.run("keys", "create", "x", "--action", "fly").stderr.contains("unknown action 'fly'"))

        try await cli.addTenantNotes([("1", "acme", "plan"), ("1", "globex", "plan")])
        try """
        name: counts
        kind: sql
        setup: CREATE TABLE counts(tenant TEXT PRIMARY KEY, n INTEGER NOT NULL);
        on:
          Noted: INSERT INTO counts VALUES (:tenant, 1) ON CONFLICT(tenant) DO UPDATE SET n = n + 1
          $TenantPurged: DELETE FROM counts WHERE tenant = :tenant
        """.write(toFile: folder.file("projections/counts.yml"), atomically: true, encoding: .utf8)
        // validate warns of rows a purge would leave, and not of a purge handler with no purge yet.
        try """
        name: orphans
        kind: sql
        setup: CREATE TABLE seen(tenant TEXT);
        on: { Noted: "INSERT INTO seen VALUES (:tenant)" }
        """.write(toFile: folder.file("projections/orphans.yml"), atomically: true, encoding: .utf8)
        let checked = try await cli.run("validate")
        #expect(checked.stdout.contains("projections/orphans.yml: on: uses :tenant but has no $TenantPurged handler"), "\(checked.stdout)")
        #expect(!checked.stdout.contains("no $TenantPurged event"), "\(checked.stdout)")
        try FileManager.default.removeItem(atPath: folder.file("projections/orphans.yml"))
        #expect(try await cli.run("tenants", "purge", "acme").status == 0)
        #expect(try await cli.run("run", "--once").status == 0)
        let acme = try await cli.run("search", "notes", "plan", "--tenant", "acme", "--json")
        #expect(acme.stdout.contains(#""total":0"#), "\(acme.stdout)\(acme.stderr)")
        #expect(try await cli.run("search", "notes", "plan", "--tenant", "globex", "--json").stdout.contains(#""total":1"#))
        let untenanted = try await cli.run("search", "notes", "plan")
        #expect(untenanted.status != 0 && untenanted.stderr.contains("partitioned by tenant"))
        let counts = try await cli.run("query", "counts", "SELECT tenant, n FROM counts")
        #expect(counts.stdout.contains("globex") && !counts.stdout.contains("acme"), "\(counts.stdout)")
    }

    @Test func validateNamesFileAndHandlerAndExitsOneOnErrors() async throws {
        try FileManager.default.createDirectory(atPath: folder.file("projections"), withIntermediateDirectories: true)
        try """
        name: totals
        kind: sql
        setup: CREATE TABLE totals(stream TEXT PRIMARY KEY, n INTEGER);
        on: { Deposited: "UPDATE totals SET m = 1 WHERE stream = :stream" }
        """.write(toFile: folder.file("projections/totals.yml"), atomically: true, encoding: .utf8)
        let bad = try await cli.run("validate")
        #expect(bad.status == 1)
        #expect(bad.stdout.contains("error   projections/totals.yml: on.Deposited: no such column: m"), "\(bad.stdout)")
        #expect(bad.stdout.contains("0 warnings"))
        try String(contentsOfFile: folder.file("projections/totals.yml"), encoding: .utf8)
            .replacingOccurrences(of: "SET m = 1", with: "SET n = n + 1")
            .write(toFile: folder.file("projections/totals.yml"), atomically: true, encoding: .utf8)
        let good = try await cli.run("validate")
        #expect(good.status == 0, "\(good.stdout)")
        #expect(good.stdout.contains("ok      projections/totals.yml  sql: 1 event type, 1 statement prepared"))
    }

    @Test func anAppendFromASecondProcessIsProjectedByARunningHost() async throws {
        let log = try SQLiteEventLog(path: folder.file(".projector/events.sqlite"))
        var logger = Logger(label: "test")
        logger.logLevel = .critical
        let host = try ProjectorHost(
            log: log, projections: [BankAccountsProjection()], storesFolder: folder.file(".projector/stores"),
            logger: logger)
        let running = Task { try await host.run() }
        defer { running.cancel() }
        let runner = try #require(host.runner(named: "accounts"))
        try await waitUntil { runner.current.state == .live }
        let appended = try await cli.run("append", "from-elsewhere", "Deposited", #"{"amount":7}"#)
        #expect(appended.status == 0)
        let started = ContinuousClock.now
        try await waitUntil { runner.current.position == 1 }
        // The poll is 10 ms; the bound is loose because the suite's PostgreSQL tests share the
        // two cores. It only has to tell a working wake-up from none (the wait's own timeout).
        #expect(ContinuousClock.now - started < .seconds(10))
        let balance = try await runner.store.pool.read { db in
            try Int.fetchOne(db, sql: "SELECT balance FROM accounts WHERE account = 'from-elsewhere'")
        }
        #expect(balance == 7)
    }

    @Test func sigtermFinishesTheTransactionInFlightAndExitsZero() async throws {
        var lines = ""
        for i in 0..<20_000 { lines += #"{"stream":"acct-\#(i % 50)","type":"Deposited","data":{"amount":1}}"# + "\n" }
        #expect(try await cli.run("import", "-", input: lines).status == 0)
        let process = cli.process(["run"])
        process.standardError = FileHandle.nullDevice
        process.standardOutput = FileHandle.nullDevice
        try process.run()
        try await Task.sleep(for: .milliseconds(300))
        process.terminate()  // SIGTERM
        await process.exit()
        #expect(process.terminationReason == .exit && process.terminationStatus == 0)
        // Whatever was committed is consistent: the balances add up to the checkpoint exactly.
        let store = try ProjectionStore(name: "accounts", path: folder.file(".projector/stores/accounts.sqlite"), readOnly: true)
        let (position, total) = try await store.pool.read { db in
            (
                try ProjectionStore.checkpoint("accounts", db)!.position,
                try Int64.fetchOne(db, sql: "SELECT coalesce(sum(balance), 0) FROM accounts")!
            )
        }
        #expect(position == total)
        #expect(try await store.checkpoint()?.state == .stopped || position == 20_000)
    }

    @Test func killedMidCatchUpAndRestartedMatchesAFromZeroBuild() async throws {
        var lines = ""
        for i in 0..<30_000 {
            let type = i % 4 == 3 ? "Withdrawn" : "Deposited"
            lines += #"{"stream":"acct-\#(i % 97)","type":"\#(type)","data":{"amount":\#(i % 13 + 1)}}"# + "\n"
        }
        #expect(try await cli.run("import", "-", input: lines).status == 0)
        for delay in [150, 250, 400] {
            let process = cli.process(["run"])
            process.standardError = FileHandle.nullDevice
            try process.run()
            try await Task.sleep(for: .milliseconds(delay))
            kill(process.processIdentifier, SIGKILL)
            await process.exit()
        }
        #expect(try await cli.run("run", "--once").status == 0)
        try "stores: fresh\n".write(toFile: folder.file("fresh.yml"), atomically: true, encoding: .utf8)
        #expect(try await cli.run("run", "--once", "--config", "fresh.yml").status == 0)
        let sql = "SELECT account, balance, deposits, withdrawals, last_position FROM accounts ORDER BY account"
        let resumed = try await cli.run("query", "accounts", sql, "--json")
        let fresh = try await cli.run("query", "accounts", sql, "--json", "--config", "fresh.yml")
        #expect(resumed.status == 0 && !resumed.stdout.isEmpty)
        #expect(resumed.stdout == fresh.stdout)
    }

    @Test func readOnlyCommandsCreateNothingAndRefusalsAreOneClearLine() async throws {
        for command in ["status", "export", "events", "dead-letters"] {
            let result = try await cli.run(command)
            #expect(result.status == 1 && result.stderr.hasPrefix("error: no event log at "), "\(command): \(result.stderr)")
        }
        #expect(try FileManager.default.contentsOfDirectory(atPath: folder.path).isEmpty, "a mistyped path creates no files")

        try FileManager.default.createDirectory(atPath: folder.file("inbox"), withIntermediateDirectories: true)
        #expect(try await cli.run("import", "inbox").stderr == "error: inbox: is a folder, not a file of event lines\n")
        try await cli.run("append", "account-1", "Deposited", #"{"amount": 5}"#)
        try await cli.run("run", "--once")
        #expect(
            try await cli.run("query", "accounts", "SELECT 1; SELECT 2").stderr == "error: one statement at a time: found more than one\n")
        let forever = "WITH RECURSIVE c(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM c) SELECT max(n) FROM c"
        let stopped = try await cli.run("query", "accounts", forever, "--timeout", "0.5")
        #expect(stopped.status == 1 && stopped.stderr == "error: the query ran past its 0.50 s limit (--timeout) and was stopped\n")
    }
}
