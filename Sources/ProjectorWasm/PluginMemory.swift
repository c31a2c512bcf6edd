import Foundation

/// A plugin's linear memory during one host call, read and written with every range checked:
/// a pointer or length outside it is a malformed host call, never a host crash.
struct PluginMemory {
    let bytes: UnsafeMutableRawBufferPointer

    /// The `length` bytes at `pointer`.
    func slice(_ pointer: UInt32, _ length: UInt32) throws -> UnsafeRawBufferPointer {
        let (start, count) = (Int(pointer), Int(Int32(bitPattern: length)))
        guard count >= 0, count <= WasmSession.maxTransfer, start + count <= bytes.count else {
            throw PluginFault("a host call named \(count) bytes at \(start), outside the plugin's \(bytes.count) bytes of memory")
        }
        return UnsafeRawBufferPointer(rebasing: bytes[start..<start + count])
    }

    /// The `length` bytes at `pointer`, or up to the NUL after it when `length` is -1 (text the
    /// plugin passes as a C string, so that it need not count it in interpreted code).
    func slice(text pointer: UInt32, _ length: UInt32) throws -> UnsafeRawBufferPointer {
        guard Int32(bitPattern: length) == -1 else { return try slice(pointer, length) }
        let start = Int(pointer)
        let limit = min(bytes.count, start + WasmSession.maxTransfer)
        guard start < limit, let nul = memchr(bytes.baseAddress! + start, 0, limit - start) else {
            throw PluginFault("a host call passed text at \(start) with no NUL after it inside the plugin's memory")
        }
        return UnsafeRawBufferPointer(
            rebasing: bytes[start..<start + (UnsafeRawPointer(nul) - UnsafeRawPointer(bytes.baseAddress! + start))])
    }

    /// The UTF-8 text at `pointer`.
    func text(_ pointer: UInt32, _ length: UInt32) throws -> String {
        guard let text = String(validating: try slice(pointer, length), as: UTF8.self) else {
            throw PluginFault("a host call passed text that is not UTF-8")
        }
        return text
    }

    /// Copies `source` to `pointer` when it fits in `capacity`; returns its full length.
    func write(_ source: UnsafeRawBufferPointer, to pointer: UInt32, capacity: UInt32) throws -> UInt32 {
        guard source.count <= Int(Int32.max) else { throw PluginFault("a result larger than 2 GiB") }
        let (start, count) = (Int(pointer), min(source.count, max(Int(Int32(bitPattern: capacity)), 0)))
        guard start + count <= bytes.count else {
            throw PluginFault("a host call asked for \(count) bytes at \(start), outside the plugin's \(bytes.count) bytes of memory")
        }
        if count > 0 { (bytes.baseAddress! + start).copyMemory(from: source.baseAddress!, byteCount: count) }
        return UInt32(source.count)
    }

    /// What a plugin's texts (JSON paths, SQL) were made into, kept by where the text lies in
    /// its memory and checked against its bytes on every use: a plugin passes the same constant
    /// on every event, and this spares the host a string and a hash of it per call.
    struct Cache<Value> {
        /// Few entries (a plugin's constants): a scan beats hashing.
        private var entries: [(pointer: UInt32, text: [UInt8], value: Value)] = []

        mutating func value(
            at pointer: UInt32, _ text: UnsafeRawBufferPointer, make: (String) throws -> Value
        ) throws -> Value {
            for entry in entries where entry.pointer == pointer && entry.text.count == text.count {
                if text.isEmpty || entry.text.withUnsafeBytes({ memcmp($0.baseAddress!, text.baseAddress!, text.count) == 0 }) {
                    return entry.value
                }
            }
            guard let string = String(validating: text, as: UTF8.self) else {
                throw PluginFault("a host call passed text that is not UTF-8")
            }
            let value = try make(string)
            if entries.count >= 64 { entries.removeAll() }
            entries.append((pointer, Array(text), value))
            return value
        }
    }
}
