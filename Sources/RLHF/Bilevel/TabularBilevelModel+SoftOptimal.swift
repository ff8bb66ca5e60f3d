import Foundation

extension TabularBilevelModel {
    /// π*(φ), the entropy-regularized optimal policy for a reward table, by soft backward
    /// induction over the horizon: π*(a|s) ∝ exp(Q(s,a)/α), with Q the soft finite-horizon action
    /// value under ``discount`` (exact on MDPs where each state occurs at one time step only, such
    /// as the layered test MDPs; an approximation otherwise).
    ///
    /// - Parameters:
    ///   - r: the reward of every (state, action), row-major |S|·|A| (see `rewardTable(_:)`).
    ///   - alpha: the entropy weight α > 0.
    /// - Returns: the policy table, row-major |S|·|A|.
    public func softOptimalPolicy(rewardTable r: [Double], alpha: Double) -> [Double] {
        let n = stateCount, m = actionCount
        var v = [Double](repeating: 0, count: n)
        var q = [Double](repeating: 0, count: n * m)
        for _ in 0..<model.horizon {
            for k in 0..<(n * m) {
                var acc = r[k]
                for j in model.rowStart[k]..<model.rowStart[k + 1] where !model.isTerminal[model.successor[j]] {
                    acc += discount * model.probability[j] * v[model.successor[j]]
                }
                q[k] = acc
            }
            for s in 0..<n {
                let mx = (0..<m).map { q[s * m + $0] / alpha }.max()!
                v[s] = alpha * (mx + log((0..<m).map { exp(q[s * m + $0] / alpha - mx) }.reduce(0, +)))
            }
        }
        var pi = [Double](repeating: 0, count: n * m)
        for s in 0..<n {
            let mx = (0..<m).map { q[s * m + $0] }.max()!
            let z = (0..<m).map { exp((q[s * m + $0] - mx) / alpha) }.reduce(0, +)
            for a in 0..<m { pi[s * m + a] = exp((q[s * m + a] - mx) / alpha) / z }
        }
        return pi
    }

    /// The exact hypergradient ∇Φ(φ) of Φ(φ) = G(φ, π*(φ)), π* the soft-optimal policy of
    /// ``softOptimalPolicy(rewardTable:alpha:)``, by central differences of step `h` in every
    /// reward parameter: the reference the penalty gradient ∇Φ_σ is checked against.
    ///
    /// - Parameters:
    ///   - reward: the reward network r_φ (its parameters are φ).
    ///   - enumeration: the exact upper objective G over all trajectory pairs.
    ///   - alpha: the entropy weight α > 0 of the lower level.
    ///   - h: the difference step.
    public func hypergradientByFiniteDifferences(reward: MLP, enumeration: TrajectoryEnumeration, alpha: Double,
                                                 step h: Double = 1e-5) -> [Double] {
        func phi(_ params: [Double]) -> Double {
            var r = reward
            r.parameters = params
            let table = rewardTable(r)
            return enumeration.upperObjective(policyTable: softOptimalPolicy(rewardTable: table, alpha: alpha), rewardTable: table)
        }
        let phi0 = reward.parameters
        return (0..<phi0.count).map { i in
            var plus = phi0, minus = phi0
            plus[i] += h
            minus[i] -= h
            return (phi(plus) - phi(minus)) / (2 * h)
        }
    }
}
