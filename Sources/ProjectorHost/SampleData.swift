public import Foundation

/// The sample events bundled with the binary: real Debian package, changelog and HTML
/// documentation events, plus a few bank-account events for the built-in Swift example.
public enum SampleData {
    public static var eventsURL: URL? {
        Bundle.module.url(forResource: "sample-events", withExtension: "ndjson")
    }
}
