import Foundation
import PackagePlugin

/// `swift package --allow-writing-to-package-directory scaffold-projection Invoices [--target T]`
///
/// Writes a Swift projection (`Sources/T/InvoicesProjection.swift`), the schema of the event it
/// reads (`Schemas/invoices-recorded.schema.json`, turned into a typed `InvoicesRecorded` struct
/// by ProjectorSchemaPlugin) and a test that runs it in a real host
/// (`Tests/TTests/InvoicesProjectionTests.swift`). Existing files are never overwritten.
@main
struct ScaffoldProjection: CommandPlugin {
    func performCommand(context: PluginContext, arguments: [String]) async throws {
        var extractor = ArgumentExtractor(arguments)
        let targetOption = extractor.extractOption(named: "target").last
        let names = extractor.remainingArguments
        guard !names.isEmpty else {
            Diagnostics.error("usage: scaffold-projection NAME [--target TARGET] (NAME in UpperCamelCase, e.g. Invoices)")
            return
        }
        let sources = context.package.targets.compactMap { $0 as? SwiftSourceModuleTarget }.filter { $0.kind == .generic }
        let target: SwiftSourceModuleTarget
        if let targetOption {
            guard let found = sources.first(where: { $0.name == targetOption }) else {
                Diagnostics.error("no library target named '\(targetOption)' (targets: \(sources.map(\.name).joined(separator: ", ")))")
                return
            }
            target = found
        } else if sources.count == 1 {
            target = sources[0]
        } else {
            Diagnostics.error("pass --target (library targets: \(sources.map(\.name).joined(separator: ", ")))")
            return
        }
        for name in names {
            guard let first = name.unicodeScalars.first, ("A"..."Z").contains(first),
                name.unicodeScalars.allSatisfy({ ("A"..."Z").contains($0) || ("a"..."z").contains($0) || ("0"..."9").contains($0) })
            else {
                Diagnostics.error("'\(name)' is not an UpperCamelCase name such as Invoices")
                continue
            }
            let files = Templates(name: name, module: target.name)
            let root = context.package.directoryURL
            try write(
                files.schema,
                to: root.appending(path: "Schemas/\(files.snake.replacingOccurrences(of: "_", with: "-"))-recorded.schema.json"))
            try write(files.projection, to: target.directoryURL.appending(path: "\(name)Projection.swift"))
            try write(files.test, to: root.appending(path: "Tests/\(target.name)Tests/\(name)ProjectionTests.swift"))
        }
    }

    func write(_ text: String, to url: URL) throws {
        if FileManager.default.fileExists(atPath: url.path()) {
            Diagnostics.warning("\(url.path()) exists: left as it is")
            return
        }
        try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
        try text.write(to: url, atomically: true, encoding: .utf8)
        print("wrote \(url.path())")
    }
}

/// The three files of a new projection.
struct Templates {
    let name: String
    let module: String

    /// `InvoiceLines` → `invoice_lines`: the projection's name and table.
    var snake: String {
        var out = ""
        for (index, character) in name.enumerated() {
            if character.isUppercase && index > 0 { out += "_" }
            out += character.lowercased()
        }
        return out
    }

    var schema: String {
        """
        {
          "$schema": "https://json-schema.org/draft/2020-12/schema",
          "title": "\(name)Recorded",
          "description": "Something about \(snake.replacingOccurrences(of: "_", with: " ")) happened: an amount recorded against a key.",
          "x-projector-event": "\(name)Recorded",
          "type": "object",
          "required": ["key", "amount"],
          "additionalProperties": false,
          "properties": {
            "key": { "type": "string", "description": "What the amount is recorded against." },
            "amount": { "type": "integer" },
            "note": { "type": "string" }
          }
        }

        """
    }

    var projection: String {
        """
        import GRDB
        import ProjectorCore

        /// Totals of `\(name)Recorded` events per key. Scaffolded by `scaffold-projection`: the
        /// event struct is generated from Schemas/ by ProjectorSchemaPlugin.
        public struct \(name)Projection: Projection {
            public let name = "\(snake)"
            /// Change it whenever setUp or apply change in a way that needs a rebuild.
            public let fingerprint = "\(snake)-v1"
            public var eventTypes: Set<String>? { [\(name)Recorded.eventType] }

            public init() {}

            public func setUp(_ db: Database) throws {
                try db.execute(
                    sql: \"\"\"
                        CREATE TABLE \(snake)(
                            key TEXT PRIMARY KEY,
                            total INTEGER NOT NULL,
                            count INTEGER NOT NULL,
                            last_position INTEGER NOT NULL
                        )
                        \"\"\")
            }

            public func apply(_ events: [RecordedEvent], _ db: Database) throws {
                let upsert = try db.cachedStatement(
                    sql: \"\"\"
                        INSERT INTO \(snake)(key, total, count, last_position) VALUES (?, ?, 1, ?)
                        ON CONFLICT(key) DO UPDATE SET total = total + excluded.total, count = count + 1,
                            last_position = excluded.last_position
                        \"\"\")
                for event in events {
                    let recorded = try event.decode(\(name)Recorded.self)
                    try upsert.execute(arguments: [recorded.key, recorded.amount, event.position])
                }
            }
        }

        """
    }

    var test: String {
        """
        import GRDB
        import ProjectorCore
        import ProjectorHost
        import ProjectorSQLite
        import ProjectorTesting
        import Testing
        import \(module)

        @Suite struct \(name)ProjectionTests {
            let folder = TemporaryFolder()

            @Test func totalsPerKeyInARealHost() async throws {
                let log = try SQLiteEventLog(path: folder.file("events.sqlite"))
                _ = try await log.append([
                    try ProposedEvent(stream: "s-1", \(name)Recorded(key: "a", amount: 2)),
                    try ProposedEvent(stream: "s-1", \(name)Recorded(key: "b", amount: 5, note: "first b")),
                    try ProposedEvent(stream: "s-2", \(name)Recorded(key: "a", amount: 3)),
                ])
                let host = try ProjectorHost(log: log, projections: [\(name)Projection()], storesFolder: folder.file("stores"))
                try await host.catchUp()
                let runner = try #require(host.runner(named: "\(snake)"))
                let rows = try runner.store.pool.read { db in
                    try Row.fetchAll(db, sql: "SELECT key, total, count FROM \(snake) ORDER BY key")
                }
                #expect(rows == [["key": "a", "total": 5, "count": 2], ["key": "b", "total": 5, "count": 1]])
                #expect(try await runner.store.checkpoint()?.position == 3)
            }
        }

        """
    }
}
