/// SplitMix64, the 64-bit generator used to expand one seed into the state of ``Xoshiro256``.
///
/// It is also the mixing function behind ``Xoshiro256/init(seed:stream:)``: every work item
/// (an iteration, a block, a rollout chunk) derives its own generator from the run's seed and its
/// own coordinates, so results never depend on which thread ran it.
public struct SplitMix64: RandomNumberGenerator, Sendable {
    /// The generator's state; every call to ``next()`` advances it by the golden-ratio increment.
    public var state: UInt64

    /// Creates a generator with the given state.
    @inlinable
    public init(seed: UInt64) { state = seed }

    /// Returns the next 64 random bits.
    @inlinable
    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        return SplitMix64.mix(state)
    }

    /// The SplitMix64 output function: a bijective 64-bit mixer.
    @inlinable
    public static func mix(_ value: UInt64) -> UInt64 {
        var z = value
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
