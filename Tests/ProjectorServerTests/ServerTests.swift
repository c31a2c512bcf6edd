import Foundation
import GRDB
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Logging
import Metrics
import ProjectorCore
import ProjectorDemo
import ProjectorHost
import ProjectorSQLite
import ProjectorSearch
import ProjectorServer
import ProjectorTesting
import Prometheus
import Testing
import Yams

/// One Prometheus registry for the test process (swift-metrics is bootstrapped once).
let sharedRegistry: PrometheusCollectorRegistry = {
    let registry = PrometheusCollectorRegistry()
    MetricsSystem.bootstrap(PrometheusMetricsFactory(registry: registry))
    return registry
}()

/// A log with documents, a host with a search index and the accounts projection, and the
/// server's router over them.
struct ServerFixture {
    let folder = TemporaryFolder()
    let log: SQLiteEventLog
    let host: ProjectorHost
    let server: ProjectorServer

    init(token: String? = "s3cret") async throws {
        log = try SQLiteEventLog(path: folder.file("events.sqlite"))
        let spec = try decodeSpec(
            SearchSpec.self,
            [
                "name": "docs", "kind": "search", "id": "$.stream",
                "fields": [
                    "title": ["path": "$.data.title", "weight": 5], "body": ["path": "$.data.body"],
                    "section": ["path": "$.data.section", "filter": true],
                ],
            ], file: "docs.yml")
        var logger = Logger(label: "test")
        logger.logLevel = .critical
        host = try ProjectorHost(
            log: log, projections: [SearchProjection(spec: spec), BankAccountsProjection()], storesFolder: folder.file("stores"),
            configuration: .init(batchSize: 100, retryBackoff: .milliseconds(1)), logger: logger)
        server = ProjectorServer(host: host, settings: ServerSettings(adminToken: token), registry: sharedRegistry)
        var events: [ProposedEvent] = []
        for number in 0..<30 {
            events.append(
                ProposedEvent(
                    stream: "doc-\(number)", type: "Written",
                    data:
                        #"{"title":"Guide \#(number) to <script>alert(1)</script> editors","body":"vim and emacs, number \#(number)","section":"s\#(number % 3)"}"#
                ))
        }
        events.append(ProposedEvent(stream: "acc-1", type: "Deposited", data: #"{"amount":7}"#))
        _ = try await log.append(events)
        try await host.catchUp()
    }

    var application: some ApplicationProtocol { Application(router: server.router()) }

    static let admin: HTTPFields = [.authorization: "Bearer s3cret"]

    static func json(_ response: TestResponse) throws -> Any {
        try JSONSerialization.jsonObject(with: Data(String(buffer: response.body).utf8))
    }
}

/// One at a time: each case opens a host with four stores, and two dozen at once (with every other
/// suite) pushed the test process past 1,350 open files, where Foundation's `Process.run` reads past
/// the end of its `/proc/self/fd` listing and can crash the CLI tests.
@Suite(.serialized) struct ServerTests {
    @Test func searchAnswersWithHitsHighlightsFacetsAndPaging() async throws {
        let fixture = try await ServerFixture()
        try await fixture.application.test(.router) { client in
            let response = try await client.execute(
                uri: "/v1/search/docs?q=emacs%20vim&limit=5&offset=5&facet=section&filter=section:s1", method: .get)
            #expect(response.status == .ok)
            let body = try #require(try ServerFixture.json(response) as? [String: Any])
            #expect(body["index"] as? String == "docs" && body["total"] as? Int == 10)
            let hits = try #require(body["hits"] as? [[String: Any]])
            #expect(hits.count == 5)
            let highlights = try #require(hits.first?["highlights"] as? [String: String])
            #expect(highlights["body"]?.contains("<mark>vim</mark>") == true)
            #expect((body["facets"] as? [String: [String: Int]])?["section"] == ["s1": 10])
            #expect(response.headers[HTTPField.Name("Projector-Position")!] == "31")
        }
    }

    @Test(arguments: [
        "/v1/search/docs?q=%22", "/v1/search/docs?q=-", "/v1/search/docs?q=AND", "/v1/search/docs?q=a%3Ab%27c*",
        "/v1/search/docs?q=%00%01%02", "/v1/search/docs?q=" + String(repeating: "%F0%9F%98%80", count: 300),
        "/v1/search/docs", "/v1/search/docs?q=NEAR(a%20b)&raw=false",
    ])
    func hostileQueriesNeverFail(uri: String) async throws {
        let fixture = try await ServerFixture()
        try await fixture.application.test(.router) { client in
            let response = try await client.execute(uri: uri, method: .get)
            #expect(response.status == .ok, "\(uri): \(String(buffer: response.body))")
        }
    }

    @Test(arguments: [
        ("/v1/search/nope?q=a", HTTPResponse.Status.notFound, "no index named 'nope'"),
        ("/v1/search/accounts?q=a", .badRequest, "'accounts' is a swift projection, not a search index"),
        ("/v1/search/docs?q=a&limit=-1", .badRequest, "limit must be a whole number from 0 to 1000, found '-1'"),
        ("/v1/search/docs?q=a&limit=ten", .badRequest, "limit must be a whole number"),
        ("/v1/search/docs?q=a&filter=section", .badRequest, "filter must be FIELD:VALUE"),
        ("/v1/search/docs?q=a&filter=colour:red", .badRequest, "colour"),
        ("/v1/search/docs?q=a&facet=colour", .badRequest, "colour"),
        ("/v1/search/docs?raw=true&q=(", .badRequest, ""),
        ("/v1/search/docs?q=a&minPosition=x", .badRequest, "minPosition must be a whole number"),
        ("/v1/projections/nope", .notFound, "no projection named 'nope'"),
        ("/v1/nothing", .notFound, ""),
    ])
    func badRequestsGetJSONErrorsNamingTheProblem(uri: String, status: HTTPResponse.Status, message: String) async throws {
        let fixture = try await ServerFixture()
        try await fixture.application.test(.router) { client in
            let response = try await client.execute(uri: uri, method: .get)
            #expect(response.status == status, "\(uri)")
            if !message.isEmpty {
                let error = (try? ServerFixture.json(response) as? [String: String])?["error"] ?? ""
                #expect(error.contains(message), "\(uri): \(error)")
            }
        }
    }

    @Test func readYourWritesWaitsForTheIndexOrSaysItIsBehind() async throws {
        let fixture = try await ServerFixture()
        let stored = try await fixture.log.append([
            ProposedEvent(stream: "doc-new", type: "Written", data: #"{"title":"fresh zebra","body":"b","section":"s9"}"#)
        ])
        let position = stored[0].position
        try await fixture.application.test(.router) { client in
            // Nobody is applying: a short wait ends in a clear "behind", never a stale answer.
            let behind = try await client.execute(uri: "/v1/search/docs?q=zebra&minPosition=\(position)&waitMs=30", method: .get)
            #expect(behind.status == .serviceUnavailable)
            let error = (try ServerFixture.json(behind) as? [String: String])?["error"] ?? ""
            #expect(error.contains("index 'docs' is behind: it has applied position 31, not yet \(position)"))
            // With the host live, the same request waits and finds the new document.
            let running = Task { try await fixture.host.run(only: nil, until: nil) }
            defer { running.cancel() }
            let answered = try await client.execute(uri: "/v1/search/docs?q=zebra&minPosition=\(position)&waitMs=10000", method: .get)
            #expect(answered.status == .ok)
            #expect((try ServerFixture.json(answered) as? [String: Any])?["total"] as? Int == 1)
            // Cached answers are keyed by the applied position: a new event is never hidden.
            let again = try await client.execute(uri: "/v1/search/docs?q=zebra", method: .get)
            #expect(again.headers[HTTPField.Name("Projector-Cache")!] == "hit")
            _ = try await fixture.log.append([
                ProposedEvent(stream: "doc-newer", type: "Written", data: #"{"title":"second zebra","body":"b","section":"s9"}"#)
            ])
            let fresh = try await client.execute(uri: "/v1/search/docs?q=zebra&minPosition=\(position + 1)&waitMs=10000", method: .get)
            #expect(fresh.headers[HTTPField.Name("Projector-Cache")!] == "miss")
            #expect((try ServerFixture.json(fresh) as? [String: Any])?["total"] as? Int == 2)
        }
    }

    /// A rebuilt generation is warmed with the index's recent queries before it goes live: the
    /// first such query after the swap is a hit on the new generation, with the same answer.
    @Test func aRebuiltIndexGoesLiveWithItsRecentQueriesAnswered() async throws {
        let fixture = try await ServerFixture()
        try await fixture.application.test(.router) { client in
            let cacheHeader = HTTPField.Name("Projector-Cache")!
            let before = try await client.execute(uri: "/v1/search/docs?q=editors&facet=section", method: .get)
            #expect(before.headers[cacheHeader] == "miss")
            let rebuilt = try await fixture.host.rebuild(["docs"])
            #expect(rebuilt["docs"]?.swapped == true)
            let after = try await client.execute(uri: "/v1/search/docs?q=editors&facet=section", method: .get)
            #expect(after.headers[cacheHeader] == "hit")
            let normalize = { (response: TestResponse) -> String in
                String(buffer: response.body).replacingOccurrences(of: #""tookMs":[0-9.e-]+"#, with: "", options: .regularExpression)
            }
            #expect(normalize(after) == normalize(before))
            let unseen = try await client.execute(uri: "/v1/search/docs?q=vim", method: .get)
            #expect(unseen.headers[cacheHeader] == "miss")
        }
    }

    @Test func adminRoutesNeedTheTokenAndAreClosedWithoutOne() async throws {
        let fixture = try await ServerFixture()
        try await fixture.application.test(.router) { client in
            let event = ByteBuffer(string: #"{"stream":"acc-9","type":"Deposited","data":{"amount":5}}"#)
            #expect(try await client.execute(uri: "/v1/events", method: .post, body: event).status == .unauthorized)
            #expect(
                try await client.execute(uri: "/v1/events", method: .post, headers: [.authorization: "Bearer nope"], body: event).status
                    == .unauthorized)
            let created = try await client.execute(uri: "/v1/events", method: .post, headers: ServerFixture.admin, body: event)
            #expect(created.status == .created)
            let stored = try #require(try ServerFixture.json(created) as? [[String: Any]])
            #expect(stored.first?["position"] as? Int == 32 && stored.first?["version"] as? Int == 1)

            let conflict = ByteBuffer(string: #"[{"stream":"acc-9","type":"Deposited","data":{"amount":1},"expectedVersion":"no-stream"}]"#)
            let refused = try await client.execute(uri: "/v1/events", method: .post, headers: ServerFixture.admin, body: conflict)
            #expect(refused.status == .conflict)
            let bad = ByteBuffer(string: "{\"stream\":\"a\",\"type\":\"T\",\"data\":{}}\n{\"stream\":\"a\",\"type\":\"T\",\"data\":[1]}\n")
            let badLine = try await client.execute(uri: "/v1/events", method: .post, headers: ServerFixture.admin, body: bad)
            #expect(badLine.status == .badRequest)
            #expect(
                ((try ServerFixture.json(badLine) as? [String: String])?["error"] ?? "").hasPrefix("line 2: data must be a JSON object"))
            #expect(
                try await client.execute(uri: "/v1/events", method: .post, headers: ServerFixture.admin, body: ByteBuffer(string: "  "))
                    .status == .badRequest)

            #expect(try await client.execute(uri: "/v1/events?from=30", method: .get).status == .unauthorized)
            let read = try await client.execute(uri: "/v1/events?from=31&limit=5", method: .get, headers: ServerFixture.admin)
            #expect((try ServerFixture.json(read) as? [[String: Any]])?.map { $0["position"] as? Int } == [31, 32])
            let stream = try await client.execute(uri: "/v1/events?stream=acc-9", method: .get, headers: ServerFixture.admin)
            #expect((try ServerFixture.json(stream) as? [[String: Any]])?.count == 1)

            #expect(try await client.execute(uri: "/v1/projections/docs/rebuild", method: .post).status == .unauthorized)
            #expect(try await client.execute(uri: "/v1/projections/accounts/redrive", method: .post).status == .unauthorized)
            let redrive = try await client.execute(uri: "/v1/projections/accounts/redrive", method: .post, headers: ServerFixture.admin)
            #expect(redrive.status == .ok && String(buffer: redrive.body) == #"{"applied":[],"failed":[]}"#)
            // The running host takes a rebuild request up; concurrent requests start one rebuild.
            let running = Task { try await fixture.host.run(only: nil, until: nil) }
            defer { running.cancel() }
            let answers = try await withThrowingTaskGroup(of: String.self) { group in
                for _ in 0..<20 {
                    group.addTask {
                        let response = try await client.execute(
                            uri: "/v1/projections/docs/rebuild", method: .post, headers: [.authorization: "bearer s3cret"])
                        #expect(response.status == .accepted)
                        return String(buffer: response.body)
                    }
                }
                return try await group.reduce(into: []) { $0.append($1) }
            }
            #expect(answers.filter { $0.contains(#""rebuild":"started""#) }.count == 1)
            #expect(answers.filter { $0.contains(#""rebuild":"already running""#) }.count == 19)
            try await waitUntil { fixture.host.runner(named: "docs")?.store.path.hasSuffix("docs.2.sqlite") == true }
            try await waitUntil { fixture.host.pointer("docs").read().next == nil }
            #expect(fixture.host.pointer("docs").read() == StoreGenerations(live: "docs.2.sqlite", previous: "docs.sqlite"))
        }

        let closed = try await ServerFixture(token: nil)
        try await closed.application.test(.router) { client in
            let response = try await client.execute(uri: "/v1/events", method: .get, headers: ServerFixture.admin)
            #expect(response.status == .forbidden)
            #expect(((try ServerFixture.json(response) as? [String: String])?["error"] ?? "").contains("admin routes are closed"))
        }
    }

    @Test func projectionsHealthAndMetricsDescribeTheHost() async throws {
        let fixture = try await ServerFixture()
        try await fixture.application.test(.router) { client in
            let list = try #require(
                try ServerFixture.json(try await client.execute(uri: "/v1/projections", method: .get)) as? [[String: Any]])
            #expect(Set(list.compactMap { $0["name"] as? String }) == ["docs", "accounts"])
            let one = try #require(
                try ServerFixture.json(try await client.execute(uri: "/v1/projections/docs", method: .get)) as? [String: Any])
            #expect(one["position"] as? Int == 31 && one["lag"] as? Int == 0 && one["deadLetters"] as? Int == 0)

            // Caught up but not running: not live.
            let notLive = try await client.execute(uri: "/health", method: .get)
            #expect(notLive.status == .serviceUnavailable)
            let running = Task { try await fixture.host.run(only: nil, until: nil) }
            defer { running.cancel() }
            try await waitUntil { fixture.host.runners.allSatisfy { $0.current.state == .live } }
            let live = try await client.execute(uri: "/health", method: .get)
            #expect(live.status == .ok && String(buffer: live.body).contains(#""live":true"#))

            _ = try await client.execute(uri: "/v1/search/docs?q=vim", method: .get)
            let metrics = String(buffer: try await client.execute(uri: "/metrics", method: .get).body)
            #expect(metrics.contains(#"projector_events_applied_total{projection="docs"}"#))
            #expect(metrics.contains(#"projector_lag_events{projection="accounts"} 0"#))
            #expect(metrics.contains(#"projector_dead_letters{projection="docs"} 0"#))
            #expect(metrics.contains(#"projector_query_duration_seconds_bucket{index="docs""#))
            #expect(metrics.contains("projector_batch_duration_seconds"))
        }
    }

    @Test func theWebPageIsServedWithAPolicyThatForbidsInlineScript() async throws {
        let fixture = try await ServerFixture()
        try await fixture.application.test(.router) { client in
            let page = try await client.execute(uri: "/", method: .get)
            #expect(page.status == .ok && page.headers[.contentType]?.hasPrefix("text/html") == true)
            #expect(page.headers[.contentSecurityPolicy]?.contains("script-src 'self'") == true)
            let html = String(buffer: page.body)
            #expect(html.contains(#"<script src="/app.js"></script>"#) && !html.contains("<script>"))
            let script = try await client.execute(uri: "/app.js", method: .get)
            #expect(script.status == .ok && String(buffer: script.body).contains("textContent"))
            let indexes = String(buffer: try await client.execute(uri: "/v1/indexes", method: .get).body)
            #expect(
                indexes
                    == #"[{"name":"docs","fields":["title","body"],"weights":{"title":5.0,"body":1.0},"filters":["section"],"tenant":false}]"#
            )
        }
    }
}

@Suite struct OpenAPITests {
    @Test func theOpenAPIDocumentDescribesExactlyTheRoutesServed() throws {
        let url = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("Schemas/openapi.yaml")
        let document = try #require(try Yams.load(yaml: String(contentsOf: url, encoding: .utf8)) as? [String: Any])
        let paths = try #require(document["paths"] as? [String: [String: Any]])
        var described: Set<String> = []
        for (path, operations) in paths {
            for method in operations.keys where ["get", "post", "put", "delete", "patch"].contains(method) {
                described.insert("\(method.uppercased()) \(path)")
            }
        }
        #expect(described == Set(ProjectorServer.routes))
    }

    @Test func everyRefusalIsJSONAndNoneLeaksToAnAnonymousCaller() async throws {
        let fixture = try await ServerFixture()
        try await fixture.application.test(.router) { client in
            let head = try await client.execute(uri: "/", method: .head)
            #expect(head.status == .ok && head.body.readableBytes == 0)
            #expect(try await client.execute(uri: "/health", method: .head).status == .serviceUnavailable)

            let large = ByteBuffer(repeating: UInt8(ascii: " "), count: (16 << 20) + 1)
            let tooLarge = try await client.execute(uri: "/v1/events", method: .post, headers: ServerFixture.admin, body: large)
            #expect(tooLarge.status == .contentTooLarge)
            #expect((try ServerFixture.json(tooLarge) as? [String: String])?["error"] == "body: larger than 16 MB")

            var invalid = ByteBuffer(string: "{\"stream\":\"a\",\"type\":\"T\",\"data\":{}}\n{\"stream\":\"b")
            invalid.writeBytes([0xFF, 0xFE])
            invalid.writeString("\",\"type\":\"T\",\"data\":{}}")
            let notUTF8 = try await client.execute(uri: "/v1/events", method: .post, headers: ServerFixture.admin, body: invalid)
            #expect(notUTF8.status == .badRequest)
            #expect((try ServerFixture.json(notUTF8) as? [String: String])?["error"] == "body: line 2: not valid UTF-8 at byte 13")

            let nul = try await client.execute(uri: "/v1/events?stream=acc-1%00evil", method: .get, headers: ServerFixture.admin)
            #expect(nul.status == .badRequest)
            #expect(((try ServerFixture.json(nul) as? [String: String])?["error"] ?? "").contains("control characters"))

            let deep = try await client.execute(uri: "/v1/search/docs?q=vim&offset=100001", method: .get)
            #expect(deep.status == .badRequest)
            #expect(
                ((try ServerFixture.json(deep) as? [String: String])?["error"] ?? "").hasPrefix(
                    "offset must be a whole number from 0 to 100000"))
            let long = try await client.execute(uri: "/v1/search/docs?q=" + String(repeating: "a", count: 600), method: .get)
            #expect(long.status == .badRequest)
            #expect((try ServerFixture.json(long) as? [String: String])?["error"] == "q: at most 512 characters, found 600")
        }
        // A failed projection's error names a file and a stream: admins only.
        try await fixture.host.runner(named: "accounts")!.store.pool.write { db in
            try db.execute(
                sql: "UPDATE projector_checkpoint SET state = 'failed', last_error = ?",
                arguments: ["/srv/secret/path.yml: stream 'acc-1' is broken"])
        }
        try await fixture.application.test(.router) { client in
            let anonymous = try #require(
                try ServerFixture.json(try await client.execute(uri: "/v1/projections/accounts", method: .get)) as? [String: Any])
            #expect(anonymous["lastError"] as? String == "(shown with the admin token)")
            let admin = try #require(
                try ServerFixture.json(
                    try await client.execute(uri: "/v1/projections/accounts", method: .get, headers: ServerFixture.admin)) as? [String: Any]
            )
            #expect((admin["lastError"] as? String)?.contains("/srv/secret/path.yml") == true)
            let list = String(buffer: try await client.execute(uri: "/v1/projections", method: .get).body)
            #expect(!list.contains("/srv/secret") && !list.contains("acc-1"))
        }
    }
}
