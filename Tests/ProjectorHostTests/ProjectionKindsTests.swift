import Foundation
import GRDB
import ProjectorCore
import ProjectorHost
import ProjectorSQLite
import ProjectorSpecs
import ProjectorTesting
import Testing

/// A kind defined outside the spec layer: `kind: recording`, a name and an optional event type.
struct RecordingKind: ProjectionKind {
    /// Its spec file, read with the field reader every kind uses.
    struct Spec: Decodable {
        var name: String?
        var type: String?

        init(from decoder: any Decoder) {
            let fields = SpecFields(decoder, known: ["name", "kind", "type"], expected: "a mapping with name and kind")
            name = fields.required("name", String.self, "required")
            type = fields.optional("type", String.self, "must be an event type")
        }
    }

    var name: ProjectionKindName { "recording" }

    func projection(from spec: SpecFile) throws -> any Projection<Database> {
        let decoded = try spec.decode(Spec.self)
        var projection = RecordingProjection(name: decoded.name ?? "")
        if let type = decoded.type { projection.eventTypes = [type] }
        return projection
    }

    func describe(_ projection: any Projection<Database>) -> SpecDescription {
        SpecDescription(summary: "recording", eventTypes: projection.eventTypes.map { $0.map { ("type", $0) } } ?? [])
    }
}

@Suite struct ProjectionKindsTests {
    let folder = TemporaryFolder()

    func write(_ name: String, _ text: String) throws {
        try FileManager.default.createDirectory(atPath: folder.file("projections"), withIntermediateDirectories: true)
        try text.write(toFile: folder.file("projections/\(name)"), atomically: true, encoding: .utf8)
    }

    /// A registered kind is decoded, described by validate and run by the
    /// host; without it the spec is refused with the known kinds named.
    @Test func aRegisteredKindIsLoadedValidatedAndRun() async throws {
        try write("seen.yml", "name: seen\nkind: recording\ntype: Opened\n")
        try write("typo.yml", "name: typo\nkind: recording\ntpye: Opened\n")
        let configuration = try ProjectorConfiguration.load(environment: [:], workingDirectory: folder.path)
        let kinds = ProjectionKinds.standard.adding(RecordingKind())
        guard case .sqlite(let path) = configuration.log else { throw ProjectorError(.invalidConfiguration, "expected the embedded log") }
        try FileManager.default.createDirectory(atPath: (path as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        let log = try SQLiteEventLog(path: path)
        _ = try await log.append([
            ProposedEvent(stream: "a", type: "Closed", data: "{}"), ProposedEvent(stream: "a", type: "Closed", data: "{}"),
        ])

        let standard = ProjectionCatalog.load(configuration)
        #expect(standard.projections.isEmpty)
        #expect(standard.problems.contains { $0.hasSuffix("seen.yml: kind: must be sql or search, found 'recording'") })

        let loaded = ProjectionCatalog.load(configuration, kinds: kinds)
        #expect(loaded.projections.map(\.name) == ["seen"])
        #expect(
            loaded.problems.count == 1 && loaded.problems[0].hasSuffix("typo.yml: tpye: unknown key (known: kind, name, type)"),
            "\(loaded.problems)")
        let findings = await ProjectValidator.validate(environment: [:], workingDirectory: folder.path, kinds: kinds)
        #expect(findings.contains { $0.file.hasSuffix("seen.yml") && $0.level == .ok && $0.message == "recording" })
        #expect(
            findings.contains { $0.file.hasSuffix("seen.yml") && $0.level == .warning && $0.message.hasPrefix("type: no Opened event") })
        #expect(findings.contains { $0.file.hasSuffix("typo.yml") && $0.level == .error && $0.message.contains("tpye") })

        _ = try await log.append([ProposedEvent(stream: "b", type: "Opened", data: "{}")])
        let host = try ProjectorHost(log: log, projections: loaded.projections, storesFolder: folder.file("stores"))
        try await host.runUntilSignalled(once: true)
        let store = try #require(host.runner(named: "seen")).store
        let applied = try await store.pool.read { db in try String.fetchAll(db, sql: "SELECT type FROM applied") }
        #expect(applied == ["Opened"])
    }
}
