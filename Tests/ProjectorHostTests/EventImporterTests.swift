import Foundation
import ProjectorCore
import ProjectorDemo
import ProjectorHost
import ProjectorSQLite
import ProjectorTesting
import Synchronization
import Testing

@Suite struct EventImporterTests {
    let folder = TemporaryFolder()

    func importFile(_ text: String, into log: SQLiteEventLog, name: String = "in.ndjson")
        async throws -> (EventImporter.Progress, [EventImporter.LineError])
    {
        let path = folder.file(name)
        try Data(text.utf8).write(to: URL(fileURLWithPath: path))
        let errors = Mutex<[EventImporter.LineError]>([])
        let handle = try #require(FileHandle(forReadingAtPath: path))
        let progress = try await EventImporter(log: log, batchSize: 3).importLines(
            from: handle, onError: { error in errors.withLock { $0.append(error) } })
        return (progress, errors.withLock { $0 })
    }

    @Test func badLinesAreRejectedWithTheirLineNumbersAndGoodOnesKept() async throws {
        let log = try SQLiteEventLog(path: folder.file("events.sqlite"))
        let text = """
            {"stream":"a","type":"Deposited","data":{"amount":1}}
            {"stream":"a","type":"Deposited","data":{"amount":2}
            {"stream":"a","type":"Deposited","data":[2]}

            {"stream":"a","data":{"amount":3}}
            {"stream":"b","type":"Deposited","data":{"amount":4},"time":"not a time"}
            {"stream":"a","type":"Deposited","data":{"amount":5},"expectedVersion":1}
            {"stream":"a","type":"Deposited","data":{"amount":6},"expectedVersion":1}
            """
        let (progress, errors) = try await importFile(text, into: log)
        try #require(errors.map(\.line) == [2, 3, 5, 6, 8])
        #expect(errors[0].description.hasPrefix("line 2: not a JSON object"))
        #expect(errors[1].description == "line 3: data must be a JSON object, found array")
        #expect(errors[2].description == "line 5: missing type")
        #expect(errors[3].description.contains("time must be an ISO-8601"))
        #expect(errors[4].description.contains("wrong expected version for stream 'a'"))
        #expect(progress.appended == 2 && progress.rejected == 5 && progress.lines == 8)
        let amounts = try await log.read(after: 0, limit: 10).map(\.data)
        #expect(amounts == [#"{"amount":1}"#, #"{"amount":5}"#])
    }

    @Test func aByteOrderMarkAtTheTopIsNotContent() async throws {
        let log = try SQLiteEventLog(path: folder.file("events.sqlite"))
        let text = "\u{FEFF}" + #"{"stream":"a","type":"Deposited","data":{"amount":1}}"#
        let (progress, errors) = try await importFile(text, into: log)
        #expect(errors.isEmpty && progress.appended == 1)
    }

    @Test func reimportingTheSameFileAddsNothingWithOrWithoutIds() async throws {
        let log = try SQLiteEventLog(path: folder.file("events.sqlite"))
        let text = """
            {"id":"6a1c0c7e-2b1a-4f5e-9a57-0d6b1f6d3c11","stream":"a","type":"Deposited","data":{"amount":1}}
            {"stream":"a","type":"Deposited","data":{"amount":2}}
            {"stream":"a","type":"Deposited","data":{"amount":2}}
            {"stream":"b","type":"Deposited","data":{"amount":3}}
            """
        let (first, _) = try await importFile(text, into: log)
        #expect(first.appended == 4, "identical id-less lines in one file are distinct events")
        let (second, _) = try await importFile(text, into: log)
        #expect(second.appended == 0 && second.duplicates == 4)
        let (grown, _) = try await importFile(text + "\n{\"stream\":\"b\",\"type\":\"Deposited\",\"data\":{\"amount\":9}}", into: log)
        #expect(grown.appended == 1 && grown.duplicates == 4, "a file that grew adds only its new lines")
        #expect(try await log.head() == 5)
    }

    @Test func invalidUTF8IsRejectedNotMangled() async throws {
        let log = try SQLiteEventLog(path: folder.file("events.sqlite"))
        var bytes = Array(#"{"stream":"a","type":"T","data":{"name":"caf"#.utf8)
        bytes += [0xC3, 0x28]  // an invalid sequence
        bytes += Array("\"}}\n{\"stream\":\"a\",\"type\":\"T\",\"data\":{\"name\":\"café\"}}\n".utf8)
        let path = folder.file("bad.ndjson")
        try Data(bytes).write(to: URL(fileURLWithPath: path))
        let errors = Mutex<[String]>([])
        let progress = try await EventImporter(log: log).importLines(
            from: FileHandle(forReadingAtPath: path)!, onError: { e in errors.withLock { $0.append(e.description) } })
        #expect(errors.withLock { $0 } == ["line 1: not valid UTF-8"])
        #expect(progress.appended == 1)
        #expect(try await log.read(after: 0, limit: 1)[0].data == #"{"name":"café"}"#)
    }

    @Test func theBundledSampleImportsCleanly() async throws {
        let log = try SQLiteEventLog(path: folder.file("events.sqlite"))
        let url = try #require(SampleData.eventsURL)
        let errors = Mutex(0)
        let progress = try await EventImporter(log: log).importLines(
            from: try FileHandle(forReadingFrom: url), onError: { _ in errors.withLock { $0 += 1 } })
        #expect(errors.withLock { $0 } == 0)
        #expect(progress.appended > 2000)
        let again = try await EventImporter(log: log).importLines(from: try FileHandle(forReadingFrom: url))
        #expect(again.appended == 0)
    }
}
