#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Hyperparameters of the DQN-style critic (Algorithm 2 of spec §5), with their defaults.
///
/// The critic is a stationary Q_w(s, a) = MLP_w(features(s))_a. A stationary function cannot
/// represent the time-dependent finite-horizon Q_{H−t}(s, a), so it estimates the DISCOUNTED soft
/// action value Q^π_γ (``TabularBilevelModel/discountedQ(rewardTable:policyTable:discount:entropy:tolerance:maxIterations:)``):
/// γ = 0.95 gives an effective horizon 1/(1−γ) = 20, the horizon of the GridWorld presets, so
/// Q^π_γ weighs the future about as the finite-horizon objective does while staying a
/// γ-contraction that J target refreshes converge on. Episodes cut by the horizon are not
/// terminal: their last step still bootstraps.
public struct CriticHyperparameters: Sendable, Equatable, Codable {
    /// Hidden widths of Q_w ([] = linear in the features: tabular on one-hot features).
    public var hidden: [Int] = []
    /// The critic's discount γ ∈ [0, 1).
    public var discount: Double = 0.95
    /// Episodes of π sampled per critic run; the transitions of these episodes are the replay buffer.
    public var episodes: Int = 16
    /// J: target refreshes per critic run.
    public var refreshes: Int = 50
    /// n: SGD steps between refreshes.
    public var stepsPerRefresh: Int = 20
    /// Transitions per SGD minibatch (drawn uniformly, with replacement, from the buffer);
    /// 0: every step uses the whole buffer (full-batch gradient steps, no minibatch noise).
    public var batchSize: Int = 64
    /// SGD step size on the mean squared TD error ½·mean (Q_w(s,a) − y)². The default suits the
    /// tabular critic (each entry moves by lr·(its share of the batch)·error); use ~1e-2 with hidden layers.
    public var learningRate: Double = 0.5
    /// Project w onto the ball of this radius around its initial value after every step (as in the
    /// neural TD analyses); nil: no projection.
    public var projectionRadius: Double? = nil

    /// The defaults.
    public init() {}

    /// Throws on bad values.
    public func validate() throws {
        for h in hidden { try Validate.atLeast(h, 1, "critic hidden width", atMost: Limits.layerWidth) }
        try Validate.inRange(discount, 0...0.999_999, "critic discount")
        try Validate.atLeast(episodes, 1, "critic episodes")
        try Validate.atLeast(refreshes, 1, "critic target refreshes (J)")
        try Validate.atLeast(stepsPerRefresh, 1, "critic SGD steps per refresh (n)")
        try Validate.atLeast(batchSize, 0, "critic batch size")
        try Validate.positive(learningRate, "critic learning rate")
        if let r = projectionRadius { try Validate.positive(r, "critic projection radius") }
    }
}

/// What one critic run did.
public struct CriticReport: Sendable, Equatable {
    /// Transitions in the buffer.
    public var transitions: Int
    /// Mean squared TD error ½·mean(Q_w − y)² over the whole buffer against the last targets.
    public var tdLoss: Double
}

/// The DQN-style critic of Algorithm 2 (spec §5): policy evaluation of π under the learned reward r_φ.
///
/// For j = 1…J: freeze Q_tgt ← Q_w and compute, for every transition (s, a, s') of the buffer,
/// y = r_φ(s, a) + γ [s' not terminal] Σ_{a'} π(a'|s') (Q_tgt(s', a') − α log π(a'|s'));
/// then n SGD steps on minibatches of ½ (Q_w(s, a) − y)², each followed by the optional projection.
/// The α term is the entropy bonus of the regularized lower level (α = 0: the plain target of
/// the spec). Warm-started: each run continues from the previous run's w.
public struct DQNCritic: Sendable {
    /// Q_w.
    public var network: MLP
    /// The hyperparameters.
    public let hyper: CriticHyperparameters
    /// w at creation (the centre of the projection ball).
    public let initialParameters: [Double]

    /// A critic for `featureCount` features and `actionCount` actions, starting at Q ≡ 0.
    public init(featureCount: Int, actionCount: Int, hyper: CriticHyperparameters = .init(), using rng: inout Xoshiro256) {
        self.hyper = hyper
        network = MLP(inputSize: featureCount, hidden: hyper.hidden, outputSize: actionCount, activation: .relu,
                      zeroLastLayer: true, using: &rng)
        initialParameters = network.parameters
    }

    /// Q_w(s, ·) for `rows` feature rows (rows × |A|).
    public func values(features: [Double], rows: Int) -> [Double] {
        guard rows > 0 else { return [] }
        let ws = MLPWorkspace(for: network, capacity: rows)
        return features.withUnsafeBufferPointer { Array(network.forward($0, batch: rows, workspace: ws)) }
    }

    /// Algorithm 2 on the transitions of `steps` (sampled from π).
    ///
    /// - Parameters:
    ///   - rewards: r_φ(s_i, a_i) for every row.
    ///   - nextProbabilities: π(·|s'_i) for every row (rows × |A|; ignored where s'_i is terminal).
    ///   - entropy: α.
    ///   - rng: draws the minibatches.
    @discardableResult
    public mutating func evaluate<S>(_ steps: StepBatch<S>, rewards: [Double], nextProbabilities: [Double], entropy alpha: Double,
                                     using rng: inout Xoshiro256) -> CriticReport {
        let n = steps.count, m = network.outputSize, f = network.inputSize
        guard n > 0 else { return CriticReport(transitions: 0, tdLoss: 0) }
        precondition(rewards.count == n && nextProbabilities.count == n * m, "DQNCritic.evaluate: inconsistent inputs")
        // The entropy bonus of every next state is fixed by π: compute it once.
        var bonus = [Double](repeating: 0, count: n)
        if alpha != 0 {
            for i in 0..<n where !steps.terminal[i] {
                var h = 0.0
                for a in 0..<m where nextProbabilities[i * m + a] > 0 {
                    h -= nextProbabilities[i * m + a] * log(nextProbabilities[i * m + a])
                }
                bonus[i] = alpha * h
            }
        }
        let gamma = hyper.discount
        let fullBatch = hyper.batchSize == 0
        let b = fullBatch ? n : hyper.batchSize
        let full = MLPWorkspace(for: network, capacity: n)
        let ws = MLPWorkspace(for: network, capacity: b)
        var targets = [Double](repeating: 0, count: n)
        var x = [Double](repeating: 0, count: b * f)
        var chosen = [Int](repeating: 0, count: b)
        var outGrad = [Double](repeating: 0, count: b * m)
        var sgd = SGD(parameterCount: network.parameterCount, learningRate: hyper.learningRate)
        for _ in 0..<hyper.refreshes {
            // Freeze the target: y_i from Q_tgt = the current Q_w, for the whole buffer at once.
            let qNext = steps.nextFeatures.withUnsafeBufferPointer { network.forward($0, batch: n, workspace: full) }
            for i in 0..<n {
                var y = rewards[i]
                if !steps.terminal[i] {
                    var v = bonus[i]
                    for a in 0..<m { v += nextProbabilities[i * m + a] * qNext[i * m + a] }
                    y += gamma * v
                }
                targets[i] = y
            }
            for _ in 0..<hyper.stepsPerRefresh {
                for r in 0..<b {
                    let i = fullBatch ? r : rng.index(below: n)
                    chosen[r] = i
                    for k in 0..<f { x[r * f + k] = steps.features[i * f + k] }
                }
                let q = x.withUnsafeBufferPointer { network.forward($0, batch: b, workspace: ws) }
                for k in 0..<(b * m) { outGrad[k] = 0 }
                for r in 0..<b {
                    let i = chosen[r], a = steps.actions[i]
                    outGrad[r * m + a] = (q[r * m + a] - targets[i]) / Double(b)
                }
                network.zeroGradients()
                outGrad.withUnsafeBufferPointer { network.backward(outputGradient: $0, workspace: ws) }
                sgd.step(&network)
                if let radius = hyper.projectionRadius { project(radius: radius) }
            }
        }
        let q = steps.features.withUnsafeBufferPointer { network.forward($0, batch: n, workspace: full) }
        var loss = 0.0
        for i in 0..<n { let e = q[i * m + steps.actions[i]] - targets[i]; loss += 0.5 * e * e }
        return CriticReport(transitions: n, tdLoss: loss / Double(n))
    }

    /// w ← w₀ + (w − w₀)·min(1, R/‖w − w₀‖).
    mutating func project(radius: Double) {
        var norm2 = 0.0
        for i in 0..<network.parameters.count {
            let d = network.parameters[i] - initialParameters[i]
            norm2 += d * d
        }
        let scale = GradientClipping.factor(norm: norm2.squareRoot(), maxNorm: radius)
        guard scale != 1 else { return }
        for i in 0..<network.parameters.count {
            network.parameters[i] = initialParameters[i] + scale * (network.parameters[i] - initialParameters[i])
        }
    }
}
