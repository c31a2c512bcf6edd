import Foundation
import ProjectorCore
import ProjectorHost
import ProjectorSpecs
import ProjectorTesting
import Testing

@Suite struct ProjectorConfigurationTests {
    let folder = TemporaryFolder()

    @Test func noFileMeansEverythingUnderDotProjector() throws {
        let configuration = try ProjectorConfiguration.load(environment: [:], workingDirectory: folder.path)
        #expect(configuration.log == .sqlite(path: folder.path + "/.projector/events.sqlite"))
        #expect(configuration.stores == folder.path + "/.projector/stores")
        #expect(configuration.projections == folder.path + "/projections")
        #expect(configuration.serverHost == "127.0.0.1" && configuration.serverPort == 8080)
        #expect(configuration.adminToken == nil && configuration.file == nil)
    }

    @Test func relativePathsAreRelativeToTheConfigFilesFolder() throws {
        try FileManager.default.createDirectory(atPath: folder.file("conf"), withIntermediateDirectories: true)
        try """
        log: sqlite:data/log.sqlite
        stores: /var/tmp/stores
        server: { port: 9090 }
        """.write(toFile: folder.file("conf/projector.yml"), atomically: true, encoding: .utf8)
        let configuration = try ProjectorConfiguration.load(
            explicitPath: "conf/projector.yml", environment: ["PROJECTOR_ADMIN_TOKEN": "s3cret"],
            workingDirectory: folder.path)
        #expect(configuration.log == .sqlite(path: folder.path + "/conf/data/log.sqlite"))
        #expect(configuration.stores == "/var/tmp/stores")
        #expect(configuration.projections == folder.path + "/conf/projections")
        #expect(configuration.serverPort == 9090 && configuration.adminToken == "s3cret")
    }

    @Test func postgresLogsAndStoresReadInPlace() throws {
        let cases: [(String, ProjectorConfiguration.LogLocation, String)] = [
            (
                "postgres://app:pw@db:5433/events?schema=es", .postgres(url: "postgres://app:pw@db:5433/events?schema=es"),
                "postgres://app:***@db:5433/events?schema=es"
            ),
            (
                "eventsourcing+postgres://db/app?table=dogschool_events",
                .eventsourcingPostgres(url: "postgres://db/app?table=dogschool_events"),
                "eventsourcing+postgres://db/app?table=dogschool_events"
            ),
            (
                "eventsourcing+sqlite:app.sqlite?table=events", .eventsourcingSQLite(path: folder.path + "/app.sqlite", table: "events"),
                "eventsourcing+sqlite:\(folder.path)/app.sqlite?table=events"
            ),
            (
                "messagedb+postgres://db/message_store", .messageDB(url: "postgres://db/message_store"),
                "messagedb+postgres://db/message_store"
            ),
        ]
        for (text, expected, shown) in cases {
            try "log: \(text)\ncoordination: \(expected.postgresURL == nil ? "local" : "shared")"
                .write(toFile: folder.file("projector.yml"), atomically: true, encoding: .utf8)
            let configuration = try ProjectorConfiguration.load(environment: [:], workingDirectory: folder.path)
            #expect(configuration.log == expected)
            #expect(configuration.log.description == shown)
            #expect(configuration.coordination == (expected.postgresURL == nil ? .local : .shared))
        }
    }

    @Test func theWorkingFolderFileAndTheEnvironmentAreFound() throws {
        try #"{"stores": "s"}"#.write(toFile: folder.file("projector.json"), atomically: true, encoding: .utf8)
        #expect(try ProjectorConfiguration.load(environment: [:], workingDirectory: folder.path).stores == folder.path + "/s")
        try "stores: t".write(toFile: folder.file("other.yml"), atomically: true, encoding: .utf8)
        let viaEnv = try ProjectorConfiguration.load(
            environment: ["PROJECTOR_CONFIG": folder.file("other.yml")], workingDirectory: folder.path)
        #expect(viaEnv.stores == folder.path + "/t")
    }

    @Test(arguments: [
        ("logs: sqlite:x", "projector.yml: logs: unknown key"),
        ("log: mysql://x", "projector.yml: log: must be sqlite:PATH, postgres://"),
        ("coordination: everyone", "projector.yml: coordination: must be local or shared, found 'everyone'"),
        ("coordination: shared", "coordination: shared needs a PostgreSQL log"),
        ("server: { port: 70000 }", "projector.yml: server.port: must be a whole number from 1 to 65535, found 70000"),
        ("server: { hots: x }", "projector.yml: server.hots: unknown key"),
        ("stores: [a]", "projector.yml: stores: must be a non-empty string"),
        ("log: [unclosed", "not valid YAML or JSON"),
        ("- a\n- b", "expected a mapping"),
    ])
    func mistakesAreNamed(yaml: String, message: String) throws {
        try yaml.write(toFile: folder.file("projector.yml"), atomically: true, encoding: .utf8)
        #expect {
            _ = try ProjectorConfiguration.load(environment: [:], workingDirectory: folder.path)
        } throws: { error in
            guard let error = error as? ProjectorError else { return false }
            return error.message.contains(message) && error.message.contains("projector.yml")
                && !error.message.contains("\n")
        }
    }
}
