import Foundation
import Logging
import ProjectorCore
import ProjectorHost
import ProjectorPostgres
import ProjectorReports
import ProjectorSQLite
import ProjectorSpecs

/// Issue 6's benchmark, against a real PostgreSQL server:
/// - catch-up: the package-report spec over a corpus from the PostgreSQL log and from the
///   embedded log, alternating which goes first; both must build identical tables;
/// - append-to-projected latency: one event appended at a time to a live host (LISTEN/NOTIFY
///   wakes it), from the call to `append` until the projection's checkpoint has it; the
///   embedded log in the same run for comparison.
enum PostgresBenchmark {
    static func run(events file: String, url: String, samples: Int, rounds: Int) async throws {
        let folder = NSTemporaryDirectory() + "projector-pg-bench-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let schema = "bench_" + UUID().uuidString.lowercased().replacingOccurrences(of: "-", with: "").prefix(8)
        let separator = url.contains("?") ? "&" : "?"
        let postgres = try PostgresEventLog(url: url + separator + "schema=" + schema)
        try await postgres.whileRunning {
            let embedded = try SQLiteEventLog(path: folder + "/events.sqlite")
            var logger = Logger(label: "bench")
            logger.logLevel = .error

            var imported = 0
            for (name, log) in [("embedded", embedded as any EventLog), ("postgres", postgres)] {
                let started = ContinuousClock.now
                imported = try await EventImporter(log: log).importLines(from: FileHandle(forReadingAtPath: file)!).appended
                let seconds = (ContinuousClock.now - started) / .seconds(1)
                report(
                    "import into \(name): \(imported) events in \(String(format: "%.1f", seconds)) s (\(Int(Double(imported) / seconds))/s)"
                )
            }
            try SQLProjectionBenchmark.spec.write(toFile: folder + "/package-report.yml", atomically: true, encoding: .utf8)
            let projection = try ProjectionCatalog.spec(at: folder + "/package-report.yml")
            var rates: [String: [Double]] = [:]
            var digests: Set<String> = []
            for round in 1...rounds {
                for name in round % 2 == 1 ? ["postgres", "embedded"] : ["embedded", "postgres"] {
                    let log: any EventLog = name == "postgres" ? postgres : embedded
                    let stores = folder + "/\(name)-\(round)"
                    let host = try ProjectorHost(log: log, projections: [projection], storesFolder: stores, logger: logger)
                    let started = ContinuousClock.now
                    try await host.catchUp()
                    rates[name, default: []].append(Double(imported) / ((ContinuousClock.now - started) / .seconds(1)))
                    digests.insert(try SQLProjectionBenchmark.digest(ProjectorHost.storePath(stores, "package-report")))
                }
                report("catch-up round \(round): postgres \(Int(rates["postgres"]!.last!))/s, embedded \(Int(rates["embedded"]!.last!))/s")
            }
            guard digests.count == 1 else { throw BenchError("the two logs built different tables") }
            let (pg, local) = (SQLProjectionBenchmark.median(rates["postgres"]!), SQLProjectionBenchmark.median(rates["embedded"]!))
            report(
                "catch-up medians: postgres \(Int(pg)) events/s, embedded \(Int(local)) events/s, ratio \(String(format: "%.2f", pg / local))"
            )

            for (name, log) in [
                ("postgres", try PostgresEventLog(url: url + separator + "schema=" + schema + "_live") as any EventLog),
                ("embedded", try SQLiteEventLog(path: folder + "/live.sqlite")),
            ] {
                let latencies = try await log.whileRunning {
                    try await latency(log, samples: samples, folder: folder + "/latency-\(name)", logger: logger)
                }
                let p = { (q: Double) in String(format: "%.1f", percentile(latencies, q)) }
                report(
                    "append-to-projected on \(name), \(samples) events: p50 \(p(0.5)) ms, p90 \(p(0.9)) ms, p99 \(p(0.99)) ms, max \(p(1.0)) ms"
                )
            }
        }
    }

    /// Milliseconds from `append` until the live projection's checkpoint has the event.
    static func latency(_ log: any EventLog, samples: Int, folder: String, logger: Logger) async throws -> [Double] {
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        try """
        name: applied
        kind: sql
        setup: CREATE TABLE applied(id TEXT PRIMARY KEY, position INTEGER NOT NULL);
        on:
          Tick: INSERT INTO applied(id, position) VALUES (:id, :position)
        """.write(toFile: folder + "/applied.yml", atomically: true, encoding: .utf8)
        let host = try ProjectorHost(
            log: log, projections: [try ProjectionCatalog.spec(at: folder + "/applied.yml")], storesFolder: folder + "/stores",
            logger: logger)
        _ = try await log.append([ProposedEvent(stream: "warm-up", type: "Tick", data: "{}")])
        let running = Task { try await host.run() }
        defer { running.cancel() }
        let runner = host.runners[0]
        while runner.current.position < 1 || runner.current.state != .live { try await Task.sleep(for: .milliseconds(5)) }
        var latencies: [Double] = []
        for n in 0..<samples {
            let started = ContinuousClock.now
            let stored = try await log.append([ProposedEvent(stream: "s-\(n % 10)", type: "Tick", data: #"{"n":\#(n)}"#)])
            while runner.current.position < stored[0].position { try await Task.sleep(for: .microseconds(200)) }
            latencies.append((ContinuousClock.now - started) / .milliseconds(1))
            try await Task.sleep(for: .milliseconds(Int.random(in: 1...10)))
        }
        return latencies
    }
}
