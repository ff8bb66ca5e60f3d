/// The exact evaluation of a stationary policy on a ``TabularMDP`` by backward induction.
public struct PolicyEvaluation: Sendable {
    /// V(π): the expected return from the start distribution over the full horizon.
    public let value: Double
    /// Number of states |S|.
    public let stateCount: Int
    /// Number of actions |A|.
    public let actionCount: Int
    /// V_h(s), the value with h steps remaining, at index h·|S| + s, h = 0…H.
    public let stateValues: [Double]
    /// Q_h(s, a), at index (h − 1)·|S|·|A| + s·|A| + a, h = 1…H.
    public let actionValues: [Double]

    /// V_h(s): the value of state `s` with `remaining` steps to go.
    @inlinable
    public func v(_ s: Int, remaining: Int) -> Double { stateValues[remaining * stateCount + s] }

    /// Q_h(s, a): the value of taking `a` in `s` with `remaining` ≥ 1 steps to go.
    @inlinable
    public func q(_ s: Int, _ a: Int, remaining: Int) -> Double {
        actionValues[(remaining - 1) * stateCount * actionCount + s * actionCount + a]
    }
}

extension TabularMDP {
    /// Checks that `policy` holds |S|·|A| probabilities, row by row.
    @usableFromInline
    func checkPolicyShape(_ policy: [Double]) {
        precondition(policy.count == stateCount * actionCount,
                     "policy has \(policy.count) entries, the model needs \(stateCount * actionCount)")
    }

    /// Q_h for all (s, a) given V_{h−1}, written into `q` (|S|·|A| entries).
    @inlinable
    func backup(next vPrev: UnsafeBufferPointer<Double>, into q: UnsafeMutableBufferPointer<Double>) {
        for k in 0..<(stateCount * actionCount) {
            var acc = 0.0
            for j in rowStart[k]..<rowStart[k + 1] {
                let s2 = successor[j]
                acc += probability[j] * (reward[j] + (isTerminal[s2] ? 0 : discount * vPrev[s2]))
            }
            q[k] = acc
        }
    }

    /// The exact value V(π) of a stationary policy given as probabilities π(a|s) at s·|A| + a.
    public func value(policy: [Double]) -> Double {
        evaluate(policy: policy).value
    }

    /// The full evaluation of a stationary policy: V_h and Q_h for every h ≤ H.
    public func evaluate(policy: [Double]) -> PolicyEvaluation {
        checkPolicyShape(policy)
        let n = stateCount, m = actionCount, H = horizon
        var vs = [Double](repeating: 0, count: (H + 1) * n)
        var qs = [Double](repeating: 0, count: H * n * m)
        vs.withUnsafeMutableBufferPointer { vp in
            qs.withUnsafeMutableBufferPointer { qp in
                for h in 1...H {
                    let prev = UnsafeBufferPointer(rebasing: vp[((h - 1) * n)..<(h * n)])
                    let qh = UnsafeMutableBufferPointer(rebasing: qp[((h - 1) * n * m)..<(h * n * m)])
                    backup(next: prev, into: qh)
                    for s in 0..<n {
                        var acc = 0.0
                        for a in 0..<m { acc += policy[s * m + a] * qh[s * m + a] }
                        vp[h * n + s] = acc
                    }
                }
            }
        }
        var total = 0.0
        for s in 0..<n where startDistribution[s] > 0 { total += startDistribution[s] * vs[H * n + s] }
        return PolicyEvaluation(value: total, stateCount: n, actionCount: m, stateValues: vs, actionValues: qs)
    }

    /// The optimal finite-horizon value V* from the start distribution (best non-stationary
    /// policy, by backward induction).
    public var optimalValue: Double {
        let n = stateCount, m = actionCount
        var v = [Double](repeating: 0, count: n)
        var q = [Double](repeating: 0, count: n * m)
        for _ in 0..<horizon {
            v.withUnsafeBufferPointer { vp in q.withUnsafeMutableBufferPointer { backup(next: vp, into: $0) } }
            for s in 0..<n {
                var best = -Double.infinity
                for a in 0..<m { best = max(best, q[s * m + a]) }
                v[s] = best
            }
        }
        var total = 0.0
        for s in 0..<n where startDistribution[s] > 0 { total += startDistribution[s] * v[s] }
        return total
    }

    /// The uniform random policy's probabilities.
    public var uniformPolicy: [Double] {
        [Double](repeating: 1 / Double(actionCount), count: stateCount * actionCount)
    }

    /// Probability d_t(s) of being in non-terminal state s at step t, t = 0…H−1, at t·|S| + s.
    public func stateOccupancy(policy: [Double]) -> [Double] {
        checkPolicyShape(policy)
        let n = stateCount, m = actionCount, H = horizon
        var d = [Double](repeating: 0, count: H * n)
        for s in 0..<n where !isTerminal[s] { d[s] = startDistribution[s] }
        if H > 1 {
            for t in 1..<H {
                for s in 0..<n {
                    let mass = d[(t - 1) * n + s]
                    if mass == 0 { continue }
                    for a in 0..<m {
                        let pa = mass * policy[s * m + a]
                        if pa == 0 { continue }
                        let k = s * m + a
                        for j in rowStart[k]..<rowStart[k + 1] where !isTerminal[successor[j]] {
                            d[t * n + successor[j]] += pa * probability[j]
                        }
                    }
                }
            }
        }
        return d
    }

    /// The advantage-weighted occupancy W(s, a) = Σ_t γ^t d_t(s) π(a|s) (Q_{H−t}(s,a) − V_{H−t}(s)).
    ///
    /// For any parametrization, ∇V(θ) = Σ_{s,a} W(s,a) ∇_θ log π_θ(a|s) (policy gradient theorem
    /// for a stationary policy over a finite horizon). For the tabular softmax, ∂V/∂θ_{s,a} = W(s,a).
    public func advantageOccupancy(policy: [Double]) -> [Double] {
        let eval = evaluate(policy: policy)
        let d = stateOccupancy(policy: policy)
        let n = stateCount, m = actionCount, H = horizon
        var w = [Double](repeating: 0, count: n * m)
        var discountT = 1.0
        for t in 0..<H {
            let remaining = H - t
            for s in 0..<n {
                let mass = d[t * n + s]
                if mass == 0 { continue }
                let vs = eval.v(s, remaining: remaining)
                for a in 0..<m {
                    w[s * m + a] += discountT * mass * policy[s * m + a] * (eval.q(s, a, remaining: remaining) - vs)
                }
            }
            discountT *= discount
        }
        return w
    }
}
