import Foundation
import ProjectorCore
import ProjectorSpecs
import ProjectorTesting
import Testing
import Yams

/// Editors check files against `Schemas/`; the host and `validate` apply the decoders. These
/// tests keep the two from drifting apart: both accept the examples, both refuse each mistake.
@Suite struct SchemaAgreementTests {
    let folder = TemporaryFolder()
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent()

    func schemaProblems(_ text: String, schema: String) throws -> [String] {
        let schemaText = try String(contentsOf: Self.root.appendingPathComponent("Schemas/\(schema)"), encoding: .utf8)
        return try JSONSchemaValidator(schema: schemaText).problems(Yams.load(yaml: text) ?? [String: Any]())
    }

    /// Whether the decoder refuses `text` as a spec file.
    func decoderRefusesSpec(_ text: String) throws -> Bool {
        let file = folder.file("spec.yml")
        try text.write(toFile: file, atomically: true, encoding: .utf8)
        do {
            _ = try ProjectionCatalog.spec(at: file)
            return false
        } catch {
            return true
        }
    }

    static let sql = "name: r\nkind: sql\nsetup: CREATE TABLE t(a);\non: { A: 'INSERT INTO t VALUES (:stream)' }\n"
    static let search = "name: docs\nkind: search\nid: $.stream\nfields: { title: { path: $.data.title, weight: 2 } }\n"

    @Test func theExamplesAndMinimalSpecsPassBoth() throws {
        let examples = Self.root.appendingPathComponent("Sources/ProjectorDemo/Resources/examples")
        var specs = [Self.sql, Self.search]
        for name in try FileManager.default.contentsOfDirectory(atPath: examples.path).sorted() {
            specs.append(try String(contentsOf: examples.appendingPathComponent(name), encoding: .utf8))
        }
        #expect(specs.count >= 4)
        for text in specs {
            let schema = text.contains("kind: search") ? "search-projection.schema.json" : "sql-projection.schema.json"
            #expect(try schemaProblems(text, schema: schema).isEmpty, "\(text)")
            #expect(try !decoderRefusesSpec(text), "\(text)")
        }
    }

    @Test(arguments: [
        sql + "extra: 1", sql.replacingOccurrences(of: "name: r", with: "name: Bad"), sql + "onError: { tries: 0 }",
        sql + "onError: { then: retry }", sql + "limits: { steps: 10 }", sql + "limits: { fuel: 10 }",
        "name: r\nkind: sql\nsetup: ''\non: { A: 'SELECT 1' }", "name: r\nkind: sql\nsetup: CREATE TABLE t(a);\non: { A: 42 }",
        "name: r\nkind: sql\nsetup: CREATE TABLE t(a);\non: { A: [] }", "name: r\nkind: sql\nsetup: CREATE TABLE t(a);",
        "name: r\nkind: sql\nsetup: CREATE TABLE t(a);\non:\n  A:\n",
    ])
    func sqlMistakesAreRefusedByBoth(text: String) throws {
        #expect(try !schemaProblems(text, schema: "sql-projection.schema.json").isEmpty)
        #expect(try decoderRefusesSpec(text))
    }

    @Test(arguments: [
        search + "extra: 1", search + "tokenizer: icu", search + "events: Published", search + "tenant: 5",
        search.replacingOccurrences(of: "weight: 2", with: "weight: -1"),
        search.replacingOccurrences(of: "weight: 2", with: "weight: 2000"),
        search.replacingOccurrences(of: "weight: 2", with: "format: pdf"),
        search.replacingOccurrences(of: "weight: 2", with: "filter: maybe"),
        search.replacingOccurrences(of: "id: $.stream\n", with: ""),
        "name: docs\nkind: search\nid: $.stream\nfields: {}\n", "name: docs\nkind: search\nid: $.stream\nfields:\n  title:\n",
    ])
    func searchMistakesAreRefusedByBoth(text: String) throws {
        #expect(try !schemaProblems(text, schema: "search-projection.schema.json").isEmpty)
        #expect(try decoderRefusesSpec(text))
    }

    @Test(arguments: [
        "server: { port: 0 }", "server: { hots: x }", "batchSize: lots", "batchSize: 0", "coordination: everyone", "stores: [a]",
        "logs: sqlite:x", "server: { idleTimeout: 0 }",
    ])
    func configurationMistakesAreRefusedByBoth(text: String) throws {
        #expect(try !schemaProblems(text, schema: "projector-config.schema.json").isEmpty)
        try text.write(toFile: folder.file("projector.yml"), atomically: true, encoding: .utf8)
        #expect(throws: ProjectorError.self) { try ProjectorConfiguration.load(environment: [:], workingDirectory: folder.path) }
    }
}
