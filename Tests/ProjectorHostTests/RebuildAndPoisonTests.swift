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

/// The streams a FlakyProjection cannot handle, shared with the test that "fixes" it.
final class Blocked: Sendable {
    let streams: Mutex<Set<String>>
    init(_ streams: Set<String>) { self.streams = Mutex(streams) }
    func withLock<T>(_ body: (inout Set<String>) -> T) -> T { streams.withLock { body(&$0) } }
}

/// A projection whose handler fails for the streams in `blocked` (a dependency that is down, a
/// bug): the "fix" is emptying the set.
struct FlakyProjection: Projection {
    let name = "flaky"
    let fingerprint = "flaky-v1"
    let blocked: Blocked
    var errorPolicy: ErrorPolicy

    init(blocked: Set<String>, policy: ErrorPolicy = .init(tries: 3, then: .skip)) {
        self.blocked = Blocked(blocked)
        self.errorPolicy = policy
    }

    func setUp(_ db: Database) throws {
        try db.execute(sql: "CREATE TABLE seen(position INTEGER PRIMARY KEY, stream TEXT NOT NULL)")
    }

    func apply(_ events: [RecordedEvent], _ db: Database) throws {
        for event in events {
            if blocked.withLock({ $0.contains(event.stream) }) {
                throw ProjectorError(.projectionFailed, "cannot handle \(event.stream)")
            }
            try db.execute(sql: "INSERT INTO seen VALUES (?, ?)", arguments: [event.position, event.stream])
        }
    }
}

/// Refuses every new generation: its check fails.
struct PickyProjection: Projection {
    let name = "picky"
    let fingerprint = "picky-v1"
    func setUp(_ db: Database) throws { try db.execute(sql: "CREATE TABLE t(position INTEGER)") }
    func apply(_ events: [RecordedEvent], _ db: Database) throws {
        for event in events { try db.execute(sql: "INSERT INTO t VALUES (?)", arguments: [event.position]) }
    }
    func verify(_ db: Database) throws {
        if try Int.fetchOne(db, sql: "SELECT count(*) FROM t")! > 0 { throw ProjectorError(.projectionFailed, "too many rows") }
    }
}

@Suite struct RebuildAndPoisonTests {
    let folder = TemporaryFolder()

    func host(_ log: any EventLog, _ projections: [any Projection<Database>], batchSize: Int = 25) throws -> ProjectorHost {
        var logger = Logger(label: "test")
        logger.logLevel = .critical
        return try ProjectorHost(
            log: log, projections: projections, storesFolder: folder.file("stores"),
            configuration: .init(batchSize: batchSize, retryBackoff: .milliseconds(1)), logger: logger)
    }

    func events(_ count: Int) -> [ProposedEvent] {
        (0..<count).map { ProposedEvent(stream: "s-\($0 % 10)", type: "Deposited", data: #"{"amount":1}"#) }
    }

    func seen(_ host: ProjectorHost) async throws -> [Int64] {
        try await host.runner(named: "flaky")!.store.pool.read { db in
            try Int64.fetchAll(db, sql: "SELECT position FROM seen ORDER BY position")
        }
    }

    @Test func aPoisonEventIsParkedTheOthersGoOnAndARedriveAfterTheFixAppliesItOnce() async throws {
        let log = try SQLiteEventLog(path: folder.file("events.sqlite"))
        _ = try await log.append(events(100))
        let flaky = FlakyProjection(blocked: ["s-3"])
        let host = try host(log, [flaky, BankAccountsProjection()])
        try await host.catchUp()
        let parked = try await host.deadLetters("flaky")
        #expect(parked.map(\.event.position) == [4, 14, 24, 34, 44, 54, 64, 74, 84, 94])
        #expect(parked.allSatisfy { $0.tries == 3 && $0.error.contains("cannot handle s-3") })
        #expect(try await seen(host).count == 90, "skipped, and everything else applied once")
        #expect(try await host.runner(named: "flaky")!.store.checkpoint()?.position == 100)
        let status = try await host.status()
        #expect(status.first { $0.name == "flaky" }?.deadLetters == 10)
        #expect(status.first { $0.name == "accounts" }?.position == 100)

        // Still broken: a redrive changes nothing and keeps them parked.
        let early = try await host.redrive("flaky")
        #expect(early.applied.isEmpty && early.failed.count == 10)
        flaky.blocked.withLock { $0 = [] }
        let fixed = try await host.redrive("flaky")
        #expect(fixed.applied.count == 10 && fixed.failed.isEmpty)
        #expect(try await seen(host) == Array(1...100))
        #expect(try await host.redrive("flaky").applied.isEmpty, "a second redrive has nothing left to apply")
        #expect(try await host.deadLetters("flaky").isEmpty)
    }

    @Test func theStopPolicyHoldsTheProjectionAtThePoisonUntilARedrive() async throws {
        let log = try SQLiteEventLog(path: folder.file("events.sqlite"))
        _ = try await log.append(events(40))
        let flaky = FlakyProjection(blocked: ["s-5"], policy: .init(tries: 2, then: .stop))
        let host = try host(log, [flaky])
        try await host.catchUp()
        let stopped = try #require(try await host.runner(named: "flaky")!.store.checkpoint())
        #expect(stopped.state == .failed && stopped.position == 5)
        flaky.blocked.withLock { $0 = [] }
        #expect(try await host.redrive("flaky").applied == [6])
        try await host.catchUp()
        #expect(try await seen(host) == Array(1...40))
        #expect(try await host.runner(named: "flaky")!.store.checkpoint()?.state != .failed)
    }

    @Test func severalRebuildsShareOneScanOfTheLog() async throws {
        let log = try SQLiteEventLog(path: folder.file("events.sqlite"))
        _ = try await log.append(events(500))
        // Three fast projections and a slow one: the fast ones must not run off and read alone.
        let host = try host(
            log,
            [
                BankAccountsProjection(name: "a"), BankAccountsProjection(name: "b"), BankAccountsProjection(name: "c"),
                RecordingProjection(name: "slow", pausePerBatch: .milliseconds(20)),
            ], batchSize: 25)
        try await host.catchUp()
        let before = await host.reader.reads
        let results = try await host.rebuild(["a", "b", "c", "slow"])
        #expect(results.count == 4 && results.values.allSatisfy { $0.swapped && $0.checkpoint.position == 500 })
        let reads = await host.reader.reads - before
        #expect(reads <= 20 + 2, "4 rebuilds x 20 batches took \(reads) reads; one scan is 20 (+ a look past the head)")
    }

    @Test func anInterruptedRebuildResumesWhereItStoodAndCanBeCancelled() async throws {
        let log = try SQLiteEventLog(path: folder.file("events.sqlite"))
        _ = try await log.append(events(3_000))
        let host = try host(log, [BankAccountsProjection()], batchSize: 10)
        try await host.catchUp()
        // Interrupt the first build part way (as a crash or Ctrl-C would).
        let first = Task { try await host.rebuild("accounts") }
        try await waitUntil { (await host.rebuildProgress("accounts")?.position ?? 0) >= 500 }
        first.cancel()
        _ = try? await first.value
        let pending = try #require(host.pointer("accounts").read().next)
        let interruptedAt = try #require(await host.rebuildProgress("accounts")).position
        #expect(interruptedAt >= 500 && interruptedAt < 3_000)
        let status = try #require(try await host.status().first)
        #expect(status.rebuild?.position == interruptedAt && status.rebuild?.head == 3_000)

        // A new host (a restart) resumes the same file from its checkpoint.
        let restarted = try self.host(log, [BankAccountsProjection()], batchSize: 10)
        let resumed = try await restarted.rebuild("accounts")
        #expect(resumed.swapped && restarted.pointer("accounts").read().live == pending)
        #expect(resumed.checkpoint.position == 3_000)

        // A requested rebuild can be dropped; the live generation stays.
        var generations = restarted.pointer("accounts").read()
        generations.next = restarted.pointer("accounts").newGenerationFile()
        try restarted.pointer("accounts").write(generations)
        #expect(try restarted.cancelRebuild("accounts"))
        #expect(restarted.pointer("accounts").read() == StoreGenerations(live: pending, next: nil, previous: "accounts.sqlite"))
    }

    @Test func aGenerationThatFailsVerificationNeverGoesLive() async throws {
        let log = try SQLiteEventLog(path: folder.file("events.sqlite"))
        _ = try await log.append(events(30))
        let host = try host(log, [PickyProjection()])
        try await host.catchUp()
        let result = try await host.rebuild("picky")
        #expect(!result.swapped)
        #expect(result.checkpoint.lastError?.contains("verification of the new generation failed") == true)
        #expect(host.pointer("picky").read().live == "picky.sqlite")
        #expect(host.runner(named: "picky")!.store.path.hasSuffix("picky.sqlite"))
    }
}
