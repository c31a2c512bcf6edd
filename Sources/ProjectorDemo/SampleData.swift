public import Foundation

/// The demo material bundled with the `projector` binary: real Debian package, changelog and
/// HTML documentation events, a small course platform (students, enrolments, lessons; written
/// by Tests/Fixtures/make-course-events.py), and example specs. `serve --demo` uses all of it.
public enum SampleData {
    public static var eventsURL: URL? {
        Bundle.module.url(forResource: "sample-events", withExtension: "ndjson")
    }

    public static var courseEventsURL: URL? {
        Bundle.module.url(forResource: "course-events", withExtension: "ndjson")
    }

    /// Every bundled sample file, in import order.
    public static var allURLs: [URL] { [eventsURL, courseEventsURL].compactMap { $0 } }

    /// Copies the example specs (a search index and three SQL reports) into `folder`, never
    /// overwriting a file; returns the files written.
    public static func installExamples(into folder: String) throws -> [String] {
        guard let examples = Bundle.module.url(forResource: "examples", withExtension: nil) else { return [] }
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        var written: [String] = []
        for name in try FileManager.default.contentsOfDirectory(atPath: examples.path).sorted() {
            let target = (folder as NSString).appendingPathComponent(name)
            guard !FileManager.default.fileExists(atPath: target) else { continue }
            try FileManager.default.copyItem(atPath: examples.appendingPathComponent(name).path, toPath: target)
            written.append(target)
        }
        return written
    }
}
