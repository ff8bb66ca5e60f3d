#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

extension Xoshiro256 {
    /// A uniform double in [0, 1) with 53 random bits.
    @inlinable
    public mutating func uniform() -> Double {
        Double(next() >> 11) * 0x1.0p-53
    }

    /// A uniform double in (0, 1): never exactly zero, safe under `log`.
    @inlinable
    public mutating func uniformOpen() -> Double {
        (Double(next() >> 11) + 0.5) * 0x1.0p-53
    }

    /// A uniform integer in 0..<bound (Lemire's nearly divisionless method, unbiased).
    @inlinable
    public mutating func index(below bound: Int) -> Int {
        precondition(bound > 0, "index(below:) needs a positive bound")
        let b = UInt64(bound)
        var m = next().multipliedFullWidth(by: b)
        if m.low < b {
            let threshold = (0 &- b) % b
            while m.low < threshold { m = next().multipliedFullWidth(by: b) }
        }
        return Int(m.high)
    }

    /// `true` with probability `p`.
    @inlinable
    public mutating func bernoulli(_ p: Double) -> Bool { uniform() < p }

    /// A standard normal draw (Marsaglia's polar method; the spare value is discarded so that
    /// the generator's position depends only on the number of draws asked for).
    @inlinable
    public mutating func normal() -> Double {
        while true {
            let u = 2 * uniform() - 1
            let v = 2 * uniform() - 1
            let s = u * u + v * v
            if s > 0 && s < 1 {
                return u * (-2 * log(s) / s).squareRoot()
            }
        }
    }

    /// Fills `buffer` with independent standard normal draws, two per polar-method acceptance.
    @inlinable
    public mutating func fillNormal(_ buffer: UnsafeMutableBufferPointer<Double>) {
        var i = 0
        let n = buffer.count
        while i < n {
            let u = 2 * uniform() - 1
            let v = 2 * uniform() - 1
            let s = u * u + v * v
            if s > 0 && s < 1 {
                let f = (-2 * log(s) / s).squareRoot()
                buffer[i] = u * f
                if i + 1 < n { buffer[i + 1] = v * f }
                i += 2
            }
        }
    }

    /// Fills `buffer` with a direction drawn uniformly from the unit sphere S^{n−1}
    /// (a normalized Gaussian vector), n = `buffer.count`.
    @inlinable
    public mutating func fillUnitSphere(_ buffer: UnsafeMutableBufferPointer<Double>) {
        precondition(buffer.count > 0, "the unit sphere needs at least one dimension")
        while true {
            fillNormal(buffer)
            var norm2 = 0.0
            for x in buffer { norm2 += x * x }
            if norm2 > 1e-300 {
                let inv = 1 / norm2.squareRoot()
                for i in buffer.indices { buffer[i] *= inv }
                return
            }
        }
    }

    /// A direction drawn uniformly from the unit sphere in `dimension` dimensions.
    @inlinable
    public mutating func unitSphere(dimension: Int) -> [Double] {
        var v = [Double](repeating: 0, count: dimension)
        v.withUnsafeMutableBufferPointer { fillUnitSphere($0) }
        return v
    }

    /// Draws an index from the categorical distribution whose cumulative probabilities are
    /// `cumulative` (non-decreasing, last entry 1 up to rounding). The last index absorbs rounding.
    @inlinable
    public mutating func categorical(cumulative: UnsafeBufferPointer<Double>) -> Int {
        let u = uniform()
        let last = cumulative.count - 1
        var i = 0
        while i < last && u >= cumulative[i] { i += 1 }
        return i
    }

    /// Draws an index from unnormalized non-negative `weights`.
    @inlinable
    public mutating func categorical(weights: [Double]) -> Int {
        var total = 0.0
        for w in weights { total += w }
        let u = uniform() * total
        var acc = 0.0
        for (i, w) in weights.enumerated() {
            acc += w
            if u < acc { return i }
        }
        return weights.count - 1
    }

    /// A random permutation of 0..<n (Fisher–Yates).
    @inlinable
    public mutating func permutation(_ n: Int) -> [Int] {
        var p = Array(0..<n)
        if n > 1 {
            for i in stride(from: n - 1, to: 0, by: -1) {
                p.swapAt(i, index(below: i + 1))
            }
        }
        return p
    }
}
