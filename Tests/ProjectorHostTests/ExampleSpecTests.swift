import Foundation
import GRDB
import Logging
import ProjectorCore
import ProjectorDemo
import ProjectorHost
import ProjectorSQLite
import ProjectorSpecs
import ProjectorTesting
import Testing

/// The bundled example specs, run over the bundled samples and checked against the events
/// themselves (counted here independently of SQL).
@Suite struct ExampleSpecTests {
    let folder = TemporaryFolder()

    func runExamples() async throws -> ProjectorHost {
        let log = try SQLiteEventLog(path: folder.file("events.sqlite"))
        for url in SampleData.allURLs {
            _ = try await EventImporter(log: log).importLines(from: try FileHandle(forReadingFrom: url))
        }
        let examples = folder.file("projections")
        _ = try SampleData.installExamples(into: examples)
        let projections = try ProjectionCatalog.specFiles(in: examples).map { try ProjectionCatalog.spec(at: $0) }
        var logger = Logger(label: "test")
        logger.logLevel = .critical
        let host = try ProjectorHost(log: log, projections: projections, storesFolder: folder.file("stores"), logger: logger)
        try await host.catchUp()
        for status in try await host.status() {
            #expect(status.state != .failed, "\(status.name): \(status.lastError ?? "")")
        }
        return host
    }

    /// Every sample event's type and data, decoded the plain way.
    func sampleEvents() throws -> [(type: String, time: String, data: [String: Any])] {
        try SampleData.allURLs.flatMap { url in
            try String(contentsOf: url, encoding: .utf8).split(separator: "\n").map { line in
                let object = try JSONSerialization.jsonObject(with: Data(line.utf8)) as! [String: Any]
                return (object["type"] as! String, object["time"] as! String, object["data"] as! [String: Any])
            }
        }
    }

    func fetch<T: DatabaseValueConvertible & Sendable>(_ host: ProjectorHost, _ name: String, _ sql: String) async throws -> [T] {
        try await host.runner(named: name)!.store.pool.read { db in try T.fetchAll(db, sql: sql) }
    }

    @Test func theExamplesAnswerTheirQuestionsFromTheSamples() async throws {
        let host = try await runExamples()
        let events = try sampleEvents()

        // Course durations: enrolments and completions per course match the events.
        for course in ["swift-basics", "sql-for-analysts", "event-sourcing", "search-engines", "postgres-ops"] {
            let enrolled = events.filter { $0.type == "StudentEnrolled" && $0.data["course"] as? String == course }.count
            let completed = events.filter { $0.type == "CourseCompleted" && $0.data["course"] as? String == course }.count
            let row: [Int] = try await fetch(
                host, "course-durations",
                "SELECT enrolled FROM course_durations WHERE course = '\(course)' UNION ALL SELECT completed FROM course_durations WHERE course = '\(course)'"
            )
            #expect(row == [enrolled, completed], "\(course)")
        }
        let negative: [Int] = try await fetch(host, "course-durations", "SELECT count(*) FROM enrolments WHERE days < 0")
        #expect(negative == [0])

        // Releases per maintainer per year: the counts add up to the changelog entries.
        let releases = events.filter { $0.type == "VersionReleased" }
        let total: [Int] = try await fetch(host, "releases", "SELECT sum(releases) FROM releases_per_year")
        #expect(total == [releases.count])
        let years = Set(releases.map { Int($0.time.prefix(4))! })
        let stored: [Int] = try await fetch(host, "releases", "SELECT DISTINCT year FROM releases_per_year ORDER BY year")
        #expect(stored == years.sorted())

        // The email lookup: every student once, under their latest email.
        var latest: [String: String] = [:]
        for event in events where event.type == "StudentRegistered" || event.type == "StudentEmailChanged" {
            latest[event.data["student"] as! String] = (event.data["email"] as! String).lowercased()
        }
        let pairs: [String] = try await fetch(host, "student-emails", "SELECT student || ' ' || email FROM emails ORDER BY student")
        #expect(pairs == latest.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value)" })
    }
}
