/// The policy side of ``DPO``: how the log-likelihood log π(τ) = Σ_t log π(a_t|s_t) of a
/// recorded trajectory's EXECUTED actions, and its gradient, are computed in batches.
///
/// ``NeuralSoftmaxPolicy`` (finite actions; an action is one index) and ``GaussianPolicy`` (a box;
/// an action is ``GaussianPolicy/actionDimension`` reals, the clipped vector the environment
/// executed, scored by the censored Gaussian likelihood of
/// ``GaussianPolicy/executedLogProbabilities(features:actions:workspace:into:parameters:)``)
/// conform. Actions are laid out flat (an index, or the box's coordinates, a step), so that a minibatch of
/// thousands of steps is two flat arrays. Everything else of DPO — pairs, references, the loss,
/// minibatches, Adam — is written once, in ``DPO``.
public protocol DPOPolicy: RewardLearningPolicy {
    /// One value of a flat action row: `Int` (an index) or `Double` (a coordinate).
    associatedtype ActionValue: Sendable

    /// Number of parameters (θ's length).
    var parameterCount: Int { get }
    /// Appends the executed actions of `trajectory`, flat.
    ///
    /// - Precondition: the trajectory has actions of this policy's kind (``Trajectory/boxActions``
    ///   exactly for a box policy), as the pairs DPO collects with the policy itself do.
    static func appendExecutedActions<S>(of trajectory: Trajectory<S>, to values: inout [ActionValue])
    /// log π(aᵢ|sᵢ) of the rows (`features` is rows × ``featureCount``, `actions` the rows' flat
    /// actions) into `result`, under `parameters` (the policy's own when nil).
    func executedLogProbabilities(features: UnsafeBufferPointer<Double>, actions: UnsafeBufferPointer<ActionValue>,
                                  workspace: Workspace, into result: UnsafeMutableBufferPointer<Double>,
                                  parameters: UnsafeBufferPointer<Double>?)
    /// Adds Σᵢ wᵢ ∇_θ log π(aᵢ|sᵢ) to ``PPOPolicy/gradients`` (own θ) and returns Σᵢ wᵢ log π(aᵢ|sᵢ).
    @discardableResult
    mutating func accumulateExecutedLogProbabilityGradient(features: UnsafeBufferPointer<Double>,
                                                           actions: UnsafeBufferPointer<ActionValue>,
                                                           weights: UnsafeBufferPointer<Double>, workspace: Workspace) -> Double
    /// Sets every gradient to zero.
    mutating func zeroGradients()
}

extension NeuralSoftmaxPolicy: DPOPolicy {
    /// The trajectory's action indices.
    public static func appendExecutedActions<S>(of trajectory: Trajectory<S>, to values: inout [Int]) {
        precondition(trajectory.boxActions == nil, "a trajectory with action vectors cannot train a policy over discrete actions")
        values.append(contentsOf: trajectory.actions)
    }

    /// ``logProbabilities(features:actions:workspace:into:parameters:)``.
    public func executedLogProbabilities(features: UnsafeBufferPointer<Double>, actions: UnsafeBufferPointer<Int>,
                                         workspace: PolicyWorkspace, into result: UnsafeMutableBufferPointer<Double>,
                                         parameters: UnsafeBufferPointer<Double>?) {
        logProbabilities(features: features, actions: actions, workspace: workspace, into: result, parameters: parameters)
    }

    /// ``accumulateLogProbabilityGradient(features:actions:weights:workspace:)``.
    @discardableResult
    public mutating func accumulateExecutedLogProbabilityGradient(features: UnsafeBufferPointer<Double>,
                                                                  actions: UnsafeBufferPointer<Int>,
                                                                  weights: UnsafeBufferPointer<Double>,
                                                                  workspace: PolicyWorkspace) -> Double {
        accumulateLogProbabilityGradient(features: features, actions: actions, weights: weights, workspace: workspace)
    }

    /// Zeroes the network's gradients.
    public mutating func zeroGradients() { network.zeroGradients() }
}

extension GaussianPolicy: DPOPolicy {
    /// The trajectory's executed action vectors, flat (their length is checked by the
    /// log-probability passes: rows of ``actionDimension``).
    public static func appendExecutedActions<S>(of trajectory: Trajectory<S>, to values: inout [Double]) {
        guard let vectors = trajectory.boxActions else {
            preconditionFailure("a trajectory without action vectors cannot train a policy over a box of actions")
        }
        for v in vectors { values.append(contentsOf: v) }
    }
    // executedLogProbabilities and accumulateExecutedLogProbabilityGradient: GaussianPolicy+ExecutedActions.swift
}
