/// FNV-1a, 64 bits: the toolkit's one byte hash. It checks the integrity of its own files
/// (checkpoints: it detects damage and hand edits, not deliberate forgery), names study folders
/// and seeds report bootstraps from labels; it needs no dependency.
public enum Checksum {
    /// FNV-1a's offset basis, the hash of no bytes.
    public static let offsetBasis: UInt64 = 0xcbf2_9ce4_8422_2325

    /// The hash of `bytes`, continuing from `state` (``offsetBasis`` to start).
    @inlinable
    public static func fnv1a64<S: Sequence>(_ bytes: S, continuing state: UInt64) -> UInt64 where S.Element == UInt8 {
        var h = state
        for b in bytes { h = (h ^ UInt64(b)) &* 0x0000_0100_0000_01b3 }
        return h
    }

    /// The hash of `bytes` as 16 hexadecimal digits.
    public static func fnv1a64<S: Sequence>(_ bytes: S) -> String where S.Element == UInt8 {
        let hex = String(fnv1a64(bytes, continuing: offsetBasis), radix: 16)
        return String(repeating: "0", count: 16 - hex.count) + hex
    }
}
