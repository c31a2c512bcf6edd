import Foundation
import GRDB
import HTTPTypes
import Hummingbird
import Metrics
import ProjectorCore
import ProjectorHost
import ProjectorSQLite
import ProjectorSearch
import ProjectorSpecs
import Prometheus

/// The handlers behind ``ProjectorServer``'s routes.
struct Routes: Sendable {
    let host: ProjectorHost
    let access: AccessControl
    let registry: PrometheusCollectorRegistry
    let cache = ResultCache()

    /// How long warming a new generation may delay its swap at most.
    static let warmBudget: Duration = .seconds(1)
    /// Longest read-your-writes wait a request may ask for.
    static let maxWait = 30_000
    static let positionHeader = HTTPField.Name("Projector-Position")!
    static let cacheHeader = HTTPField.Name("Projector-Cache")!
    static let maxBody = 16 << 20

    // MARK: Search

    func search(_ request: Request, _ context: some RequestContext) async throws -> Response {
        let name = try context.parameters.require("index")
        let query = request.uri.queryParameters
        let limit = try Self.integer(query, "limit", default: 10, in: 0...SearchEngine.maxLimit)
        let offset = try Self.integer(query, "offset", default: 0, in: 0...SearchEngine.maxOffset)
        let filters = try query[values: "filter"].map { text -> (field: String, value: String) in
            guard let colon = text.firstIndex(of: ":"), colon != text.startIndex else {
                throw APIError(.badRequest, "filter must be FIELD:VALUE, found '\(text)'")
            }
            return (String(text[..<colon]), String(text[text.index(after: colon)...]))
        }
        let facets = query[values: "facet"].map(String.init)
        let crop = try Self.integer(query, "crop", default: SearchRequest.defaultCrop, in: 0...Self.maxBody)
        let credential = try access.credential(request)
        let tenant = try access.searchTenant(credential, index: name, asked: query["tenant"].map(String.init))
        let (runner, spec) = try await searchIndex(name)
        if case .token(let token, _) = credential, token.tenant != nil, spec.tenant == nil {
            throw APIError(.forbidden, "index '\(name)' is not partitioned by tenant: a tenant token cannot search it")
        }
        // Read-your-writes: wait until the index has applied the caller's event.
        if let minimum = try Self.optionalInteger(query, "minPosition", in: 0...Int(Int64.max)) {
            let wait = try Self.integer(query, "waitMs", default: 0, in: 0...Self.maxWait)
            let deadline = ContinuousClock.now + .milliseconds(wait)
            var live = host.runner(named: name) ?? runner
            while true {
                let moved = live.progress.generation
                if live.current.position >= Int64(minimum) { break }
                guard ContinuousClock.now < deadline else {
                    throw APIError(
                        .serviceUnavailable,
                        "index '\(name)' is behind: it has applied position \(live.current.position), not yet \(minimum) (waited \(wait) ms)",
                        headers: [.retryAfter: "1", Self.positionHeader: String(live.current.position)])
                }
                // Woken by the runner's next commit; a swapped-in generation is looked up again.
                await live.progress.wait(after: moved, timeout: min(deadline - .now, .milliseconds(250)))
                live = host.runner(named: name) ?? live
            }
        }
        let current = host.runner(named: name) ?? runner
        let position = current.current.position
        let request = SearchRequest(
            query: String(query["q"] ?? ""), limit: limit, offset: offset, filters: filters, facets: facets,
            raw: query["raw"] == "true", autocorrect: query["autocorrect"] != "false", fields: Self.list(query, "fields"),
            highlight: Self.list(query, "highlight"), crop: crop, tenant: tenant)
        let key = ResultCache.key(path: current.store.path, position: position, request)
        let (body, source, took) = try await cache.answer(for: key) {
            let result = try await SearchIndex(spec: spec, reader: current.store.pool).search(request)
            // Only a result of the position it was computed at may be reused.
            return ResultCache.Computed(
                body: try Self.encode(result), keep: current.current.position == position, took: .microseconds(Int64(result.tookMs * 1000)))
        }
        cache.remember(request, index: name, took: took)
        Timer(label: "projector_query_duration_seconds", dimensions: [("index", name)]).record(duration: took)
        return JSONBody.response(
            json: body, headers: [Self.positionHeader: String(position), Self.cacheHeader: source.rawValue])
    }

    static func encode(_ result: SearchResult) throws -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return String(decoding: try encoder.encode(result), as: UTF8.self)
    }

    /// Answers an index's recent requests from its verified new generation before it goes
    /// live, so the swap does not turn every connection's next request into a miss at once.
    /// Static: the host keeps its warmers, so one holding the routes (and so the host) would
    /// keep the host alive for ever.
    static func warm(_ name: String, _ generation: ProjectionRunner, cache: ResultCache) async {
        guard let spec = (generation.projection as? any SearchIndexed)?.searchSpec else { return }
        let position = generation.current.position
        let index = SearchIndex(spec: spec, reader: generation.store.pool)
        let deadline = ContinuousClock.now + Self.warmBudget
        for request in cache.recentRequests(index: name) {
            guard ContinuousClock.now < deadline else { break }
            guard let result = try? await index.search(request, timeout: ResultCache.warmLimit * 2),
                let body = try? Self.encode(result)
            else { continue }
            cache.store(body, for: ResultCache.key(path: generation.store.path, position: position, request))
        }
    }

    /// The live runner of a search index and the spec its live generation was built from.
    func searchIndex(_ name: String) async throws -> (ProjectionRunner, SearchSpec) {
        guard let runner = host.runner(named: name) else {
            throw APIError(.notFound, "no index named '\(name)' (indexes: \(indexNames().joined(separator: ", ")))")
        }
        guard let spec = (runner.projection as? any SearchIndexed)?.searchSpec else {
            throw APIError(.badRequest, "'\(name)' is a \(runner.projection.kind) projection, not a search index")
        }
        // The common case answers from memory; a changed spec's next generation may still be
        // building, and then the live one is read by the spec it was built from.
        if runner.current.fingerprint == runner.projection.fingerprint { return (runner, spec) }
        return (runner, try await SearchKind.specAsBuilt(spec, store: runner.store) ?? spec)
    }

    func indexNames() -> [String] {
        host.runners.filter { ($0.projection as? any SearchIndexed)?.searchSpec != nil }.map(\.name).sorted()
    }

    /// The search indexes the credential may search, with their fields, for the web page and
    /// clients.
    func indexes(_ request: Request) throws -> Response {
        let credential = try access.credential(request)
        if case .none = credential, !access.isOpen {
            throw AccessError.missing("listing indexes needs a key or a tenant token: send Authorization: Bearer <key or token>")
        }
        let items = host.runners.compactMap { runner -> String? in
            guard let spec = (runner.projection as? any SearchIndexed)?.searchSpec, access.mayList(credential, index: runner.name) else {
                return nil
            }
            let text = spec.textFields.map { JSONString.quote($0.name) }.joined(separator: ",")
            let weights = spec.textFields.map { "\(JSONString.quote($0.name)):\($0.weight)" }.joined(separator: ",")
            let filters = spec.visibleFields.filter(\.filter).map { JSONString.quote($0.name) }.joined(separator: ",")
            return
                "{\"name\":\(JSONString.quote(runner.name)),\"fields\":[\(text)],\"weights\":{\(weights)},\"filters\":[\(filters)],\"tenant\":\(spec.tenant != nil)}"
        }
        return JSONBody.response(json: "[" + items.joined(separator: ",") + "]")
    }

    // MARK: Projections

    func projections(_ request: Request) async throws -> Response {
        let credential = try authorize(request, .status)
        return try JSONBody.encode(try await host.status().map { redacted($0, for: credential) })
    }

    func projection(_ request: Request, _ context: some RequestContext) async throws -> Response {
        let credential = try authorize(request, .status)
        let name = try context.parameters.require("name")
        guard let status = try await host.status().first(where: { $0.name == name }) else {
            throw APIError(.notFound, "no projection named '\(name)'")
        }
        return try JSONBody.encode(redacted(status, for: credential))
    }

    /// Errors name files, paths and streams: only admins see them.
    func redacted(_ status: ProjectionStatus, for credential: AccessControl.Credential) -> ProjectionStatus {
        guard !access.isAdmin(credential) else { return status }
        var status = status
        let hidden = "(shown with the admin token)"
        if status.lastError != nil { status.lastError = hidden }
        if status.rebuild?.lastError != nil { status.rebuild?.lastError = hidden }
        return status
    }

    func rebuild(_ request: Request, _ context: some RequestContext) async throws -> Response {
        try authorize(request, .admin)
        let name = try context.parameters.require("name")
        guard host.runner(named: name) != nil else { throw APIError(.notFound, "no projection named '\(name)'") }
        // Single flight: the running host takes the request up; a second one joins the first.
        let started = try host.requestRebuild(name)
        return JSONBody.response(
            status: .accepted,
            json:
                "{\"name\":\(JSONString.quote(name)),\"rebuild\":\"\(started ? "started" : "already running")\",\"status\":\"/v1/projections/\(name)\"}"
        )
    }

    func redrive(_ request: Request, _ context: some RequestContext) async throws -> Response {
        try authorize(request, .admin)
        let name = try context.parameters.require("name")
        let result = try await host.redrive(name)
        let failed = result.failed.map { "{\"position\":\($0.position),\"error\":\(JSONString.quote($0.error))}" }
        return JSONBody.response(
            json: "{\"applied\":[\(result.applied.map(String.init).joined(separator: ","))],\"failed\":[\(failed.joined(separator: ","))]}")
    }

    // MARK: Events

    func append(_ request: Request, _ context: some RequestContext) async throws -> Response {
        try authorize(request, .append)
        var request = request
        let body = try await request.collectBody(upTo: Self.maxBody)
        let bytes = body.readableBytesView
        guard let text = String(validating: bytes, as: UTF8.self) else {
            // Where, as the import names it: the line and the byte within it.
            let valid = bytes.prefix(Self.validUTF8Prefix(bytes))
            let line = valid.reduce(1) { $0 + ($1 == 0x0A ? 1 : 0) }
            let column = valid.count - (valid.lastIndex(of: 0x0A).map { valid.distance(from: valid.startIndex, to: $0) + 1 } ?? 0)
            throw APIError(.badRequest, "body: line \(line): not valid UTF-8 at byte \(column + 1)")
        }
        var events: [ProposedEvent] = []
        let trimmed = text.drop { $0.isWhitespace }
        if trimmed.first == "[" {
            guard let list = try? JSONSerialization.jsonObject(with: Data(trimmed.utf8)) as? [Any] else {
                throw APIError(.badRequest, "body: not a JSON array of events")
            }
            for (index, item) in list.enumerated() {
                guard JSONSerialization.isValidJSONObject(item), let data = try? JSONSerialization.data(withJSONObject: item) else {
                    throw APIError(.badRequest, "event \(index): must be a JSON object")
                }
                do {
                    events.append(try EventLineParser.parse(String(decoding: data, as: UTF8.self)))
                } catch {
                    throw APIError(.badRequest, "event \(index): \(error)")
                }
            }
        } else {
            for (number, line) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated()
            where !line.allSatisfy(\.isWhitespace) {
                do {
                    events.append(try EventLineParser.parse(String(line)))
                } catch {
                    throw APIError(.badRequest, "line \(number + 1): \(error)")
                }
            }
        }
        guard !events.isEmpty else {
            throw APIError(.badRequest, "body: send an event object, a JSON array of them, or NDJSON lines")
        }
        let stored = try await host.log.append(events)
        return JSONBody.response(status: .created, json: "[" + stored.map(\.line).joined(separator: ",") + "]")
    }

    func events(_ request: Request) async throws -> Response {
        try authorize(request, .admin)
        let query = request.uri.queryParameters
        let from = try Self.integer(query, "from", default: 1, in: 0...Int(Int64.max))
        let limit = try Self.integer(query, "limit", default: 100, in: 1...10_000)
        let events: [RecordedEvent]
        if let stream = query["stream"] {
            do {
                try ProposedEvent.checkName(String(stream), field: "stream")
            } catch {
                throw APIError(.badRequest, error.message)
            }
            events = try await host.log.readStream(String(stream), fromVersion: Int64(max(1, from)), limit: limit)
        } else {
            events = try await host.log.read(after: Int64(max(1, from)) - 1, limit: limit)
        }
        return JSONBody.response(json: "[" + events.map(\.line).joined(separator: ",") + "]")
    }

    // MARK: Keys and tenants

    func keys(_ request: Request) async throws -> Response {
        try authorize(request, .admin)
        return try JSONBody.encode(try keyStore().list())
    }

    func createKey(_ request: Request) async throws -> Response {
        try authorize(request, .admin)
        var request = request
        let body = try await request.collectBody(upTo: 64 << 10)
        guard let object = try? JSONSerialization.jsonObject(with: Data(String(buffer: body).utf8)) as? [String: Any] else {
            throw APIError(.badRequest, "body: a JSON object {\"name\", \"actions\", \"indexes\"}")
        }
        guard let name = object["name"] as? String, !name.isEmpty else {
            throw APIError(.badRequest, "name: required, a label for the key")
        }
        guard let actionNames = object["actions"] as? [String], !actionNames.isEmpty else {
            throw APIError(.badRequest, "actions: required, a list of \(APIKey.Action.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        let actions: [APIKey.Action]
        do { actions = try APIKey.Action.parse(actionNames) } catch { throw APIError(.badRequest, "actions: \(error.message)") }
        let indexes = object["indexes"].map { $0 as? [String] } ?? ["*"]
        guard let indexes, !indexes.isEmpty, indexes.allSatisfy({ !$0.isEmpty }) else {
            throw APIError(.badRequest, "indexes: a list of index names or patterns (* for all)")
        }
        let (key, secret) = try keyStore().create(name: name, actions: actions, indexes: indexes)
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        let keyJSON = String(decoding: try encoder.encode(key), as: UTF8.self)
        return JSONBody.response(status: .created, json: "{\"key\":\(keyJSON),\"secret\":\(JSONString.quote(secret))}")
    }

    func revokeKey(_ request: Request, _ context: some RequestContext) async throws -> Response {
        try authorize(request, .admin)
        return try JSONBody.encode(try keyStore().revoke(try context.parameters.require("id")))
    }

    /// Appends the tenant's purge event; each projection that honours it applies it in turn.
    func purgeTenant(_ request: Request, _ context: some RequestContext) async throws -> Response {
        try authorize(request, .admin)
        let tenant = try context.parameters.require("tenant")
        let stored = try await host.log.append([TenantPurge.event(tenant)])
        return JSONBody.response(
            status: .accepted, json: "{\"tenant\":\(JSONString.quote(tenant)),\"position\":\(stored[0].position)}",
            headers: [Self.positionHeader: String(stored[0].position)])
    }

    func keyStore() throws -> KeyStore {
        guard let keys = access.keys else {
            throw APIError(.serviceUnavailable, "the key store (\(host.storesFolder)/\(KeyStore.file)) cannot be opened")
        }
        return keys
    }

    // MARK: Operations

    func health() async throws -> Response {
        let status = try await host.status()
        let live = status.allSatisfy { $0.state == .live }
        let states = status.map { "\(JSONString.quote($0.name)):\(JSONString.quote($0.state.rawValue))" }.joined(separator: ",")
        return JSONBody.response(
            status: live ? .ok : .serviceUnavailable,
            json: "{\"live\":\(live),\"projections\":{\(states)}}")
    }

    func metrics() async throws -> Response {
        for item in try await host.status() {
            let dimensions = [("projection", item.name)]
            Gauge(label: "projector_lag_events", dimensions: dimensions).record(item.lag)
            Gauge(label: "projector_position", dimensions: dimensions).record(item.position)
            Gauge(label: "projector_dead_letters", dimensions: dimensions).record(item.deadLetters)
            Gauge(label: "projector_live", dimensions: dimensions).record(item.state == .live ? 1 : 0)
            Gauge(label: "projector_rebuild_percent", dimensions: dimensions).record(item.rebuild?.percent ?? 0)
        }
        return Response(
            status: .ok, headers: [.contentType: "text/plain; version=0.0.4; charset=utf-8"],
            body: .init(byteBuffer: ByteBuffer(string: registry.emitToString())))
    }

    func page() -> Response {
        Response(
            status: .ok,
            headers: [
                .contentType: "text/html; charset=utf-8",
                // No inline script may run: indexed text can never become code on this page.
                .contentSecurityPolicy:
                    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; object-src 'none'; base-uri 'none'; frame-ancestors 'none'",
                .xContentTypeOptions: "nosniff",
            ],
            body: .init(byteBuffer: ByteBuffer(string: WebPage.html)))
    }

    func script() -> Response {
        Response(
            status: .ok, headers: [.contentType: "text/javascript; charset=utf-8", .xContentTypeOptions: "nosniff"],
            body: .init(byteBuffer: ByteBuffer(string: WebPage.script)))
    }

    // MARK: Helpers

    /// Checks that the request may do `action`, and returns its credential.
    @discardableResult
    func authorize(_ request: Request, _ action: APIKey.Action) throws(AccessError) -> AccessControl.Credential {
        try access.refuseIfClosed(action)
        let credential = try access.credential(request)
        try access.authorize(credential, action)
        return credential
    }

    /// How many leading bytes are valid UTF-8.
    static func validUTF8Prefix(_ bytes: some Collection<UInt8>) -> Int {
        var count = 0
        var decoder = UTF8()
        var iterator = bytes.makeIterator()
        loop: while true {
            switch decoder.decode(&iterator) {
            case .scalarValue(let scalar): count += UTF8.width(scalar)
            case .emptyInput, .error: break loop
            }
        }
        return count
    }

    /// A comma-separated list parameter (`fields=name,summary`; `fields=` is the empty list),
    /// nil when absent.
    static func list(_ query: Parameters, _ name: String) -> [String]? {
        query[Substring(name)].map { $0.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty } }
    }

    static func integer(_ query: Parameters, _ name: String, default value: Int, in range: ClosedRange<Int>) throws -> Int {
        try optionalInteger(query, name, in: range) ?? value
    }

    static func optionalInteger(_ query: Parameters, _ name: String, in range: ClosedRange<Int>) throws -> Int? {
        guard let text = query[Substring(name)] else { return nil }
        guard let number = Int(text), range.contains(number) else {
            throw APIError(.badRequest, "\(name) must be a whole number from \(range.lowerBound) to \(range.upperBound), found '\(text)'")
        }
        return number
    }
}
