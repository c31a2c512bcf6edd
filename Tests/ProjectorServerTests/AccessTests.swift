import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Logging
import ProjectorCore
import ProjectorHost
import ProjectorSQLite
import ProjectorSearch
import ProjectorServer
import ProjectorTesting
import Testing

/// Keys, tenant tokens and purges through the HTTP routes, on a host with a plain index
/// (`docs`) and one partitioned by tenant (`notes`).
struct AccessFixture {
    let folder = TemporaryFolder()
    let log: SQLiteEventLog
    let host: ProjectorHost
    let server: ProjectorServer

    init() async throws {
        log = try SQLiteEventLog(path: folder.file("events.sqlite"))
        let docs = try decodeSpec(
            SearchSpec.self,
            ["name": "docs", "kind": "search", "id": "$.stream", "events": ["Written"], "fields": ["title": "$.data.title"]],
            file: "docs.yml")
        let notes = try decodeSpec(
            SearchSpec.self,
            [
                "name": "notes", "kind": "search", "id": "$.data.id", "tenant": true, "events": ["Noted"],
                "fields": ["title": "$.data.title"],
            ], file: "notes.yml")
        var logger = Logger(label: "test")
        logger.logLevel = .critical
        host = try ProjectorHost(
            log: log, projections: [SearchProjection(spec: docs), SearchProjection(spec: notes)], storesFolder: folder.file("stores"),
            logger: logger)
        server = ProjectorServer(host: host, settings: ServerSettings(adminToken: "s3cret"), registry: sharedRegistry)
        var events = [ProposedEvent(stream: "doc-1", type: "Written", data: #"{"title":"plan for everyone"}"#)]
        for (tenant, title) in [("acme", "acme launch plan"), ("acme", "acme hiring plan"), ("globex", "globex merger plan")] {
            events.append(
                ProposedEvent(
                    stream: "note-\(tenant)", type: "Noted", data: #"{"id":"\#(events.count)","title":"\#(title)"}"#,
                    metadata: #"{"tenant":"\#(tenant)"}"#))
        }
        _ = try await log.append(events)
        try await host.catchUp()
    }

    var application: some ApplicationProtocol { Application(router: server.router()) }

    static func bearer(_ credential: String) -> HTTPFields { [.authorization: "Bearer \(credential)"] }

    /// Makes a key through the admin route; returns its id and secret.
    static func createKey(
        _ client: some TestClientProtocol, actions: [String] = ["search"], indexes: [String] = ["*"]
    ) async throws -> (id: String, secret: String) {
        let body = try JSONSerialization.data(withJSONObject: ["name": "test", "actions": actions, "indexes": indexes])
        let response = try await client.execute(
            uri: "/v1/keys", method: .post, headers: bearer("s3cret"), body: ByteBuffer(bytes: body))
        #expect(response.status == .created)
        let json = try #require(try ServerFixture.json(response) as? [String: Any])
        let key = try #require(json["key"] as? [String: Any])
        return (try #require(key["id"] as? String), try #require(json["secret"] as? String))
    }
}

@Suite struct AccessTests {
    @Test func searchIsOpenUntilTheFirstKeyThenNeedsAKeyWithTheRight() async throws {
        let fixture = try await AccessFixture()
        try await fixture.application.test(.router) { client in
            #expect(try await client.execute(uri: "/v1/search/docs?q=plan", method: .get).status == .ok)
            let search = try await AccessFixture.createKey(client, indexes: ["notes"])
            let status = try await AccessFixture.createKey(client, actions: ["status"])
            let anonymous = try await client.execute(uri: "/v1/search/docs?q=plan", method: .get)
            #expect(anonymous.status == .unauthorized)
            #expect(try await client.execute(uri: "/v1/projections", method: .get).status == .unauthorized)
            #expect(try await client.execute(uri: "/v1/indexes", method: .get).status == .unauthorized)
            // A key may search only its indexes, and only what its actions allow.
            let own = try await client.execute(
                uri: "/v1/search/notes?q=plan&tenant=acme", method: .get, headers: AccessFixture.bearer(search.secret))
            #expect(own.status == .ok)
            let other = try await client.execute(uri: "/v1/search/docs?q=plan", method: .get, headers: AccessFixture.bearer(search.secret))
            #expect(other.status == .forbidden)
            let listed = try await client.execute(uri: "/v1/indexes", method: .get, headers: AccessFixture.bearer(search.secret))
            #expect((try ServerFixture.json(listed) as? [[String: Any]])?.compactMap { $0["name"] as? String } == ["notes"])
            #expect(
                try await client.execute(uri: "/v1/projections", method: .get, headers: AccessFixture.bearer(status.secret)).status == .ok)
            #expect(
                try await client.execute(
                    uri: "/v1/search/notes?q=plan&tenant=acme", method: .get, headers: AccessFixture.bearer(status.secret)
                )
                .status == .forbidden)
            #expect(
                try await client.execute(uri: "/v1/events", method: .post, headers: AccessFixture.bearer(search.secret)).status
                    == .forbidden)
            // A wrong secret with a real id, and a revoked key, are refused without echoing them.
            let forged = String(search.secret.dropLast(4)) + "AAAA"
            let wrong = try await client.execute(
                uri: "/v1/search/notes?q=plan&tenant=acme", method: .get, headers: AccessFixture.bearer(forged))
            #expect(wrong.status == .unauthorized)
            #expect(!String(buffer: wrong.body).contains(forged))
            #expect(
                try await client.execute(uri: "/v1/keys/\(search.id)", method: .delete, headers: AccessFixture.bearer("s3cret")).status
                    == .ok)
            let revoked = try await client.execute(
                uri: "/v1/search/notes?q=plan&tenant=acme", method: .get, headers: AccessFixture.bearer(search.secret))
            #expect(revoked.status == .unauthorized)
            #expect(String(buffer: revoked.body).contains("revoked"))
            let keys = try await client.execute(uri: "/v1/keys", method: .get, headers: AccessFixture.bearer("s3cret"))
            #expect(!String(buffer: keys.body).contains(search.secret))
        }
        // Stored hashed: the key file holds no secret.
        let stored = try Data(contentsOf: URL(fileURLWithPath: fixture.folder.file("stores/\(KeyStore.file)")))
        let keys = try KeyStore(folder: fixture.folder.file("stores")).list()
        #expect(keys.count == 2)
        #expect(!String(decoding: stored, as: UTF8.self).contains("prj_"))
    }

    @Test func aTenantTokenSearchesOnlyItsTenantAndAnyBadTokenIsRefused() async throws {
        let fixture = try await AccessFixture()
        try await fixture.application.test(.router) { client in
            let key = try await AccessFixture.createKey(client, indexes: ["notes", "docs"])
            let other = try await AccessFixture.createKey(client)
            let hour = Date().addingTimeInterval(3600)
            let acme = TenantToken(keyID: key.id, indexes: ["notes"], tenant: "acme", expires: hour)
            func search(_ uri: String, _ token: String) async throws -> TestResponse {
                try await client.execute(uri: uri, method: .get, headers: AccessFixture.bearer(token))
            }
            let answer = try await search("/v1/search/notes?q=plan", acme.signed(with: key.secret))
            #expect(answer.status == .ok)
            let body = try #require(try ServerFixture.json(answer) as? [String: Any])
            #expect(body["total"] as? Int == 2)
            let titles = (body["hits"] as? [[String: Any]] ?? []).compactMap { ($0["fields"] as? [String: String])?["title"] }
            #expect(titles.allSatisfy { $0.hasPrefix("acme") } && titles.count == 2)
            // The token's tenant is the answer's: asking for another is refused, not obeyed.
            #expect(try await search("/v1/search/notes?q=plan&tenant=globex", acme.signed(with: key.secret)).status == .forbidden)
            #expect(try await search("/v1/search/notes?q=plan&tenant=acme", acme.signed(with: key.secret)).status == .ok)
            // Indexes outside the token, or not partitioned, are refused.
            #expect(try await search("/v1/search/docs?q=plan", acme.signed(with: key.secret)).status == .forbidden)
            let docsToken = TenantToken(keyID: key.id, indexes: ["*"], tenant: "acme", expires: hour).signed(with: key.secret)
            #expect(try await search("/v1/search/docs?q=plan", docsToken).status == .forbidden)
            // Expired, tampered, signed by another key, unsigned: 401, naming the problem.
            let expired = TenantToken(keyID: key.id, indexes: ["notes"], tenant: "acme", expires: Date().addingTimeInterval(-1))
            let refusals: [(String, String)] = [
                (expired.signed(with: key.secret), "expired"),
                (Self.retenanted(acme.signed(with: key.secret), to: "globex"), "signature"),
                (acme.signed(with: other.secret), "signature"),
                (Self.unsigned(acme.signed(with: key.secret)), "malformed"),
                ("a.b.c", "malformed"),
            ]
            for (token, problem) in refusals {
                let response = try await search("/v1/search/notes?q=plan", token)
                #expect(response.status == .unauthorized, "\(problem)")
                #expect(String(buffer: response.body).contains(problem), "\(String(buffer: response.body))")
                #expect(!String(buffer: response.body).contains(key.secret))
            }
            // A token only searches, and dies with its key.
            #expect(
                try await client.execute(uri: "/v1/projections", method: .get, headers: AccessFixture.bearer(acme.signed(with: key.secret)))
                    .status == .forbidden)
            _ = try await client.execute(uri: "/v1/keys/\(key.id)", method: .delete, headers: AccessFixture.bearer("s3cret"))
            #expect(try await search("/v1/search/notes?q=plan", acme.signed(with: key.secret)).status == .unauthorized)
        }
    }

    @Test func thePurgeRouteRemovesATenantFromThePartitionedIndex() async throws {
        let fixture = try await AccessFixture()
        try await fixture.application.test(.router) { client in
            let response = try await client.execute(uri: "/v1/tenants/acme/purge", method: .post, headers: AccessFixture.bearer("s3cret"))
            #expect(response.status == .accepted)
            #expect(try await client.execute(uri: "/v1/tenants/acme/purge", method: .post).status == .unauthorized)
            try await fixture.host.catchUp()
            for (tenant, total) in [("acme", 0), ("globex", 1)] {
                let answer = try await client.execute(uri: "/v1/search/notes?q=plan&tenant=\(tenant)", method: .get)
                #expect((try ServerFixture.json(answer) as? [String: Any])?["total"] as? Int == total)
            }
        }
    }

    /// Read-your-writes within a tenant: a token's search waits for the tenant's new note;
    /// the same query for two tenants is never answered from one cached answer.
    @Test func aTokenReadsItsTenantsWritesAndTenantsNeverShareACachedAnswer() async throws {
        let fixture = try await AccessFixture()
        try await fixture.application.test(.router) { client in
            let key = try await AccessFixture.createKey(client, indexes: ["notes"])
            let acme = TenantToken(keyID: key.id, indexes: ["notes"], tenant: "acme", expires: Date().addingTimeInterval(3600))
                .signed(with: key.secret)
            let globex = TenantToken(keyID: key.id, indexes: ["notes"], tenant: "globex", expires: Date().addingTimeInterval(3600))
                .signed(with: key.secret)
            func total(_ uri: String, _ token: String) async throws -> Int? {
                let response = try await client.execute(uri: uri, method: .get, headers: AccessFixture.bearer(token))
                return (try ServerFixture.json(response) as? [String: Any])?["total"] as? Int
            }
            #expect(try await total("/v1/search/notes?q=plan", acme) == 2)
            #expect(try await total("/v1/search/notes?q=plan", globex) == 1)
            let stored = try await fixture.log.append([
                ProposedEvent(
                    stream: "note-acme", type: "Noted", data: #"{"id":"9","title":"acme budget plan"}"#, metadata: #"{"tenant":"acme"}"#)
            ])
            let running = Task { try await fixture.host.run(only: nil, until: nil) }
            defer { running.cancel() }
            #expect(try await total("/v1/search/notes?q=plan&minPosition=\(stored[0].position)&waitMs=10000", acme) == 3)
            #expect(try await total("/v1/search/notes?q=plan&minPosition=\(stored[0].position)&waitMs=10000", globex) == 1)
        }
    }

    /// The token with its payload's tenant changed and the signature kept.
    static func retenanted(_ token: String, to tenant: String) -> String {
        let parts = token.split(separator: ".").map(String.init)
        var payload = String(decoding: Data(base64URLEncoded: parts[1]) ?? Data(), as: UTF8.self)
        payload = payload.replacingOccurrences(of: "\"acme\"", with: "\"\(tenant)\"")
        return [parts[0], Data(payload.utf8).base64URLEncoded, parts[2]].joined(separator: ".")
    }

    /// The token re-headed with `alg: none` and no signature.
    static func unsigned(_ token: String) -> String {
        let parts = token.split(separator: ".").map(String.init)
        return [Data(#"{"alg":"none","typ":"JWT"}"#.utf8).base64URLEncoded, parts[1], ""].joined(separator: ".")
    }
}
