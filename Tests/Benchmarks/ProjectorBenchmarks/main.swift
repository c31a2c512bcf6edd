import Foundation

// Measured on this machine: glibc returning memory to the kernel between batches doubles kernel
// time in allocation-heavy loops. Both arms run with the same setting.
// The indexing arms run as the product does (their peak RSS is a figure of record).
#if os(Linux)
    @_silgen_name("mallopt") func mallopt(_ parameter: Int32, _ value: Int32) -> Int32
    if CommandLine.arguments.dropFirst().first != "indexing-arm" {
        _ = mallopt(-1, 256 << 20)  // M_TRIM_THRESHOLD
        _ = mallopt(-3, 256 << 20)  // M_MMAP_THRESHOLD
    }
#endif

let arguments = Array(CommandLine.arguments.dropFirst())
func option(_ name: String) -> String? {
    arguments.firstIndex(of: name).flatMap { arguments.index(after: $0) < arguments.count ? arguments[$0 + 1] : nil }
}
let rounds = Int(option("--rounds") ?? "3") ?? 3
do {
    switch arguments.first {
    case "spine":
        guard let events = option("--events") else { throw BenchError("spine needs --events FILE.ndjson") }
        try await SpineBenchmark.run(events: events, rounds: rounds)
    case "sql":
        guard let events = option("--events") else { throw BenchError("sql needs --events FILE.ndjson") }
        try await SQLProjectionBenchmark.run(events: events, rounds: rounds)
    case "rebuild":
        guard let events = option("--events") else { throw BenchError("rebuild needs --events FILE.ndjson") }
        try await RebuildBenchmark.run(
            events: events, keep: option("--keep"), withoutSearch: arguments.contains("--without-search"),
            togetherOnly: arguments.contains("--together-only"),
            only: option("--only").map { $0.split(separator: ",").map(String.init) })
    case "search":
        guard let events = option("--events") else { throw BenchError("search needs --events FILE.ndjson") }
        try await SearchBenchmark.run(
            events: events, queriesPerClass: Int(option("--queries") ?? "200") ?? 200, keep: option("--keep"),
            only: option("--only").map { $0.split(separator: ",").map(String.init) },
            engineOnly: arguments.contains("--engine-only"), rounds: Int(option("--rounds") ?? "1") ?? 1)
    case "indexing":
        guard let events = option("--events"), let spec = option("--spec") else {
            throw BenchError("indexing needs --events FILE.ndjson --spec SPEC.yml")
        }
        try await IndexingBenchmark.run(
            events: events, spec: spec, folder: option("--keep"), report: arguments.contains("--report"), rounds: rounds)
    case "indexing-arm":
        guard arguments.count > 1, let folder = option("--folder"), let spec = option("--spec") else {
            throw BenchError("indexing-arm raw|host --folder DIR --spec SPEC.yml")
        }
        try await IndexingBenchmark.runArm(arguments[1], folder: folder, spec: spec, report: arguments.contains("--report"))
    case "plugin":
        guard let module = option("--module") else { throw BenchError("plugin needs --module balances.wasm [--events N]") }
        let only = option("--only").map { Set($0.split(separator: ",").map(String.init)) }
        try await PluginBenchmark.run(events: Int(option("--events") ?? "200000") ?? 200_000, module: module, rounds: rounds, only: only)
        if let changelog = option("--changelog"), let corpus = option("--corpus") {
            try await PluginBenchmark.runSearch(corpus: corpus, module: changelog, rounds: rounds, only: only)
        }
    case "tenants":
        guard let events = option("--events"), let spec = option("--spec") else {
            throw BenchError("tenants needs --events FILE.ndjson --spec SPEC.yml")
        }
        try await TenantBenchmark.run(
            events: events, spec: spec, tenants: Int(option("--tenants") ?? "1000") ?? 1000,
            queriesPerClass: Int(option("--queries") ?? "200") ?? 200,
            rounds: Int(option("--rounds") ?? "1") ?? 1, keep: option("--keep"))
    case "postgres":
        guard let events = option("--events"), let url = option("--url") else {
            throw BenchError("postgres needs --events FILE.ndjson --url postgres://…")
        }
        try await PostgresBenchmark.run(
            events: events, url: url, samples: Int(option("--samples") ?? "1000") ?? 1000, rounds: rounds)
    default:
        print("usage: ProjectorBenchmarks spine --events FILE [--rounds N]")
        print("       ProjectorBenchmarks sql --events FILE [--rounds N]")
        print(
            "       ProjectorBenchmarks rebuild --events FILE [--keep FOLDER] [--without-search] [--together-only] [--only docs,report,...]"
        )
        print(
            "       ProjectorBenchmarks search --events FILE [--queries N] [--keep FOLDER] [--only CLASS,CLASS] [--engine-only] [--rounds N]"
        )
        print(
            "       ProjectorBenchmarks plugin --module bank-balances/balances.wasm [--events N] [--only wasm,sql,plugin,search,...] [--changelog changelog-search/changelog.wasm --corpus debian.ndjson] [--rounds N]"
        )
        print("       ProjectorBenchmarks postgres --events FILE --url postgres://… [--samples N] [--rounds N]")
        print("       ProjectorBenchmarks tenants --events FILE --spec SPEC.yml [--tenants N] [--queries N] [--rounds N] [--keep FOLDER]")
        print("       ProjectorBenchmarks indexing --events FILE --spec SPEC.yml [--report] [--keep FOLDER] [--rounds N]")
    }
} catch {
    FileHandle.standardError.write(Data("error: \(error)\n".utf8))
    exit(1)
}
