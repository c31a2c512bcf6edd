import Foundation
import GRDB
import Logging
import ProjectorCore
import ProjectorHost
import ProjectorSQLite
import ProjectorSearch
import ProjectorServer
import ProjectorSpecs
import ProjectorTesting

/// Issue 24's benchmark: the same documents indexed twice in one host, as one index and
/// partitioned over `tenants` tenants of Zipf sizes (a document's tenant drawn from its stream),
/// then every query class timed on both, each partitioned query within the tenant of a document
/// it matches (users search their own words; big tenants are asked most, as traffic would); and
/// the cost of verifying a tenant token.
enum TenantBenchmark {
    static func run(events file: String, spec specFile: String, tenants: Int, queriesPerClass: Int, rounds: Int, keep: String?) async throws
    {
        let folder = keep ?? NSTemporaryDirectory() + "projector-tenant-bench-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        defer { if keep == nil { try? FileManager.default.removeItem(atPath: folder) } }
        guard let plain = (try ProjectionCatalog.spec(at: specFile) as? SearchProjection)?.spec else {
            throw BenchError("\(specFile) is not a search spec")
        }
        var values = try JSONSerialization.jsonObject(with: Data(plain.source.utf8)) as! [String: Any]
        values["name"] = plain.name + "_tenants"
        values["tenant"] = true
        let partitioned = try decodeSpec(SearchSpec.self, values, file: specFile)

        let log = try SQLiteEventLog(path: folder + "/events.sqlite")
        if try await log.head() == 0 {
            let started = ContinuousClock.now
            try await importWithTenants(file, tenants: tenants, into: log)
            report(
                "imported \(try await log.head()) events over \(tenants) tenants (Zipf) in \(String(format: "%.1f", seconds(since: started))) s"
            )
        }
        var logger = Logger(label: "bench")
        logger.logLevel = .error
        let host = try ProjectorHost(
            log: log, projections: [SearchProjection(spec: plain), SearchProjection(spec: partitioned)],
            storesFolder: folder + "/stores", logger: logger)
        let started = ContinuousClock.now
        try await host.catchUp()
        report("indexed both in \(String(format: "%.1f", seconds(since: started))) s")

        let plainPool = host.runners[0].store.pool
        let tenantPool = host.runners[1].store.pool
        let documentTenants = try await tenantPool.read { db in
            try String.fetchAll(db, sql: "SELECT \(SearchSpec.tenantField) FROM documents ORDER BY rowid")
        }
        let sizes = Dictionary(grouping: documentTenants, by: { $0 }).mapValues(\.count).values.sorted(by: >)
        report(
            "\(documentTenants.count) documents in \(sizes.count) tenants: largest \(sizes.prefix(3).map(String.init).joined(separator: ", ")), median \(sizes[sizes.count / 2])"
        )
        let classes = try await SearchBenchmark.queryClasses(pool: plainPool, count: queriesPerClass)
            .filter { !$0.1.contains { !$0.filters.isEmpty || !$0.facets.isEmpty } }
        var random = SystemRandomNumberGenerator()
        report("class             one index p50    p99 | per tenant p50    p99 | p99 ratio | median total (tenant)")
        var ratios: [(name: String, p50: [Double], p99: [Double])] = []
        for (name, requests) in classes {
            // Each query's tenant is chosen before any timing: choosing reads the FTS5 index,
            // which would evict the pages of the query that follows it.
            var asked: [SearchRequest] = []
            for var request in requests {
                request.tenant = try await tenantAsking(request, pool: tenantPool) ?? documentTenants.randomElement(using: &random)
                asked.append(request)
            }
            ratios.append((name, [], []))
            for _ in 0..<rounds {
                // Both stores warmed the same way, then each timed in a pass of its own.
                let one = try await timed(requests, spec: plain, pool: plainPool)
                let within = try await timed(asked, spec: partitioned, pool: tenantPool)
                let (p50, p99) = (
                    percentile(within.ms, 0.5) / percentile(one.ms, 0.5), percentile(within.ms, 0.99) / percentile(one.ms, 0.99)
                )
                ratios[ratios.count - 1].p50.append(p50)
                ratios[ratios.count - 1].p99.append(p99)
                report(
                    String(
                        format: "%@ %8.2f %8.2f | %8.2f %8.2f     | %6.2f    | %.0f", padded(name), percentile(one.ms, 0.5),
                        percentile(one.ms, 0.99), percentile(within.ms, 0.5), percentile(within.ms, 0.99), p99,
                        percentile(within.totals, 0.5)))
            }
        }
        if rounds > 1 {
            report("median over \(rounds) rounds of the ratio per tenant / one index:")
            for (name, p50, p99) in ratios {
                report(String(format: "%@ p50 %5.2f   p99 %5.2f", padded(name), percentile(p50, 0.5), percentile(p99, 0.5)))
            }
        }
        try measureTokens(folder: folder + "/keys")
    }

    static func padded(_ name: String) -> String { name.padding(toLength: 16, withPad: " ", startingAt: 0) }

    /// Each request's time in ms after 20 untimed to warm the store, and its total.
    static func timed(_ requests: [SearchRequest], spec: SearchSpec, pool: DatabasePool) async throws -> (ms: [Double], totals: [Double]) {
        for request in requests.prefix(20) { _ = try await SearchIndex(spec: spec, reader: pool).search(request) }
        var ms: [Double] = []
        var totals: [Double] = []
        for request in requests {
            let t0 = ContinuousClock.now
            let result = try await SearchIndex(spec: spec, reader: pool).search(request)
            ms.append(seconds(since: t0) * 1000)
            totals.append(Double(result.total))
        }
        return (ms, totals)
    }

    /// The tenant of a document the query matches, drawn at random (nil: it matches none).
    static func tenantAsking(_ request: SearchRequest, pool: DatabasePool) async throws -> String? {
        guard let match = SearchQuery(parsing: request.query).matchExpression() else { return nil }
        return try await pool.read { db in
            try String.fetchOne(
                db,
                sql: """
                    SELECT d.tenant FROM documents_fts CROSS JOIN documents d ON d.rowid = documents_fts.rowid
                    WHERE documents_fts MATCH ? ORDER BY random() LIMIT 1
                    """, arguments: [match])
        }
    }

    /// Each event's metadata gains its stream's tenant: tenant k (1-based) holds a share of the
    /// streams proportional to 1/k.
    static func importWithTenants(_ file: String, tenants: Int, into log: SQLiteEventLog) async throws {
        var cumulative: [Double] = []
        var sum = 0.0
        for rank in 1...tenants {
            sum += 1 / Double(rank)
            cumulative.append(sum)
        }
        func tenant(of stream: String) -> String {
            var hash: UInt64 = 0xcbf2_9ce4_8422_2325
            for byte in stream.utf8 { hash = (hash ^ UInt64(byte)) &* 0x100_0000_01b3 }
            // FNV leaves the high bits of short, similar names (doc-1, doc-2…) alike: mix them.
            hash = (hash ^ (hash >> 30)) &* 0xBF58_476D_1CE4_E5B9
            hash = (hash ^ (hash >> 27)) &* 0x94D0_49BB_1331_11EB
            hash ^= hash >> 31
            let point = Double(hash >> 11) / Double(1 << 53) * sum
            var low = 0
            var high = cumulative.count - 1
            while low < high {
                let middle = (low + high) / 2
                if cumulative[middle] < point { low = middle + 1 } else { high = middle }
            }
            return "t\(low + 1)"
        }
        var batch: [ProposedEvent] = []
        for line in try String(contentsOfFile: file, encoding: .utf8).split(separator: "\n") where !line.isEmpty {
            var event = try EventLineParser.parse(String(line))
            let quoted = JSONString.quote(tenant(of: event.stream))
            event.metadata = event.metadata == "{}" ? "{\"tenant\":\(quoted)}" : "{\"tenant\":\(quoted)," + event.metadata.dropFirst()
            batch.append(event)
            if batch.count == 5000 {
                _ = try await log.append(batch)
                batch.removeAll(keepingCapacity: true)
            }
        }
        if !batch.isEmpty { _ = try await log.append(batch) }
    }

    /// What checking a tenant token costs a request: parsing, the key's lookup, the HMAC.
    static func measureTokens(folder: String) throws {
        let keys = try KeyStore(folder: folder)
        let (key, secret) = try keys.create(name: "bench", actions: [.search], indexes: ["*"])
        let token = TenantToken(keyID: key.id, indexes: ["*"], tenant: "t1", expires: Date().addingTimeInterval(3600)).signed(with: secret)
        let access = AccessControl(adminToken: nil, keys: keys)
        var timings: [Double] = []
        for _ in 0..<5 {
            let count = 2000
            let started = ContinuousClock.now
            for _ in 0..<count { _ = try access.verifiedToken(token, now: Date()) }
            timings.append(seconds(since: started) / Double(count) * 1_000_000)
        }
        report(String(format: "tenant token verification: %.1f µs per request (median of 5 runs of 2,000)", percentile(timings, 0.5)))
    }
}
