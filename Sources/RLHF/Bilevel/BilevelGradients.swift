#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The sampled first-order estimators of spec §5, each an unbiased estimate of its gradient
/// (given exact action values for ∇_λ J).
///
/// Notation: r_φ(s, a) = MLP_φ(features(s))_a is the learned reward (``RewardModel``'s layout),
/// R_φ(τ) = Σ_t γ^t r_φ(s_t, a_t) with γ the environment's discount, π_λ the softmax policy.
/// - Upper level: G(φ, λ) = E_{τ0,τ1~π_λ, y}[ y log σ(ΔR_φ) + (1−y) log σ(−ΔR_φ) ], ΔR_φ = R_φ(τ1) − R_φ(τ0),
///   σ the logistic function (the learner's Bradley-Terry model), y the panel's soft label p̂.
/// - Lower level: J(λ, φ) = E_{τ~π_λ}[ Σ_t γ^t ( r_φ(s_t, a_t) + α H(π_λ(·|s_t)) ) ]: the learned
///   return plus α times the (discounted) entropy of the policy along the trajectory.
///
/// Every function returns a new gradient array in the flat layout of the network concerned.
public enum BilevelGradients {
    /// The per-pair log-likelihood ℓ = y log σ(Δ) + (1−y) log σ(−Δ).
    @inlinable
    public static func logLikelihood(difference delta: Double, label y: Double) -> Double {
        y * Loss.logSigmoid(delta) + (1 - y) * Loss.logSigmoid(-delta)
    }

    /// r_φ(s_i, a_i) for every row of `steps`.
    public static func learnedRewards<S>(reward: MLP, steps: StepBatch<S>) -> [Double] {
        let n = steps.count, m = reward.outputSize
        guard n > 0 else { return [] }
        let ws = MLPWorkspace(for: reward, capacity: n)
        let out = steps.features.withUnsafeBufferPointer { reward.forward($0, batch: n, workspace: ws) }
        return (0..<n).map { out[$0 * m + steps.actions[$0]] }
    }

    /// ∇̂_φ J(λ, φ) = (1/N) Σ_n Σ_t γ^t ∇_φ r_φ(s_t, a_t) over the N episodes of `steps` (sampled
    /// from π_λ). The entropy term does not depend on φ.
    public static func rewardJ<S>(reward: MLP, steps: StepBatch<S>, discount: Double) -> [Double] {
        var gradient = [Double](repeating: 0, count: reward.parameterCount)
        let n = steps.count, m = reward.outputSize
        guard n > 0, steps.episodes > 0 else { return gradient }
        var outGrad = [Double](repeating: 0, count: n * m)
        let scale = 1 / Double(steps.episodes)
        for i in 0..<n { outGrad[i * m + steps.actions[i]] = scale * pow(discount, Double(steps.times[i])) }
        backward(reward, input: steps.features, rows: n, outputGradient: outGrad, into: &gradient)
        return gradient
    }

    /// ∇̂_φ G(φ, λ) = (1/n) Σ_i (y_i − σ(ΔR_φ,i)) ∇_φ ΔR_φ,i over labelled pairs sampled from π_λ,
    /// with the mean log-likelihood Ĝ of the pairs (one forward and one backward pass over all steps).
    public static func rewardG(reward: MLP, pairs: [FeaturizedPair], discount: Double) -> (gradient: [Double], logLikelihood: Double) {
        var gradient = [Double](repeating: 0, count: reward.parameterCount)
        guard !pairs.isEmpty else { return (gradient, .nan) }
        let (x, rows, offsets) = stack(pairs)
        let m = reward.outputSize
        let ws = MLPWorkspace(for: reward, capacity: rows)
        let out = x.withUnsafeBufferPointer { Array(reward.forward($0, batch: rows, workspace: ws)) }
        var outGrad = [Double](repeating: 0, count: rows * m)
        let inv = 1 / Double(pairs.count)
        var total = 0.0
        for (k, p) in pairs.enumerated() {
            let r0 = learnedReturn(out, start: offsets[2 * k], trajectory: p.first, m: m, discount: discount)
            let r1 = learnedReturn(out, start: offsets[2 * k + 1], trajectory: p.second, m: m, discount: discount)
            let delta = r1 - r0
            total += logLikelihood(difference: delta, label: p.label)
            let g = (p.label - Loss.sigmoid(delta)) * inv
            spread(g, into: &outGrad, start: offsets[2 * k + 1], trajectory: p.second, m: m, discount: discount)
            spread(-g, into: &outGrad, start: offsets[2 * k], trajectory: p.first, m: m, discount: discount)
        }
        backward(reward, input: x, rows: rows, outputGradient: outGrad, into: &gradient, workspace: ws)
        return (gradient, total * inv)
    }

    /// ∇̂_λ G(φ, λ), the score-function estimate
    /// (1/n) Σ_i w_i (ℓ_i − b_i) (∇_λ log π_λ(τ0_i) + ∇_λ log π_λ(τ1_i)), ℓ_i the pair's log-likelihood.
    ///
    /// - Parameters:
    ///   - behaviourLogProbabilities: log π_β(τ0_i), log π_β(τ1_i) (2 per pair) of the policy the pairs
    ///     were sampled from; nil when that is π_λ itself (w_i = 1). Otherwise w_i is the importance
    ///     ratio π_λ(τ0)π_λ(τ1) / (π_β(τ0)π_β(τ1)), which keeps the estimate unbiased for G at λ.
    ///   - importanceClip: clip w_i to at most this (biased, lower variance); nil: no clipping.
    ///   - baseline: subtract b_i = the mean of ℓ_j over the OTHER pairs (leave-one-out, so the
    ///     estimate stays unbiased); otherwise b_i = 0.
    public static func policyG(policy: NeuralSoftmaxPolicy, parameters lambda: [Double], reward: MLP,
                               pairs: [FeaturizedPair], discount: Double,
                               behaviourLogProbabilities: [Double]? = nil, importanceClip: Double? = nil,
                               baseline: Bool = true) -> [Double] {
        var net = policy
        net.network.parameters = lambda
        net.network.zeroGradients()
        let n = pairs.count
        guard n > 0 else { return net.network.gradients }
        let (x, rows, offsets) = stack(pairs)
        let m = reward.outputSize
        let ws = MLPWorkspace(for: reward, capacity: rows)
        let out = x.withUnsafeBufferPointer { Array(reward.forward($0, batch: rows, workspace: ws)) }
        var ell = [Double](repeating: 0, count: n)
        for (k, p) in pairs.enumerated() {
            let r0 = learnedReturn(out, start: offsets[2 * k], trajectory: p.first, m: m, discount: discount)
            let r1 = learnedReturn(out, start: offsets[2 * k + 1], trajectory: p.second, m: m, discount: discount)
            ell[k] = logLikelihood(difference: r1 - r0, label: p.label)
        }
        var actions = [Int](); actions.reserveCapacity(rows)
        for p in pairs { actions += p.first.actions; actions += p.second.actions }
        let pws = PolicyWorkspace(for: net, capacity: rows)
        var weight = [Double](repeating: 1, count: n)
        if let behaviour = behaviourLogProbabilities {
            precondition(behaviour.count == 2 * n, "policyG: 2 behaviour log-probabilities per pair")
            let lp = trajectoryLogProbabilities(net, features: x, actions: actions, offsets: offsets, pairs: pairs, workspace: pws)
            for k in 0..<n {
                var w = exp(lp[2 * k] + lp[2 * k + 1] - behaviour[2 * k] - behaviour[2 * k + 1])
                if let c = importanceClip { w = min(w, c) }
                weight[k] = w
            }
        }
        let sum = ell.reduce(0, +)
        var rowWeights = [Double](repeating: 0, count: rows)
        for (k, p) in pairs.enumerated() {
            let b = baseline && n > 1 ? (sum - ell[k]) / Double(n - 1) : 0
            let c = weight[k] * (ell[k] - b) / Double(n)
            for r in offsets[2 * k]..<(offsets[2 * k] + p.first.count) { rowWeights[r] = c }
            for r in offsets[2 * k + 1]..<(offsets[2 * k + 1] + p.second.count) { rowWeights[r] = c }
        }
        net.accumulateLogProbabilityGradient(features: x, actions: actions, weights: rowWeights, workspace: pws)
        return net.network.gradients
    }

    /// ∇̂_λ J(λ, φ) = (1/N) Σ_n Σ_t γ^t [ (Q̂(s_t, a_t) − b(s_t)) ∇_λ log π_λ(a_t|s_t) + α ∇_λ H(π_λ(·|s_t)) ]
    /// over the N episodes of `steps` (sampled from π_λ).
    ///
    /// Q̂ is the SOFT action value of the entropy-regularized J (the reward r_φ(s, a) now plus the
    /// value, entropy bonuses included, of what follows); with the exact finite-horizon Q_{H−t}
    /// the estimate is unbiased. The entropy enters twice: in the future bonuses inside Q̂, and
    /// through the exact gradient of the current step's entropy.
    ///
    /// - Parameters:
    ///   - actionValues: Q̂(s_i, ·) for every row (rows × |A|), e.g. a critic's output or exact Q_{H−t_i}.
    ///   - baseline: subtract b(s) = Σ_a π_λ(a|s) Q̂(s, a) (turning Q̂ into an advantage; any function
    ///     of the state leaves the expectation unchanged).
    public static func policyJ<S>(policy: NeuralSoftmaxPolicy, parameters lambda: [Double], steps: StepBatch<S>,
                                  actionValues q: [Double], discount: Double, entropy alpha: Double,
                                  baseline: Bool = true) -> [Double] {
        var net = policy
        net.network.parameters = lambda
        net.network.zeroGradients()
        let n = steps.count, m = net.actionCount
        guard n > 0, steps.episodes > 0 else { return net.network.gradients }
        precondition(q.count == n * m, "policyJ: \(q.count) action values for \(n) rows of \(m) actions")
        let ws = PolicyWorkspace(for: net, capacity: n)
        var weights = [Double](repeating: 0, count: n)
        var entropyWeights = [Double](repeating: 0, count: n)
        let inv = 1 / Double(steps.episodes)
        steps.features.withUnsafeBufferPointer { x in
            let p = baseline ? Array(net.probabilities(features: x, batch: n, workspace: ws)) : []
            for i in 0..<n {
                var b = 0.0
                if baseline { for a in 0..<m { b += p[i * m + a] * q[i * m + a] } }
                let g = pow(discount, Double(steps.times[i])) * inv
                weights[i] = g * (q[i * m + steps.actions[i]] - b)
                entropyWeights[i] = g * alpha
            }
            steps.actions.withUnsafeBufferPointer { a in
                weights.withUnsafeBufferPointer { w in
                    _ = net.accumulateLogProbabilityGradient(features: x, actions: a, weights: w, workspace: ws)
                }
            }
            if alpha != 0 {
                entropyWeights.withUnsafeBufferPointer { _ = net.accumulateEntropyGradient(features: x, weights: $0, workspace: ws) }
            }
        }
        return net.network.gradients
    }

    /// log π_λ(τ) for each trajectory of `pairs` (2 per pair, τ0 then τ1).
    public static func trajectoryLogProbabilities(policy: NeuralSoftmaxPolicy, parameters lambda: [Double],
                                                  pairs: [FeaturizedPair]) -> [Double] {
        guard !pairs.isEmpty else { return [] }
        var net = policy
        net.network.parameters = lambda
        let (x, rows, offsets) = stack(pairs)
        var actions = [Int](); actions.reserveCapacity(rows)
        for p in pairs { actions += p.first.actions; actions += p.second.actions }
        return trajectoryLogProbabilities(net, features: x, actions: actions, offsets: offsets, pairs: pairs,
                                          workspace: PolicyWorkspace(for: net, capacity: rows))
    }

    // MARK: - Helpers

    static func trajectoryLogProbabilities(_ net: NeuralSoftmaxPolicy, features x: [Double], actions: [Int], offsets: [Int],
                                           pairs: [FeaturizedPair], workspace: PolicyWorkspace) -> [Double] {
        var lp = [Double](repeating: 0, count: actions.count)
        x.withUnsafeBufferPointer { xp in
            actions.withUnsafeBufferPointer { ap in
                lp.withUnsafeMutableBufferPointer { net.logProbabilities(features: xp, actions: ap, workspace: workspace, into: $0) }
            }
        }
        var result = [Double](repeating: 0, count: 2 * pairs.count)
        for (k, p) in pairs.enumerated() {
            for r in offsets[2 * k]..<(offsets[2 * k] + p.first.count) { result[2 * k] += lp[r] }
            for r in offsets[2 * k + 1]..<(offsets[2 * k + 1] + p.second.count) { result[2 * k + 1] += lp[r] }
        }
        return result
    }

    /// All steps of all trajectories of `pairs` stacked row by row (τ0 then τ1 of each pair), with
    /// the row where each trajectory starts.
    static func stack(_ pairs: [FeaturizedPair]) -> (features: [Double], rows: Int, offsets: [Int]) {
        var rows = 0
        var offsets = [Int](); offsets.reserveCapacity(2 * pairs.count)
        for p in pairs {
            offsets.append(rows); rows += p.first.count
            offsets.append(rows); rows += p.second.count
        }
        var x = [Double](); x.reserveCapacity(rows * (pairs.first?.first.featureCount ?? 0))
        for p in pairs { x += p.first.features; x += p.second.features }
        return (x, rows, offsets)
    }

    @inline(__always)
    static func learnedReturn(_ out: [Double], start: Int, trajectory: FeaturizedTrajectory, m: Int, discount: Double) -> Double {
        var total = 0.0, w = 1.0
        for t in 0..<trajectory.count { total += w * out[(start + t) * m + trajectory.actions[t]]; w *= discount }
        return total
    }

    @inline(__always)
    static func spread(_ g: Double, into outGrad: inout [Double], start: Int, trajectory: FeaturizedTrajectory, m: Int, discount: Double) {
        var w = g
        for t in 0..<trajectory.count { outGrad[(start + t) * m + trajectory.actions[t]] += w; w *= discount }
    }

    /// Adds dL/dθ of `network` (own parameters) for dL/d(output) = `outputGradient` on `rows` input rows.
    static func backward(_ network: MLP, input: [Double], rows: Int, outputGradient: [Double], into gradient: inout [Double],
                         workspace: MLPWorkspace? = nil) {
        let ws = workspace ?? MLPWorkspace(for: network, capacity: rows)
        if workspace == nil { input.withUnsafeBufferPointer { _ = network.forward($0, batch: rows, workspace: ws) } }
        network.parameters.withUnsafeBufferPointer { p in
            gradient.withUnsafeMutableBufferPointer { g in
                outputGradient.withUnsafeBufferPointer { og in
                    network.backward(outputGradient: og, parameters: p, gradients: g, workspace: ws)
                }
            }
        }
    }
}
