#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The tabular softmax policy π_θ(a|s) = exp θ_{s,a} / Σ_b exp θ_{s,b}, parameters one flat
/// vector of d = |S|·|A| logits at index s·|A| + a (spec §4).
public struct TabularSoftmax: Sendable {
    /// Number of states.
    public let stateCount: Int
    /// Number of actions.
    public let actionCount: Int

    /// Creates the parametrization for the given sizes.
    public init(stateCount: Int, actionCount: Int) {
        self.stateCount = stateCount
        self.actionCount = actionCount
    }

    /// Number of parameters d = |S|·|A|.
    public var parameterCount: Int { stateCount * actionCount }

    /// The probabilities π_θ(a|s) at s·|A| + a.
    public func probabilities(_ theta: [Double]) -> [Double] {
        var p = [Double](repeating: 0, count: parameterCount)
        theta.withUnsafeBufferPointer { t in
            p.withUnsafeMutableBufferPointer { TabularSoftmax.softmaxRows(t, into: $0, columns: actionCount, cumulative: false) }
        }
        return p
    }

    /// Row-wise softmax of `logits` (rows of `columns` entries) into `out`, optionally as running
    /// sums (the cumulative form that categorical sampling reads). Stable: subtracts each row's max.
    @inlinable
    public static func softmaxRows(_ logits: UnsafeBufferPointer<Double>, into out: UnsafeMutableBufferPointer<Double>,
                                   columns m: Int, cumulative: Bool) {
        let rows = logits.count / m
        for s in 0..<rows {
            let base = s * m
            var mx = -Double.infinity
            for a in 0..<m { mx = max(mx, logits[base + a]) }
            var total = 0.0
            for a in 0..<m {
                let e = exp(logits[base + a] - mx)
                out[base + a] = e
                total += e
            }
            let inv = 1 / total
            if cumulative {
                var acc = 0.0
                for a in 0..<m { acc += out[base + a] * inv; out[base + a] = acc }
                out[base + m - 1] = 1
            } else {
                for a in 0..<m { out[base + a] *= inv }
            }
        }
    }
}

/// A tabular policy ready to act: cumulative probabilities per state, so sampling an action is
/// one uniform draw and a short scan.
public struct TabularActor: Sendable {
    /// Number of actions.
    public let actionCount: Int
    /// Cumulative probabilities at s·|A| + a.
    @usableFromInline var cumulative: [Double]

    /// Prepares the softmax policy of `theta` (|S|·|A| logits).
    public init(logits theta: [Double], actionCount: Int) {
        self.actionCount = actionCount
        var c = [Double](repeating: 0, count: theta.count)
        theta.withUnsafeBufferPointer { t in
            c.withUnsafeMutableBufferPointer { TabularSoftmax.softmaxRows(t, into: $0, columns: actionCount, cumulative: true) }
        }
        cumulative = c
    }

    /// Recomputes the policy in place from new logits, reusing the storage.
    public mutating func update(logits theta: UnsafeBufferPointer<Double>) {
        let m = actionCount
        cumulative.withUnsafeMutableBufferPointer { TabularSoftmax.softmaxRows(theta, into: $0, columns: m, cumulative: true) }
    }

    /// Samples an action in state `s`.
    @inlinable
    public func action(in s: Int, using rng: inout Xoshiro256) -> Int {
        let u = rng.uniform()
        let m = actionCount
        let base = s &* m
        // The first a with u < c[a] (the last action when there is none), counted without
        // branches: c is nondecreasing, so it is the number of c[k], k < m − 1, with u ≥ c[k].
        // The same action as a scan that stops there, without its unpredictable branches.
        return cumulative.withUnsafeBufferPointer { c in
            var a = 0
            var k = 0
            while k < m &- 1 {
                a &+= u >= c[base &+ k] ? 1 : 0
                k &+= 1
            }
            return a
        }
    }
}
