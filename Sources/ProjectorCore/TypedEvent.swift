public import Foundation

/// An event's data as a Swift type: what the `ProjectorSchemaPlugin` build-tool plugin generates
/// from each event schema in `Schemas/` (`"x-projector-event": "Deposited"`).
///
/// ```swift
/// let deposit = try event.decode(Deposited.self)          // in a projection's apply
/// let proposed = try ProposedEvent(stream: "acc-1", Deposited(amount: 100))
/// ```
public protocol TypedEvent: Codable, Sendable, Equatable {
    /// The event type this data belongs to, as stored in the log.
    static var eventType: String { get }
}

extension RecordedEvent {
    /// The event's data decoded as `E`; throws when the type or the data does not match.
    public func decode<E: TypedEvent>(_: E.Type = E.self) throws -> E {
        guard type == E.eventType else {
            throw ProjectorError.invalidEvent("event \(position) is a \(type), not a \(E.eventType)")
        }
        do {
            return try JSONDecoder().decode(E.self, from: Data(data.utf8))
        } catch {
            throw ProjectorError.invalidEvent("event \(position) (\(type)): data does not match \(E.self): \(error)")
        }
    }
}

extension ProposedEvent {
    /// A proposed event carrying `event` as its data and `E.eventType` as its type.
    public init<E: TypedEvent>(
        id: UUID? = nil, stream: String, _ event: E, metadata: String = "{}", expectedVersion: ExpectedVersion = .any
    ) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        let data = String(decoding: try encoder.encode(event), as: UTF8.self)
        self.init(id: id, stream: stream, type: E.eventType, data: data, metadata: metadata, expectedVersion: expectedVersion)
    }
}
