import Foundation
import ProjectorCore
import ProjectorDemo
import ProjectorHost
import ProjectorSQLite
import ProjectorSpecs
import ProjectorTesting
import Testing

@Suite struct ProjectValidatorTests {
    let folder = TemporaryFolder()

    func spec(_ name: String, _ text: String) throws {
        try FileManager.default.createDirectory(atPath: folder.file("projections"), withIntermediateDirectories: true)
        try text.write(toFile: folder.file("projections/\(name)"), atomically: true, encoding: .utf8)
    }

    func validate() async -> [ProjectValidator.Finding] {
        await ProjectValidator.validate(environment: [:], workingDirectory: folder.path, builtIn: [BankAccountsProjection()])
    }

    func errors(_ findings: [ProjectValidator.Finding]) -> [String] {
        findings.filter { $0.level == .error }.map { "\($0.file): \($0.message)" }
    }

    @Test func everyFieldProblemOfAFileIsNamedWithItsField() async throws {
        try spec(
            "bad.yml",
            """
            name: Bad
            kind: sql
            setup: ""
            on: { Deposited: 42, Other: [] }
            extra: 1
            """)
        try spec(
            "search.yml",
            """
            name: docs
            kind: search
            id: $.stream
            fields: { title: { path: $.data.title, weight: -1, format: pdf } }
            """)
        let found = errors(await validate())
        #expect(found.contains("projections/bad.yml: extra: unknown key (known: description, kind, limits, name, on, onError, setup)"))
        #expect(found.contains("projections/bad.yml: name: required, 1-64 characters of a-z, 0-9, _ and -, found 'Bad'"))
        #expect(
            found.contains(
                "projections/bad.yml: setup: required: the CREATE TABLE (and index) statements of the projection's tables, found ''"))
        #expect(found.contains("projections/bad.yml: on.Deposited: must be SQL text or a list of SQL texts, found 42"))
        #expect(found.contains("projections/bad.yml: on.Other: must be SQL text or a list of SQL texts, found []"))
        #expect(found.contains("projections/search.yml: fields.title.weight: must be a number above 0 and at most 1000, found -1"))
        #expect(found.contains("projections/search.yml: fields.title.format: must be text or html, found 'pdf'"))
    }

    @Test func sqlThatDoesNotPrepareIsAnErrorAndAnUnseenEventTypeAWarning() async throws {
        let log = try SQLiteEventLog(path: folder.file(".projector/events.sqlite"))
        _ = try await log.append([ProposedEvent(stream: "a", type: "Deposited", data: #"{"amount":1}"#)])
        try spec(
            "sums.yml",
            """
            name: sums
            kind: sql
            setup: CREATE TABLE sums(stream TEXT PRIMARY KEY, total INTEGER);
            on:
              Deposited: INSERT INTO sums VALUES (:stream, :data ->> '$.amount') ON CONFLICT(stream) DO UPDATE SET total = total + excluded.total
              Depositted: UPDATE sums SET totl = 0 WHERE stream = :stream
            """)
        try spec(
            "fine.yml",
            """
            name: fine
            kind: sql
            setup: CREATE TABLE t(stream TEXT);
            on: { Deposited: "INSERT INTO t VALUES (:stream)", Refunded: "DELETE FROM t WHERE stream = :stream" }
            """)
        let findings = await validate()
        #expect(errors(findings) == ["projections/sums.yml: on.Depositted: no such column: totl"])
        #expect(findings.contains(.init(level: .ok, file: "projections/fine.yml", message: "sql: 2 event types, 2 statements prepared")))
        #expect(
            findings.contains(
                .init(level: .warning, file: "projections/fine.yml", message: "on.Refunded: no Refunded event in the log (yet): a typo?")))
        #expect(!findings.contains { $0.level == .warning && $0.message.contains("on.Deposited") })
    }

    @Test func everyProblemOfTheConfigurationIsNamed() async throws {
        try "server: { port: 0, hots: x }\nbatchSize: lots\n".write(toFile: folder.file("projector.yml"), atomically: true, encoding: .utf8)
        let found = errors(await validate())
        #expect(found.contains("projector.yml: server.port: must be a whole number from 1 to 65535, found 0"))
        #expect(found.contains("projector.yml: server.hots: unknown key (known: host, idleTimeout, port, requestTimeout)"))
        #expect(found.contains("projector.yml: batchSize: must be a whole number from 1 to 100000, found 'lots'"))
    }

    @Test func duplicateNamesAndBadYAMLAreErrors() async throws {
        let text = "name: same\nkind: sql\nsetup: CREATE TABLE t(a);\non: { A: 'INSERT INTO t VALUES (:id)' }\n"
        try spec("one.yml", text)
        try spec("two.yml", text)
        try spec("three.yml", "name: [unclosed\n")
        let found = errors(await validate())
        #expect(found.contains("projections/two.yml: name: 'same' is already used by projections/one.yml"))
        #expect(found.contains { $0.hasPrefix("projections/three.yml: not valid YAML or JSON") })
    }

    @Test func generatedEventStructsRoundTripThroughTheLog() async throws {
        let log = try SQLiteEventLog(path: folder.file("events.sqlite"))
        let stored = try await log.append([try ProposedEvent(stream: "acc-1", Deposited(amount: 250, note: "salary"))])
        #expect(stored[0].type == "Deposited")
        #expect(try stored[0].decode(Deposited.self) == Deposited(amount: 250, note: "salary"))
        #expect(throws: ProjectorError.self) { try stored[0].decode(Withdrawn.self) }
    }

    @Test func validateAndTheHostRefuseTheSameSpecsNamingTheSameFiles() async throws {
        let specs = [
            "builtin.yml": "name: accounts\nkind: sql\nsetup: CREATE TABLE t(a);\non: { A: 'SELECT 1' }\n",
            "temp.yml": "name: temp\nkind: sql\nsetup: CREATE TEMP TABLE t(a);\non: { A: 'SELECT 1' }\n",
            "vacuum.yml": "name: vacuum\nkind: sql\nsetup: CREATE TABLE t(a);\non: { A: VACUUM }\n",
            "spin.yml":
                "name: spin\nkind: sql\nlimits: { steps: 100000 }\nsetup: CREATE TABLE t AS WITH RECURSIVE c(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM c) SELECT n FROM c;\non: { A: 'SELECT 1' }\n",
            "field.yml": "name: field\nkind: search\nid: $.stream\nfields: { documents_fts: $.data.x }\n",
            "good.yml": "name: good\nkind: sql\nsetup: CREATE TABLE t(a);\non: { A: 'INSERT INTO t VALUES (:stream)' }\n",
        ]
        for (name, text) in specs { try spec(name, text) }
        let refusedByValidate = Set(await validate().filter { $0.level == .error }.map { ($0.file as NSString).lastPathComponent })
        let configuration = try ProjectorConfiguration.load(environment: [:], workingDirectory: folder.path)
        let loaded = ProjectionCatalog.load(configuration, builtIn: [BankAccountsProjection()])
        let refusedByHost = Set(loaded.problems.map { ($0.prefix { $0 != ":" } as NSString).lastPathComponent })
        #expect(refusedByValidate == Set(specs.keys).subtracting(["good.yml"]))
        #expect(refusedByHost == refusedByValidate)
        #expect(loaded.projections.map(\.name).sorted() == ["accounts", "good"])
        #expect(
            loaded.problems.contains {
                $0.hasSuffix("builtin.yml: name: 'accounts' is the built-in accounts projection's name: choose another")
            })
        #expect(loaded.problems.contains { $0.hasSuffix("field.yml: fields.documents_fts: 'documents_fts' is reserved") })
    }

    @Test func aliasBombsAndDeepNestingAreRefusedQuicklyInOneLine() async throws {
        var bomb = "a: &a [lol, lol, lol, lol, lol, lol, lol, lol, lol]\n"
        for (name, previous) in zip("bcdefghi", "abcdefgh") {
            bomb += "\(name): &\(name) [" + Array(repeating: "*\(previous)", count: 9).joined(separator: ", ") + "]\n"
        }
        try spec("bomb.yml", bomb + "name: bomb\nkind: sql\n")
        try spec("deep.yml", "name: deep\nkind: sql\nx: " + String(repeating: "[", count: 100_000) + String(repeating: "]", count: 100_000))
        let found = errors(await validate())
        #expect(found.contains("projections/bomb.yml: expands to more than 100000 values (aliases of aliases?): refused"))
        let deep = try #require(found.first { $0.hasPrefix("projections/deep.yml: not valid YAML or JSON") })
        #expect(deep.count < 400 && !deep.contains("\n"))
    }
}
