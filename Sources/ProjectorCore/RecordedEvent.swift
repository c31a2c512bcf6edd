public import Foundation

/// An event as the log stores it: the unit every projection consumes.
///
/// `data` and `metadata` are compact JSON object text, exactly as stored: projections that need
/// values extract them (SQL projections with SQLite's JSON functions, search with JSON paths), and
/// the host never pays to decode what a projection does not read.
public struct RecordedEvent: Hashable, Sendable {
    /// Global position in the log, from 1, increasing without gaps in the embedded log.
    public var position: Int64
    public var id: UUID
    public var stream: String
    /// Version within the stream, from 1.
    public var version: Int64
    public var type: String
    public var data: String
    public var metadata: String
    /// UTC, ISO-8601 with milliseconds (`2026-11-27T05:40:49.123Z`).
    public var time: String
    /// `metadata.tenant` when present: the partition key of a multi-tenant log.
    public var tenant: String?

    public init(
        position: Int64, id: UUID, stream: String, version: Int64, type: String,
        data: String, metadata: String = "{}", time: String, tenant: String? = nil
    ) {
        self.position = position
        self.id = id
        self.stream = stream
        self.version = version
        self.type = type
        self.data = data
        self.metadata = metadata
        self.time = time
        self.tenant = tenant
    }

    /// The event as one NDJSON line (no trailing newline), in the documented key order.
    public var line: String {
        var out = "{\"position\":\(position),\"id\":\"\(UUIDText.format(id))\",\"stream\":"
        out += JSONString.quote(stream)
        out += ",\"version\":\(version),\"type\":"
        out += JSONString.quote(type)
        out += ",\"data\":\(data),\"metadata\":\(metadata),\"time\":\"\(time)\"}"
        return out
    }
}
