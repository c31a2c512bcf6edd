import ArgumentParser
import Foundation
import ProjectorCore
import ProjectorServer
import ProjectorSpecs

struct KeysCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "keys",
        abstract: "Make, list and revoke API keys; sign tenant tokens.",
        discussion: """
            Once any key exists, the HTTP search and status routes need a credential: a key, a \
            tenant token signed with one, or the admin token. Keys are kept hashed in keys.db \
            beside the projection stores; a key's secret is shown once, when it is made.
              projector keys create backend --action search --index docs
              projector keys token prj_… --tenant acme --index docs --ttl 3600
            """,
        subcommands: [Create.self, List.self, Revoke.self, Token.self])

    struct Create: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Make a key and print its secret (shown only now).")
        @OptionGroup var global: GlobalOptions
        @Argument(help: "A label for the key, e.g. the application using it.") var name: String
        @Option(name: .customLong("action"), help: "search, status, append or admin (repeatable; admin may do all).")
        var actions: [String] = ["search"]
        @Option(name: .customLong("index"), help: "An index name or pattern the key may search: docs, docs-*, * (repeatable).")
        var indexes: [String] = ["*"]

        func run() async throws {
            let parsed: [APIKey.Action]
            do { parsed = try APIKey.Action.parse(actions) } catch {
                throw ProjectorError(.invalidConfiguration, "--action: \(error.message)")
            }
            let store = try KeyStore(folder: try global.configuration().stores)
            let (key, secret) = try store.create(name: name, actions: parsed, indexes: indexes)
            Terminal.note(
                "key \(key.id) (\(key.name)): \(key.actions.map(\.rawValue).joined(separator: ", ")) on \(key.indexes.joined(separator: ", ")); keep the secret, it is not shown again"
            )
            print(secret)
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List the keys (never their secrets).")
        @OptionGroup var global: GlobalOptions
        @Flag(help: "Print JSON.") var json = false

        func run() async throws {
            let keys = try KeyStore(folder: try global.configuration().stores).list()
            if json {
                let encoder = JSONEncoder()
                encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
                print(String(decoding: try encoder.encode(keys), as: UTF8.self))
                return
            }
            for key in keys {
                let state = key.revokedAt.map { "revoked \($0)" } ?? "active"
                print(
                    "\(key.id)  \(key.name)  \(key.actions.map(\.rawValue).joined(separator: ","))  \(key.indexes.joined(separator: ","))  \(state)"
                )
            }
        }
    }

    struct Revoke: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Revoke a key: it and every token it signed are refused.")
        @OptionGroup var global: GlobalOptions
        @Argument(help: "The key's id (from keys list).") var id: String

        func run() async throws {
            let key = try KeyStore(folder: try global.configuration().stores).revoke(id)
            Terminal.note("key \(key.id) (\(key.name)) revoked")
        }
    }

    struct Token: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Sign a tenant token with a search key (what an application's backend does per user).")
        @Argument(help: "The key's secret (prj_…), or - to read it from standard input.") var secret: String
        @Option(help: "The tenant the token searches within.") var tenant: String?
        @Option(name: .customLong("index"), help: "An index name or pattern the token may search (repeatable).")
        var indexes: [String] = ["*"]
        @Option(help: "Seconds until the token expires.") var ttl: Int = 3600

        func run() async throws {
            var secret = secret
            if secret == "-" { secret = (readLine() ?? "").trimmingCharacters(in: .whitespaces) }
            guard let id = APIKey.id(ofSecret: secret) else {
                throw ProjectorError(.invalidConfiguration, "not a key secret: it starts prj_ and comes from `projector keys create`")
            }
            guard ttl > 0 else { throw ProjectorError(.invalidConfiguration, "--ttl must be a positive number of seconds") }
            let token = TenantToken(keyID: id, indexes: indexes, tenant: tenant, expires: Date().addingTimeInterval(Double(ttl)))
            print(token.signed(with: secret))
        }
    }
}

struct TenantsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "tenants",
        abstract: "Remove a tenant's data from every projection.",
        discussion: """
            Appends a $TenantPurged event for the tenant: partitioned search indexes delete its \
            documents, SQL specs that handle $TenantPurged run their statements (:tenant). The \
            event stays in the log, so a rebuild from zero purges the tenant again.
              projector tenants purge acme
            """,
        subcommands: [Purge.self])

    struct Purge: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Purge a tenant from every projection.")
        @OptionGroup var global: GlobalOptions
        @Argument(help: "The tenant (metadata.tenant of its events).") var tenant: String

        func run() async throws {
            let configuration = try global.configuration()
            let log = try global.log(configuration)
            let stored = try await log.whileRunning { try await log.append([TenantPurge.event(tenant)]) }
            Terminal.note("tenant '\(tenant)' purge appended at position \(stored[0].position): projections apply it as they reach it")
        }
    }
}
