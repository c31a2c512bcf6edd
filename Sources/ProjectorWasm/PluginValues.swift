import Foundation

/// The ABI's value encoding: per value a tag byte (0 null, 1 integer, 2 double, 3 text), then
/// 8 little-endian bytes, or a 4-byte little-endian length and UTF-8 text.
enum PluginValue: Equatable {
    case null
    case integer(Int64)
    case real(Double)
    case text(String)

    static func decode(_ bytes: UnsafeRawBufferPointer) throws -> [PluginValue] {
        var values: [PluginValue] = []
        var at = 0
        func take(_ count: Int) throws -> UnsafeRawBufferPointer {
            guard count >= 0, at + count <= bytes.count else { throw PluginFault("values end in the middle of a value") }
            defer { at += count }
            return UnsafeRawBufferPointer(rebasing: bytes[at..<at + count])
        }
        func little(_ count: Int) throws -> UInt64 {
            try take(count).reversed().reduce(0) { $0 << 8 | UInt64($1) }
        }
        while at < bytes.count {
            let tag = try take(1)[0]
            switch tag {
            case 0: values.append(.null)
            case 1: values.append(.integer(Int64(bitPattern: try little(8))))
            case 2: values.append(.real(Double(bitPattern: try little(8))))
            case 3:
                guard let text = String(validating: try take(Int(try little(4))), as: UTF8.self) else {
                    throw PluginFault("text value is not UTF-8")
                }
                values.append(.text(text))
            default: throw PluginFault("unknown value tag \(tag)")
            }
        }
        return values
    }

    func encode(into bytes: inout [UInt8]) {
        func little(_ value: UInt64, _ count: Int) {
            for index in 0..<count { bytes.append(UInt8(truncatingIfNeeded: value >> (8 * UInt64(index)))) }
        }
        switch self {
        case .null: bytes.append(0)
        case .integer(let value):
            bytes.append(1)
            little(UInt64(bitPattern: value), 8)
        case .real(let value):
            bytes.append(2)
            little(value.bitPattern, 8)
        case .text(let text):
            bytes.append(3)
            little(UInt64(text.utf8.count), 4)
            bytes.append(contentsOf: text.utf8)
        }
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
