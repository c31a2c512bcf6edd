import CRawIndexer
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
import Synchronization

/// Issue 23's benchmark: a search spec over real text (the Debian corpus), indexed by a
/// hand-written C loop over libsqlite3 (plain FTS5, HTML stripped in C) and by the host, each in
/// a child process of this one, in turn, so each arm's peak RSS is its own (`wait4`). With
/// `--report`, both also keep a per-stream report table (the host as a `kind: sql` spec).
enum IndexingBenchmark {
    static let reportSpec = """
        name: report
        kind: sql
        setup: CREATE TABLE report(stream TEXT PRIMARY KEY, events INTEGER NOT NULL, last_time TEXT);
        on:
        """

    static func run(events file: String, spec specFile: String, folder keep: String?, report withReport: Bool, rounds: Int) async throws {
        let folder = keep ?? NSTemporaryDirectory() + "projector-indexing-bench-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        defer { if keep == nil { try? FileManager.default.removeItem(atPath: folder) } }
        let log = try SQLiteEventLog(path: folder + "/events.sqlite")
        if try await log.head() == 0 {
            let started = ContinuousClock.now
            let progress = try await EventImporter(log: log).importLines(from: FileHandle(forReadingAtPath: file)!)
            report("imported \(progress.appended) events in \(String(format: "%.1f", seconds(since: started))) s")
        }
        let head = try await log.head()
        var results: [(raw: Arm, host: Arm)] = []
        for round in 1...max(1, rounds) {
            let raw = try arm("raw", folder: folder, spec: specFile, report: withReport)
            let host = try arm("host", folder: folder, spec: specFile, report: withReport)
            results.append((raw, host))
            report(
                String(
                    format:
                        "round %d: C loop %.1f s (%.0f events/s, peak RSS %.0f MB, store %.0f MB); host %.1f s (%.0f events/s, peak RSS %.0f MB, store %.0f MB); ratio %.3f",
                    round, raw.seconds, Double(head) / raw.seconds, raw.peakMB, raw.storeMB,
                    host.seconds, Double(head) / host.seconds, host.peakMB, host.storeMB, raw.seconds / host.seconds))
        }
        let ratios = results.map { $0.raw.seconds / $0.host.seconds }
        report(
            String(
                format: "%lld events%@: median ratio %.3f over %d rounds (best times: C loop %.1f s, host %.1f s)",
                head, withReport ? " with the report" : "", percentile(ratios, 0.5), results.count,
                results.map(\.raw.seconds).min()!, results.map(\.host.seconds).min()!))
        report("host store by table (MB): " + (try tableSizes(folder + "/host-stores")))
        report("C loop store by table (MB): " + (try tableSizes(folder + "/raw")))
    }

    struct Arm {
        var seconds: Double
        var peakMB: Double
        var storeMB: Double
    }

    /// Runs one arm in a child process; its time, its peak RSS and its store's size.
    static func arm(_ name: String, folder: String, spec: String, report withReport: Bool) throws -> Arm {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: CommandLine.arguments[0])
        process.arguments = ["indexing-arm", name, "--folder", folder, "--spec", spec] + (withReport ? ["--report"] : [])
        let output = Pipe()
        process.standardOutput = output
        try process.run()
        let data = output.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        // The child prints its time and its peak RSS (VmHWM), read before it exits.
        let fields = String(decoding: data, as: UTF8.self).split(whereSeparator: \.isWhitespace).compactMap { Double($0) }
        guard fields.count == 2 else {
            throw BenchError("\(name) arm failed: \(String(decoding: data, as: UTF8.self))")
        }
        let (seconds, peakKB) = (fields[0], fields[1])
        let store = name == "raw" ? folder + "/raw" : folder + "/host-stores"
        let bytes = (try FileManager.default.contentsOfDirectory(atPath: store)).reduce(0) { total, file in
            total + ((try? FileManager.default.attributesOfItem(atPath: store + "/" + file)[.size] as? Int) ?? 0)
        }
        return Arm(seconds: seconds, peakMB: peakKB / 1024, storeMB: Double(bytes) / 1_048_576)
    }

    /// The child: index the log once and print the seconds it took.
    static func runArm(_ name: String, folder: String, spec specFile: String, report withReport: Bool) async throws {
        guard let spec = (try ProjectionCatalog.spec(at: specFile) as? SearchProjection)?.spec else {
            throw BenchError("\(specFile) is not a search spec")
        }
        let logPath = folder + "/events.sqlite"
        if name == "raw" {
            try? FileManager.default.removeItem(atPath: folder + "/raw")
            try FileManager.default.createDirectory(atPath: folder + "/raw", withIntermediateDirectories: true)
            let names = spec.fields.map { strdup($0.name)! }
            let paths = spec.fields.map { strdup($0.path.description)! }
            let deletes: [UnsafePointer<CChar>?] = spec.deleteTypes.sorted().map { UnsafePointer(strdup($0)!) }
            let fields = spec.fields.indices.map {
                raw_field(
                    name: names[$0], path: paths[$0], html: spec.fields[$0].format == .html ? 1 : 0, filter: spec.fields[$0].filter ? 1 : 0)
            }
            var error = [CChar](repeating: 0, count: 512)
            let started = ContinuousClock.now
            let count = fields.withUnsafeBufferPointer { fieldBuffer in
                deletes.withUnsafeBufferPointer { deleteBuffer in
                    var raw = raw_spec(
                        fields: fieldBuffer.baseAddress, field_count: Int32(fields.count), delete_types: deleteBuffer.baseAddress,
                        delete_count: Int32(deletes.count), prefix_indexes: 0, report: withReport ? 1 : 0,
                        events_per_transaction: Int32(ProjectionRunner.batchesPerTransaction * 1000))
                    return raw_index(logPath, folder + "/raw/store.sqlite", &raw, &error, 512)
                }
            }
            guard count >= 0 else { throw BenchError("C loop: \(String(cString: error))") }
            print(seconds(since: started), peakResidentKB())
            return
        }
        try? FileManager.default.removeItem(atPath: folder + "/host-stores")
        MemorySettings.apply()  // as the projector tool does
        var logger = Logger(label: "bench")
        logger.logLevel = .error
        var projections: [any Projection<Database>] = [SearchProjection(spec: spec)]
        if withReport {
            let text =
                reportSpec
                + spec.eventTypesForReport.map {
                    "\n  \($0): INSERT INTO report VALUES (:stream, 1, :time) ON CONFLICT(stream) DO UPDATE SET events = events + 1, last_time = :time"
                }.joined()
            try text.write(toFile: folder + "/report.yml", atomically: true, encoding: .utf8)
            projections.append(try ProjectionCatalog.spec(at: folder + "/report.yml"))
        }
        let log = try SQLiteEventLog(path: logPath)
        let host = try ProjectorHost(log: log, projections: projections, storesFolder: folder + "/host-stores", logger: logger)
        let started = ContinuousClock.now
        let peakHeap = Atomic<Int>(0)
        let sampling = Atomic<Bool>(true)
        // Only on request: mallinfo2 walks the heap under malloc's lock, which slowed this arm
        // (9% of its samples, sampled every 20 ms) and not the C loop's.
        let curve = ProcessInfo.processInfo.environment["PROJECTOR_BENCH_MEMORY_CURVE"] != nil
        if curve {
            Thread.detachNewThread {
                var samples = 0
                while sampling.load(ordering: .relaxed) {
                    let live = RebuildBenchmark.liveHeapBytes()
                    peakHeap.store(max(peakHeap.load(ordering: .relaxed), live), ordering: .relaxed)
                    samples += 1
                    if curve, samples % 50 == 0 {
                        let line = String(
                            format: "%5.1f s: RSS %.0f MB, heap held %.0f MB, in use %.0f MB, of it SQLite %.0f MB\n",
                            seconds(since: started),
                            Double(RebuildBenchmark.residentBytes("VmRSS:")) / 1_048_576,
                            Double(RebuildBenchmark.residentBytes("RssAnon:")) / 1_048_576, Double(live) / 1_048_576,
                            Double(sqlite3_memory_used()) / 1_048_576)
                        FileHandle.standardError.write(Data(line.utf8))
                    }
                    usleep(20_000)
                }
            }
        }
        try await host.catchUp()
        sampling.store(false, ordering: .relaxed)
        if curve { FileHandle.standardError.write(Data("peak live heap \(peakHeap.load(ordering: .relaxed) >> 20) MB\n".utf8)) }
        if ProcessInfo.processInfo.environment["TIME_VERIFY"] != nil {
            let verifyStarted = ContinuousClock.now
            let search = SearchProjection(spec: spec)
            try await host.runners[0].store.pool.read { db in try search.verify(db) }
            FileHandle.standardError.write(Data("verify \(seconds(since: verifyStarted)) s\n".utf8))
        }
        print(seconds(since: started), peakResidentKB())
    }

    /// This process's peak resident set (VmHWM), in KB.
    static func peakResidentKB() -> Int {
        let status = (try? String(contentsOfFile: "/proc/self/status", encoding: .utf8)) ?? ""
        let line = status.split(separator: "\n").first { $0.hasPrefix("VmHWM:") } ?? ""
        return Int(line.split(separator: " ").dropFirst().first ?? "0") ?? 0
    }

    /// Megabytes per table (dbstat) of the store files in a folder.
    static func tableSizes(_ folder: String) throws -> String {
        var sizes: [String: Double] = [:]
        for file in try FileManager.default.contentsOfDirectory(atPath: folder) where file.hasSuffix(".sqlite") {
            let queue = try DatabaseQueue(
                path: folder + "/" + file,
                configuration: {
                    var c = Configuration()
                    c.readonly = true
                    return c
                }())
            for row in try queue.read({ try Row.fetchAll($0, sql: "SELECT name, sum(pgsize) FROM dbstat GROUP BY name") }) {
                sizes[row[0], default: 0] += Double(row[1] as Int64) / 1_048_576
            }
        }
        return sizes.filter { $0.value >= 0.5 }.sorted { $0.value > $1.value }.map { String(format: "%@ %.0f", $0.key, $0.value) }
            .joined(separator: ", ")
    }
}

extension SearchSpec {
    /// The event types a per-stream report counts: the spec's, or the Debian corpus's.
    fileprivate var eventTypesForReport: [String] {
        eventTypes.map { $0.sorted() } ?? [
            "PackagePublished", "VersionPublished", "DescriptionChanged", "MaintainerChanged", "SectionChanged",
            "HomepageChanged", "PackageRemoved", "VersionReleased", "DocumentPublished",
        ]
    }
}
