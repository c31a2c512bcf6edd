import CMallocInfo
import Foundation
import GRDB
import GRDBSQLite
import Logging
import ProjectorCore
import ProjectorHost
import ProjectorReports
import ProjectorSQLite
import ProjectorSearch
import ProjectorSpecs
import ProjectorTesting

/// Issue 5's benchmark: rebuilds (new generation from 0, verified, swapped) of a search index
/// and a SQL projection against raw C loops doing the same writes in the same process; four
/// projections rebuilt in one shared scan against the slowest alone; peak memory during the
/// shared rebuild (run at 1M and 5M events and compare).
enum RebuildBenchmark {
    /// Per document: its revisions, tags and comments; per author and day: activity.
    static let reportSpec = """
        name: report
        kind: sql
        setup: |
          CREATE TABLE documents(id INTEGER PRIMARY KEY, author TEXT, revisions INTEGER NOT NULL, comments INTEGER NOT NULL,
                                 tags INTEGER NOT NULL, archived INTEGER NOT NULL, updated TEXT NOT NULL);
          CREATE TABLE activity(author TEXT NOT NULL, day TEXT NOT NULL, events INTEGER NOT NULL, PRIMARY KEY (author, day)) WITHOUT ROWID;
        on:
          DocumentCreated:
            - |
              INSERT INTO documents VALUES (:data ->> '$.id', :data ->> '$.author', 0, 0, json_array_length(:data, '$.tags'), 0, :time)
              ON CONFLICT(id) DO UPDATE SET updated = excluded.updated
            - |
              INSERT INTO activity VALUES (coalesce(:data ->> '$.author', '?'), substr(:time, 1, 10), 1)
              ON CONFLICT(author, day) DO UPDATE SET events = events + 1
          DocumentRevised: UPDATE documents SET revisions = revisions + 1, updated = :time WHERE id = :data ->> '$.id'
          DocumentTagged: UPDATE documents SET tags = tags + json_array_length(:data, '$.tags'), updated = :time WHERE id = :data ->> '$.id'
          CommentAdded: UPDATE documents SET comments = comments + 1, updated = :time WHERE id = :data ->> '$.id'
          DocumentArchived: UPDATE documents SET archived = 1, updated = :time WHERE id = :data ->> '$.id'
        """

    /// A second SQL projection: events per type per month.
    static let monthlySpec = """
        name: monthly
        kind: sql
        setup: CREATE TABLE monthly(type TEXT NOT NULL, month TEXT NOT NULL, events INTEGER NOT NULL, PRIMARY KEY (type, month)) WITHOUT ROWID;
        on:
        """
        + ["DocumentCreated", "DocumentRevised", "DocumentTagged", "CommentAdded", "DocumentArchived"].map {
            "\n  \($0): INSERT INTO monthly VALUES (:type, substr(:time, 1, 7), 1) ON CONFLICT(type, month) DO UPDATE SET events = events + 1"
        }.joined()

    static func run(events file: String, keep: String?, withoutSearch: Bool, togetherOnly: Bool, only: [String]?) async throws {
        let folder = keep ?? NSTemporaryDirectory() + "projector-rebuild-bench-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        defer { if keep == nil { try? FileManager.default.removeItem(atPath: folder) } }
        let logPath = folder + "/events.sqlite"
        let log = try SQLiteEventLog(path: logPath)
        if try await log.head() == 0 {
            let started = ContinuousClock.now
            let progress = try await EventImporter(log: log).importLines(from: FileHandle(forReadingAtPath: file)!)
            report("imported \(progress.appended) events in \(seconds(since: started)) s")
        }
        let head = try await log.head()
        try reportSpec.write(toFile: folder + "/report.yml", atomically: true, encoding: .utf8)
        try monthlySpec.write(toFile: folder + "/monthly.yml", atomically: true, encoding: .utf8)
        let projections: [String: any Projection<Database>] = [
            "docs": SearchProjection(spec: try decodeSpec(SearchSpec.self, SearchBenchmark.specValues, file: "bench")),
            "report": try ProjectionCatalog.spec(at: folder + "/report.yml"),
            "monthly": try ProjectionCatalog.spec(at: folder + "/monthly.yml"),
            "summary": StreamSummaryProjection(),
        ]
        let names = only ?? (withoutSearch ? ["report", "monthly", "summary"] : ["docs", "report", "monthly", "summary"])
        if let unknown = names.first(where: { projections[$0] == nil }) {
            throw BenchError("no projection '\(unknown)' (docs, report, monthly, summary)")
        }
        report("rebuild benchmark: \(head) events in \(logPath); projections \(names.joined(separator: ", "))")

        var alone: [String: Double] = [:]
        for name in togetherOnly ? [] : names {
            let measured = try await rebuild([projections[name]!], in: folder + "/alone-\(name)", log: log)
            let seconds = measured.seconds
            alone[name] = seconds
            var line = String(
                format: "%@ alone: %.1f s (verification %.1f s of it), %.0f events/s", name, seconds, measured.verify,
                Double(head) / seconds)
            // Two baselines: a loop committing each page of 1,000 (as a hand-rolled poller does),
            // and one committing as the host's largest transactions do, so the host's own cost shows.
            let perCommit = [1000, ProjectionRunner.batchesPerTransaction * 1000]
            var raws: [Double] = []
            for size in perCommit {
                let store = folder + "/raw-\(name)-\(size).sqlite"
                if name == "docs" {
                    raws.append(try SearchBenchmark.rawIndex(log: logPath, store: store, perCommit: size))
                } else if name == "report" {
                    raws.append(
                        try SQLProjectionBenchmark.raw(
                            (projections[name] as! SQLProjection).spec, log: logPath, store: store, perCommit: size))
                } else if name == "summary" {
                    raws.append(try SpineBenchmark.rawProject(log: logPath, store: store, perCommit: size))
                }
            }
            for (size, raw) in zip(perCommit, raws) {
                line += String(
                    format: "; raw loop committing every %d: %.1f s, %.0f events/s, ratio %.3f", size, raw, Double(head) / raw,
                    raw / seconds)
            }
            report(line)
            for file in (try? FileManager.default.contentsOfDirectory(atPath: folder)) ?? []
            where file.hasPrefix("raw-") || file.hasPrefix("alone-") {
                try? FileManager.default.removeItem(atPath: folder + "/" + file)
            }
        }
        guard names.count > 1 || togetherOnly else { return }
        let together = try await rebuild(names.map { projections[$0]! }, in: folder + "/together", log: log)
        // With --together-only nothing was measured alone, so there is no ratio to print.
        let versus = alone.values.max().map { String(format: " (slowest alone %.1f s): ratio %.2f", $0, together.seconds / $0) } ?? ""
        report(
            String(
                format:
                    "%d together in one scan: %.1f s%@; %d log reads for %d batches; peak heap in use %.0f MB (SQLite %.0f MB of it), heap held (RssAnon) %.0f MB, RSS %.0f MB",
                names.count, together.seconds, versus, together.reads, (head + 999) / 1000,
                Double(together.peakLive) / 1_048_576, Double(together.peakSQLite) / 1_048_576,
                Double(together.peakHeap) / 1_048_576, Double(together.peakRSS) / 1_048_576))
        try? FileManager.default.removeItem(atPath: folder + "/together")
    }

    /// Rebuilds the projections together in a fresh stores folder; the time, the log reads and
    /// the highest resident memory seen meanwhile.
    static func rebuild(_ projections: [any Projection<Database>], in stores: String, log: SQLiteEventLog) async throws
        -> (seconds: Double, reads: Int, peakRSS: Int, peakHeap: Int, peakLive: Int, peakSQLite: Int, verify: Double)
    {
        var logger = Logger(label: "bench")
        logger.logLevel = .error
        let host = try ProjectorHost(log: log, projections: projections, storesFolder: stores, logger: logger)
        let curve = ProcessInfo.processInfo.environment["PROJECTOR_BENCH_MEMORY_CURVE"] != nil
        let sampler = Task.detached {
            var peak = (rss: 0, heap: 0, live: 0)
            let started = ContinuousClock.now
            var printed = 0
            while !Task.isCancelled {
                peak = (max(peak.rss, residentBytes("VmRSS:")), max(peak.heap, residentBytes("RssAnon:")), max(peak.live, liveHeapBytes()))
                let elapsed = Int((ContinuousClock.now - started) / .seconds(1))
                if curve, elapsed >= printed + 10 {
                    printed = elapsed
                    report(
                        String(
                            format: "  %4d s: heap (RssAnon) %.0f MB, in use %.0f MB, of it SQLite %.0f MB", elapsed,
                            Double(residentBytes("RssAnon:")) / 1_048_576, Double(liveHeapBytes()) / 1_048_576,
                            Double(sqlite3_memory_used()) / 1_048_576))
                }
                // mallinfo2 walks the allocator's arenas: at 50 ms it took 1.5% of the host arm's CPU.
                try? await Task.sleep(for: .milliseconds(200))
            }
            return peak
        }
        _ = sqlite3_memory_highwater(1)
        let readsBefore = await host.reader.reads
        let started = ContinuousClock.now
        let results = try await host.rebuild(projections.map(\.name))
        let elapsed = (ContinuousClock.now - started) / .seconds(1)
        sampler.cancel()
        let peak = await sampler.value
        guard results.values.allSatisfy(\.swapped) else {
            throw BenchError("a rebuild did not go live: \(results.mapValues { $0.checkpoint.lastError ?? "?" })")
        }
        return (
            elapsed, await host.reader.reads - readsBefore, peak.rss, peak.heap, peak.live, Int(sqlite3_memory_highwater(0)),
            results.values.map(\.verifySeconds).max() ?? 0
        )
    }

    /// A memory figure of this process from /proc/self/status: `VmRSS:` counts the stores'
    /// memory-mapped pages too (they grow with the data, and are page cache); `RssAnon:` is the
    /// process's own heap and stacks.
    static func residentBytes(_ field: String) -> Int {
        guard let status = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8),
            let line = status.split(separator: "\n").first(where: { $0.hasPrefix(field) })
        else { return 0 }
        return (Int(line.split(separator: " ").dropFirst().first ?? "0") ?? 0) * 1024
    }

    /// Bytes malloc has handed out and not had back (all arenas, mmapped blocks included): the
    /// memory the process actually uses. RssAnon also counts what the allocator keeps after a
    /// free (the benchmark raises glibc's trim threshold), so it only ever grows.
    static func liveHeapBytes() -> Int {
        Int(bench_heap_in_use())
    }

    static func seconds(since start: ContinuousClock.Instant) -> String {
        String(format: "%.1f", (ContinuousClock.now - start) / .seconds(1))
    }
}
