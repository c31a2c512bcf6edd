public import Foundation

/// The sample events bundled with the binary: real Debian package, changelog and HTML
/// documentation events, and a small course platform (students, enrolments, lessons; written by
/// Tests/Fixtures/make-course-events.py). `serve --demo` imports both.
public enum SampleData {
    public static var eventsURL: URL? {
        Bundle.module.url(forResource: "sample-events", withExtension: "ndjson")
    }

    public static var courseEventsURL: URL? {
        Bundle.module.url(forResource: "course-events", withExtension: "ndjson")
    }

    /// Every bundled sample file, in import order.
    public static var allURLs: [URL] { [eventsURL, courseEventsURL].compactMap { $0 } }
}
