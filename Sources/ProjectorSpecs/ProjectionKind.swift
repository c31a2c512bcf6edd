import Foundation
public import GRDB
public import ProjectorCore

/// One kind of spec file (`kind: sql`, `kind: search`, …): how the spec layer reads, checks and
/// describes it. A new kind registers in ``ProjectionKinds`` and touches no other kind or the host.
public protocol ProjectionKind: Sendable {
    /// The `kind:` value that selects it.
    var name: String { get }
    /// The JSON Schema (draft 2020-12 subset) its files are checked against by `validate`.
    var schema: String { get }
    /// The projection a spec file defines; errors are one line naming the file and the field.
    func projection(from spec: SpecFile) throws -> any Projection<Database>
    /// What `validate` says about a spec of this kind it accepted.
    func describe(_ projection: any Projection<Database>) -> SpecDescription
    /// Whether a changed definition starts its rebuild by itself (else it waits for `rebuild`).
    var rebuildsWhenChanged: Bool { get }
}

extension ProjectionKind {
    public var rebuildsWhenChanged: Bool { false }
}

/// A spec file read into its top-level mapping.
public struct SpecFile {
    /// The file's path, as found in the projections folder.
    public let path: String
    public let values: [String: Any]

    public init(path: String, values: [String: Any]) {
        self.path = path
        self.values = values
    }

    /// The folder the file is in, for files a spec names beside it.
    public var folder: String { (path as NSString).deletingLastPathComponent }
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
