import Foundation

/// The ABI's value encoding: per value a tag byte (0 null, 1 integer, 2 double, 3 text), then
/// 8 little-endian bytes, or a 4-byte little-endian length and UTF-8 text.
enum PluginValue: Equatable {
    case null
    case integer(Int64)
    case real(Double)
    case text(String)

    /// One value as it lies in the plugin's memory: text is its UTF-8 bytes there, not a copy.
    enum Borrowed {
        case null
        case integer(Int64)
        case real(Double)
        case text(UnsafeRawBufferPointer)
    }

    /// Calls `body` with each value of `bytes` in turn, copying nothing; text is checked as UTF-8.
    static func forEach(in bytes: UnsafeRawBufferPointer, _ body: (Borrowed) throws -> Void) throws {
        var at = 0
        func take(_ count: Int) throws -> UnsafeRawBufferPointer {
            guard count >= 0, at + count <= bytes.count else { throw PluginFault("values end in the middle of a value") }
            defer { at += count }
            return UnsafeRawBufferPointer(rebasing: bytes[at..<at + count])
        }
        func little(_ count: Int) throws -> UInt64 {
            let field = try take(count)
            var value: UInt64 = 0
            for index in (0..<count).reversed() { value = value << 8 | UInt64(field[index]) }
            return value
        }
        while at < bytes.count {
            let tag = try take(1)[0]
            switch tag {
            case 0: try body(.null)
            case 1: try body(.integer(Int64(bitPattern: try little(8))))
            case 2: try body(.real(Double(bitPattern: try little(8))))
            case 3:
                let text = try take(Int(try little(4)))
                guard isUTF8(text) else { throw PluginFault("text value is not UTF-8") }
                try body(.text(text))
            default: throw PluginFault("unknown value tag \(tag)")
            }
        }
    }

    /// Whether `bytes` are UTF-8 (all ASCII checked without building a string).
    static func isUTF8(_ bytes: UnsafeRawBufferPointer) -> Bool {
        bytes.allSatisfy { $0 < 0x80 } || String(validating: bytes, as: UTF8.self) != nil
    }

    func encode(into bytes: inout [UInt8]) {
        switch self {
        case .null: bytes.append(0)
        case .integer(let value): Self.append(1, UInt64(bitPattern: value), 8, to: &bytes)
        case .real(let value): Self.append(2, value.bitPattern, 8, to: &bytes)
        case .text(var text): text.withUTF8 { Self.encode(utf8: $0, into: &bytes) }
        }
    }

    /// Encodes UTF-8 as a text value, or null when there is none.
    static func encode(utf8: UnsafeBufferPointer<UInt8>?, into bytes: inout [UInt8]) {
        guard let utf8 else { return bytes.append(0) }
        append(3, UInt64(utf8.count), 4, to: &bytes)
        bytes.append(contentsOf: utf8)
    }

    private static func append(_ tag: UInt8, _ value: UInt64, _ count: Int, to bytes: inout [UInt8]) {
        bytes.append(tag)
        for index in 0..<count { bytes.append(UInt8(truncatingIfNeeded: value >> (8 * UInt64(index)))) }
    }
}

/// A plugin's malformed host call (a pointer outside its memory, a bad encoding): the event fails.
struct PluginFault: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

/// The synthetic events a plugin's documents become on their way into its search index.
enum WasmDocuments {
    static let upsertType = "projector.upsert"
    static let deleteType = "projector.delete"
}
