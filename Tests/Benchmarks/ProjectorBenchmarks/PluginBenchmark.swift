import Foundation
import GRDB
import Logging
import ProjectorCore
import ProjectorHost
import ProjectorSQLite
import ProjectorSpecs
import ProjectorTesting
import ProjectorWasm

/// Issue 21's benchmark: the bank fold as the C plugin (Plugins/Wasm/examples/bank-balances),
/// as a `kind: sql` spec and as compiled Swift, one after another in one run (alternating the
/// order per round), all building the same table; plus the plugin's fixed cost per event (a
/// plugin that does nothing), per host call (ten more `event` calls) and of the fuel meter.
enum PluginBenchmark {
    static let setup = "CREATE TABLE balances(account TEXT PRIMARY KEY, balance INTEGER NOT NULL, events INTEGER NOT NULL);"
    static let sql = """
        name: bank
        kind: sql
        setup: \(setup)
        on:
          Deposited: |
            INSERT INTO balances VALUES (:stream, :data ->> '$.amount', 1)
            ON CONFLICT(account) DO UPDATE SET balance = balance + excluded.balance, events = events + 1;
          Withdrawn: |
            INSERT INTO balances VALUES (:stream, -(:data ->> '$.amount'), 1)
            ON CONFLICT(account) DO UPDATE SET balance = balance + excluded.balance, events = events + 1;
        """

    /// The same fold in Swift, as an application would compile it in.
    struct SwiftBank: Projection {
        var name: String { "bank" }
        var fingerprint: String { "swift-bank-1" }
        var eventTypes: Set<String>? { ["Deposited", "Withdrawn"] }
        func setUp(_ db: Database) throws { try db.execute(sql: PluginBenchmark.setup) }
        func apply(_ events: [RecordedEvent], _ db: Database) throws {
            let statement = try db.cachedStatement(
                sql: """
                    INSERT INTO balances VALUES (?, ?, 1)
                    ON CONFLICT(account) DO UPDATE SET balance = balance + excluded.balance, events = events + 1
                    """)
            for event in events {
                guard let text = JSONObjectText.rawMember("amount", of: event.data), let amount = Int64(text) else {
                    throw ProjectorError(.projectionFailed, "no amount")
                }
                try statement.execute(arguments: [event.stream, event.type == "Deposited" ? amount : -amount])
            }
        }
    }

    static let kinds = ProjectionKinds.standard.adding(WasmKind())

    /// `only` runs some of the arms (for a profile of one); the ratios then need both of theirs.
    static func run(events count: Int, module: String, rounds: Int, only: Set<String>? = nil) async throws {
        let folder = NSTemporaryDirectory() + "projector-plugin-bench-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let log = try SQLiteEventLog(path: folder + "/events.sqlite")
        var seed: UInt64 = 7
        func next() -> UInt64 {
            seed = seed &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            return seed >> 33
        }
        var batch: [ProposedEvent] = []
        for index in 0..<count {
            let type = next() % 3 == 0 ? "Withdrawn" : "Deposited"
            batch.append(ProposedEvent(stream: "acc-\(next() % 5_000)", type: type, data: #"{"amount":\#(next() % 1000 + 1)}"#))
            if batch.count == 10_000 || index == count - 1 {
                _ = try await log.append(batch)
                batch = []
            }
        }
        try FileManager.default.copyItem(atPath: module, toPath: folder + "/balances.wasm")
        try "name: bank\nkind: wasm\nmodule: balances.wasm\nevents: [Deposited, Withdrawn]\nsetup: \(setup)\n"
            .write(toFile: folder + "/wasm.yml", atomically: true, encoding: .utf8)
        try sql.write(toFile: folder + "/sql.yml", atomically: true, encoding: .utf8)
        let wasmSpec = try (ProjectionCatalog.spec(at: folder + "/wasm.yml", kinds: kinds) as! WasmProjection).spec
        var arms: [String: () throws -> any Projection<Database>] = [
            "wasm": { try WasmProjection(spec: wasmSpec) },
            "wasm-unmetered": { try WasmProjection(spec: wasmSpec, meteringFuel: false) },
            "sql": { try ProjectionCatalog.spec(at: folder + "/sql.yml") },
            "swift": { SwiftBank() },
            "noop": { try noop(folder, body: "return 0;") },
            "noop+10-calls": {
                try noop(folder, body: "char b[16]; for (int i = 0; i < 10; i++) projector_event(\"$.type\", 6, b, sizeof b);\nreturn 0;")
            },
        ]
        if let only { arms = arms.filter { only.contains($0.key) } }
        report("plugin benchmark: \(count) bank events, \(rounds) rounds, module \(module)")
        var rates: [String: [Double]] = [:]
        var digests: [String: String] = [:]
        for round in 1...rounds {
            let order = round % 2 == 1 ? arms.keys.sorted() : arms.keys.sorted().reversed()
            for arm in order {
                var logger = Logger(label: "bench")
                logger.logLevel = .error
                let stores = folder + "/\(arm)-\(round)"
                let host = try ProjectorHost(log: log, projections: [try arms[arm]!()], storesFolder: stores, logger: logger)
                let started = ContinuousClock.now
                try await host.catchUp()
                rates[arm, default: []].append(Double(count) / ((ContinuousClock.now - started) / .seconds(1)))
                if !arm.hasPrefix("noop") {
                    digests[arm] = try await host.runner(named: "bank")!.store.pool.read { db in
                        try String.fetchOne(db, sql: "SELECT count(*) || '/' || total(balance) || '/' || total(events) FROM balances") ?? ""
                    }
                }
            }
            report("round \(round): " + arms.keys.sorted().map { "\($0) \(Int(rates[$0]!.last!))/s" }.joined(separator: ", "))
        }
        guard Set(digests.values).count <= 1 else { throw BenchError("the arms built different tables: \(digests)") }
        guard only == nil else { return }
        func median(_ arm: String) -> Double { rates[arm]!.sorted()[rates[arm]!.count / 2] }
        let (wasm, sqlRate, swift) = (median("wasm"), median("sql"), median("swift"))
        report(
            String(
                format: "bank fold: C plugin %.0f events/s, sql spec %.0f, Swift %.0f; plugin/sql %.2f, plugin/Swift %.2f "
                    + "(medians of the rounds' ratios; same table: %@)",
                wasm, sqlRate, swift, pairedRatio(rates["wasm"]!, rates["sql"]!), pairedRatio(rates["wasm"]!, rates["swift"]!),
                digests["wasm"]!))
        let perEvent = 1e6 / median("noop")
        let perCall = (1e6 / median("noop+10-calls") - perEvent) / 10
        let meter = 1e6 / wasm - 1e6 / median("wasm-unmetered")
        report(
            String(
                format: "a plugin doing nothing: %.2f µs per event (the host, its next call and the checkpoint); a host call: %.3f µs; "
                    + "the fuel meter: %.3f µs per event of the bank fold",
                perEvent, perCall, meter))
    }

    /// The Rust example (Debian changelog entries into one document per package, bug numbers in
    /// a table of its own) against a `kind: search` spec indexing the same documents: the log's
    /// entries carry, for the spec only, the bug list the plugin builds (`data.bugs`), and the
    /// two stores are checked to hold the same documents.
    static func runSearch(corpus: String, module: String, rounds: Int, only: Set<String>? = nil) async throws {
        let folder = NSTemporaryDirectory() + "projector-plugin-search-bench-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let lines = folder + "/events.ndjson"
        let entries = try withBugLists(corpus, to: lines)
        let log = try SQLiteEventLog(path: folder + "/events.sqlite")
        _ = try await EventImporter(log: log).importLines(from: FileHandle(forReadingAtPath: lines)!)
        let example = URL(fileURLWithPath: module).deletingLastPathComponent()
        try FileManager.default.copyItem(atPath: module, toPath: folder + "/changelog.wasm")
        try FileManager.default.copyItem(atPath: example.appendingPathComponent("changelog.yml").path, toPath: folder + "/changelog.yml")
        try """
        name: changelog
        kind: search
        events: [VersionReleased]
        id: $.data.package
        fields:
          package: { path: $.data.package, weight: 10 }
          changes: { path: $.data.changes, weight: 1 }
          bugs: { path: $.data.bugs, weight: 2 }
          version: { path: $.data.version, filter: true }
          urgency: { path: $.data.urgency, filter: true }
        """.write(toFile: folder + "/search.yml", atomically: true, encoding: .utf8)
        let arms = ["plugin": folder + "/changelog.yml", "search": folder + "/search.yml"].filter { only?.contains($0.key) ?? true }
        report("plugin search benchmark: \(entries) changelog entries of \(corpus), \(rounds) rounds")
        var rates: [String: [Double]] = [:]
        var documents: [String: [String]] = [:]
        for round in 1...rounds {
            for arm in (round % 2 == 1 ? ["plugin", "search"] : ["search", "plugin"]) where arms[arm] != nil {
                var logger = Logger(label: "bench")
                logger.logLevel = .error
                let projection = try ProjectionCatalog.spec(at: arms[arm]!, kinds: kinds)
                let host = try ProjectorHost(log: log, projections: [projection], storesFolder: folder + "/\(arm)-\(round)", logger: logger)
                let started = ContinuousClock.now
                try await host.catchUp()
                rates[arm, default: []].append(Double(entries) / ((ContinuousClock.now - started) / .seconds(1)))
                documents[arm] = try await host.runner(named: "changelog")!.store.pool.read { db in
                    try String.fetchAll(
                        db,
                        sql: "SELECT doc_id || char(31) || package || char(31) || changes || char(31) || bugs || char(31) "
                            + "|| coalesce(version, '') || char(31) || coalesce(urgency, '') FROM documents ORDER BY doc_id")
                }
            }
            report("round \(round): " + rates.keys.sorted().map { "\($0) \(Int(rates[$0]!.last!))/s" }.joined(separator: ", "))
        }
        guard arms.count == 2 else { return }
        guard documents["plugin"] == documents["search"] else {
            throw BenchError(
                "the plugin and the spec built different documents (\(documents["plugin"]!.count) and \(documents["search"]!.count))")
        }
        func median(_ arm: String) -> Double { rates[arm]!.sorted()[rates[arm]!.count / 2] }
        report(
            String(
                format: "changelog into search: Rust plugin %.0f entries/s, search spec %.0f entries/s, ratio %.2f (median of the rounds')",
                median("plugin"), median("search"), pairedRatio(rates["plugin"]!, rates["search"]!)))
    }

    /// Copies the corpus's lines to `output`, each changelog entry given the package's bug list
    /// as the Rust example builds it (every `#` and 3 to 8 digits of its releases so far, sorted,
    /// space-separated); returns the number of entries.
    static func withBugLists(_ corpus: String, to output: String) throws -> Int {
        let text = try String(contentsOfFile: corpus, encoding: .utf8)
        var bugs: [String: Set<String>] = [:]
        var out = ""
        var entries = 0
        for line in text.split(separator: "\n", omittingEmptySubsequences: true) {
            guard line.contains("\"VersionReleased\""),
                var event = try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any],
                event["type"] as? String == "VersionReleased",
                var data = event["data"] as? [String: Any], let package = data["package"] as? String
            else {
                out += line + "\n"
                continue
            }
            entries += 1
            let changes = Array((data["changes"] as? String ?? "").utf8)
            var index = 0
            while index < changes.count {
                guard changes[index] == UInt8(ascii: "#") else {
                    index += 1
                    continue
                }
                var end = index + 1
                while end < changes.count, (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(changes[end]) { end += 1 }
                if (3...8).contains(end - index - 1) {
                    bugs[package, default: []].insert(String(decoding: changes[index..<end], as: UTF8.self))
                }
                index = max(end, index + 1)
            }
            data["bugs"] = (bugs[package] ?? []).sorted { Array($0.utf8).lexicographicallyPrecedes(Array($1.utf8)) }.joined(separator: " ")
            event["data"] = data
            out +=
                String(
                    decoding: try JSONSerialization.data(withJSONObject: event, options: [.sortedKeys, .withoutEscapingSlashes]),
                    as: UTF8.self) + "\n"
        }
        try out.write(toFile: output, atomically: true, encoding: .utf8)
        return entries
    }

    /// The median of each round's ratio: the arms of a round run back to back, so a shared
    /// machine's slow spells move both.
    static func pairedRatio(_ rates: [Double], _ baseline: [Double]) -> Double {
        let ratios = zip(rates, baseline).map { $0 / $1 }.sorted()
        return ratios[ratios.count / 2]
    }

    /// A plugin applying each event of a batch with `body`, built with the toolchain's clang.
    static func noop(_ folder: String, body: String) throws -> any Projection<Database> {
        let name = "noop\(abs(body.hashValue))"
        try PluginBuilder.build(PluginBuilder.plugin(body, batch: true), to: folder + "/\(name).wasm")
        let spec = folder + "/\(name).yml"
        try "name: bank\nkind: wasm\nmodule: \(name).wasm\nevents: [Deposited, Withdrawn]\nsetup: \(setup)\n"
            .write(toFile: spec, atomically: true, encoding: .utf8)
        return try ProjectionCatalog.spec(at: spec, kinds: kinds)
    }
}
