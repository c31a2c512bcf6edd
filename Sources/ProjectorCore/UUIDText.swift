package import Foundation

/// UUID text without Foundation's sprintf/sscanf: ids are formatted and parsed once per event
/// on the log's hot paths (append, read), where Foundation's versions showed in profiles.
package enum UUIDText {
    private static let hex = Array("0123456789abcdef".utf8)

    /// Lowercase `8-4-4-4-12` text.
    public static func format(_ uuid: UUID) -> String {
        withUnsafeBytes(of: uuid.uuid) { raw in
            String(unsafeUninitializedCapacity: 36) { out in
                var o = 0
                for i in 0..<16 {
                    if i == 4 || i == 6 || i == 8 || i == 10 {
                        out[o] = UInt8(ascii: "-")
                        o += 1
                    }
                    out[o] = hex[Int(raw[i] >> 4)]
                    out[o + 1] = hex[Int(raw[i] & 0x0F)]
                    o += 2
                }
                return 36
            }
        }
    }

    /// Parses `8-4-4-4-12` hex text (either case); nil otherwise.
    public static func parse(_ text: String) -> UUID? {
        var copy = text
        return copy.withUTF8 { bytes -> UUID? in
            guard bytes.count == 36 else { return nil }
            var value = [UInt8](repeating: 0, count: 16)
            var b = 0
            var i = 0
            while i < 36 {
                if i == 8 || i == 13 || i == 18 || i == 23 {
                    guard bytes[i] == UInt8(ascii: "-") else { return nil }
                    i += 1
                    continue
                }
                guard let high = nibble(bytes[i]), let low = nibble(bytes[i + 1]) else { return nil }
                value[b] = high << 4 | low
                b += 1
                i += 2
            }
            return UUID(
                uuid: (
                    value[0], value[1], value[2], value[3], value[4], value[5], value[6], value[7],
                    value[8], value[9], value[10], value[11], value[12], value[13], value[14], value[15]
                ))
        }
    }

    private static func nibble(_ byte: UInt8) -> UInt8? {
        switch byte {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): byte - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): byte - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): byte - UInt8(ascii: "A") + 10
        default: nil
        }
    }
}
