#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The exact (noiseless) counterparts of the bilevel quantities of spec §5 on a tabular
/// environment: the learned reward and the policy as |S|·|A| tables, the entropy-regularized
/// lower objective J and its gradients by finite-horizon dynamic programming and occupancies,
/// the discounted Q that the critic estimates, and (through ``TrajectoryEnumeration``) the upper
/// objective G and its gradients by enumerating trajectory pairs on tiny MDPs.
public struct TabularBilevelModel: Sendable {
    /// The exact model.
    public let model: TabularMDP
    /// Every state's features, |S| rows of ``featureCount``.
    public let stateFeatures: [Double]
    /// Features per state.
    public let featureCount: Int
    /// γ of learned returns and of J (the environment's discount).
    public let discount: Double

    /// Number of states.
    public var stateCount: Int { model.stateCount }
    /// Number of actions.
    public var actionCount: Int { model.actionCount }

    /// Reads the model and every state's features from `env`.
    public init<E: TabularEnvironment>(env: E) {
        self.init(model: env.model, featureCount: env.featureCount, discount: env.discount) { s, buffer in
            env.features(of: s, into: buffer)
        }
    }

    /// The model of `env` if it is tabular, else nil.
    public static func of<E: Environment>(_ env: E) -> TabularBilevelModel? {
        guard let tabular = env as? any TabularEnvironment else { return nil }
        return TabularBilevelModel(opening: tabular)
    }

    private init(opening env: some TabularEnvironment) { self.init(env: env) }

    init(model: TabularMDP, featureCount f: Int, discount: Double, features: (Int, UnsafeMutableBufferPointer<Double>) -> Void) {
        self.model = model
        self.featureCount = f
        self.discount = discount
        var table = [Double](repeating: 0, count: model.stateCount * f)
        table.withUnsafeMutableBufferPointer { t in
            for s in 0..<model.stateCount { features(s, UnsafeMutableBufferPointer(rebasing: t[(s * f)..<((s + 1) * f)])) }
        }
        stateFeatures = table
    }

    // MARK: - Tables

    /// r_φ(s, a) at s·|A| + a.
    public func rewardTable(_ reward: MLP) -> [Double] {
        reward.forward(stateFeatures)
    }

    /// π_λ(a|s) at s·|A| + a.
    public func policyTable(_ policy: NeuralSoftmaxPolicy, parameters lambda: [Double]) -> [Double] {
        var net = policy
        net.network.parameters = lambda
        let ws = PolicyWorkspace(for: net, capacity: stateCount)
        return stateFeatures.withUnsafeBufferPointer { Array(net.probabilities(features: $0, batch: stateCount, workspace: ws)) }
    }

    /// H(π(·|s)) for every state.
    public func entropies(_ pi: [Double]) -> [Double] {
        let m = actionCount
        return (0..<stateCount).map { s in
            var h = 0.0
            for a in 0..<m where pi[s * m + a] > 0 { h -= pi[s * m + a] * log(pi[s * m + a]) }
            return h
        }
    }

    // MARK: - Lower level, finite horizon

    /// The soft finite-horizon evaluation of a stationary policy under reward table `r`:
    /// Q_h(s, a) = r(s, a) + γ Σ_{s'} P(s'|s,a) [s' not terminal] V_{h−1}(s'),
    /// V_h(s) = Σ_a π(a|s) Q_h(s, a) + α H(π(·|s)), V_0 = 0; J = Σ_s ρ(s) V_H(s).
    public func softEvaluation(rewardTable r: [Double], policyTable pi: [Double], entropy alpha: Double) -> SoftEvaluation {
        let n = stateCount, m = actionCount, H = model.horizon
        let ent = entropies(pi)
        var v = [Double](repeating: 0, count: (H + 1) * n)
        var q = [Double](repeating: 0, count: H * n * m)
        for h in 1...H {
            for s in 0..<n {
                var vs = alpha * ent[s]
                for a in 0..<m {
                    let k = s * m + a
                    var acc = r[k]
                    for j in model.rowStart[k]..<model.rowStart[k + 1] where !model.isTerminal[model.successor[j]] {
                        acc += discount * model.probability[j] * v[(h - 1) * n + model.successor[j]]
                    }
                    q[(h - 1) * n * m + k] = acc
                    vs += pi[k] * acc
                }
                v[h * n + s] = vs
            }
        }
        var j = 0.0
        for s in 0..<n where model.startDistribution[s] > 0 { j += model.startDistribution[s] * v[H * n + s] }
        return SoftEvaluation(value: j, stateCount: n, actionCount: m, horizon: H, stateValues: v, actionValues: q)
    }

    /// J(λ, φ), exactly.
    public func lowerObjective(policy: NeuralSoftmaxPolicy, parameters lambda: [Double], reward: MLP, entropy alpha: Double) -> Double {
        softEvaluation(rewardTable: rewardTable(reward), policyTable: policyTable(policy, parameters: lambda), entropy: alpha).value
    }

    /// μ(s, a) = Σ_t γ^t d_t(s) π(a|s), the discounted expected number of visits of (s, a).
    public func discountedOccupancy(_ pi: [Double]) -> [Double] {
        let n = stateCount, m = actionCount
        let d = model.stateOccupancy(policy: pi)
        var mu = [Double](repeating: 0, count: n * m)
        var g = 1.0
        for t in 0..<model.horizon {
            for s in 0..<n where d[t * n + s] > 0 {
                for a in 0..<m { mu[s * m + a] += g * d[t * n + s] * pi[s * m + a] }
            }
            g *= discount
        }
        return mu
    }

    /// ∇_λ J(λ, φ) exactly: Σ_{t,s} γ^t d_t(s) [ Σ_a π(a|s) (Q_{H−t}(s,a) − V̄) ∇ log π(a|s) + α ∇H(π(·|s)) ]
    /// with the soft finite-horizon Q (the policy gradient theorem for the entropy-regularized J).
    public func policyJGradient(policy: NeuralSoftmaxPolicy, parameters lambda: [Double], reward: MLP, entropy alpha: Double) -> [Double] {
        let pi = policyTable(policy, parameters: lambda)
        let eval = softEvaluation(rewardTable: rewardTable(reward), policyTable: pi, entropy: alpha)
        let n = stateCount, m = actionCount, H = model.horizon
        let d = model.stateOccupancy(policy: pi)
        var w = [Double](repeating: 0, count: n * m)
        var e = [Double](repeating: 0, count: n)
        var g = 1.0
        for t in 0..<H {
            let h = H - t
            for s in 0..<n where d[t * n + s] > 0 {
                let mass = g * d[t * n + s]
                var mean = 0.0
                for a in 0..<m { mean += pi[s * m + a] * eval.q(s, a, remaining: h) }
                for a in 0..<m { w[s * m + a] += mass * pi[s * m + a] * (eval.q(s, a, remaining: h) - mean) }
                e[s] += mass * alpha
            }
            g *= discount
        }
        return policyGradient(policy: policy, parameters: lambda, stateActionWeights: w, stateEntropyWeights: alpha != 0 ? e : nil)
    }

    /// ∇_φ J(λ, φ) exactly: Σ_{s,a} μ(s, a) ∇_φ r_φ(s, a), μ the discounted occupancy of π_λ.
    public func rewardJGradient(policy: NeuralSoftmaxPolicy, parameters lambda: [Double], reward: MLP) -> [Double] {
        rewardGradient(reward: reward, stateActionWeights: discountedOccupancy(policyTable(policy, parameters: lambda)))
    }

    /// Σ_{s,a} W(s,a) ∇_λ log π(a|s) + Σ_s E(s) ∇_λ H(π(·|s)), in one batched pass over (s, a) rows.
    public func policyGradient(policy: NeuralSoftmaxPolicy, parameters lambda: [Double], stateActionWeights w: [Double],
                               stateEntropyWeights e: [Double]?) -> [Double] {
        var net = policy
        net.network.parameters = lambda
        net.network.zeroGradients()
        let n = stateCount, m = actionCount, f = featureCount
        var x = [Double](repeating: 0, count: n * m * f)
        var actions = [Int](repeating: 0, count: n * m)
        for s in 0..<n {
            for a in 0..<m {
                for i in 0..<f { x[(s * m + a) * f + i] = stateFeatures[s * f + i] }
                actions[s * m + a] = a
            }
        }
        let ws = PolicyWorkspace(for: net, capacity: n * m)
        net.accumulateLogProbabilityGradient(features: x, actions: actions, weights: w, workspace: ws)
        if let e {
            stateFeatures.withUnsafeBufferPointer { xs in
                e.withUnsafeBufferPointer { _ = net.accumulateEntropyGradient(features: xs, weights: $0, workspace: ws) }
            }
        }
        return net.network.gradients
    }

    /// Σ_{s,a} W(s,a) ∇_φ r_φ(s, a), in one batched pass over the states.
    public func rewardGradient(reward: MLP, stateActionWeights w: [Double]) -> [Double] {
        var gradient = [Double](repeating: 0, count: reward.parameterCount)
        BilevelGradients.backward(reward, input: stateFeatures, rows: stateCount, outputGradient: w, into: &gradient)
        return gradient
    }

    /// Solves the (penalized) lower level by exact gradient ascent from `start`:
    /// λ ← λ + step·(∇_λ J(λ, φ) + σ ∇_λ G(φ, λ)) until ‖·‖ < `tolerance` (σ = 0: λ*(φ); σ > 0 needs
    /// `enumeration` for the exact ∇_λ G, and gives λ_σ). With α > 0 the optimal POLICY is unique
    /// (on MDPs where each state occurs at one time step; the parameters may not be, e.g. with a
    /// softmax bias). Returns λ, the final gradient norm and the iterations used.
    public func solveLowerLevel(policy: NeuralSoftmaxPolicy, from start: [Double], reward: MLP, entropy alpha: Double,
                                sigma: Double = 0, enumeration: TrajectoryEnumeration? = nil, stepSize: Double = 1,
                                tolerance: Double = 1e-10, maxIterations: Int = 100_000) -> (parameters: [Double], gradientNorm: Double, iterations: Int) {
        precondition(sigma == 0 || enumeration != nil, "solveLowerLevel: σ > 0 needs the enumeration for ∇_λ G")
        var lambda = start
        var norm = Double.infinity
        for it in 0..<maxIterations {
            var g = policyJGradient(policy: policy, parameters: lambda, reward: reward, entropy: alpha)
            if sigma != 0, let enumeration {
                let gG = enumeration.policyGGradient(policy: policy, parameters: lambda, reward: reward)
                for j in 0..<g.count { g[j] += sigma * gG[j] }
            }
            norm = g.reduce(0) { $0 + $1 * $1 }.squareRoot()
            if norm < tolerance { return (lambda, norm, it) }
            for j in 0..<g.count { lambda[j] += stepSize * g[j] }
        }
        return (lambda, norm, maxIterations)
    }

    // MARK: - What the critic estimates

    /// The exact discounted soft Q of a stationary policy, Q^π_γ: the fixed point of
    /// Q(s, a) = r(s, a) + γ Σ_{s'} P(s'|s,a) [s' not terminal] Σ_{a'} π(a'|s') (Q(s', a') + α·(−log π(a'|s'))),
    /// found by iterating the map (a γ-contraction) until the largest change is below `tolerance`.
    /// The horizon plays no part: this is what a stationary critic Q(s, a) can represent.
    public func discountedQ(rewardTable r: [Double], policyTable pi: [Double], discount gamma: Double,
                            entropy alpha: Double = 0, tolerance: Double = 1e-12, maxIterations: Int = 1_000_000) -> [Double] {
        precondition(gamma >= 0 && gamma < 1, "the critic's discount must lie in [0, 1)")
        let n = stateCount, m = actionCount
        let ent = entropies(pi)
        var q = r
        var v = [Double](repeating: 0, count: n)
        for _ in 0..<maxIterations {
            for s in 0..<n {
                var acc = alpha * ent[s]
                for a in 0..<m { acc += pi[s * m + a] * q[s * m + a] }
                v[s] = acc
            }
            var change = 0.0
            for k in 0..<(n * m) {
                var acc = r[k]
                for j in model.rowStart[k]..<model.rowStart[k + 1] where !model.isTerminal[model.successor[j]] {
                    acc += gamma * model.probability[j] * v[model.successor[j]]
                }
                change = max(change, abs(acc - q[k]))
                q[k] = acc
            }
            if change < tolerance { break }
        }
        return q
    }

    /// The relative error of a critic in the on-policy norm:
    /// ‖Q̂ − Q‖_ν / ‖Q‖_ν with ‖x‖²_ν = Σ_{s,a} ν(s,a) x(s,a)², ν(s,a) ∝ Σ_t d_t(s) π(a|s) the
    /// distribution of the (s, a) pairs the critic is trained on (pairs π never visits do not count).
    public func relativeError(_ estimate: [Double], exact: [Double], policyTable pi: [Double]) -> Double {
        let nu = onPolicyDistribution(pi)
        var num = 0.0, den = 0.0
        for k in 0..<nu.count {
            num += nu[k] * (estimate[k] - exact[k]) * (estimate[k] - exact[k])
            den += nu[k] * exact[k] * exact[k]
        }
        return (num / den).squareRoot()
    }

    /// ν(s, a) ∝ Σ_t d_t(s) π(a|s): the distribution of the steps of episodes of π.
    public func onPolicyDistribution(_ pi: [Double]) -> [Double] {
        let n = stateCount, m = actionCount
        let d = model.stateOccupancy(policy: pi)
        var nu = [Double](repeating: 0, count: n * m)
        var total = 0.0
        for t in 0..<model.horizon {
            for s in 0..<n where d[t * n + s] > 0 {
                for a in 0..<m { nu[s * m + a] += d[t * n + s] * pi[s * m + a]; total += d[t * n + s] * pi[s * m + a] }
            }
        }
        return nu.map { $0 / total }
    }
}

/// The soft finite-horizon evaluation of ``TabularBilevelModel/softEvaluation(rewardTable:policyTable:entropy:)``.
public struct SoftEvaluation: Sendable {
    /// J = Σ_s ρ(s) V_H(s).
    public let value: Double
    public let stateCount: Int
    public let actionCount: Int
    public let horizon: Int
    /// V_h(s) at h·|S| + s, h = 0…H.
    public let stateValues: [Double]
    /// Q_h(s, a) at (h − 1)·|S|·|A| + s·|A| + a, h = 1…H.
    public let actionValues: [Double]

    /// Q_h(s, a) with h ≥ 1 steps remaining.
    @inlinable
    public func q(_ s: Int, _ a: Int, remaining h: Int) -> Double { actionValues[(h - 1) * stateCount * actionCount + s * actionCount + a] }

    /// Q_{H−t}(s, ·) for every row of a step batch of a tabular environment (rows × |A|): the
    /// exact action values the sampled ∇̂_λ J needs to be unbiased.
    public func actionValues(states: [Int], times: [Int]) -> [Double] {
        var q = [Double](); q.reserveCapacity(states.count * actionCount)
        for (s, t) in zip(states, times) {
            for a in 0..<actionCount { q.append(self.q(s, a, remaining: horizon - t)) }
        }
        return q
    }
}

/// Every trajectory of a tiny tabular MDP, for the exact upper objective G(φ, λ) and its gradients.
///
/// A path is s_0, a_0, s_1, …: it ends on entering a terminal state or after H steps. Its
/// probability under π is (transition part) × Π_t π(a_t|s_t); the expected label of an ordered
/// pair (τ_i, τ_j) is the panel's per-evaluator probability ȳ_ij of preferring τ_j (the mean of
/// p̂, since G is linear in y). Pairs the teacher would skip get weight 0.
public struct TrajectoryEnumeration: Sendable {
    /// One path.
    public struct Path: Sendable {
        /// s_0 … s_{T−1}.
        public var states: [Int]
        /// a_0 … a_{T−1}.
        public var actions: [Int]
        /// Π_t P(s_{t+1}|s_t, a_t) (the terminal transition included).
        public var transitionProbability: Double
        /// The true return Σ_t γ^t r(s_t, a_t, s_{t+1}).
        public var trueReturn: Double
        /// Σ_t γ_m^{T−1−t} r_t (what a myopic teacher sees).
        public var myopicReturn: Double
    }

    /// The paths.
    public let paths: [Path]
    /// ȳ_ij at i·count + j (NaN where the teacher skips).
    public let labels: [Double]
    /// The tabular model (features and discount).
    public let tabular: TabularBilevelModel

    /// Enumerates the paths of `tabular`'s model, or returns nil if there are more than `limit`.
    public init?(tabular: TabularBilevelModel, panel: EvaluatorPanel, limit: Int = 4096) {
        let model = tabular.model
        let m = model.actionCount
        let gammaM = panel.teacher.myopicDiscount
        var paths: [Path] = []
        var overflow = false
        func extend(_ path: Path, state s: Int, weight: Double) {
            if overflow { return }
            for a in 0..<m {
                let k = s * m + a
                for j in model.rowStart[k]..<model.rowStart[k + 1] where model.probability[j] > 0 {
                    var p = path
                    p.states.append(s); p.actions.append(a)
                    p.transitionProbability *= model.probability[j]
                    p.trueReturn += weight * model.reward[j]
                    p.myopicReturn = gammaM * p.myopicReturn + model.reward[j]
                    let s2 = model.successor[j]
                    if model.isTerminal[s2] || p.states.count == model.horizon {
                        paths.append(p)
                        if paths.count > limit { overflow = true; return }
                    } else {
                        extend(p, state: s2, weight: weight * tabular.discount)
                    }
                }
            }
        }
        for s in 0..<model.stateCount where model.startDistribution[s] > 0 && !model.isTerminal[s] {
            extend(Path(states: [], actions: [], transitionProbability: model.startDistribution[s], trueReturn: 0, myopicReturn: 0),
                   state: s, weight: 1)
        }
        if overflow { return nil }
        let n = paths.count
        var labels = [Double](repeating: .nan, count: n * n)
        for i in 0..<n {
            for j in 0..<n {
                let si = ShownTrajectory(totalReturn: paths[i].trueReturn, myopicReturn: paths[i].myopicReturn)
                let sj = ShownTrajectory(totalReturn: paths[j].trueReturn, myopicReturn: paths[j].myopicReturn)
                if let y = panel.answerProbability(si, sj) { labels[i * n + j] = y }
            }
        }
        self.paths = paths
        self.labels = labels
        self.tabular = tabular
    }

    /// Number of paths.
    public var count: Int { paths.count }

    /// The probability of every path under the policy table π.
    public func probabilities(_ pi: [Double]) -> [Double] {
        let m = tabular.actionCount
        return paths.map { path in
            var p = path.transitionProbability
            for (s, a) in zip(path.states, path.actions) { p *= pi[s * m + a] }
            return p
        }
    }

    /// R_φ(τ) = Σ_t γ^t r(s_t, a_t) of every path under the reward table r.
    public func learnedReturns(_ r: [Double]) -> [Double] {
        let m = tabular.actionCount, g = tabular.discount
        return paths.map { path in
            var total = 0.0, w = 1.0
            for (s, a) in zip(path.states, path.actions) { total += w * r[s * m + a]; w *= g }
            return total
        }
    }

    /// G(φ, λ) exactly: Σ_ij p_i p_j [ȳ_ij log σ(R_j − R_i) + (1 − ȳ_ij) log σ(R_i − R_j)].
    public func upperObjective(policy: NeuralSoftmaxPolicy, parameters lambda: [Double], reward: MLP) -> Double {
        upperObjective(policyTable: tabular.policyTable(policy, parameters: lambda), rewardTable: tabular.rewardTable(reward))
    }

    /// G exactly from a policy table π and a reward table r (see ``upperObjective(policy:parameters:reward:)``).
    public func upperObjective(policyTable pi: [Double], rewardTable r: [Double]) -> Double {
        let p = probabilities(pi)
        let R = learnedReturns(r)
        let n = count
        var total = 0.0
        for i in 0..<n where p[i] > 0 {
            for j in 0..<n where p[j] > 0 {
                let y = labels[i * n + j]
                if y.isNaN { continue }
                total += p[i] * p[j] * BilevelGradients.logLikelihood(difference: R[j] - R[i], label: y)
            }
        }
        return total
    }

    /// ∇_φ G(φ, λ) exactly: Σ_ij p_i p_j (ȳ_ij − σ(R_j − R_i)) (∇R_j − ∇R_i).
    public func rewardGGradient(policy: NeuralSoftmaxPolicy, parameters lambda: [Double], reward: MLP) -> [Double] {
        let p = probabilities(tabular.policyTable(policy, parameters: lambda))
        let R = learnedReturns(tabular.rewardTable(reward))
        let n = count
        var c = [Double](repeating: 0, count: n)
        for i in 0..<n where p[i] > 0 {
            for j in 0..<n where p[j] > 0 {
                let y = labels[i * n + j]
                if y.isNaN { continue }
                let g = p[i] * p[j] * (y - Loss.sigmoid(R[j] - R[i]))
                c[j] += g
                c[i] -= g
            }
        }
        return tabular.rewardGradient(reward: reward, stateActionWeights: visitWeights(c, discounted: true))
    }

    /// ∇_λ G(φ, λ) exactly: Σ_ij p_i p_j ℓ̄_ij (∇ log π(τ_i) + ∇ log π(τ_j)), ℓ̄_ij the expected log-likelihood.
    public func policyGGradient(policy: NeuralSoftmaxPolicy, parameters lambda: [Double], reward: MLP) -> [Double] {
        let p = probabilities(tabular.policyTable(policy, parameters: lambda))
        let R = learnedReturns(tabular.rewardTable(reward))
        let n = count
        var c = [Double](repeating: 0, count: n)
        for i in 0..<n where p[i] > 0 {
            for j in 0..<n where p[j] > 0 {
                let y = labels[i * n + j]
                if y.isNaN { continue }
                let g = p[i] * p[j] * BilevelGradients.logLikelihood(difference: R[j] - R[i], label: y)
                c[i] += g
                c[j] += g
            }
        }
        return tabular.policyGradient(policy: policy, parameters: lambda, stateActionWeights: visitWeights(c, discounted: false),
                                      stateEntropyWeights: nil)
    }

    /// W(s, a) = Σ_k c_k Σ_t [γ^t] [s_t = s, a_t = a].
    func visitWeights(_ c: [Double], discounted: Bool) -> [Double] {
        let m = tabular.actionCount
        var w = [Double](repeating: 0, count: tabular.stateCount * m)
        for (k, path) in paths.enumerated() where c[k] != 0 {
            var g = 1.0
            for (s, a) in zip(path.states, path.actions) {
                w[s * m + a] += c[k] * g
                if discounted { g *= tabular.discount }
            }
        }
        return w
    }
}
