import Foundation
import GRDB
import Logging
import ProjectorCore
import ProjectorHost
import ProjectorSQLite
import ProjectorSearch
import ProjectorServer
import ProjectorSpecs

/// Issue 24's benchmark: the same documents indexed twice in one host, as one index and
/// partitioned over `tenants` tenants of Zipf sizes (a document's tenant drawn from its stream),
/// then every query class timed on both, each partitioned query within the tenant of a document
/// it matches (users search their own words; big tenants are asked most, as traffic would); and
/// the cost of verifying a tenant token.
enum TenantBenchmark {
    static func run(events file: String, spec specFile: String, tenants: Int, queriesPerClass: Int, keep: String?) async throws {
        let folder = keep ?? NSTemporaryDirectory() + "projector-tenant-bench-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        defer { if keep == nil { try? FileManager.default.removeItem(atPath: folder) } }
        guard let plain = (try ProjectionCatalog.spec(at: specFile) as? SearchProjection)?.spec else {
            throw BenchError("\(specFile) is not a search spec")
        }
        var values = try JSONSerialization.jsonObject(with: Data(plain.source.utf8)) as! [String: Any]
        values["name"] = plain.name + "_tenants"
        values["tenant"] = true
        let partitioned = try SearchSpec(values, file: specFile)

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
        for (name, requests) in classes {
            var one: [Double] = []
            var within: [Double] = []
            var totals: [Double] = []
            // Warm both stores' pages the same way: one pass each, then the timed passes.
            for request in requests.prefix(20) { _ = try await SearchIndex(spec: plain, reader: plainPool).search(request) }
            for request in requests {
                let t0 = ContinuousClock.now
                _ = try await SearchIndex(spec: plain, reader: plainPool).search(request)
                one.append(seconds(since: t0) * 1000)
            }
            for var request in requests {
                request.tenant = try await tenantAsking(request, pool: tenantPool) ?? documentTenants.randomElement(using: &random)
                let t0 = ContinuousClock.now
                let result = try await SearchIndex(spec: partitioned, reader: tenantPool).search(request)
                within.append(seconds(since: t0) * 1000)
                totals.append(Double(result.total))
            }
            report(
                String(
                    format: "%-16@ %8.2f %8.2f | %8.2f %8.2f     | %6.2f    | %.0f", name, percentile(one, 0.5), percentile(one, 0.99),
                    percentile(within, 0.5), percentile(within, 0.99), percentile(within, 0.99) / percentile(one, 0.99),
                    percentile(totals, 0.5)))
        }
        try measureTokens(folder: folder + "/keys")
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
