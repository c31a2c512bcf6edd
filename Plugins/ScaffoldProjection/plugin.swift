import Foundation
import PackagePlugin

/// `swift package --allow-writing-to-package-directory scaffold-projection Invoices [--target T] [--wasm c|rust]`
///
/// Writes a Swift projection (`Sources/T/InvoicesProjection.swift`), the schema of the event it
/// reads (`Schemas/invoices-recorded.schema.json`, turned into a typed `InvoicesRecorded` struct
/// by ProjectorSchemaPlugin) and a test that runs it in a real host
/// (`Tests/TTests/InvoicesProjectionTests.swift`). With `--wasm c` or `--wasm rust` it writes a
/// WebAssembly plugin instead (`Projections/invoices/`: source, spec, build script, the SDK) and
/// a test that builds and runs it (`Tests/TTests/InvoicesPluginTests.swift`). Existing files are
/// never overwritten.
@main
struct ScaffoldProjection: CommandPlugin {
    func performCommand(context: PluginContext, arguments: [String]) async throws {
        var extractor = ArgumentExtractor(arguments)
        let targetOption = extractor.extractOption(named: "target").last
        let wasm = extractor.extractOption(named: "wasm").last
        let names = extractor.remainingArguments
        if let wasm, !["c", "rust"].contains(wasm) {
            Diagnostics.error("--wasm takes c or rust, found '\(wasm)'")
            return
        }
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
            let root = context.package.directoryURL
            if let wasm {
                try writePlugin(name, language: wasm, target: target.name, context: context)
                continue
            }
            let files = Templates(name: name, module: target.name)
            try write(
                files.schema,
                to: root.appending(path: "Schemas/\(files.snake.replacingOccurrences(of: "_", with: "-"))-recorded.schema.json"))
            try write(files.projection, to: target.directoryURL.appending(path: "\(name)Projection.swift"))
            try write(files.test, to: root.appending(path: "Tests/\(target.name)Tests/\(name)ProjectionTests.swift"))
        }
    }

    /// A WebAssembly plugin's files, with a copy of the SDK found in Projector's checkout.
    func writePlugin(_ name: String, language: String, target: String, context: PluginContext) throws {
        let files = PluginTemplates(name: name, module: target)
        let packages = [context.package] + context.package.dependencies.map(\.package)
        guard
            let sdk = packages.map({ $0.directoryURL.appending(path: "Plugins/Wasm") })
                .first(where: { FileManager.default.fileExists(atPath: $0.appending(path: "c/projector.h").path()) })
        else {
            Diagnostics.error("Projector's Plugins/Wasm SDK was not found among this package's dependencies")
            return
        }
        let folder = context.package.directoryURL.appending(path: "Projections/\(files.snake)")
        try write(files.spec, to: folder.appending(path: "\(files.snake).yml"))
        if language == "c" {
            try write(
                try String(contentsOf: sdk.appending(path: "c/projector.h"), encoding: .utf8), to: folder.appending(path: "projector.h"))
            try write(files.cSource, to: folder.appending(path: "\(files.snake).c"))
            try write(files.cBuild, to: folder.appending(path: "build.sh"), executable: true)
        } else {
            let crate = sdk.appending(path: "rust/projector-plugin/src/lib.rs")
            try write(try String(contentsOf: crate, encoding: .utf8), to: folder.appending(path: "sdk/projector_plugin.rs"))
            try write(files.rustSource, to: folder.appending(path: "src/lib.rs"))
            try write(files.rustBuild, to: folder.appending(path: "build.sh"), executable: true)
        }
        try write(
            files.test(language: language),
            to: context.package.directoryURL.appending(path: "Tests/\(target)Tests/\(name)PluginTests.swift"))
        print("the test needs ProjectorWasm, ProjectorSpecs and ProjectorTesting in the \(target)Tests target's dependencies")
    }

    func write(_ text: String, to url: URL, executable: Bool = false) throws {
        if FileManager.default.fileExists(atPath: url.path()) {
            Diagnostics.warning("\(url.path()) exists: left as it is")
            return
        }
        try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
        try text.write(to: url, atomically: true, encoding: .utf8)
        if executable { try FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: url.path()) }
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
