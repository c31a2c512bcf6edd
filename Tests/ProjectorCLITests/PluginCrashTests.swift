import Foundation
import GRDB
import ProjectorCore
import ProjectorHost
import ProjectorSQLite
import ProjectorTesting
import Testing

/// `projector run` killed with SIGKILL while a WebAssembly plugin catches up.
@Suite struct PluginCrashTests {
    let folder = TemporaryFolder()
    var cli: CLI { CLI(directory: folder.path) }

    /// The plugin records every event's position under a primary key (applying one twice would
    /// fail and stop it). A gate row in its own store makes every event from the gate's position
    /// on cost milliseconds of fuel, so each run races to the gate and then crawls: the kill,
    /// once the run has committed near the gate, falls mid-way whatever the machine's load. After
    /// eight kills, each with the gate moved on, and a last run, it holds every position once.
    @Test func killsDuringAPluginsCatchUpLoseAndDuplicateNothing() async throws {
        let events = 100_000
        let lines = (1...events).map { #"{"stream":"s-\#($0 % 50)","type":"Tick","data":{"n":\#($0)}}"# }
        #expect(try await cli.run("import", "-", input: lines.joined(separator: "\n") + "\n").status == 0)
        let projections = folder.file("projections")
        try FileManager.default.createDirectory(atPath: projections, withIntermediateDirectories: true)
        try PluginBuilder.build(
            PluginBuilder.plugin(
                """
                char position[24];
                int32_t n = pj_event("$.position", position, sizeof position);
                int ok = 0;
                int64_t value = pj_parse_int(position, n, &ok);
                uint8_t gate[32];
                const char *ask = "SELECT coalesce((SELECT at FROM gate), 12000)";
                if (projector_sql_query(ask, pj_strlen(ask), 0, 0, gate, sizeof gate) != 17) return 1;
                int64_t at = 0;
                for (int i = 0; i < 8; i++) at |= (int64_t)gate[9 + i] << (8 * i);
                if (value >= at) { for (int i = 0; i < 200000; i++) sink += i; }
                uint8_t bytes[16];
                pj_values args = {bytes, 0, sizeof bytes};
                pj_int(&args, value);
                return ok && pj_exec("INSERT INTO applied(position) VALUES (?1)", &args) == 1 ? 0 : 1;
                """, prelude: "static volatile int64_t sink;"), to: projections + "/applied.wasm")
        try """
        name: applied
        kind: wasm
        module: applied.wasm
        setup: CREATE TABLE applied(position INTEGER PRIMARY KEY); CREATE TABLE gate(at INTEGER);
        onError: { tries: 1, then: stop }
        """.write(toFile: projections + "/applied.yml", atomically: true, encoding: .utf8)
        let path = ProjectorHost.storePath(folder.file(".projector/stores"), "applied")
        @Sendable func position() async -> Int64 {
            guard let store = try? ProjectionStore(name: "applied", path: path, readOnly: true) else { return 0 }
            return (try? await store.checkpoint()?.position) ?? 0
        }
        func moveGate(to at: Int) throws {
            try DatabaseQueue(path: path).write { db in
                try db.execute(sql: "DELETE FROM gate")
                try db.execute(sql: "INSERT INTO gate(at) VALUES (?)", arguments: [at])
            }
        }
        var killedAt: [Int64] = []
        for round in 1...8 {
            let gate = 12_000 * round
            if round > 1 { try moveGate(to: gate) }
            let process = cli.process(["run"])
            let log = folder.file("run-\(round).log")
            _ = FileManager.default.createFile(atPath: log, contents: nil)
            process.standardError = try FileHandle(forWritingTo: URL(fileURLWithPath: log))
            process.standardOutput = FileHandle.nullDevice
            try process.run()
            // A transaction holds at most 10,000 events: one ending past gate - 10,000 came
            // from the fast part; the run is now at the gate or crawling past it.
            try await waitUntil { await position() >= Int64(gate - 10_000) || !process.isRunning }
            guard process.isRunning else {
                Issue.record("run exited \(process.terminationStatus): \((try? String(contentsOfFile: log, encoding: .utf8)) ?? "")")
                return
            }
            try await Task.sleep(for: .milliseconds(Int.random(in: 0...400)))
            kill(process.processIdentifier, SIGKILL)
            await process.exit()
            killedAt.append(await position())
        }
        #expect(killedAt.allSatisfy { $0 < Int64(events) } && killedAt == killedAt.sorted(), "\(killedAt)")
        try moveGate(to: Int.max)
        let finish = try await cli.run("run", "--once")
        #expect(finish.status == 0, "\(finish.stderr)")
        let store = try ProjectionStore(name: "applied", path: path, readOnly: true)
        let (count, sum, letters) = try await store.pool.read { db in
            (
                try Int.fetchOne(db, sql: "SELECT count(*) FROM applied")!, try Int.fetchOne(db, sql: "SELECT sum(position) FROM applied")!,
                try ProjectionStore.deadLetterCount(db)
            )
        }
        #expect(count == events && sum == events * (events + 1) / 2 && letters == 0)
        #expect(try await store.checkpoint()?.position == Int64(events))
    }
}
