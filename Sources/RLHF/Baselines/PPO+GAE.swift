#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The pieces of PPO's objective as plain functions on numbers and arrays (spec §6), shared by
/// ``PPO`` and checked against hand-computed examples in the tests.
///
/// Conventions follow CleanRL's `ppo.py`: the policy LOSS is the negated clipped surrogate, the
/// value loss is ½·max of the unclipped and clipped squared errors, and GAE runs backwards over
/// one episode segment.
public enum PPOLoss {
    /// The clipped surrogate objective of one sample (Schulman et al. 2017, eq. 7):
    /// L = min(ρ·A, clip(ρ, 1 − ε, 1 + ε)·A), with ρ = π_θ(a|s)/π_old(a|s).
    ///
    /// Returns L and dL/dρ: A where the unclipped term is the minimum (ties included), 0 where
    /// the clipped, constant term is (ρ > 1 + ε with A > 0, or ρ < 1 − ε with A < 0).
    @inlinable
    public static func clippedSurrogate(ratio: Double, advantage: Double, clip: Double) -> (objective: Double, ratioGradient: Double) {
        let unclipped = ratio * advantage
        let clipped = min(max(ratio, 1 - clip), 1 + clip) * advantage
        return unclipped <= clipped ? (unclipped, advantage) : (clipped, 0)
    }

    /// The PPO policy loss on a batch: −(1/n) Σ_i min(ρ_i A_i, clip(ρ_i, 1 − ε, 1 + ε) A_i),
    /// with ρ_i = exp(newLogProbability_i − oldLogProbability_i).
    ///
    /// Returns the loss and its gradient with respect to each new log-probability,
    /// ∂loss/∂log π_i = −ρ_i·(∂L_i/∂ρ_i)/n.
    public static func policyLoss(newLogProbabilities: [Double], oldLogProbabilities: [Double], advantages: [Double],
                                  clip: Double) -> (loss: Double, logProbabilityGradient: [Double]) {
        let n = advantages.count
        precondition(newLogProbabilities.count == n && oldLogProbabilities.count == n, "policyLoss: arrays differ in length")
        guard n > 0 else { return (0, []) }
        var loss = 0.0
        var grad = [Double](repeating: 0, count: n)
        for i in 0..<n {
            let ratio = exp(newLogProbabilities[i] - oldLogProbabilities[i])
            let (l, dr) = clippedSurrogate(ratio: ratio, advantage: advantages[i], clip: clip)
            loss -= l
            grad[i] = -dr * ratio / Double(n)
        }
        return (loss / Double(n), grad)
    }

    /// The value loss of one sample, ½·(v − R)² or, with `clip`, CleanRL's clipped form
    /// ½·max((v − R)², (v_old + clip(v − v_old, −c, c) − R)²). Returns the loss and d loss/dv.
    @inlinable
    public static func valueLoss(value v: Double, oldValue: Double, target: Double, clip: Double?) -> (loss: Double, valueGradient: Double) {
        let e = v - target
        guard let c = clip else { return (0.5 * e * e, e) }
        let delta = v - oldValue
        let clippedDelta = min(max(delta, -c), c)
        let ec = oldValue + clippedDelta - target
        if e * e >= ec * ec { return (0.5 * e * e, e) }
        // The clipped branch moves with v only while v − v_old lies inside [−c, c].
        return (0.5 * ec * ec, abs(delta) < c ? ec : 0)
    }

    /// Generalized advantage estimation (Schulman et al. 2016) over ONE episode segment of T
    /// steps: δ_t = r_t + γ V(s_{t+1}) − V(s_t), Â_t = δ_t + γλ Â_{t+1}, returned with the value
    /// targets R_t = Â_t + V(s_t).
    ///
    /// - Parameters:
    ///   - values: V(s_0) … V(s_{T−1}).
    ///   - finalValue: the value after the last step, V(s_T): 0 when the episode terminated (or
    ///     its truncation is treated as termination), the critic's estimate when bootstrapping.
    public static func generalizedAdvantages(rewards: [Double], values: [Double], finalValue: Double,
                                             gamma: Double, lambda: Double) -> (advantages: [Double], returns: [Double]) {
        precondition(rewards.count == values.count, "generalizedAdvantages: rewards and values differ in length")
        var advantages = [Double](repeating: 0, count: rewards.count)
        rewards.withUnsafeBufferPointer { r in
            values.withUnsafeBufferPointer { v in
                advantages.withUnsafeMutableBufferPointer { a in
                    generalizedAdvantages(rewards: r, values: v, finalValue: finalValue, gamma: gamma, lambda: lambda, into: a)
                }
            }
        }
        let returns = zip(advantages, values).map { $0 + $1 }
        return (advantages, returns)
    }

    /// Buffer form of ``generalizedAdvantages(rewards:values:finalValue:gamma:lambda:)``: writes Â_t.
    @inlinable
    public static func generalizedAdvantages(rewards: UnsafeBufferPointer<Double>, values: UnsafeBufferPointer<Double>,
                                             finalValue: Double, gamma: Double, lambda: Double,
                                             into advantages: UnsafeMutableBufferPointer<Double>) {
        var next = finalValue, running = 0.0
        for t in stride(from: rewards.count - 1, through: 0, by: -1) {
            let delta = rewards[t] + gamma * next - values[t]
            running = delta + gamma * lambda * running
            advantages[t] = running
            next = values[t]
        }
    }
}
