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
    /// fail and stop it); after ten kills mid-way and a last run, it holds every position once.
    @Test func killsDuringAPluginsCatchUpLoseAndDuplicateNothing() async throws {
        let lines = (1...100_000).map { #"{"stream":"s-\#($0 % 50)","type":"Tick","data":{"n":\#($0)}}"# }
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
                uint8_t bytes[16];
                pj_values args = {bytes, 0, sizeof bytes};
                pj_int(&args, value);
                return ok && pj_exec("INSERT INTO applied(position) VALUES (?1)", &args) == 1 ? 0 : 1;
                """), to: projections + "/applied.wasm")
        try """
        name: applied
        kind: wasm
        module: applied.wasm
        setup: CREATE TABLE applied(position INTEGER PRIMARY KEY);
        onError: { tries: 1, then: stop }
        """.write(toFile: projections + "/applied.yml", atomically: true, encoding: .utf8)
        for round in 0..<10 {
            let process = cli.process(["run"])
            process.standardError = FileHandle.nullDevice
            process.standardOutput = FileHandle.nullDevice
            try process.run()
            try await Task.sleep(for: .milliseconds(150 + 40 * round))
            kill(process.processIdentifier, SIGKILL)
            await process.exit()
        }
        let store = try ProjectionStore(
            name: "applied", path: ProjectorHost.storePath(folder.file(".projector/stores"), "applied"), readOnly: true)
        // About 16,000 events a second in a debug build: the kills fell mid-way.
        #expect(try await store.checkpoint()?.position ?? 0 < 100_000)
        let finish = try await cli.run("run", "--once")
        #expect(finish.status == 0, "\(finish.stderr)")
        let (count, sum, letters) = try await store.pool.read { db in
            (
                try Int.fetchOne(db, sql: "SELECT count(*) FROM applied")!, try Int.fetchOne(db, sql: "SELECT sum(position) FROM applied")!,
                try ProjectionStore.deadLetterCount(db)
            )
        }
        #expect(count == 100_000 && sum == 100_000 * 100_001 / 2 && letters == 0)
        #expect(try await store.checkpoint()?.position == 100_000)
    }
}
