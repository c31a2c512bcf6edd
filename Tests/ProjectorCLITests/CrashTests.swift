import Foundation
import GRDB
import ProjectorCore
import ProjectorDemo
import ProjectorHost
import ProjectorSQLite
import ProjectorSpecs
import ProjectorTesting
import Testing

/// SIGKILL at random moments, 50 times: during catch-up, while following the log live with
/// appends arriving, and during rebuilds. Afterwards every read model must equal a clean
/// from-zero build, table by table and row by row.
@Suite struct CrashTests {
    let folder = TemporaryFolder()
    var cli: CLI { CLI(directory: folder.path) }

    /// Deterministic randomness, so a failure can be replayed from the seed it prints.
    struct Random: RandomNumberGenerator {
        var state: UInt64
        mutating func next() -> UInt64 {
            state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            return state ^ (state >> 29)
        }
    }

    func killAfter(_ arguments: [String], milliseconds: Int) async throws {
        let process = cli.process(arguments)
        process.standardError = FileHandle.nullDevice
        process.standardOutput = FileHandle.nullDevice
        try process.run()
        try await Task.sleep(for: .milliseconds(milliseconds))
        kill(process.processIdentifier, SIGKILL)
        await process.exit()
    }

    /// Every row of every table a projection owns (FTS5 indexes are checked by integrity-check
    /// instead, their shadow tables skipped), in a stable order.
    static func dump(_ path: String) async throws -> [String: [[DatabaseValue]]] {
        // Writable only because FTS5's integrity-check is spelled as an INSERT; it writes nothing.
        let store = try ProjectionStore(name: "dump", path: path)
        return try await store.pool.write { db in
            _ = try ProjectionStore.verify(db)
            let tables = try Row.fetchAll(
                db,
                sql: "SELECT name, sql FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' AND name NOT LIKE 'projector_%'"
            )
            var result: [String: [[DatabaseValue]]] = [:]
            let virtual = tables.filter { (($0["sql"] as String?) ?? "").contains("VIRTUAL TABLE") }.map { $0["name"] as String }
            for table in tables {
                let name: String = table["name"]
                if virtual.contains(where: { name == $0 || name.hasPrefix($0 + "_") }) { continue }
                // A search index's document sets depend on when each word was first seen often
                // enough (counted in memory, so a kill changes it); they are checked against the
                // index instead (`verify`, below).
                if ["documents_sets", "documents_set_keys", "documents_impacts"].contains(name) { continue }
                let columns = try db.columns(in: name).count
                let order = (1...columns).map(String.init).joined(separator: ", ")
                result[name] = try Row.fetchAll(db, sql: "SELECT * FROM \(name.quotedDatabaseIdentifier) ORDER BY \(order)")
                    .map { Array($0.databaseValues) }
            }
            return result
        }
    }

    @Test func fiftyKillsDuringCatchUpLiveTailAndRebuildLeaveEveryReadModelAsAFromZeroBuild() async throws {
        let seed = UInt64(Date().timeIntervalSince1970 * 1000)
        var random = Random(state: seed)
        // The bundled Debian sample (HTML documents included) and the example specs: a search
        // index, three SQL reports and the Swift accounts projection.
        let sample = try String(contentsOf: try #require(SampleData.eventsURL), encoding: .utf8)
        #expect(try await cli.run("import", "-", input: sample).status == 0)
        _ = try SampleData.installExamples(into: folder.file("projections"))
        let course = try String(contentsOf: try #require(SampleData.courseEventsURL), encoding: .utf8)
            .split(separator: "\n")
        var kills = 0

        // 1. Catch-up from nothing, killed 20 times.
        for _ in 0..<20 {
            try await killAfter(["run"], milliseconds: Int.random(in: 40...600, using: &random))
            kills += 1
        }
        // 2. Live tail: appends arrive while the host follows the log; 15 kills.
        for round in 0..<15 {
            let chunk = course[(round * 60)..<min(course.count, round * 60 + 60)]
            let process = cli.process(["run"])
            process.standardError = FileHandle.nullDevice
            try process.run()
            #expect(try await cli.run("import", "-", input: chunk.joined(separator: "\n") + "\n").status == 0)
            try await Task.sleep(for: .milliseconds(Int.random(in: 5...200, using: &random)))
            kill(process.processIdentifier, SIGKILL)
            await process.exit()
            kills += 1
        }
        // 3. Rebuilds of three projections together, killed 15 times; each resumes the last.
        for _ in 0..<15 {
            try await killAfter(
                ["rebuild", "packages", "releases", "accounts"], milliseconds: Int.random(in: 40...700, using: &random))
            kills += 1
        }
        #expect(kills == 50)
        let finish = try await cli.run("run", "--once")
        #expect(finish.status == 0, "\(finish.stderr)")

        // The same log, from zero, in other stores.
        try "stores: fresh\n".write(toFile: folder.file("fresh.yml"), atomically: true, encoding: .utf8)
        #expect(try await cli.run("run", "--once", "--config", "fresh.yml").status == 0)
        let head = try await SQLiteEventLog(path: folder.file(".projector/events.sqlite")).head()
        let projections = try ProjectionCatalog.specFiles(in: folder.file("projections")).map { try ProjectionCatalog.spec(at: $0) }
        for name in ["accounts", "packages", "releases", "course-durations", "student-emails"] {
            let survived = ProjectorHost.storePath(folder.file(".projector/stores"), name)
            let fresh = ProjectorHost.storePath(folder.file("fresh"), name)
            let checkpoint = try await ProjectionStore(name: name, path: survived, readOnly: true).checkpoint()
            #expect(checkpoint?.position == head, "\(name) (seed \(seed))")
            let (a, b) = (try await Self.dump(survived), try await Self.dump(fresh))
            if let projection = projections.first(where: { $0.name == name }) {
                try await ProjectionStore(name: name, path: survived, readOnly: true).pool.read { try projection.verify($0) }
            }
            #expect(!a.isEmpty && a.keys.sorted() == b.keys.sorted(), "\(name) (seed \(seed))")
            for table in a.keys.sorted() {
                #expect(a[table] == b[table], "\(name).\(table) differs from a from-zero build (seed \(seed))")
            }
        }
        #expect(
            FileManager.default.fileExists(atPath: folder.file(".projector/stores/packages.generations.json")),
            "the rebuilds went live at least once")
    }
}
