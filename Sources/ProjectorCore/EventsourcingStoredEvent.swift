import Foundation

/// A row of the Python `eventsourcing` library's stored-events table (its PostgreSQL and SQLite
/// application recorders), read in place and seen as a Projector event.
///
/// Mapping: position = `notification_id` (SQLite: `rowid`); stream = `originator_id`; version =
/// `originator_version`; type = the topic's qualified name (`bank.domain:Account.Opened` →
/// `Account.Opened`), the whole topic in `metadata.topic`; data = the JSON state with the
/// library's `{"_type_": …, "_data_": …}` wrappers unwrapped and without the three envelope
/// attributes; time = its `timestamp`. The library stores no event id, so the id is a
/// name-based UUID (version 8) of originator and version: the same on every read and host.
/// State that is not JSON (compressed or encrypted) comes as `{}` data with the bytes in
/// `metadata.stateBase64`, so nothing is silently lost.
public struct EventsourcingStoredEvent: Sendable {
    public var notificationID: Int64
    public var originatorID: String
    public var originatorVersion: Int64
    public var topic: String
    public var state: [UInt8]

    public init(notificationID: Int64, originatorID: String, originatorVersion: Int64, topic: String, state: [UInt8]) {
        self.notificationID = notificationID
        self.originatorID = originatorID
        self.originatorVersion = originatorVersion
        self.topic = topic
        self.state = state
    }

    private static let envelope: Set<String> = ["originator_id", "originator_version", "timestamp"]

    public var recorded: RecordedEvent {
        var type = topic
        if let colon = topic.lastIndex(of: ":") { type = String(topic[topic.index(after: colon)...]) }
        var metadata: [String: Any] = ["topic": topic]
        var data = "{}"
        var time = "1970-01-01T00:00:00.000Z"
        if let object = try? JSONSerialization.jsonObject(with: Data(state)), let fields = Self.unwrap(object) as? [String: Any] {
            if let stamp = fields["timestamp"] as? String, let normalized = EventTime.normalized(stamp) { time = normalized }
            let kept = fields.filter { !Self.envelope.contains($0.key) }
            data = Self.compact(kept)
        } else {
            metadata["stateBase64"] = Data(state).base64EncodedString()
        }
        return RecordedEvent(
            position: notificationID, id: Self.id(originatorID, originatorVersion), stream: originatorID,
            version: originatorVersion, type: type.isEmpty ? "unknown" : type, data: data, metadata: Self.compact(metadata),
            time: time)
    }

    /// `{"_type_": "uuid_hex", "_data_": "…"}` → `"…"`, recursively.
    private static func unwrap(_ value: Any) -> Any {
        if let object = value as? [String: Any] {
            if object.count == 2, object["_type_"] is String, let inner = object["_data_"] { return unwrap(inner) }
            return object.mapValues(unwrap)
        }
        if let array = value as? [Any] { return array.map(unwrap) }
        return value
    }

    private static func compact(_ object: [String: Any]) -> String {
        guard let bytes = try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys, .withoutEscapingSlashes])
        else { return "{}" }
        return String(decoding: bytes, as: UTF8.self)
    }

    /// A version-8 UUID from two 64-bit FNV-1a hashes of `originator/version`.
    static func id(_ originator: String, _ version: Int64) -> UUID {
        let text = Array("\(originator)/\(version)".utf8)
        func fnv(_ seed: UInt64) -> UInt64 {
            var hash = seed
            for byte in text {
                hash ^= UInt64(byte)
                hash = hash &* 0x100_0000_01B3
            }
            return hash
        }
        var bytes = [UInt8](repeating: 0, count: 16)
        let (high, low) = (fnv(0xCBF2_9CE4_8422_2325), fnv(0x8422_2325_CBF2_9CE4))
        for i in 0..<8 {
            bytes[i] = UInt8(truncatingIfNeeded: high >> (8 * (7 - i)))
            bytes[8 + i] = UInt8(truncatingIfNeeded: low >> (8 * (7 - i)))
        }
        bytes[6] = (bytes[6] & 0x0F) | 0x80
        bytes[8] = (bytes[8] & 0x3F) | 0x80
        return UUID(
            uuid: (
                bytes[0], bytes[1], bytes[2], bytes[3], bytes[4], bytes[5], bytes[6], bytes[7],
                bytes[8], bytes[9], bytes[10], bytes[11], bytes[12], bytes[13], bytes[14], bytes[15]
            ))
    }
}
