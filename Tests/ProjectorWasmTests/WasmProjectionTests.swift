import Foundation
import GRDB
import Logging
import ProjectorCore
import ProjectorHost
import ProjectorSQLite
import ProjectorSpecs
import ProjectorTesting
import ProjectorWasm
import Testing

@Suite struct WasmProjectionTests {
    let folder = TemporaryFolder()
    let kinds = ProjectionKinds.standard.adding(WasmKind())

    var projections: String { folder.file("projections") }

    /// Writes a spec file into the projections folder; returns its path.
    @discardableResult
    func spec(_ name: String, _ text: String) throws -> String {
        try FileManager.default.createDirectory(atPath: projections, withIntermediateDirectories: true)
        let path = projections + "/\(name).yml"
        try text.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    func plugin(_ name: String, _ body: String, prelude: String = "", options: String = "", batch: Bool = false) throws -> String {
        try FileManager.default.createDirectory(atPath: projections, withIntermediateDirectories: true)
        try PluginBuilder.build(PluginBuilder.plugin(body, prelude: prelude, batch: batch), to: projections + "/\(name).wasm")
        return try spec(name, "name: \(name)\nkind: wasm\nmodule: \(name).wasm\n\(options)")
    }

    func host(_ log: any EventLog, _ projections: [any Projection<Database>]) throws -> ProjectorHost {
        var logger = Logger(label: "test")
        logger.logLevel = .critical
        return try ProjectorHost(
            log: log, projections: projections, storesFolder: folder.file("stores"),
            configuration: .init(batchSize: 100, retryBackoff: .milliseconds(1)), logger: logger)
    }

    /// Seeded deposits and withdrawals over 20 accounts.
    static func bankEvents(_ count: Int) -> [ProposedEvent] {
        var seed: UInt64 = 42
        func next() -> UInt64 {
            seed = seed &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            return seed >> 33
        }
        return (0..<count).map { _ in
            let account = "acc-\(next() % 20)"
            let type = next() % 3 == 0 ? "Withdrawn" : "Deposited"
            return ProposedEvent(stream: account, type: type, data: #"{"amount":\#(next() % 1000 + 1)}"#)
        }
    }

    static let bankSQL = """
        name: sql-balances
        kind: sql
        setup: CREATE TABLE balances(account TEXT PRIMARY KEY, balance INTEGER NOT NULL, events INTEGER NOT NULL);
        on:
          Deposited: |
            INSERT INTO balances VALUES (:stream, :data ->> '$.amount', 1)
            ON CONFLICT(account) DO UPDATE SET balance = balance + excluded.balance, events = events + 1;
          Withdrawn: |
            INSERT INTO balances VALUES (:stream, -(:data ->> '$.amount'), 1)
            ON CONFLICT(account) DO UPDATE SET balance = balance + excluded.balance, events = events + 1;
        """

    func balances(_ host: ProjectorHost, _ name: String) async throws -> [String] {
        try await host.runner(named: name)!.store.pool.read { db in
            try String.fetchAll(db, sql: "SELECT account || ' ' || balance || ' ' || events FROM balances ORDER BY account")
        }
    }

    /// The C example (Plugins/Wasm/examples/bank-balances) gives what the same fold as a SQL
    /// spec gives, and what a fold in Swift gives.
    @Test func theBankFoldAsAPluginEqualsTheSQLSpecAndAnIndependentFold() async throws {
        let example = PluginBuilder.repository.appendingPathComponent("Plugins/Wasm/examples/bank-balances")
        try FileManager.default.createDirectory(atPath: projections, withIntermediateDirectories: true)
        try PluginBuilder.compile(example.appendingPathComponent("balances.c").path, to: projections + "/balances.wasm")
        try FileManager.default.copyItem(atPath: example.appendingPathComponent("balances.yml").path, toPath: projections + "/balances.yml")
        let sqlSpec = try spec("sql-balances", Self.bankSQL)
        let log = try SQLiteEventLog(path: folder.file("events.sqlite"))
        let events = Self.bankEvents(3_000)
        _ = try await log.append(events)
        let wasm = try ProjectionCatalog.spec(at: projections + "/balances.yml", kinds: kinds)
        #expect(WasmKind().describe(wasm).summary.contains("ABI 1 (projector_apply_batch)"))
        let host = try host(log, [wasm, try ProjectionCatalog.spec(at: sqlSpec, kinds: kinds)])
        try await host.catchUp()

        var fold: [String: (balance: Int, events: Int)] = [:]
        for event in events {
            let amount = Int(event.data.split(separator: ":")[1].dropLast())!
            fold[event.stream, default: (0, 0)].balance += event.type == "Deposited" ? amount : -amount
            fold[event.stream, default: (0, 0)].events += 1
        }
        let expected = fold.keys.sorted().map { "\($0) \(fold[$0]!.balance) \(fold[$0]!.events)" }
        #expect(try await balances(host, "wasm-balances") == expected)
        #expect(try await balances(host, "sql-balances") == expected)
        #expect(try await host.status().allSatisfy { $0.position == 3_000 && $0.deadLetters == 0 })
    }

    /// Each hostile plugin's events go to its dead letters with an error naming the plugin,
    /// the event and the cause, while a healthy projection beside them reaches the head.
    @Test func hostilePluginsAreDeadLetteredWithTheirCauseWhileTheHostGoesOn() async throws {
        let options = "onError: { tries: 1, then: skip }\nlimits: { fuel: 2000000, memoryMB: 2, stackKB: 64 }\n"
        let cases: [(name: String, body: String, prelude: String, cause: String)] = [
            ("loop", "for (;;) {}\nreturn 0;", "", "ran out of fuel (limits.fuel: 2000000 per event)"),
            (
                "bomb", "if ((int)__builtin_wasm_memory_grow(0, 1024) < 0) __builtin_trap();\nreturn 0;", "",
                "after its memory was refused growth to 64 MiB (limits.memoryMB: 2)"
            ),
            ("trap", "__builtin_trap();\nreturn 0;", "", "unreachable"),
            (
                "outside", "return pj_exec(\"DELETE FROM projector_checkpoint\", 0) < 0 ? 1 : 0;", "",
                "'projector_checkpoint': tables starting with projector_ or documents belong to the host"
            ),
            (
                "schema", "return pj_exec(\"DROP TABLE t\", 0) < 0 ? 1 : 0;", "",
                "handlers may not change the schema"
            ),
            (
                "pointer", "char *far = (char *)0x7ffff0;\nreturn projector_event(\"$.type\", 6, far, 100) < 0;", "",
                "outside the plugin's"
            ),
            (
                "unterminated", "return pj_exec((const char *)0x7ffff0, 0) < 0;", "",
                "with no NUL after it inside the plugin's memory"
            ),
            (
                "deep", "return deep(1000000);",
                "static int deep(int n) { volatile int pad[16]; pad[0] = n; return n == 0 ? 0 : deep(n - 1) + pad[0]; }",
                "call stack exhausted"
            ),
            ("failing", "pj_fail(\"no thank you\");\nreturn 1;", "", "no thank you"),
        ]
        var loaded: [any Projection<Database>] = []
        for item in cases {
            let file = try plugin(item.name, item.body, prelude: item.prelude, options: options + "setup: CREATE TABLE t(a);\n")
            loaded.append(try ProjectionCatalog.spec(at: file, kinds: kinds))
        }
        loaded.append(try ProjectionCatalog.spec(at: try spec("sql-balances", Self.bankSQL), kinds: kinds))
        let log = try SQLiteEventLog(path: folder.file("events.sqlite"))
        _ = try await log.append(Self.bankEvents(3))
        let host = try host(log, loaded)
        try await host.catchUp()
        for item in cases {
            let letters = try await host.deadLetters(item.name)
            #expect(letters.map(\.event.position) == [1, 2, 3], "\(item.name)")
            let error = letters.first?.error ?? ""
            #expect(error.contains("plugin \(item.name) failed on event 1 (") && error.contains(item.cause), "\(item.name): \(error)")
        }
        #expect(try await host.status().allSatisfy { $0.position == 3 && $0.state != .failed })
        #expect(try await balances(host, "sql-balances").count == 3)
    }

    /// A plugin taking its transaction's events itself (`projector_apply_batch`) gets each
    /// event with a fresh fuel budget and its fields in one call; a failure names the event it
    /// was on; one that returns early is called again for the rest, unless it took none.
    @Test func aBatchPluginTakesEveryEventWithItsOwnFuelAndFailsOnTheRightOne() async throws {
        let options = "limits: { fuel: 200000 }\nsetup: CREATE TABLE seen(position INTEGER, type TEXT, amount TEXT);\n"
        // Each event burns most of the budget: only a budget per event lets 30 of them through.
        func body(trapAt position: Int) -> String {
            """
            static const char paths[] = "$.position\\0$.type\\0$.data.amount\\0$.data.missing";
            uint8_t out[256]; pj_reader values; pj_value position, type, amount, missing;
            if (pj_event_values(paths, sizeof paths, out, sizeof out, &values) < 0) return 1;
            pj_read(&values, &position); pj_read(&values, &type); pj_read(&values, &amount); pj_read(&values, &missing);
            if (missing.tag != PJ_NULL || pj_read(&values, &missing)) return 1;
            for (volatile int i = 0; i < 15000; i++) {}
            int ok;
            if (pj_parse_int(position.text, position.len, &ok) == \(position)) __builtin_trap();
            uint8_t args[300]; pj_values bound = {args, 0, sizeof args};
            pj_text_n(&bound, position.text, position.len); pj_text_n(&bound, type.text, type.len); pj_text_n(&bound, amount.text, amount.len);
            return pj_exec("INSERT INTO seen VALUES (?1, ?2, ?3)", &bound) < 0;
            """
        }
        func batchPlugin(_ name: String, _ source: String) throws -> any Projection<Database> {
            try PluginBuilder.build(
                "#include \"projector.h\"\nPJ_EXPORT(\"projector_abi_version\") int32_t v(void) { return 1; }\n" + source,
                to: projections + "/\(name).wasm")
            return try ProjectionCatalog.spec(
                at: try spec(name, "name: \(name)\nkind: wasm\nmodule: \(name).wasm\n" + options), kinds: kinds)
        }
        let log = try SQLiteEventLog(path: folder.file("events.sqlite"))
        let proposed = Self.bankEvents(30)
        _ = try await log.append(proposed)
        let events = try await log.read(after: 0, limit: 100)
        // Applied as the host does, one transaction for all: no retries to hide a failure.
        func apply(_ projection: any Projection<Database>) throws -> [String] {
            let store = try DatabaseQueue(path: folder.file("\(projection.name).sqlite"))
            return try store.write { db in
                try projection.setUp(db)
                try projection.apply(events, db)
                return try String.fetchAll(db, sql: "SELECT position || ' ' || type || ' ' || amount FROM seen ORDER BY position")
            }
        }
        let expected = proposed.enumerated().map {
            "\($0.offset + 1) \($0.element.type) \($0.element.data.split(separator: ":")[1].dropLast())"
        }
        func loaded(_ file: String) throws -> any Projection<Database> { try ProjectionCatalog.spec(at: file, kinds: kinds) }
        #expect(try apply(loaded(plugin("whole", body(trapAt: 0), options: options, batch: true))) == expected)
        #expect {
            try apply(loaded(plugin("trap", body(trapAt: 17), options: options, batch: true)))
        } throws: { "\($0)".contains("plugin trap failed on event 17 (") }
        let quitter = try batchPlugin(
            "quitter",
            "PJ_EXPORT(\"projector_apply_batch\") int32_t b(void) { return projector_next() && pj_exec(\"INSERT INTO seen VALUES (1, 0, 0)\", 0) < 0; }"
        )
        #expect(try apply(quitter).count == 30)
        let idle = try batchPlugin("idle", "PJ_EXPORT(\"projector_apply_batch\") int32_t b(void) { return 0; }")
        #expect {
            try apply(idle)
        } throws: { "\($0)".contains("plugin idle: projector_apply_batch returned without taking an event") }
    }

    /// Modules that break the ABI are refused at load, naming what is wrong.
    @Test func modulesBreakingTheABIAreRefusedAtLoad() throws {
        let cases: [(name: String, source: String, problem: String)] = [
            (
                "clock",
                """
                #include "projector.h"
                __attribute__((import_module("wasi_snapshot_preview1"), import_name("clock_time_get")))
                int32_t clock_time_get(int32_t id, int64_t precision, int32_t out);
                PJ_EXPORT("projector_abi_version") int32_t abi_version(void) { return 1; }
                PJ_EXPORT("projector_apply") int32_t apply(void) { return clock_time_get(0, 0, 0); }
                """,
                "imports wasi_snapshot_preview1.clock_time_get: a plugin may import only projector."
            ),
            (
                "version",
                """
                #include "projector.h"
                PJ_EXPORT("projector_abi_version") int32_t abi_version(void) { return 7; }
                PJ_EXPORT("projector_apply") int32_t apply(void) { return 0; }
                """,
                "ABI version i32(7), this host speaks 1"
            ),
            (
                "noapply",
                """
                #include "projector.h"
                PJ_EXPORT("projector_abi_version") int32_t abi_version(void) { return 1; }
                """,
                "exports neither projector_apply nor projector_apply_batch"
            ),
        ]
        try FileManager.default.createDirectory(atPath: projections, withIntermediateDirectories: true)
        for item in cases {
            try PluginBuilder.build(item.source, to: projections + "/\(item.name).wasm")
            let file = try spec(item.name, "name: \(item.name)\nkind: wasm\nmodule: \(item.name).wasm\n")
            #expect {
                try ProjectionCatalog.spec(at: file, kinds: kinds)
            } throws: { error in
                "\(error)".contains("\(item.name).yml: module \(item.name).wasm: \(item.problem)")
            }
        }
        try "not wasm".write(toFile: projections + "/junk.wasm", atomically: true, encoding: .utf8)
        let junk = try spec("junk", "name: junk\nkind: wasm\nmodule: junk.wasm\n")
        #expect(throws: ProjectorError.self) { try ProjectionCatalog.spec(at: junk, kinds: kinds) }
    }
}
