#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A categorical policy over state features: π_θ(·|s) = softmax(MLP_θ(φ(s))), the logits being
/// the outputs of an ``MLP`` with one output per action. θ is the network's flat parameter vector.
///
/// Besides probabilities and sampling it accumulates the score-function gradients that policy
/// gradient, PPO and DPO need: Σ_i w_i ∇_θ log π(a_i|s_i) (and so ∇ log π(τ) = Σ_t ∇ log π(a_t|s_t))
/// and the entropy gradient, ADDED into the network's flat ``MLP/gradients``.
public struct NeuralSoftmaxPolicy: Sendable, Equatable {
    /// The logit network (input: features, output: one logit per action).
    public var network: MLP

    /// Wraps an existing logit network.
    public init(network: MLP) {
        precondition(network.outputActivation == .identity, "a softmax policy needs identity output logits")
        self.network = network
    }

    /// A policy with the given hidden widths, initialized from `rng`; with `uniformStart` the last
    /// layer is zero so that the policy starts uniform.
    public init(featureCount: Int, hidden: [Int], actionCount: Int, activation: Activation = .tanh,
                uniformStart: Bool = true, using rng: inout Xoshiro256) {
        network = MLP(inputSize: featureCount, hidden: hidden, outputSize: actionCount, activation: activation,
                      zeroLastLayer: uniformStart, using: &rng)
    }

    /// Number of features per state.
    @inlinable public var featureCount: Int { network.inputSize }
    /// Number of actions.
    @inlinable public var actionCount: Int { network.outputSize }
    /// Number of parameters.
    @inlinable public var parameterCount: Int { network.parameterCount }

    /// Computes π(·|s) for `batch` feature rows into `workspace.probabilities` (batch × actions) and
    /// returns that buffer (valid until the workspace's next use). Uses the network's parameters,
    /// or `parameters` when given (e.g. a perturbed or reference θ).
    @discardableResult
    public func probabilities(features: UnsafeBufferPointer<Double>, batch: Int, workspace: PolicyWorkspace,
                              parameters: UnsafeBufferPointer<Double>? = nil) -> UnsafeBufferPointer<Double> {
        let logits: UnsafeBufferPointer<Double>
        if let parameters {
            logits = network.forward(features, batch: batch, parameters: parameters, workspace: workspace.network)
        } else {
            logits = network.forward(features, batch: batch, workspace: workspace.network)
        }
        workspace.reserve(batch)
        let m = actionCount
        let p = workspace.probabilityPointer
        TabularSoftmax.softmaxRows(UnsafeBufferPointer(rebasing: logits[0..<(batch * m)]),
                                   into: UnsafeMutableBufferPointer(start: p, count: batch * m), columns: m, cumulative: false)
        return UnsafeBufferPointer(start: p, count: batch * m)
    }

    /// Convenience: π(·|s) for one state's features, as a new array.
    public func probabilities(features: [Double]) -> [Double] {
        precondition(features.count == featureCount, "probabilities: expected \(featureCount) features")
        let workspace = PolicyWorkspace(for: self, capacity: 1)
        return features.withUnsafeBufferPointer { Array(probabilities(features: $0, batch: 1, workspace: workspace)) }
    }

    /// Samples one action per feature row into `actions` (one uniform draw each, inverse CDF).
    public func sampleActions(features: UnsafeBufferPointer<Double>, batch: Int, workspace: PolicyWorkspace,
                              into actions: UnsafeMutableBufferPointer<Int>, using rng: inout Xoshiro256,
                              parameters: UnsafeBufferPointer<Double>? = nil) {
        precondition(actions.count >= batch, "sampleActions: action buffer too small")
        let p = probabilities(features: features, batch: batch, workspace: workspace, parameters: parameters)
        let m = actionCount
        for r in 0..<batch {
            let u = rng.uniform()
            var acc = 0.0
            var a = 0
            while a < m - 1 {
                acc += p[r * m + a]
                if u < acc { break }
                a += 1
            }
            actions[r] = a
        }
    }

    /// Samples an action for one state's features.
    public func sampleAction(features: UnsafeBufferPointer<Double>, workspace: PolicyWorkspace,
                             using rng: inout Xoshiro256, parameters: UnsafeBufferPointer<Double>? = nil) -> Int {
        var action = 0
        withUnsafeMutablePointer(to: &action) { a in
            sampleActions(features: features, batch: 1, workspace: workspace,
                          into: UnsafeMutableBufferPointer(start: a, count: 1), using: &rng, parameters: parameters)
        }
        return action
    }

    /// log π(a_i|s_i) for each row into `result` (stable: log-softmax of the logits).
    public func logProbabilities(features: UnsafeBufferPointer<Double>, actions: UnsafeBufferPointer<Int>,
                                 workspace: PolicyWorkspace, into result: UnsafeMutableBufferPointer<Double>,
                                 parameters: UnsafeBufferPointer<Double>? = nil) {
        let batch = actions.count
        precondition(result.count >= batch, "logProbabilities: result buffer too small")
        let logits: UnsafeBufferPointer<Double>
        if let parameters {
            logits = network.forward(features, batch: batch, parameters: parameters, workspace: workspace.network)
        } else {
            logits = network.forward(features, batch: batch, workspace: workspace.network)
        }
        let m = actionCount
        for r in 0..<batch {
            let a = actions[r]
            precondition(a >= 0 && a < m, "logProbabilities: action \(a) outside 0..<\(m)")
            let (mx, logZ) = Loss.logSumExp(logits, base: r * m, count: m)
            result[r] = logits[r * m + a] - mx - logZ
        }
    }

    /// Adds Σ_i w_i ∇_θ log π(a_i|s_i) to the network's gradients and returns Σ_i w_i log π(a_i|s_i).
    ///
    /// `features` is batch × featureCount with batch = actions.count = weights.count. With all the
    /// steps of a trajectory and one weight w this is w·∇ log π(τ) (see
    /// ``accumulateTrajectoryLogProbabilityGradient(features:actions:weight:workspace:)``). With
    /// per-step weights γᵗ·Â_t it is the REINFORCE / actor gradient. Uses ∂ log π(a|s)/∂z = e_a − π(·|s).
    @discardableResult
    public mutating func accumulateLogProbabilityGradient(features: UnsafeBufferPointer<Double>,
                                                          actions: UnsafeBufferPointer<Int>,
                                                          weights: UnsafeBufferPointer<Double>,
                                                          workspace: PolicyWorkspace) -> Double {
        let batch = actions.count
        precondition(weights.count == batch, "accumulateLogProbabilityGradient: \(weights.count) weights for \(batch) actions")
        guard batch > 0 else { return 0 }
        let p = probabilities(features: features, batch: batch, workspace: workspace)
        let logits = UnsafeBufferPointer(workspace.network.output)
        let m = actionCount
        let g = workspace.logitGradientPointer
        var total = 0.0
        for r in 0..<batch {
            let a = actions[r], w = weights[r]
            precondition(a >= 0 && a < m, "accumulateLogProbabilityGradient: action \(a) outside 0..<\(m)")
            for j in 0..<m { g[r * m + j] = -w * p[r * m + j] }
            g[r * m + a] += w
            let (mx, logZ) = Loss.logSumExp(logits, base: r * m, count: m)
            total += w * (logits[r * m + a] - mx - logZ)
        }
        network.backward(outputGradient: UnsafeBufferPointer(start: g, count: batch * m), workspace: workspace.network)
        return total
    }

    /// Adds weight·∇_θ log π(τ) to the network's gradients, log π(τ) = Σ_t log π(a_t|s_t) over the
    /// trajectory's T steps (features T × featureCount), and returns weight·log π(τ).
    @discardableResult
    public mutating func accumulateTrajectoryLogProbabilityGradient(features: UnsafeBufferPointer<Double>,
                                                                    actions: UnsafeBufferPointer<Int>, weight: Double,
                                                                    workspace: PolicyWorkspace) -> Double {
        let t = actions.count
        workspace.reserve(t)
        let w = workspace.weightPointer
        w.update(repeating: weight, count: t)
        return accumulateLogProbabilityGradient(features: features, actions: actions,
                                                weights: UnsafeBufferPointer(start: w, count: t), workspace: workspace)
    }

    /// Adds Σ_i w_i ∇_θ H(π(·|s_i)) to the network's gradients and returns Σ_i w_i H(π(·|s_i)),
    /// H = −Σ_a π_a log π_a (∂H/∂z_j = −π_j (log π_j + H)).
    @discardableResult
    public mutating func accumulateEntropyGradient(features: UnsafeBufferPointer<Double>, weights: UnsafeBufferPointer<Double>,
                                                   workspace: PolicyWorkspace) -> Double {
        let batch = weights.count
        guard batch > 0 else { return 0 }
        let logits = network.forward(features, batch: batch, workspace: workspace.network)
        workspace.reserve(batch)
        let m = actionCount
        let g = workspace.logitGradientPointer
        var total = 0.0
        for r in 0..<batch {
            let base = r * m
            let (mx, logZ) = Loss.logSumExp(logits, base: base, count: m)
            var h = 0.0
            for j in 0..<m {
                let logp = logits[base + j] - mx - logZ
                h -= exp(logp) * logp
            }
            let w = weights[r]
            for j in 0..<m {
                let logp = logits[base + j] - mx - logZ
                g[base + j] = -w * exp(logp) * (logp + h)
            }
            total += w * h
        }
        network.backward(outputGradient: UnsafeBufferPointer(start: g, count: batch * m), workspace: workspace.network)
        return total
    }

    /// Array convenience for ``accumulateLogProbabilityGradient(features:actions:weights:workspace:)``.
    @discardableResult
    public mutating func accumulateLogProbabilityGradient(features: [Double], actions: [Int], weights: [Double],
                                                          workspace: PolicyWorkspace) -> Double {
        features.withUnsafeBufferPointer { f in
            actions.withUnsafeBufferPointer { a in
                weights.withUnsafeBufferPointer { w in
                    accumulateLogProbabilityGradient(features: f, actions: a, weights: w, workspace: workspace)
                }
            }
        }
    }
}

/// Buffers for a ``NeuralSoftmaxPolicy``: the network's ``MLPWorkspace`` plus probabilities,
/// logit gradients and weights (batch × actions). One per thread; not Sendable.
public final class PolicyWorkspace {
    /// The network's workspace.
    public let network: MLPWorkspace
    /// Number of actions.
    public let actionCount: Int
    /// Rows the policy buffers hold (they grow on demand).
    public private(set) var capacity: Int
    @usableFromInline var storage: UnsafeMutablePointer<Double>

    /// Creates the buffers for `policy` and batches of up to `capacity` rows.
    public init(for policy: NeuralSoftmaxPolicy, capacity: Int = 256) {
        network = MLPWorkspace(for: policy.network, capacity: capacity)
        actionCount = policy.actionCount
        self.capacity = max(capacity, 1)
        storage = .allocate(capacity: self.capacity * (2 * actionCount + 1))
        storage.initialize(repeating: 0, count: self.capacity * (2 * actionCount + 1))
    }

    deinit { storage.deallocate() }

    /// Grows the buffers to `rows` rows (contents are lost).
    public func reserve(_ rows: Int) {
        guard rows > capacity else { return }
        storage.deallocate()
        capacity = max(rows, 2 * capacity)
        storage = .allocate(capacity: capacity * (2 * actionCount + 1))
        storage.initialize(repeating: 0, count: capacity * (2 * actionCount + 1))
    }

    /// Probabilities of the last ``NeuralSoftmaxPolicy/probabilities(features:batch:workspace:parameters:)`` call.
    var probabilityPointer: UnsafeMutablePointer<Double> { storage }
    var logitGradientPointer: UnsafeMutablePointer<Double> { storage + capacity * actionCount }
    var weightPointer: UnsafeMutablePointer<Double> { storage + 2 * capacity * actionCount }
}
