public import Foundation
public import GRDB
public import ProjectorCore

/// One kind of spec file (`kind: sql`, `kind: search`, …): how the spec layer reads, checks and
/// describes it. A new kind registers in ``ProjectionKinds`` and touches no other kind or the host.
public protocol ProjectionKind: Sendable {
    /// The `kind:` value that selects it.
    var name: ProjectionKindName { get }
    /// The projection a spec file defines, usually `spec.decode` of a `Decodable` spec reading its
    /// fields with ``SpecFields``, so every problem is named with its field.
    func projection(from spec: SpecFile) throws -> any Projection<Database>
    /// What `validate` says about a spec of this kind it accepted.
    func describe(_ projection: any Projection<Database>) -> SpecDescription
    /// Whether a changed definition starts its rebuild by itself (else it waits for `rebuild`).
    var rebuildsWhenChanged: Bool { get }
}

extension ProjectionKind {
    public var rebuildsWhenChanged: Bool { false }
}

/// A spec file read, ready to be decoded by its kind.
public struct SpecFile {
    /// The file's path, as found in the projections folder.
    public let path: String
    /// Its `kind:` value, nil when missing or not text.
    public let kind: ProjectionKindName?
    /// The file as canonical JSON.
    let json: Data

    /// A file read into `values`.
    init(path: String, values: [String: Any]) throws {
        self.init(path: path, json: try SpecProblems.canonicalJSON(values), values: values)
    }

    /// A spec kept as its canonical JSON (a store's definition).
    init?(path: String, json: Data) {
        guard let values = (try? JSONSerialization.jsonObject(with: json)) as? [String: Any] else { return nil }
        self.init(path: path, json: json, values: values)
    }

    private init(path: String, json: Data, values: [String: Any]) {
        self.path = path
        self.json = json
        kind = (values["kind"] as? String).map(ProjectionKindName.init(rawValue:))
    }

    /// The folder the file is in, for files a spec names beside it.
    public var folder: String { (path as NSString).deletingLastPathComponent }

    /// The file decoded as `T`; every problem its fields note is thrown as ``SpecProblems``.
    public func decode<T: Decodable>(_ type: T.Type) throws -> T {
        try SpecProblems.decode(type, json: json, file: path)
    }
}

/// What `validate` reports about an accepted spec.
public struct SpecDescription: Sendable {
    /// One line, e.g. "sql: 2 event types, 3 statements prepared".
    public var summary: String
    /// The event types the spec names, with the field that names each (checked against the log).
    public var eventTypes: [(field: String, type: String)]
    /// What `validate` should warn about, each one line.
    public var warnings: [String]

    public init(summary: String, eventTypes: [(field: String, type: String)], warnings: [String] = []) {
        self.summary = summary
        self.eventTypes = eventTypes
        self.warnings = warnings
    }
}
