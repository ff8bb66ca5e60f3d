import RLHF

/// Deterministic percentile bootstrap over seeds: the median (or any statistic) of a small
/// sample with a confidence interval, reproducible bit for bit from a seed.
///
/// Resamples draw from ``Xoshiro256`` with a fixed stream, so the same values, seed and
/// resample count always give the same interval. Infinite values are allowed (e.g. "queries to
/// reach 0.9" for a seed that never reached it): the median of a sample in which more than half
/// of the values are `+∞` is `+∞`, and so can be either end of the interval.
public enum Bootstrap {
    /// A point estimate with a percentile bootstrap interval.
    ///
    /// Named `Bootstrap.Estimate` because module RLHF has its own Monte-Carlo `Estimate`.
    public struct Estimate: Sendable, Equatable {
        /// The statistic on the whole sample (the median for ``Bootstrap/median(_:confidence:resamples:seed:)``).
        public var point: Double
        /// Lower end of the interval.
        public var lower: Double
        /// Upper end of the interval.
        public var upper: Double
        /// Sample size (number of seeds).
        public var count: Int

        /// The point estimate under the name used for medians.
        public var median: Double { point }

        /// Creates an estimate from its parts.
        public init(point: Double, lower: Double, upper: Double, count: Int) {
            self.point = point
            self.lower = lower
            self.upper = upper
            self.count = count
        }

        /// Whether `value` lies in [lower, upper].
        public func contains(_ value: Double) -> Bool { lower <= value && value <= upper }
    }

    /// The stream coordinate every bootstrap generator is made with ("boot").
    static let stream: UInt64 = 0x626F_6F74

    /// The median of `values` with a percentile bootstrap interval.
    ///
    /// - Parameters:
    ///   - values: the sample (one value per seed); `±∞` allowed, NaN not.
    ///   - confidence: coverage of the interval, in (0, 1).
    ///   - resamples: number of bootstrap resamples.
    ///   - seed: seed of the resampling generator.
    /// - Returns: the sample median and the interval; an empty sample gives NaNs and count 0,
    ///   a single value gives the interval [value, value].
    public static func median(_ values: [Double], confidence: Double = 0.95, resamples: Int = 2000,
                              seed: UInt64 = 0) -> Estimate {
        estimate(values, confidence: confidence, resamples: resamples, seed: seed, statistic: medianInPlace)
    }

    /// Any statistic of `values` with a percentile bootstrap interval.
    ///
    /// - Parameter statistic: computes the statistic of a sample; it receives a scratch buffer
    ///   it may reorder (the median sorts it in place).
    /// - Returns: the statistic on `values` and the (α/2, 1 − α/2) percentiles of its bootstrap
    ///   distribution (order statistics, no interpolation, so infinities stay exact).
    public static func estimate(_ values: [Double], confidence: Double = 0.95, resamples: Int = 2000,
                                seed: UInt64 = 0, statistic: (inout [Double]) -> Double) -> Estimate {
        precondition(confidence > 0 && confidence < 1, "confidence must lie in (0, 1)")
        precondition(resamples > 0, "resamples must be positive")
        let n = values.count
        guard n > 0 else { return Estimate(point: .nan, lower: .nan, upper: .nan, count: 0) }
        var scratch = values
        let point = statistic(&scratch)
        if n == 1 { return Estimate(point: point, lower: point, upper: point, count: 1) }

        var rng = Xoshiro256(seed: seed, stream: stream)
        var stats = [Double](repeating: 0, count: resamples)
        for b in 0..<resamples {
            for i in 0..<n { scratch[i] = values[rng.index(below: n)] }
            stats[b] = statistic(&scratch)
        }
        stats.sort { orderedBefore($0, $1) }
        let alpha = 1 - confidence
        let lowIndex = min(resamples - 1, max(0, Int((alpha / 2 * Double(resamples)).rounded(.down))))
        let highIndex = min(resamples - 1, max(0, Int(((1 - alpha / 2) * Double(resamples)).rounded(.up)) - 1))
        return Estimate(point: point, lower: stats[lowIndex], upper: stats[highIndex], count: n)
    }

    /// The median of `values` (mean of the two middle values for an even count; `+∞` when the
    /// upper middle value is `+∞`). NaN for an empty sample.
    public static func median(of values: [Double]) -> Double {
        var scratch = values
        return medianInPlace(&scratch)
    }

    /// The median of `values`, sorting them in place.
    static func medianInPlace(_ values: inout [Double]) -> Double {
        let n = values.count
        guard n > 0 else { return .nan }
        values.sort { orderedBefore($0, $1) }
        if n % 2 == 1 { return values[n / 2] }
        let a = values[n / 2 - 1], b = values[n / 2]
        if a == b { return a }                       // also covers ∞, ∞
        if a.isInfinite || b.isInfinite {            // −∞ and +∞ middles: no meaningful midpoint
            return a.isInfinite && b.isInfinite ? .nan : (a.isInfinite ? a : b)
        }
        return a + (b - a) / 2
    }

    /// Sort order with NaN last, so that a stray NaN cannot break sorting.
    @inline(__always)
    static func orderedBefore(_ a: Double, _ b: Double) -> Bool {
        if a.isNaN { return false }
        if b.isNaN { return true }
        return a < b
    }
}
