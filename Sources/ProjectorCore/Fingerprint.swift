/// Stable fingerprints of projection definitions (FNV-1a, 64 bits, hex).
public enum Fingerprint {
    public static func of(_ text: String) -> String {
        of(bytes: text.utf8)
    }

    public static func of(bytes: some Sequence<UInt8>) -> String {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in bytes {
            hash = (hash ^ UInt64(byte)) &* 0x0000_0100_0000_01b3
        }
        let hex = String(hash, radix: 16)
        return String(repeating: "0", count: 16 - hex.count) + hex
    }
}
