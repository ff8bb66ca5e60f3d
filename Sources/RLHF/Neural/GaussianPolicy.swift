#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A diagonal-Gaussian policy over a box of actions (spec §8): u = m_θ(φ(s)) + exp(ℓ)⊙ε,
/// ε ~ N(0, I), with the mean m_θ an ``MLP`` of the state's features (one output per action
/// dimension) and ℓ a state-independent log-standard-deviation vector.
///
/// **Parameters.** θ is ONE flat vector, ``parameters``: the mean network's parameters (in the
/// ``MLP`` layout) followed by the ``actionDimension`` entries of ℓ (at ``logStdOffset``).
/// ``gradients`` has the same layout; the accumulating methods ADD to it. Every method also
/// accepts an explicit θ (`parameters:`), e.g. a perturbed or a reference one.
///
/// **Bounds: clipping, not squashing.** The executed action is a = clip(u, low, high) elementwise,
/// and log π(a|s) is the log-density of the UNCLIPPED Gaussian sample u (as CleanRL's continuous
/// PPO does, spec §8's "clipped" choice):
///
///     log π(u|s) = −½‖(u − m)/exp(ℓ)‖² − Σᵢ ℓᵢ − ½·dim·ln 2π.
///
/// This is the density of the policy's sample, not of the clipped action's distribution (which
/// has point masses at the bounds); learners should therefore record u, which is why
/// ``sampleAction(features:parameters:scratch:into:clipped:using:)`` can return it unclipped and
/// environments such as ``Pendulum`` clip on their own. The entropy is that of the Gaussian,
/// Σᵢ ℓᵢ + ½·dim·(1 + ln 2π), independent of the state.
///
/// **Randomness.** A sample draws one ``Xoshiro256/normal()`` per action dimension, in order.
public struct GaussianPolicy: Sendable, Equatable {
    /// The mean network (input: features, output: one mean per action dimension, identity output).
    /// Its own ``MLP/parameters`` are the initial mean weights, copied into ``parameters`` when
    /// the policy is created and not read afterwards: θ lives in ``parameters``.
    public let network: MLP
    /// The flat parameter vector θ: the mean network's parameters, then the log-std vector ℓ.
    public var parameters: [Double]
    /// The flat gradient buffer, same layout as ``parameters``; backward passes ADD to it.
    public var gradients: [Double]
    /// Lower bounds of the action box (one per dimension).
    public let low: [Double]
    /// Upper bounds of the action box (one per dimension).
    public let high: [Double]

    /// Wraps an existing mean network with the log-std vector `logStd` and the box [low, high].
    ///
    /// - Precondition: the network has identity outputs, one per action dimension;
    ///   `logStd`, `low` and `high` have that many entries, `low[i]` ≤ `high[i]`, and every
    ///   log-std is finite.
    public init(network: MLP, logStd: [Double], low: [Double], high: [Double]) {
        precondition(network.outputActivation == .identity, "a Gaussian policy needs an identity mean output")
        let dim = network.outputSize
        precondition(logStd.count == dim && low.count == dim && high.count == dim,
                     "a Gaussian policy needs \(dim) log-stds and bounds, one per action dimension")
        precondition(zip(low, high).allSatisfy { $0 <= $1 }, "a Gaussian policy's box needs low ≤ high")
        precondition(logStd.allSatisfy(\.isFinite), "log-stds must be finite")
        self.network = network
        self.parameters = network.parameters + logStd
        self.gradients = [Double](repeating: 0, count: network.parameterCount + dim)
        self.low = low
        self.high = high
    }

    /// A policy with the given hidden widths, its network initialized from `rng` (Xavier for
    /// tanh), every log-std equal to `initialLogStd` and the box [low, high]. With `zeroMeanStart`
    /// the last layer is zero so that the policy starts with mean 0 in every state.
    public init(featureCount: Int, hidden: [Int], low: [Double], high: [Double], activation: Activation = .tanh,
                initialLogStd: Double = 0, zeroMeanStart: Bool = true, using rng: inout Xoshiro256) {
        let net = MLP(inputSize: featureCount, hidden: hidden, outputSize: low.count, activation: activation,
                      zeroLastLayer: zeroMeanStart, using: &rng)
        self.init(network: net, logStd: [Double](repeating: initialLogStd, count: low.count), low: low, high: high)
    }

    /// Number of features per state.
    @inlinable public var featureCount: Int { network.inputSize }
    /// Dimension of the action box.
    @inlinable public var actionDimension: Int { network.outputSize }
    /// Number of parameters d: the mean network's plus one log-std per action dimension.
    @inlinable public var parameterCount: Int { network.parameterCount + network.outputSize }
    /// Offset of ℓ in θ (= the mean network's parameter count).
    @inlinable public var logStdOffset: Int { network.parameterCount }
    /// Size of the scratch buffer that single-state sampling needs: 2 × the widest layer.
    @inlinable public var scratchCount: Int { 2 * network.widths.max()! }

    /// The log-std vector ℓ, read from and written into ``parameters``.
    public var logStd: [Double] {
        get { Array(parameters[logStdOffset...]) }
        set {
            precondition(newValue.count == actionDimension, "logStd: expected \(actionDimension) values")
            parameters.replaceSubrange(logStdOffset..., with: newValue)
        }
    }

    /// Sets every gradient to zero.
    public mutating func zeroGradients() {
        gradients.withUnsafeMutableBufferPointer { $0.update(repeating: 0) }
    }

    /// ½·ln 2π.
    @inlinable static var halfLogTwoPi: Double { 0.5 * log(2 * Double.pi) }

    // MARK: Sampling

    /// Clips `action` into the box, elementwise.
    @inlinable
    public func clip(_ action: UnsafeMutableBufferPointer<Double>) {
        ActionSpace.clip(UnsafeMutableBufferPointer(rebasing: action[0..<actionDimension]), low: low, high: high)
    }

    /// The mean m_θ(s) of one state's features into `mean` (``actionDimension`` values), with the
    /// single-row forward pass.
    ///
    /// - Parameter scratch: at least ``scratchCount`` values, overwritten.
    @inlinable
    public func mean(features: UnsafeBufferPointer<Double>, parameters theta: UnsafeBufferPointer<Double>,
                     scratch: UnsafeMutableBufferPointer<Double>, into mean: UnsafeMutableBufferPointer<Double>) {
        precondition(theta.count == parameterCount, "GaussianPolicy: \(theta.count) parameters, expected \(parameterCount)")
        let net = UnsafeBufferPointer(rebasing: theta[0..<logStdOffset])
        let m = network.forwardSingle(features, parameters: net, scratch: scratch)
        for i in 0..<actionDimension { mean[i] = m[i] }
    }

    /// Samples u = m_θ(s) + exp(ℓ)⊙ε for one state's features into `action` (``actionDimension``
    /// values), one ``Xoshiro256/normal()`` per dimension in order; with `clipped` the sample is
    /// then clipped into the box (the executed action), without it u is returned as drawn (what
    /// ``logProbabilities(features:actions:workspace:into:parameters:)`` scores).
    ///
    /// - Parameter scratch: at least ``scratchCount`` values, overwritten.
    @inlinable
    public func sampleAction(features: UnsafeBufferPointer<Double>, parameters theta: UnsafeBufferPointer<Double>,
                             scratch: UnsafeMutableBufferPointer<Double>, into action: UnsafeMutableBufferPointer<Double>,
                             clipped: Bool = true, using rng: inout Xoshiro256) {
        precondition(action.count >= actionDimension, "sampleAction: action buffer too small")
        mean(features: features, parameters: theta, scratch: scratch, into: action)
        let o = logStdOffset
        for i in 0..<actionDimension { action[i] += exp(theta[o + i]) * rng.normal() }
        if clipped { clip(action) }
    }

    /// Convenience: one sample for one state's features with the policy's own θ, as a new array
    /// (clipped into the box unless `clipped` is false).
    public func sampleAction(features: [Double], clipped: Bool = true, using rng: inout Xoshiro256) -> [Double] {
        precondition(features.count == featureCount, "sampleAction: expected \(featureCount) features")
        var action = [Double](repeating: 0, count: actionDimension)
        var scratch = [Double](repeating: 0, count: scratchCount)
        features.withUnsafeBufferPointer { x in
            parameters.withUnsafeBufferPointer { t in
                scratch.withUnsafeMutableBufferPointer { s in
                    action.withUnsafeMutableBufferPointer { a in
                        sampleAction(features: x, parameters: t, scratch: s, into: a, clipped: clipped, using: &rng)
                    }
                }
            }
        }
        return action
    }

    /// Convenience: the mean m_θ(s) of one state's features with the policy's own θ.
    public func mean(features: [Double]) -> [Double] {
        precondition(features.count == featureCount, "mean: expected \(featureCount) features")
        var out = [Double](repeating: 0, count: actionDimension)
        var scratch = [Double](repeating: 0, count: scratchCount)
        features.withUnsafeBufferPointer { x in
            parameters.withUnsafeBufferPointer { t in
                scratch.withUnsafeMutableBufferPointer { s in
                    out.withUnsafeMutableBufferPointer { mean(features: x, parameters: t, scratch: s, into: $0) }
                }
            }
        }
        return out
    }

    // MARK: Log-probabilities and their gradients

    /// log π(uᵢ|sᵢ) of `batch` rows into `result`: `features` is batch × ``featureCount``,
    /// `actions` batch × ``actionDimension`` (the UNCLIPPED samples), batch = actions.count / dim.
    /// One batched forward pass of the mean network. Uses ``parameters`` or `parameters` when given.
    public func logProbabilities(features: UnsafeBufferPointer<Double>, actions: UnsafeBufferPointer<Double>,
                                 workspace: GaussianPolicyWorkspace, into result: UnsafeMutableBufferPointer<Double>,
                                 parameters theta: UnsafeBufferPointer<Double>? = nil) {
        withParameters(theta) {
            logProbabilitiesCore(features: features, actions: actions, workspace: workspace, into: result, parameters: $0)
        }
    }

    /// `body` called with `theta`, or with ``parameters`` when it is nil.
    func withParameters<R>(_ theta: UnsafeBufferPointer<Double>?, _ body: (UnsafeBufferPointer<Double>) -> R) -> R {
        if let theta { return body(theta) }
        return parameters.withUnsafeBufferPointer(body)
    }

    /// The means m_θ(sᵢ) of the rows of a batched log-probability pass (one forward pass of the
    /// mean network) and the number of rows, after checking the buffers' sizes (`caller` names
    /// the pass in the messages).
    func batchMeans(features: UnsafeBufferPointer<Double>, actions: UnsafeBufferPointer<Double>, resultCount: Int,
                    parameters theta: UnsafeBufferPointer<Double>, workspace: GaussianPolicyWorkspace,
                    caller: String) -> (means: UnsafeBufferPointer<Double>, batch: Int) {
        let dim = actionDimension
        precondition(actions.count % dim == 0, "\(caller): \(actions.count) action values are not rows of \(dim)")
        let batch = actions.count / dim
        precondition(resultCount >= batch, "\(caller): result buffer too small")
        precondition(theta.count == parameterCount, "\(caller): \(theta.count) parameters, expected \(parameterCount)")
        let means = network.forward(features, batch: batch, parameters: UnsafeBufferPointer(rebasing: theta[0..<logStdOffset]),
                                    workspace: workspace.network)
        return (means, batch)
    }

    func logProbabilitiesCore(features: UnsafeBufferPointer<Double>, actions: UnsafeBufferPointer<Double>,
                              workspace: GaussianPolicyWorkspace, into result: UnsafeMutableBufferPointer<Double>,
                              parameters theta: UnsafeBufferPointer<Double>) {
        let dim = actionDimension
        let (means, batch) = batchMeans(features: features, actions: actions, resultCount: result.count, parameters: theta,
                                        workspace: workspace, caller: "logProbabilities")
        let o = logStdOffset
        var logNormalizer = Double(dim) * GaussianPolicy.halfLogTwoPi
        for i in 0..<dim { logNormalizer += theta[o + i] }
        for r in 0..<batch {
            var q = 0.0
            for i in 0..<dim {
                let z = (actions[r * dim + i] - means[r * dim + i]) * exp(-theta[o + i])
                q += z * z
            }
            result[r] = -0.5 * q - logNormalizer
        }
    }

    /// Convenience: log π(u|s) of one state's features and one unclipped action, with the
    /// policy's own θ.
    public func logProbability(features: [Double], action: [Double]) -> Double {
        precondition(features.count == featureCount && action.count == actionDimension,
                     "logProbability: expected \(featureCount) features and \(actionDimension) action values")
        let workspace = GaussianPolicyWorkspace(for: self, capacity: 1)
        var out = 0.0
        features.withUnsafeBufferPointer { x in
            action.withUnsafeBufferPointer { a in
                withUnsafeMutablePointer(to: &out) {
                    logProbabilities(features: x, actions: a, workspace: workspace, into: UnsafeMutableBufferPointer(start: $0, count: 1))
                }
            }
        }
        return out
    }

    /// Adds Σᵢ wᵢ ∇_θ log π(uᵢ|sᵢ) to `gradients` (θ's layout) and returns Σᵢ wᵢ log π(uᵢ|sᵢ), for
    /// the policy run with `parameters`; rows as in
    /// ``logProbabilities(features:actions:workspace:into:parameters:)``, one weight per row.
    ///
    /// With zᵢ = (uᵢ − mᵢ)/exp(ℓᵢ): ∂ log π/∂mᵢ = zᵢ/exp(ℓᵢ), backpropagated through the mean
    /// network, and ∂ log π/∂ℓᵢ = zᵢ² − 1.
    @discardableResult
    public func accumulateLogProbabilityGradient(features: UnsafeBufferPointer<Double>, actions: UnsafeBufferPointer<Double>,
                                                 weights: UnsafeBufferPointer<Double>, parameters theta: UnsafeBufferPointer<Double>,
                                                 gradients: UnsafeMutableBufferPointer<Double>,
                                                 workspace: GaussianPolicyWorkspace) -> Double {
        GaussianPolicy.accumulateLogProbabilityGradient(network: network, features: features, actions: actions,
                                                        weights: weights, parameters: theta, gradients: gradients,
                                                        workspace: workspace)
    }

    /// The gradient accumulation on the mean network `network` (static so that the mutating form
    /// can write the policy's own gradients without overlapping access to the policy).
    static func accumulateLogProbabilityGradient(network: MLP, features: UnsafeBufferPointer<Double>,
                                                 actions: UnsafeBufferPointer<Double>, weights: UnsafeBufferPointer<Double>,
                                                 parameters theta: UnsafeBufferPointer<Double>,
                                                 gradients: UnsafeMutableBufferPointer<Double>,
                                                 workspace: GaussianPolicyWorkspace) -> Double {
        let dim = network.outputSize
        let parameterCount = network.parameterCount + dim
        let batch = weights.count
        precondition(actions.count == batch * dim, "accumulateLogProbabilityGradient: \(actions.count) action values for \(batch) weights")
        precondition(theta.count == parameterCount && gradients.count == parameterCount,
                     "accumulateLogProbabilityGradient: parameter or gradient buffer of the wrong size")
        guard batch > 0 else { return 0 }
        let o = network.parameterCount
        let net = UnsafeBufferPointer(rebasing: theta[0..<o])
        let means = network.forward(features, batch: batch, parameters: net, workspace: workspace.network)
        workspace.reserve(batch)
        let g = workspace.outputGradientPointer
        var logNormalizer = Double(dim) * GaussianPolicy.halfLogTwoPi
        for i in 0..<dim { logNormalizer += theta[o + i] }
        var total = 0.0
        for r in 0..<batch {
            let w = weights[r]
            var q = 0.0
            for i in 0..<dim {
                let invStd = exp(-theta[o + i])
                let z = (actions[r * dim + i] - means[r * dim + i]) * invStd
                q += z * z
                g[r * dim + i] = w * z * invStd
                gradients[o + i] += w * (z * z - 1)
            }
            total += w * (-0.5 * q - logNormalizer)
        }
        network.backward(outputGradient: UnsafeBufferPointer(start: g, count: batch * dim), parameters: net,
                         gradients: UnsafeMutableBufferPointer(rebasing: gradients[0..<o]), workspace: workspace.network)
        return total
    }

    /// Adds Σᵢ wᵢ ∇_θ log π(uᵢ|sᵢ) to the policy's own ``gradients``, with its own ``parameters``,
    /// and returns Σᵢ wᵢ log π(uᵢ|sᵢ); see
    /// ``accumulateLogProbabilityGradient(features:actions:weights:parameters:gradients:workspace:)``.
    @discardableResult
    public mutating func accumulateLogProbabilityGradient(features: UnsafeBufferPointer<Double>, actions: UnsafeBufferPointer<Double>,
                                                          weights: UnsafeBufferPointer<Double>,
                                                          workspace: GaussianPolicyWorkspace) -> Double {
        // Copies share storage (no allocation) and keep `self` free for the mutable gradient access.
        let theta = parameters, network = self.network
        return theta.withUnsafeBufferPointer { t in
            gradients.withUnsafeMutableBufferPointer { g in
                GaussianPolicy.accumulateLogProbabilityGradient(network: network, features: features, actions: actions,
                                                                weights: weights, parameters: t, gradients: g,
                                                                workspace: workspace)
            }
        }
    }

    /// Convenience: ∇_θ log π(u|s) for one state's features and one unclipped action, with the
    /// policy's own θ, as a new array in θ's layout (``gradients`` is left alone).
    public func logProbabilityGradient(features: [Double], action: [Double]) -> [Double] {
        precondition(features.count == featureCount && action.count == actionDimension,
                     "logProbabilityGradient: expected \(featureCount) features and \(actionDimension) action values")
        let workspace = GaussianPolicyWorkspace(for: self, capacity: 1)
        var grad = [Double](repeating: 0, count: parameterCount)
        let one = [1.0]
        features.withUnsafeBufferPointer { x in
            action.withUnsafeBufferPointer { a in
                one.withUnsafeBufferPointer { w in
                    parameters.withUnsafeBufferPointer { t in
                        grad.withUnsafeMutableBufferPointer { g in
                            _ = accumulateLogProbabilityGradient(features: x, actions: a, weights: w, parameters: t,
                                                                 gradients: g, workspace: workspace)
                        }
                    }
                }
            }
        }
        return grad
    }

    // MARK: Entropy

    /// The entropy of π(·|s), the same in every state: Σᵢ ℓᵢ + ½·dim·(1 + ln 2π) (of the
    /// unclipped Gaussian). Uses ``parameters`` or `parameters` when given.
    public func entropy(parameters theta: [Double]? = nil) -> Double {
        let t = theta ?? parameters
        precondition(t.count == parameterCount, "entropy: \(t.count) parameters, expected \(parameterCount)")
        var h = Double(actionDimension) * (0.5 + GaussianPolicy.halfLogTwoPi)
        for i in 0..<actionDimension { h += t[logStdOffset + i] }
        return h
    }

    /// Adds `weight`·∇_θ H to ``gradients`` (∂H/∂ℓᵢ = 1; the mean network does not enter) and
    /// returns `weight`·H. For Σᵢ wᵢ H(π(·|sᵢ)) pass weight = Σᵢ wᵢ.
    @discardableResult
    public mutating func accumulateEntropyGradient(weight: Double) -> Double {
        for i in 0..<actionDimension { gradients[logStdOffset + i] += weight }
        return weight * entropy()
    }
}

/// Buffers for a ``GaussianPolicy``'s batched passes: the mean network's ``MLPWorkspace`` plus
/// the output-gradient rows (batch × action dimension). One per thread; not Sendable.
public final class GaussianPolicyWorkspace {
    /// The mean network's workspace.
    public let network: MLPWorkspace
    /// Dimension of the action box.
    public let actionDimension: Int
    /// Rows the policy buffer holds (it grows on demand).
    public private(set) var capacity: Int
    @usableFromInline var storage: UnsafeMutablePointer<Double>

    /// Creates the buffers for `policy` and batches of up to `capacity` rows.
    public init(for policy: GaussianPolicy, capacity: Int = 256) {
        network = MLPWorkspace(for: policy.network, capacity: capacity)
        actionDimension = policy.actionDimension
        self.capacity = max(capacity, 1)
        storage = .allocate(capacity: self.capacity * actionDimension)
        storage.initialize(repeating: 0, count: self.capacity * actionDimension)
    }

    deinit { storage.deallocate() }

    /// Grows the buffers to `rows` rows (contents are lost).
    public func reserve(_ rows: Int) {
        guard rows > capacity else { return }
        storage.deallocate()
        capacity = max(rows, 2 * capacity)
        storage = .allocate(capacity: capacity * actionDimension)
        storage.initialize(repeating: 0, count: capacity * actionDimension)
    }

    var outputGradientPointer: UnsafeMutablePointer<Double> { storage }
}
