import Foundation

/// Reads one NDJSON event line (the import and HTTP format) into a ``ProposedEvent``.
///
/// `position` and `version` are ignored (the log assigns them); `stream`, `type` and `data` are
/// required; `id`, `metadata`, `time` and `expectedVersion` are optional. Errors say which field
/// is wrong and why, so an import can report `line 12: data must be a JSON object, found array`.
public enum EventLineParser {
    public static func parse(_ line: UnsafeBufferPointer<UInt8>) throws(ProjectorError) -> ProposedEvent {
        var scanner = JSONScanner(line, refusesDuplicateKeys: true)
        let members: [JSONScanner.Member]
        do {
            members = try scanner.topLevelMembers()
        } catch {
            if error.message.hasPrefix("duplicate key") { throw ProjectorError(.invalidLine, error.message) }
            throw ProjectorError(.invalidLine, "not a JSON object: \(error.message)")
        }
        var stream: String?
        var type: String?
        var data: String?
        var metadata = "{}"
        var id: UUID?
        var time: String?
        var expected = ExpectedVersion.any
        for member in members {
            switch member.key {
            case "stream":
                stream = try requireString(member, scanner)
            case "type":
                type = try requireString(member, scanner)
            case "data":
                guard member.kind == .object else { throw notObject("data", member) }
                data = scanner.text(of: member)
            case "metadata":
                if member.kind == .null { continue }
                guard member.kind == .object else { throw notObject("metadata", member) }
                metadata = scanner.text(of: member)
            case "id":
                if member.kind == .null { continue }
                let text = try requireString(member, scanner)
                guard let uuid = UUIDText.parse(text) else {
                    throw ProjectorError(.invalidLine, "id must be a UUID, found \"\(text)\"")
                }
                id = uuid
            case "time":
                if member.kind == .null { continue }
                let text = try requireString(member, scanner)
                guard let normalized = EventTime.normalized(text) else {
                    throw ProjectorError(.invalidLine, "time must be an ISO-8601 date-time, found \"\(text)\"")
                }
                time = normalized
            case "expectedVersion":
                switch member.kind {
                case .null: continue
                case .number, .string:
                    let text = member.kind == .string ? scanner.string(of: member) : scanner.raw(of: member)
                    guard let value = ExpectedVersion(parsing: text) else {
                        throw ProjectorError(
                            .invalidLine, "expectedVersion must be any, no-stream or a version number, found \(text)")
                    }
                    expected = value
                default:
                    throw ProjectorError(.invalidLine, "expectedVersion must be a number or a string")
                }
            default:
                continue
            }
        }
        guard let stream, !stream.isEmpty else { throw ProjectorError(.invalidLine, "missing stream") }
        guard let type, !type.isEmpty else { throw ProjectorError(.invalidLine, "missing type") }
        guard let data else { throw ProjectorError(.invalidLine, "missing data") }
        var event = ProposedEvent(
            id: id, stream: stream, type: type, data: data, metadata: metadata, time: time ?? EventTime.now(),
            expectedVersion: expected)
        // The scanner validated and compacted data and metadata; time is normalised above.
        event.isCanonical = true
        return event
    }

    /// Parses a line given as a string.
    public static func parse(_ line: String) throws -> ProposedEvent {
        var copy = line
        return try copy.withUTF8 { bytes in try parse(bytes) }
    }

    private static func requireString(_ member: JSONScanner.Member, _ scanner: JSONScanner) throws(ProjectorError)
        -> String
    {
        guard member.kind == .string else {
            throw ProjectorError(.invalidLine, "\(member.key) must be a string, found \(member.kind.rawValue)")
        }
        return scanner.string(of: member)
    }

    private static func notObject(_ field: String, _ member: JSONScanner.Member) -> ProjectorError {
        ProjectorError(.invalidLine, "\(field) must be a JSON object, found \(member.kind.rawValue)")
    }
}
