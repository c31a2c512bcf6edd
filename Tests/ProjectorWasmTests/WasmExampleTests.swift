import Foundation
import GRDB
import Logging
import ProjectorCore
import ProjectorDemo
import ProjectorHost
import ProjectorSQLite
import ProjectorSearch
import ProjectorSpecs
import ProjectorTesting
import ProjectorWasm
import ServiceLifecycle
import Testing

/// Debian's rustc with the wasm32 standard library (apt: rustc libstd-rust-dev-wasm32; .ci/run installs it).
let rustForWasm = FileManager.default.fileExists(atPath: "/usr/lib/rustlib/wasm32-unknown-unknown")

@Suite struct WasmExampleTests {
    let folder = TemporaryFolder()
    let kinds = ProjectionKinds.standard.adding(WasmKind())

    func quiet() -> Logger {
        var logger = Logger(label: "test")
        logger.logLevel = .critical
        return logger
    }

    /// The Rust example turns the sample's changelog entries into one document per package:
    /// the latest version and urgency, and every bug number its releases closed, searchable.
    @Test(.enabled(if: rustForWasm, "needs Debian's rustc with libstd-rust-dev-wasm32"))
    func theRustChangelogPluginIndexesOneDocumentPerPackageWithItsBugs() async throws {
        let example = PluginBuilder.repository.appendingPathComponent("Plugins/Wasm/examples/changelog-search")
        let build = Process()
        build.executableURL = example.appendingPathComponent("build.sh")
        try build.run()
        build.waitUntilExit()
        #expect(build.terminationStatus == 0)
        let projections = folder.file("projections")
        try FileManager.default.createDirectory(atPath: projections, withIntermediateDirectories: true)
        for name in ["changelog.yml", "changelog.wasm"] {
            try FileManager.default.copyItem(atPath: example.appendingPathComponent(name).path, toPath: projections + "/" + name)
        }
        let log = try SQLiteEventLog(path: folder.file("events.sqlite"))
        _ = try await EventImporter(log: log).importLines(from: FileHandle(forReadingFrom: try #require(SampleData.eventsURL)))
        let projection = try ProjectionCatalog.spec(at: projections + "/changelog.yml", kinds: kinds)
        let host = try ProjectorHost(log: log, projections: [projection], storesFolder: folder.file("stores"), logger: quiet())
        try await host.catchUp()

        // What the documents must hold, computed here from the same events.
        var latest: [String: (version: String, urgency: String)] = [:]
        var bugs: [String: Set<String>] = [:]
        let releases = try await log.read(after: 0, limit: 100_000).filter { $0.type == "VersionReleased" }
        for event in releases {
            let data = try #require(try JSONSerialization.jsonObject(with: Data(event.data.utf8)) as? [String: Any])
            let package = try #require(data["package"] as? String)
            latest[package] = (data["version"] as? String ?? "", data["urgency"] as? String ?? "")
            let changes = data["changes"] as? String ?? ""
            for match in changes.matches(of: /#([0-9]{3,8})(?![0-9])/) { bugs[package, default: []].insert("#" + match.1) }
        }
        let spec = try #require((projection as? any SearchIndexed)?.searchSpec)
        let index = SearchIndex(spec: spec, reader: host.runner(named: "changelog")!.store.pool)
        let everything = try await index.search(SearchRequest(query: "", limit: 1_000, crop: 100_000))
        #expect(everything.total == latest.count)
        for hit in everything.hits {
            #expect(hit.fields["version"] == latest[hit.id]?.version, "\(hit.id)")
            #expect(hit.fields["urgency"] == latest[hit.id]?.urgency, "\(hit.id)")
            #expect(Set((hit.fields["bugs"] ?? "").split(separator: " ").map(String.init)) == bugs[hit.id] ?? [], "\(hit.id)")
        }
        let (package, closed) = try #require(bugs.max { $0.value.count < $1.value.count })
        let bug = String(try #require(closed.sorted().first).dropFirst())
        let found = try await index.search(SearchRequest(query: bug))
        #expect(found.hits.contains { $0.id == package })
        let urgent = try await index.search(SearchRequest(query: "", filters: [("urgency", "high")]))
        #expect(urgent.total == latest.values.filter { $0.urgency == "high" }.count)
    }

    /// A plugin dropped into a running host's folder catches up while the other projection stays
    /// live; a changed module builds its next generation beside the live one, readable meanwhile.
    @Test func aHotAddedPluginCatchesUpAndAChangedModuleRebuildsWithoutDowntime() async throws {
        let projections = folder.file("projections")
        try FileManager.default.createDirectory(atPath: projections, withIntermediateDirectories: true)
        try """
        name: counts
        kind: sql
        setup: CREATE TABLE n(x INTEGER);
        on: { Tick: INSERT INTO n VALUES (1) }
        """.write(toFile: projections + "/counts.yml", atomically: true, encoding: .utf8)
        func module(_ value: Int) throws {
            try PluginBuilder.build(
                PluginBuilder.plugin("return pj_exec(\"INSERT INTO marks VALUES (\(value))\", 0) < 0;"), to: folder.file("marks.wasm"))
            // Moved in whole, as a deploy would, so the watcher never reads half a module.
            guard rename(folder.file("marks.wasm"), projections + "/marks.wasm") == 0 else {
                throw ProjectorError(.unavailable, "cannot move the module in place")
            }
        }
        let configuration = try ProjectorConfiguration.load(environment: [:], workingDirectory: folder.path)
        let log = try SQLiteEventLog(path: folder.file("events.sqlite"))
        _ = try await log.append((0..<2_000).map { _ in ProposedEvent(stream: "s", type: "Tick", data: "{}") })
        let host = try ProjectorHost(
            log: log, projections: ProjectionCatalog.load(configuration, kinds: kinds).projections, storesFolder: configuration.stores,
            configuration: .init(batchSize: 100, refreshInterval: .milliseconds(50)), logger: quiet())
        let watcher = ProjectionFolderWatcher(
            host: host, configuration: configuration, kinds: kinds, interval: .milliseconds(20), logger: quiet())
        let group = ServiceGroup(services: [host, watcher], logger: quiet())
        // nil until the store is set up.
        @Sendable func sum() async throws -> Int? {
            try? await host.runner(named: "marks")?.store.pool.read { db in try Int.fetchOne(db, sql: "SELECT sum(x) FROM marks") }
        }
        try await withThrowingTaskGroup { tasks in
            tasks.addTask { try await group.run() }
            try await waitUntil { try await host.runner(named: "counts")?.store.checkpoint()?.position == 2_000 }

            try module(1)
            try """
            name: marks
            kind: wasm
            module: marks.wasm
            setup: CREATE TABLE marks(x INTEGER);
            """.write(toFile: projections + "/marks.yml", atomically: true, encoding: .utf8)
            try await waitUntil { try await sum() == 2_000 }
            _ = try await log.append((0..<10).map { _ in ProposedEvent(stream: "s", type: "Tick", data: "{}") })
            try await waitUntil {
                let counts = try await host.runner(named: "counts")?.store.checkpoint()?.position
                return try await sum() == 2_010 && counts == 2_010
            }

            let before = try #require(host.runner(named: "marks")).projection.fingerprint
            try module(2)
            // The live generation answers all along; the new one swaps in when built.
            try await waitUntil {
                let value = try await sum()
                #expect(value == 2_010 || value == 4_020)
                return value == 4_020
            }
            #expect(host.runner(named: "marks")?.projection.fingerprint != before)
            await group.triggerGracefulShutdown()
            try await tasks.waitForAll()
        }
    }
}
