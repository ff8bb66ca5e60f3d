/// Xoshiro256**, the toolkit's random number generator (Blackman & Vigna, 2018).
///
/// Fast, 256 bits of state, and seeded from SplitMix64 as its authors recommend. Every random
/// decision in the toolkit is drawn from a generator made by ``init(seed:stream:)`` from the run's
/// seed and the coordinates of the work item (for example iteration and block), never from a
/// per-thread generator: the same seed gives the same numbers on any number of cores.
public struct Xoshiro256: RandomNumberGenerator, Sendable {
    @usableFromInline var s0: UInt64
    @usableFromInline var s1: UInt64
    @usableFromInline var s2: UInt64
    @usableFromInline var s3: UInt64

    /// Creates a generator whose state is four SplitMix64 outputs from `seed`.
    @inlinable
    public init(seed: UInt64) {
        var sm = SplitMix64(seed: seed)
        s0 = sm.next(); s1 = sm.next(); s2 = sm.next(); s3 = sm.next()
        // The all-zero state is the one state Xoshiro must never be in; SplitMix64 cannot
        // produce four zeros in a row, but keep the invariant explicit.
        if s0 | s1 | s2 | s3 == 0 { s0 = 1 }
    }

    /// Creates the generator of one work item: the stream is identified by the run's seed and
    /// any number of coordinates (iteration, block, pair, chunk…), mixed with SplitMix64.
    ///
    /// Two different coordinate lists give statistically independent generators.
    @inlinable
    public init(seed: UInt64, stream: UInt64...) {
        self.init(seed: seed, streamCoordinates: stream)
    }

    /// Array form of ``init(seed:stream:)``.
    @inlinable
    public init(seed: UInt64, streamCoordinates: [UInt64]) {
        var h = SplitMix64.mix(seed ^ 0x5851_F42D_4C95_7F2D)
        for c in streamCoordinates {
            h = SplitMix64.mix(h ^ SplitMix64.mix(c &+ 0x9E37_79B9_7F4A_7C15))
        }
        self.init(seed: h)
    }

    @inlinable
    static func rotl(_ x: UInt64, _ k: UInt64) -> UInt64 { (x << k) | (x >> (64 - k)) }

    /// Returns the next 64 random bits.
    @inlinable
    public mutating func next() -> UInt64 {
        let result = Xoshiro256.rotl(s1 &* 5, 7) &* 9
        let t = s1 << 17
        s2 ^= s0
        s3 ^= s1
        s1 ^= s2
        s0 ^= s3
        s2 ^= t
        s3 = Xoshiro256.rotl(s3, 45)
        return result
    }
}

extension Xoshiro256 {
    /// The generator's state as 64 hexadecimal digits (s₀ s₁ s₂ s₃, 16 digits each): what a
    /// comparison sent to another process carries as its answer stream, so that a simulated
    /// annotator there draws exactly the numbers the in-process panel would.
    public var stateHex: String {
        [s0, s1, s2, s3].map { w in
            let h = String(w, radix: 16)
            return String(repeating: "0", count: 16 - h.count) + h
        }.joined()
    }

    /// The generator whose state ``stateHex`` printed; nil unless `hex` is 64 hexadecimal digits
    /// of a state that is not all zero.
    public init?(stateHex hex: String) {
        let digits = Array(hex.utf8)
        // Hexadecimal digits only: UInt64(_:radix:) alone would also take a sign ("+1…").
        guard digits.count == 64, digits.allSatisfy({ ($0 >= 0x30 && $0 <= 0x39) || ($0 | 0x20 >= 0x61 && $0 | 0x20 <= 0x66) }) else {
            return nil
        }
        var words = [UInt64]()
        for i in 0..<4 {
            guard let w = UInt64(String(decoding: digits[(16 * i)..<(16 * i + 16)], as: UTF8.self), radix: 16) else { return nil }
            words.append(w)
        }
        guard words.contains(where: { $0 != 0 }) else { return nil }
        s0 = words[0]; s1 = words[1]; s2 = words[2]; s3 = words[3]
    }
}
