/// FNV-1a, 64 bits: the integrity check of the toolkit's own files (checkpoints). It detects
/// damage and hand edits, not deliberate forgery; it needs no dependency.
public enum Checksum {
    /// The hash of `bytes` as 16 hexadecimal digits.
    public static func fnv1a64<S: Sequence>(_ bytes: S) -> String where S.Element == UInt8 {
        var h: UInt64 = 0xcbf2_9ce4_8422_2325
        for b in bytes {
            h ^= UInt64(b)
            h = h &* 0x0000_0100_0000_01b3
        }
        let hex = String(h, radix: 16)
        return String(repeating: "0", count: 16 - hex.count) + hex
    }
}
