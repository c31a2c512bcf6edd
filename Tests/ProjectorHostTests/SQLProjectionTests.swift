import Foundation
import GRDB
import Logging
import ProjectorCore
import ProjectorDemo
import ProjectorHost
import ProjectorSQLite
import ProjectorSpecs
import ProjectorTesting
import Testing

@Suite struct SQLProjectionTests {
    let folder = TemporaryFolder()

    static let balances = """
        name: balances
        kind: sql
        setup: |
          CREATE TABLE balances(account TEXT PRIMARY KEY, balance INTEGER NOT NULL, last_position INTEGER, last_time TEXT);
        on:
          Deposited: |
            INSERT INTO balances(account, balance, last_position, last_time)
            VALUES (:stream, :data ->> '$.amount', :position, :time)
            ON CONFLICT(account) DO UPDATE SET balance = balance + excluded.balance,
              last_position = excluded.last_position, last_time = excluded.last_time;
          Withdrawn:
            - INSERT INTO balances(account, balance) VALUES (:stream, 0) ON CONFLICT(account) DO NOTHING;
            - |
              UPDATE balances SET balance = balance - (:data ->> '$.amount'), last_position = :position,
                last_time = :time WHERE account = :stream
        """

    func write(_ text: String, _ name: String) throws -> String {
        let path = folder.file(name)
        try text.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    func spec(_ text: String) throws -> any Projection<Database> {
        try ProjectionCatalog.spec(at: write(text, "spec.yml"))
    }

    func specError(_ text: String) -> String {
        do {
            _ = try spec(text)
            return "no error"
        } catch {
            return "\(error)"
        }
    }

    func host(_ log: any EventLog, _ projections: [any Projection<Database>]) throws -> ProjectorHost {
        var logger = Logger(label: "test")
        logger.logLevel = .critical
        return try ProjectorHost(log: log, projections: projections, storesFolder: folder.file("stores"), logger: logger)
    }

    @Test func handlersGetTheEventAsParametersAndMatchTheSwiftProjection() async throws {
        let log = try SQLiteEventLog(path: folder.file("events.sqlite"))
        var events: [ProposedEvent] = []
        for index in 0..<500 {
            let account = "acc-\(index % 7)'; DROP TABLE balances; --"  // never pasted into SQL
            events.append(ProposedEvent(stream: account, type: index % 4 == 3 ? "Withdrawn" : "Deposited", data: #"{"amount":\#(index)}"#))
        }
        _ = try await log.append(events)
        let host = try host(log, [try spec(Self.balances), BankAccountsProjection()])
        try await host.catchUp()
        let sql = try host.runner(named: "balances")!.store.pool.read { db in
            try Row.fetchAll(db, sql: "SELECT account, balance, last_position FROM balances ORDER BY account")
        }
        let swift = try host.runner(named: "accounts")!.store.pool.read { db in
            try Row.fetchAll(db, sql: "SELECT account, balance, last_position FROM accounts ORDER BY account")
        }
        #expect(sql.count == 7)
        #expect(sql == swift, "the SQL spec and the Swift projection agree row for row")
        let time: String? = try await host.runner(named: "balances")!.store.pool.read { db in
            try String.fetchOne(db, sql: "SELECT last_time FROM balances WHERE last_position = 500")
        }
        #expect(time?.hasSuffix("Z") == true)
    }

    @Test(arguments: [
        ("on: { A: 'INSERT INTO t VALUES (:amount)' }", "spec.yml: on.A: unknown parameter :amount"),
        ("on: { A: 'INSERT INTO t VALUES (?)' }", "spec.yml: on.A: use named event parameters"),
        ("on: { A: 'INSERT INTO nope VALUES (:stream)' }", "spec.yml: on.A: no such table: nope"),
        ("on: { A: 'INSERT INTO t VALUES (:stream' }", "spec.yml: on.A: incomplete input"),
        ("on: { A: [ 'INSERT INTO t VALUES (:stream)', 'UPDATE t SET a = 1 WHERE b = 2' ] }", "spec.yml: on.A[1]: no such column: b"),
        ("on: { A: \"ATTACH 'other.sqlite' AS other\" }", "on.A: ATTACH/DETACH is not allowed"),
        (
            "on: { A: 'UPDATE projector_checkpoint SET position = 0' }",
            "on.A: 'projector_checkpoint': tables starting with projector_ belong to the host"
        ),
        ("on: { A: 'PRAGMA journal_mode = DELETE' }", "on.A: PRAGMA is not allowed"),
        ("on: { A: 'COMMIT' }", "on.A: transactions are the host's"),
        ("on: { A: 'DROP TABLE t' }", "on.A: handlers may not change the schema"),
        ("on: { A: 'VACUUM' }", "spec.yml: on.A: VACUUM is not allowed"),
        ("on: { A: 42 }", "spec.yml: on.A: must be SQL text or a list of SQL texts"),
        ("on: {}", "spec.yml: on: required"),
    ])
    func badHandlersAreRefusedNamingFileAndHandler(on: String, message: String) {
        let error = specError("name: r\nkind: sql\nsetup: CREATE TABLE t(a);\n\(on)\n")
        #expect(error.contains(message), "\(error)")
        #expect(!error.contains("\n"))
    }

    @Test(arguments: [
        ("CREATE TABLE projector_mine(a)", "spec.yml: setup: 'projector_mine': names starting with projector_ belong to the host"),
        ("CREATE TABLE t(a); CREATE TABLE t(b);", "spec.yml: setup (statement 2): table t already exists"),
        ("ATTACH 'x.sqlite' AS x", "spec.yml: setup: ATTACH/DETACH is not allowed"),
        ("CREATE TABLE t(a", "spec.yml: setup: incomplete input"),
        ("CREATE TEMP TABLE t(a)", "spec.yml: setup: TEMP tables, views and triggers are not allowed"),
        ("CREATE TABLE t(a); CREATE TEMP TRIGGER g AFTER INSERT ON t BEGIN SELECT 1; END;", "setup (statement 2): TEMP tables"),
        ("CREATE TABLE t(a); CREATE TEMP VIEW v AS SELECT a FROM t;", "setup (statement 2): TEMP tables"),
        ("CREATE TABLE t(a); VACUUM;", "spec.yml: setup (statement 2): VACUUM is not allowed"),
        ("CREATE TABLE t(a); /* c */ vacuum INTO 'x.sqlite'", "setup (statement 2): VACUUM is not allowed"),
    ])
    func badSetupIsRefusedNamingFile(setup: String, message: String) {
        let error = specError("name: r\nkind: sql\nsetup: \"\(setup)\"\non: { A: 'SELECT 1' }\n")
        #expect(error.contains(message), "\(error)")
    }

    @Test func aHandlerThatFailsOnOneEventNamesFileHandlerAndEventAndTheOthersGoOn() async throws {
        let log = try SQLiteEventLog(path: folder.file("events.sqlite"))
        _ = try await log.append([
            ProposedEvent(stream: "acc-1", type: "Deposited", data: #"{"amount":5}"#),
            ProposedEvent(stream: "acc-1", type: "Opened", data: #"{"note":"no owner"}"#),
        ])
        let strict = try spec(
            """
            name: strict
            kind: sql
            setup: CREATE TABLE owners(account TEXT, owner TEXT NOT NULL);
            onError: { tries: 1, then: stop }
            on:
              Opened: INSERT INTO owners VALUES (:stream, :data ->> '$.owner')
            """)
        let host = try host(log, [strict, BankAccountsProjection()])
        try await host.catchUp()
        let status = try await host.status()
        let failed = try #require(status.first { $0.name == "strict" })
        #expect(failed.state == .failed)
        #expect(failed.position == 0, "stopped before the poison event; nothing of it written")
        #expect(failed.deadLetters == 1)
        let error = failed.lastError ?? ""
        #expect(error.contains("spec.yml: on.Opened: event 2 (Opened in stream 'acc-1')"), "\(error)")
        #expect(error.contains("NOT NULL constraint failed: owners.owner"), "\(error)")
        #expect(status.first { $0.name == "accounts" }?.position == 2)
    }

    @Test func theFingerprintFollowsTheSQLButNotTheDescription() throws {
        let base = "name: r\nkind: sql\nsetup: CREATE TABLE t(a);\non: { A: 'INSERT INTO t VALUES (:stream)' }\n"
        let first = try spec(base).fingerprint
        #expect(try spec(base + "description: counts things\n").fingerprint == first)
        #expect(try spec(base.replacingOccurrences(of: ":stream", with: ":type")).fingerprint != first)
    }

    static let forever = "WITH RECURSIVE c(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM c) SELECT max(n) FROM c"

    @Test func aSetupThatNeverEndsIsStoppedByItsBudgetNamingFileAndSetting() {
        let started = ContinuousClock.now
        let error = specError(
            "name: r\nkind: sql\nlimits: { steps: 2000000 }\nsetup: CREATE TABLE t AS \(Self.forever);\non: { A: 'SELECT 1' }\n")
        #expect(error.hasSuffix("/spec.yml: setup: ran past its budget of 2,000,000 SQLite steps (limits.steps)"), "\(error)")
        #expect(ContinuousClock.now - started < .seconds(5))
    }

    @Test func seedDataInSetupIsNotRunWhenASpecIsLoadedOnlyWhenAStoreIsSetUp() async throws {
        // A billion rows: far past the budget if loading ran it, cheap when only prepared.
        let text = """
            name: seeded
            kind: sql
            limits: { steps: 1000000 }
            setup: |
              CREATE TABLE seeds(n INTEGER);
              INSERT INTO seeds WITH RECURSIVE c(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM c WHERE n < 1000000000) SELECT n FROM c;
            on: { A: 'INSERT INTO seeds VALUES (:version)' }
            """
        let seeded = try spec(text)
        let log = try SQLiteEventLog(path: folder.file("events.sqlite"))
        _ = try await log.append([ProposedEvent(stream: "s", type: "A", data: "{}")])
        let host = try host(log, [seeded])
        try await host.catchUp()
        let status = try #require(try await host.status().first)
        #expect(status.state == .failed && status.position == 0)
        #expect(status.lastError?.contains("spec.yml: setup: ran past its budget of 1,000,000 SQLite steps") == true, "\(status)")
    }

    @Test func aHandlerThatNeverEndsDeadLettersItsEventAndEverythingElseGoesOn() async throws {
        let log = try SQLiteEventLog(path: folder.file("events.sqlite"))
        _ = try await log.append([
            ProposedEvent(stream: "acc-1", type: "Deposited", data: #"{"amount":5}"#),
            ProposedEvent(stream: "acc-1", type: "Spin", data: "{}"),
            ProposedEvent(stream: "acc-1", type: "Deposited", data: #"{"amount":7}"#),
        ])
        let spinning = try spec(
            """
            name: spinning
            kind: sql
            limits: { steps: 1000000 }
            setup: CREATE TABLE t(x INTEGER);
            on:
              Deposited: INSERT INTO t VALUES (:data ->> '$.amount')
              Spin: INSERT INTO t \(Self.forever)
            """)
        let host = try host(log, [spinning, BankAccountsProjection()])
        try await host.catchUp()
        let status = try await host.status()
        let spun = try #require(status.first { $0.name == "spinning" })
        #expect(spun.position == 3 && spun.deadLetters == 1 && spun.state != .failed)
        let letters = try await host.runner(named: "spinning")!.store.pool.read { try ProjectionStore.deadLetters($0) }
        #expect(letters.map(\.event.position) == [2])
        #expect(
            letters.first?.error.contains(
                "spec.yml: on.Spin: event 2 (Spin in stream 'acc-1'): the statement ran past its budget of 1,000,000 SQLite steps (limits.steps)"
            ) == true)
        #expect(letters.first?.tries == 1, "one try: an exhausted budget is not retried")
        let amounts = try await host.runner(named: "spinning")!.store.pool.read { try Int.fetchAll($0, sql: "SELECT x FROM t ORDER BY x") }
        #expect(amounts == [5, 7])
        #expect(status.first { $0.name == "accounts" }?.position == 3)
    }

    @Test func limitsAreCheckedAndOnlyAChosenBudgetChangesTheFingerprint() throws {
        let base = "name: r\nkind: sql\nsetup: CREATE TABLE t(a);\non: { A: 'INSERT INTO t VALUES (:stream)' }\n"
        let plain = try spec(base).fingerprint
        #expect(try spec(base + "limits: { steps: 100000000 }\n").fingerprint == plain)
        #expect(try spec(base + "limits: { steps: 5000 }\n").fingerprint != plain)
        #expect(
            specError(base + "limits: { steps: 10 }\n").contains(
                "spec.yml: limits.steps: must be a whole number of SQLite steps per statement from 1,000"))
        #expect(specError(base + "limits: { fuel: 10 }\n").contains("spec.yml: limits.fuel: unknown key (known: steps)"))
    }
}
