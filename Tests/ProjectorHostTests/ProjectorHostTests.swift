import Foundation
import GRDB
import Logging
import ProjectorCore
import ProjectorDemo
import ProjectorHost
import ProjectorSQLite
import ProjectorTesting
import Synchronization
import Testing

@Suite struct ProjectorHostTests {
    let folder = TemporaryFolder()

    func makeLog() throws -> SQLiteEventLog { try SQLiteEventLog(path: folder.file("events.sqlite")) }

    func makeHost(
        _ log: any EventLog, _ projections: [any Projection<Database>], stores: String = "stores", batchSize: Int = 50
    ) throws -> ProjectorHost {
        var logger = Logger(label: "test")
        logger.logLevel = .critical
        return try ProjectorHost(
            log: log, projections: projections, storesFolder: folder.file(stores),
            configuration: .init(batchSize: batchSize), logger: logger)
    }

    /// A deterministic mix of bank events over a few accounts.
    func appendBankEvents(_ log: any EventLog, count: Int, seed: UInt64 = 1) async throws {
        var state = seed
        var events: [ProposedEvent] = []
        for index in 0..<count {
            state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            let account = "account-\(state >> 60)"
            let type = index % 3 == 2 ? "Withdrawn" : (index % 7 == 3 ? "Noted" : "Deposited")
            events.append(ProposedEvent(stream: account, type: type, data: #"{"amount":\#(Int(state >> 54) + 1)}"#))
        }
        _ = try await log.append(events)
    }

    func rows(_ runner: ProjectionRunner, _ sql: String) async throws -> [[DatabaseValue]] {
        try await runner.store.pool.read { db in try Row.fetchAll(db, sql: sql).map { Array($0.databaseValues) } }
    }

    @Test func aPoisonEventStopsOnlyItsProjectionAndNoFailedTransactionLeavesAWrite() async throws {
        let log = try makeLog()
        try await appendBankEvents(log, count: 120)
        let host = try makeHost(
            log,
            [
                RecordingProjection(name: "fragile", failAt: 75, errorPolicy: .init(tries: 2, then: .stop)), BankAccountsProjection(),
            ])
        try await host.catchUp()
        let fragile = try #require(host.runner(named: "fragile"))
        let checkpoint = try #require(try await fragile.store.checkpoint())
        // The transaction from 51 on failed twice and rolled back whole; then halving it found the
        // poison: 51…74 applied, 75 parked, the projection stopped before it.
        #expect(checkpoint.position == 74)
        #expect(checkpoint.state == .failed)
        #expect(checkpoint.lastError?.contains("boom at 75") == true)
        #expect(checkpoint.lastError?.contains("then redrive it") == true)
        let positions = try await rows(fragile, "SELECT position FROM applied ORDER BY seq").map { Int64.fromDatabaseValue($0[0])! }
        #expect(positions == Array(1...74), "each event once: the failed transactions left nothing behind")
        let parked = try await host.deadLetters("fragile")
        #expect(parked.map(\.event.position) == [75] && parked[0].tries == 2 && parked[0].error.contains("boom at 75"))
        let accounts = try #require(host.runner(named: "accounts"))
        #expect(try await accounts.store.checkpoint()?.position == 120, "the failure did not stop the other projection")
        let status = try await host.status()
        #expect(status.first { $0.name == "fragile" }?.state == .failed)
        #expect(status.first { $0.name == "fragile" }?.lag == 46)
        #expect(status.first { $0.name == "fragile" }?.deadLetters == 1)
    }

    @Test func restartsNeverApplyAnEventTwiceNorSkipOne() async throws {
        let log = try makeLog()
        try await appendBankEvents(log, count: 600)
        // Stop and restart (a new host, as after a process restart) at uneven points.
        for stop in [Int64(137), 138, 333, 420] {
            let host = try makeHost(log, [RecordingProjection(name: "recorder"), BankAccountsProjection()], batchSize: 41)
            try await host.run(only: nil, until: stop)
        }
        let resumed = try makeHost(log, [RecordingProjection(name: "recorder"), BankAccountsProjection()], batchSize: 41)
        try await resumed.catchUp()
        let fresh = try makeHost(
            log, [RecordingProjection(name: "recorder"), BankAccountsProjection()], stores: "fresh", batchSize: 1000)
        try await fresh.catchUp()

        let recorded = try await rows(resumed.runner(named: "recorder")!, "SELECT position, stream, type FROM applied ORDER BY seq")
        let replayed = try await rows(fresh.runner(named: "recorder")!, "SELECT position, stream, type FROM applied ORDER BY seq")
        #expect(recorded.count == 600)
        #expect(recorded == replayed, "same events, same order, each once")
        let balances = "SELECT account, balance, deposits, withdrawals, last_position FROM accounts ORDER BY account"
        #expect(
            try await rows(resumed.runner(named: "accounts")!, balances)
                == rows(fresh.runner(named: "accounts")!, balances))
    }

    @Test func behindTheHeadSeveralBatchesShareATransactionAtTheHeadEachCommitsAtOnce() async throws {
        let log = try makeLog()
        try await appendBankEvents(log, count: 2_000)
        let host = try makeHost(log, [RecordingProjection(name: "recorder")], batchSize: 20)
        try await host.catchUp()
        let runner = try #require(host.runner(named: "recorder"))
        let sizes = try await rows(runner, "SELECT events FROM transactions ORDER BY seq").map { Int.fromDatabaseValue($0[0])! }
        // The first batch measures the rate; after it, up to 10 batches go into one commit.
        #expect(sizes.reduce(0, +) == 2_000)
        #expect(sizes.max() == 20 * ProjectionRunner.batchesPerTransaction, "\(sizes)")
        #expect(sizes.count <= 2_000 / 20 / 5, "100 batches in \(sizes.count) transactions")

        try await appendBankEvents(log, count: 7, seed: 2)
        try await host.catchUp()
        let last = try await rows(runner, "SELECT events FROM transactions ORDER BY seq DESC LIMIT 1")
        #expect(Int.fromDatabaseValue(last[0][0]) == 7, "a short batch at the head commits on its own")
        #expect(try await runner.store.checkpoint()?.position == 2_007)
    }

    @Test func aPoisonEventInALargeTransactionIsFoundByHalvingNotEventByEvent() async throws {
        let log = try makeLog()
        try await appendBankEvents(log, count: 2_000)
        let host = try makeHost(
            log, [RecordingProjection(name: "r", failAt: 1_555, errorPolicy: .init(tries: 1, then: .skip))], batchSize: 20)
        try await host.catchUp()
        let runner = try #require(host.runner(named: "r"))
        let positions = try await rows(runner, "SELECT position FROM applied ORDER BY seq").map { Int64.fromDatabaseValue($0[0])! }
        #expect(positions == Array(1...1_554) + Array(1_556...2_000), "every other event once, in order")
        #expect(try await host.deadLetters("r").map(\.event.position) == [1_555])
        // About 10 full transactions, plus a few per halving step around the poison; one event
        // per transaction would take some 200 for the failed one alone.
        let transactions = try await rows(runner, "SELECT count(*) FROM transactions")[0][0]
        #expect(Int.fromDatabaseValue(transactions)! < 40, "\(transactions) transactions")
    }

    @Test func aProjectionOnlySeesTheTypesItWantsButStillReachesTheHead() async throws {
        let log = try makeLog()
        try await appendBankEvents(log, count: 100)
        let host = try makeHost(log, [RecordingProjection(name: "withdrawals", eventTypes: ["Withdrawn"])])
        try await host.catchUp()
        let runner = try #require(host.runner(named: "withdrawals"))
        let types = try await rows(runner, "SELECT DISTINCT type FROM applied").map { String.fromDatabaseValue($0[0]) }
        #expect(types == ["Withdrawn"])
        #expect(try await runner.store.checkpoint()?.position == 100)
    }

    @Test func projectionsAtTheSamePositionShareOneReadPerBatch() async throws {
        let log = try makeLog()
        try await appendBankEvents(log, count: 500)
        let host = try makeHost(log, (1...4).map { RecordingProjection(name: "copy\($0)") }, batchSize: 100)
        try await host.catchUp()
        let reads = await host.reader.reads
        #expect(reads <= 6, "5 batches (+ at most one empty look) for 4 projections, not 20: got \(reads)")
        for runner in host.runners { #expect(try await runner.store.checkpoint()?.position == 500) }
    }

    @Test func followsTheLogLiveAfterCatchingUp() async throws {
        let log = try makeLog()
        try await appendBankEvents(log, count: 10)
        let host = try makeHost(log, [BankAccountsProjection()])
        let running = Task { try await host.run() }
        defer { running.cancel() }
        let runner = try #require(host.runner(named: "accounts"))
        try await waitUntil { runner.current.position == 10 }
        _ = try await log.append([ProposedEvent(stream: "late", type: "Deposited", data: #"{"amount":42}"#)])
        try await waitUntil { runner.current.position == 11 }
        #expect(try await rows(runner, "SELECT balance FROM accounts WHERE account = 'late'") == [[42.databaseValue]])
        #expect(runner.current.state == .live || runner.current.state == .catchingUp)
        running.cancel()
        _ = try? await running.value
    }

    @Test func rebuildBuildsANewGenerationAndKeepsThePreviousForRollback() async throws {
        let log = try makeLog()
        try await appendBankEvents(log, count: 200)
        let host = try makeHost(log, [BankAccountsProjection()])
        try await host.catchUp()
        let first = try #require(host.runner(named: "accounts"))
        let before = try await rows(first, "SELECT * FROM accounts ORDER BY account")
        try await first.store.pool.write { db in try db.execute(sql: "UPDATE accounts SET balance = -1") }
        let result = try await host.rebuild("accounts")
        #expect(result.swapped && result.checkpoint.position == 200 && result.tables == ["accounts": before.count])
        let rebuilt = try #require(host.runner(named: "accounts"))
        #expect(rebuilt.store.path != first.store.path, "a new file, the old one untouched while it was built")
        #expect(try await rows(rebuilt, "SELECT * FROM accounts ORDER BY account") == before)
        #expect(host.pointer("accounts").read().previous == "accounts.sqlite")

        _ = try host.rollback("accounts")
        let rolledBack = try #require(host.runner(named: "accounts"))
        #expect(rolledBack.store.path == first.store.path)
        #expect(try await rows(rolledBack, "SELECT DISTINCT balance FROM accounts").count == 1, "the damaged generation is back")
        _ = try host.rollback("accounts")
        #expect(try await rows(try #require(host.runner(named: "accounts")), "SELECT * FROM accounts ORDER BY account") == before)
    }

    @Test func aChangedDefinitionIsBuiltAsANewGenerationWhileTheOldOneStaysReadable() async throws {
        let log = try makeLog()
        try await appendBankEvents(log, count: 20)
        try await makeHost(log, [RecordingProjection(name: "recorder", fingerprint: "v1")]).catchUp()
        try await appendBankEvents(log, count: 5)
        let changed = try makeHost(log, [RecordingProjection(name: "recorder", fingerprint: "v2")])
        let old = try #require(changed.runner(named: "recorder"))
        try await changed.catchUp()
        let live = try #require(try await changed.runner(named: "recorder")!.store.checkpoint())
        #expect(live.position == 25 && live.fingerprint == "v2")
        let previous = try #require(try await old.store.checkpoint())
        #expect(previous.position == 20 && previous.fingerprint == "v1", "the stale generation was never written by v2")
    }

    @Test func unknownNamesAndDuplicatesAreClearErrors() async throws {
        let log = try makeLog()
        #expect(throws: ProjectorError.self) {
            _ = try makeHost(log, [RecordingProjection(name: "a"), RecordingProjection(name: "a")])
        }
        #expect(throws: ProjectorError.self) { _ = try makeHost(log, [RecordingProjection(name: "Bad Name")]) }
        let host = try makeHost(log, [RecordingProjection(name: "a")])
        await #expect {
            try await host.catchUp(only: ["nope"])
        } throws: { error in
            (error as? ProjectorError)?.message == "no projection named 'nope' (known: a)"
        }
    }

    @Test func statusTellsAStalledTransactionAndAHostThatHasGone() async throws {
        let log = try makeLog()
        try await appendBankEvents(log, count: 5)
        var logger = Logger(label: "test")
        logger.logLevel = .critical
        // The transaction is held until the test has seen it stalled (a fixed pause could end
        // before a loaded machine first looked).
        let gate = Gate()
        let slow = RecordingProjection(name: "slow", gate: gate)
        let host = try ProjectorHost(
            log: log, projections: [slow], storesFolder: folder.file("stores"),
            configuration: .init(stallAfter: .milliseconds(300)), logger: logger)
        let running = Task { try await host.run(only: nil, until: nil) }
        try await waitUntil { try await host.status().first?.state == .stalled }
        gate.open()
        try await waitUntil { try await host.status().first?.state == .live }
        // Another process's view: live while the host runs, stopped once it has gone.
        let observer = try makeHost(log, [slow])
        #expect(try await observer.status().first?.state == .live)
        running.cancel()
        _ = await running.result
        try await waitUntil { try await observer.status().first?.state == .stopped }
    }

    /// A live runner whose wait on the log fails (a log busy for a moment) waits and looks
    /// again: it used to leave its loop and project nothing more.
    @Test func aFailedWaitOnTheLogDoesNotStopALiveRunner() async throws {
        let log = LogFailingItsFirstWait(try makeLog())
        let host = try makeHost(log, [BankAccountsProjection()])
        let running = Task { try await host.run() }
        defer { running.cancel() }
        let runner = try #require(host.runner(named: "accounts"))
        try await waitUntil { log.failed.withLock { $0 } }
        _ = try await log.append([ProposedEvent(stream: "account-1", type: "Deposited", data: #"{"amount":5}"#)])
        try await waitUntil { runner.current.position == 1 }
    }
}

/// The embedded log, but its first wait for events fails as a busy database would.
final class LogFailingItsFirstWait: EventLog, Sendable {
    let log: SQLiteEventLog
    let failed = Mutex(false)

    init(_ log: SQLiteEventLog) { self.log = log }

    func append(_ events: [ProposedEvent]) async throws -> [RecordedEvent] { try await log.append(events) }
    func appendEach(_ events: [ProposedEvent]) async throws -> [AppendOutcome] { try await log.appendEach(events) }
    func read(after position: Int64, limit: Int) async throws -> [RecordedEvent] { try await log.read(after: position, limit: limit) }
    func readStream(_ stream: String, fromVersion version: Int64, limit: Int) async throws -> [RecordedEvent] {
        try await log.readStream(stream, fromVersion: version, limit: limit)
    }
    func head() async throws -> Int64 { try await log.head() }
    func hasEvents(ofType type: String) async throws -> Bool { try await log.hasEvents(ofType: type) }
    func waitForEvents(after position: Int64) async throws {
        if failed.withLock({ done in
            defer { done = true }
            return !done
        }) {
            throw DatabaseError(resultCode: .SQLITE_BUSY, message: "database is locked")
        }
        try await log.waitForEvents(after: position)
    }
}
