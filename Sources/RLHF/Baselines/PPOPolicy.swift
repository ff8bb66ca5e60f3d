#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The policy side of ``PPO``: how π_θ acts, how it scores the actions a rollout recorded, and
/// how the clipped surrogate's per-row gradients reach θ.
///
/// ``NeuralSoftmaxPolicy`` (finite actions: an index) and ``GaussianPolicy`` (a box: a vector of
/// reals, recorded UNCLIPPED and clipped only when executed) conform. Everything else in PPO —
/// rollouts, GAE, the critic, minibatches, gradient clipping, Adam — is written once, in
/// ``PPO``; the per-row surrogate arithmetic is one function, ``PPOSurrogate/add(logProbability:oldLogProbability:advantage:clip:weight:)``.
public protocol PPOPolicy: Sendable {
    /// What the policy chooses (the environment's action type).
    associatedtype Action: Sendable
    /// Buffers of the policy's batched passes (one per PPO learner; not shared across threads).
    associatedtype Workspace: AnyObject

    /// Length of the feature vector the policy reads.
    var featureCount: Int { get }
    /// θ, one flat vector (what Adam updates).
    var parameters: [Double] { get set }
    /// The gradient buffer, θ's layout.
    var gradients: [Double] { get set }

    /// Buffers for batches of up to `capacity` rows (they grow on demand).
    func makeWorkspace(capacity: Int) -> Workspace
    /// Why the policy cannot act in `space` (nil when it can).
    func mismatch(with space: ActionSpace) -> String?
    /// One action for one state's features, as recorded in the batch (for a box: the unclipped
    /// sample; ``ActionClipping`` clips what the environment receives).
    func rolloutAction(features: UnsafeBufferPointer<Double>, workspace: Workspace, using rng: inout Xoshiro256) -> Action
    /// log π(aᵢ|sᵢ) of the rows (`features` is actions.count × ``featureCount``) into `result`.
    func logProbabilities(features: UnsafeBufferPointer<Double>, actions: [Action], workspace: Workspace,
                          into result: UnsafeMutableBufferPointer<Double>)
    /// The surrogate part of PPO's loss on a minibatch of actions.count rows,
    /// −(1/b) Σ min(ρA, clip(ρ)A) − c_H·(1/b) Σ H(π(·|sᵢ)), with its gradient left in
    /// ``gradients`` (zeroed first). `advantages` are the minibatch's (already normalized) ones.
    mutating func surrogateLossAndGradients(features: UnsafeBufferPointer<Double>, actions: [Action],
                                            oldLogProbabilities: [Double], advantages: UnsafeBufferPointer<Double>,
                                            clip: Double, entropyCoefficient: Double, workspace: Workspace) -> PPOSurrogate
    /// One step of `optimizer` on θ from ``gradients``.
    mutating func step<O: Optimizer>(_ optimizer: inout O)
    /// Rewards r_φ(sᵢ, aᵢ) of a learned model for the rows, or nil when the model cannot score
    /// this policy's actions.
    func learnedRewards(_ model: RewardModel, features: UnsafeBufferPointer<Double>, actions: [Action]) -> [Double]?
}

/// The policy terms of one PPO minibatch (means over it), accumulated row by row.
public struct PPOSurrogate: Sendable, Equatable {
    /// −mean clipped surrogate.
    public var policyLoss = 0.0
    /// Mean entropy of π(·|sᵢ).
    public var entropy = 0.0
    /// Mean approximate KL(π_old ‖ π) (k3 estimator: (ρ − 1) − log ρ).
    public var approximateKL = 0.0
    /// Rows whose ratio left [1 − ε, 1 + ε].
    public var clipped = 0

    /// Creates an empty accumulator.
    public init() {}

    /// Adds one row (`weight` = 1/b) and returns ∂(policy loss)/∂log π(aᵢ|sᵢ) = −ρ·∂L/∂ρ·weight.
    @inlinable
    public mutating func add(logProbability: Double, oldLogProbability: Double, advantage: Double,
                             clip: Double, weight: Double) -> Double {
        let logRatio = logProbability - oldLogProbability
        let ratio = exp(logRatio)
        let (objective, dRatio) = PPOLoss.clippedSurrogate(ratio: ratio, advantage: advantage, clip: clip)
        policyLoss -= objective * weight
        approximateKL += ((ratio - 1) - logRatio) * weight
        if abs(ratio - 1) > clip { clipped += 1 }
        return -dRatio * ratio * weight
    }
}

extension NeuralSoftmaxPolicy: PPOPolicy {
    /// An action index.
    public typealias Action = Int

    /// The network's parameters.
    public var parameters: [Double] {
        get { network.parameters }
        _modify { yield &network.parameters }
    }

    /// The network's gradient buffer.
    public var gradients: [Double] {
        get { network.gradients }
        _modify { yield &network.gradients }
    }

    /// One optimizer step on the network.
    public mutating func step<O: Optimizer>(_ optimizer: inout O) { optimizer.step(&network) }

    /// A ``PolicyWorkspace``.
    public func makeWorkspace(capacity: Int) -> PolicyWorkspace { PolicyWorkspace(for: self, capacity: capacity) }

    /// Needs `.finite(actionCount)`.
    public func mismatch(with space: ActionSpace) -> String? {
        space == .finite(actionCount) ? nil : "the policy has \(actionCount) actions; the environment's action space is \(space)"
    }

    /// One inverse-CDF draw from the softmax.
    public func rolloutAction(features: UnsafeBufferPointer<Double>, workspace: PolicyWorkspace, using rng: inout Xoshiro256) -> Int {
        sampleAction(features: features, workspace: workspace, using: &rng, parameters: nil)
    }

    /// log π(aᵢ|sᵢ) in one batched forward pass.
    public func logProbabilities(features: UnsafeBufferPointer<Double>, actions: [Int], workspace: PolicyWorkspace,
                                 into result: UnsafeMutableBufferPointer<Double>) {
        actions.withUnsafeBufferPointer { logProbabilities(features: features, actions: $0, workspace: workspace, into: result) }
    }

    /// One forward pass gives the ratios, the entropies and the logit gradients:
    /// ∂log π(a)/∂z_j = [j = a] − π_j and ∂(−c_H H/b)/∂z_j = (c_H/b)·π_j(log π_j + H).
    public mutating func surrogateLossAndGradients(features: UnsafeBufferPointer<Double>, actions: [Int],
                                                   oldLogProbabilities: [Double], advantages: UnsafeBufferPointer<Double>,
                                                   clip: Double, entropyCoefficient cH: Double,
                                                   workspace: PolicyWorkspace) -> PPOSurrogate {
        let b = actions.count, m = actionCount
        var result = PPOSurrogate()
        guard b > 0 else { return result }
        let invB = 1 / Double(b)
        let logits = network.forward(features, batch: b, workspace: workspace.network)
        var logitGradients = [Double](repeating: 0, count: b * m)
        var logp = [Double](repeating: 0, count: m)
        for r in 0..<b {
            let base = r * m
            let (mx, logZ) = Loss.logSumExp(logits, base: base, count: m)
            var entropy = 0.0
            for j in 0..<m {
                logp[j] = logits[base + j] - mx - logZ
                entropy -= exp(logp[j]) * logp[j]
            }
            let a = actions[r]
            let dLogp = result.add(logProbability: logp[a], oldLogProbability: oldLogProbabilities[r],
                                   advantage: advantages[r], clip: clip, weight: invB)
            result.entropy += entropy * invB
            for j in 0..<m {
                let p = exp(logp[j])
                logitGradients[base + j] = dLogp * ((j == a ? 1 : 0) - p) + cH * invB * p * (logp[j] + entropy)
            }
        }
        network.zeroGradients()
        logitGradients.withUnsafeBufferPointer { network.backward(outputGradient: $0, workspace: workspace.network) }
        return result
    }

    /// r_φ(s, a) = the model's output a for the state's features.
    public func learnedRewards(_ model: RewardModel, features: UnsafeBufferPointer<Double>, actions: [Int]) -> [Double]? {
        let n = actions.count, m = model.network.outputSize
        let ws = MLPWorkspace(for: model.network, capacity: n)
        let out = model.network.forward(features, batch: n, workspace: ws)
        return (0..<n).map { out[$0 * m + actions[$0]] }
    }
}

extension GaussianPolicy: PPOPolicy {
    /// A vector of reals (the unclipped sample u).
    public typealias Action = [Double]

    /// One optimizer step on θ (mean network and log-stds).
    public mutating func step<O: Optimizer>(_ optimizer: inout O) { optimizer.step(parameters: &parameters, gradients: &gradients) }

    /// A ``GaussianPolicyWorkspace``.
    public func makeWorkspace(capacity: Int) -> GaussianPolicyWorkspace { GaussianPolicyWorkspace(for: self, capacity: capacity) }

    /// Needs the policy's own box.
    public func mismatch(with space: ActionSpace) -> String? {
        space == .box(low: low, high: high) ? nil : "the policy acts in the box [\(low), \(high)]; the environment's action space is \(space)"
    }

    /// u = m_θ(s) + exp(ℓ)⊙ε, unclipped.
    public func rolloutAction(features: UnsafeBufferPointer<Double>, workspace: GaussianPolicyWorkspace,
                             using rng: inout Xoshiro256) -> [Double] {
        var scratch = [Double](repeating: 0, count: scratchCount)
        var action = [Double](repeating: 0, count: actionDimension)
        parameters.withUnsafeBufferPointer { t in
            scratch.withUnsafeMutableBufferPointer { s in
                action.withUnsafeMutableBufferPointer { a in
                    sampleAction(features: features, parameters: t, scratch: s, into: a, clipped: false, using: &rng)
                }
            }
        }
        return action
    }

    /// log π(uᵢ|sᵢ) in one batched forward pass of the mean network.
    public func logProbabilities(features: UnsafeBufferPointer<Double>, actions: [[Double]], workspace: GaussianPolicyWorkspace,
                                 into result: UnsafeMutableBufferPointer<Double>) {
        let flat = actions.flatMap { $0 }
        flat.withUnsafeBufferPointer { logProbabilities(features: features, actions: $0, workspace: workspace, into: result) }
    }

    /// The ratios from one batched pass; the surrogate's gradient through
    /// ``accumulateLogProbabilityGradient(features:actions:weights:workspace:)`` with the rows'
    /// ∂loss/∂log π as weights; the entropy, Σℓ + ½·dim·(1 + ln 2π) in every state, contributes
    /// −c_H to each ∂/∂ℓᵢ.
    public mutating func surrogateLossAndGradients(features: UnsafeBufferPointer<Double>, actions: [[Double]],
                                                   oldLogProbabilities: [Double], advantages: UnsafeBufferPointer<Double>,
                                                   clip: Double, entropyCoefficient cH: Double,
                                                   workspace: GaussianPolicyWorkspace) -> PPOSurrogate {
        let b = actions.count
        var result = PPOSurrogate()
        guard b > 0 else { return result }
        let invB = 1 / Double(b)
        let flat = actions.flatMap { $0 }
        var logp = [Double](repeating: 0, count: b)
        flat.withUnsafeBufferPointer { a in
            logp.withUnsafeMutableBufferPointer { logProbabilities(features: features, actions: a, workspace: workspace, into: $0) }
        }
        var weights = [Double](repeating: 0, count: b)
        for r in 0..<b {
            weights[r] = result.add(logProbability: logp[r], oldLogProbability: oldLogProbabilities[r],
                                    advantage: advantages[r], clip: clip, weight: invB)
        }
        result.entropy = entropy()
        zeroGradients()
        flat.withUnsafeBufferPointer { a in
            weights.withUnsafeBufferPointer { w in
                _ = accumulateLogProbabilityGradient(features: features, actions: a, weights: w, workspace: workspace)
            }
        }
        accumulateEntropyGradient(weight: -cH)
        return result
    }

    /// r_φ of rows φ(sᵢ) ⊕ clip(uᵢ) (``FeaturizedTrajectory/boxRows(features:featureCount:actions:low:high:)``:
    /// the action the environment executed), the model's one output, in one batched pass.
    public func learnedRewards(_ model: RewardModel, features: UnsafeBufferPointer<Double>, actions: [[Double]]) -> [Double]? {
        let n = actions.count
        guard model.network.outputSize == 1, model.network.inputSize == featureCount + low.count else { return nil }
        let rows = FeaturizedTrajectory.boxRows(features: features, featureCount: featureCount, actions: actions, low: low, high: high)
        let ws = MLPWorkspace(for: model.network, capacity: max(n, 1))
        let out = rows.withUnsafeBufferPointer { model.network.forward($0, batch: n, workspace: ws) }
        return (0..<n).map { out[$0] }
    }
}

/// A box-action environment whose actions are clipped into the box before each step: what a
/// learner that records unclipped Gaussian samples (``PPO`` with a ``GaussianPolicy``) runs
/// (CleanRL's continuous PPO wraps its environments in Gymnasium's `ClipAction` likewise).
public struct ActionClipping<Base: EpisodicEnvironment>: EpisodicEnvironment where Base.Action == [Double] {
    /// The clipped environment.
    public let base: Base
    let low: [Double], high: [Double]

    /// Wraps `base`.
    ///
    /// - Precondition: its action space is a box.
    public init(_ base: Base) {
        guard case let .box(low, high) = base.actionSpace else { preconditionFailure("ActionClipping needs a box action space") }
        self.base = base
        self.low = low
        self.high = high
    }

    public var actionSpace: ActionSpace { base.actionSpace }
    public var horizon: Int { base.horizon }
    public var discount: Double { base.discount }
    public var featureCount: Int { base.featureCount }
    public func reset(using rng: inout Xoshiro256) -> Base.State { base.reset(using: &rng) }
    public func features(of state: Base.State, into buffer: UnsafeMutableBufferPointer<Double>) {
        base.features(of: state, into: buffer)
    }

    /// Steps `base` with clip(action, low, high).
    public func step(_ state: Base.State, action: [Double], using rng: inout Xoshiro256) -> StepResult<Base.State> {
        base.step(state, action: ActionSpace.clip(action, low: low, high: high), using: &rng)
    }
}
