/// A JSON path over the event envelope: `$.stream`, `$.time`, `$.data.package`,
/// `$.metadata.tenant`, `$.data.tags[0]`, `$.data["odd key"]`.
public struct JSONPath: Sendable, Hashable, CustomStringConvertible {
    public enum Component: Sendable, Hashable {
        case key(String)
        case index(Int)
    }

    /// The envelope fields a path may start with.
    public static let envelopeFields = Set(Field.allCases.map(\.rawValue))

    public let components: [Component]
    public let description: String
    /// The envelope field the path starts with, read without comparing strings per event.
    private let field: Field

    private enum Field: String, Sendable, CaseIterable {
        case position, id, stream, version, type, data, metadata, time, tenant
    }

    public struct ParseError: Error, CustomStringConvertible {
        public let description: String
    }

    public init(_ text: String) throws {
        description = text
        var rest = Substring(text)
        guard rest.hasPrefix("$") else { throw ParseError(description: "a path starts with $, e.g. $.data.name") }
        rest = rest.dropFirst()
        var components: [Component] = []
        while let first = rest.first {
            if first == "." {
                rest = rest.dropFirst()
                let key = rest.prefix { $0 != "." && $0 != "[" }
                guard !key.isEmpty else { throw ParseError(description: "empty key in '\(text)'") }
                components.append(.key(String(key)))
                rest = rest.dropFirst(key.count)
            } else if first == "[" {
                rest = rest.dropFirst()
                if rest.first == "\"" {
                    rest = rest.dropFirst()
                    guard let close = rest.firstIndex(of: "\"") else { throw ParseError(description: "unclosed quote in '\(text)'") }
                    components.append(.key(String(rest[..<close])))
                    rest = rest[rest.index(after: close)...]
                } else {
                    let digits = rest.prefix { $0.isNumber }
                    guard let index = Int(digits) else { throw ParseError(description: "expected an index or a quoted key in '\(text)'") }
                    components.append(.index(index))
                    rest = rest.dropFirst(digits.count)
                }
                guard rest.first == "]" else { throw ParseError(description: "expected ] in '\(text)'") }
                rest = rest.dropFirst()
            } else {
                throw ParseError(description: "unexpected '\(first)' in '\(text)'")
            }
        }
        guard case .key(let head)? = components.first, let field = Field(rawValue: head) else {
            throw ParseError(
                description: "'\(text)' must start with an event field: $.\(Self.envelopeFields.sorted().joined(separator: ", $."))")
        }
        if field != .data, field != .metadata, components.count > 1 {
            throw ParseError(description: "$.\(head) has no parts")
        }
        self.components = components
        self.field = field
    }

    /// Evaluates the path over an event: text for strings, numbers and booleans; array elements
    /// joined by spaces; objects as JSON; nil when absent or null.
    public func value(in event: RecordedEvent) -> String? {
        switch field {
        case .position: String(event.position)
        case .id: UUIDText.format(event.id)
        case .stream: event.stream
        case .version: String(event.version)
        case .type: event.type
        case .time: event.time
        case .tenant: event.tenant
        case .data: JSONNavigator.value(at: components.dropFirst(), in: event.data)
        case .metadata: JSONNavigator.value(at: components.dropFirst(), in: event.metadata)
        }
    }
}

/// Walks compact JSON text without building a tree.
enum JSONNavigator {
    static func value(at path: ArraySlice<JSONPath.Component>, in text: String) -> String? {
        var copy = text
        return copy.withUTF8 { bytes in value(at: path, in: bytes) }
    }

    static func value(at path: ArraySlice<JSONPath.Component>, in bytes: UnsafeBufferPointer<UInt8>) -> String? {
        var scanner = JSONScanner(bytes)
        guard let component = path.first else {
            guard let kind = try? scanner.validateDocument() else { return nil }
            return render(kind, bytes)
        }
        switch component {
        case .key(let key):
            guard let members = try? scanner.topLevelMembers(), let member = members.last(where: { $0.key == key })
            else { return nil }
            return value(at: path.dropFirst(), in: UnsafeBufferPointer(rebasing: bytes[member.range]))
        case .index(let index):
            guard let elements = try? scanner.arrayElements(), index < elements.count else { return nil }
            return value(at: path.dropFirst(), in: UnsafeBufferPointer(rebasing: bytes[elements[index]]))
        }
    }

    static func render(_ kind: JSONScanner.Kind, _ bytes: UnsafeBufferPointer<UInt8>) -> String? {
        switch kind {
        case .null: return nil
        case .string:
            let inner = UnsafeBufferPointer(rebasing: bytes[1..<(bytes.count - 1)])
            return inner.contains(UInt8(ascii: "\\")) ? JSONScanner.unescape(inner) : String(decoding: inner, as: UTF8.self)
        case .number, .boolean, .object:
            return String(decoding: bytes, as: UTF8.self)
        case .array:
            var scanner = JSONScanner(bytes)
            guard let elements = try? scanner.arrayElements() else { return nil }
            let parts = elements.compactMap { range -> String? in
                let slice = UnsafeBufferPointer(rebasing: bytes[range])
                var inner = JSONScanner(slice)
                guard let kind = try? inner.validateDocument() else { return nil }
                return render(kind, slice)
            }
            return parts.isEmpty ? nil : parts.joined(separator: " ")
        }
    }
}
