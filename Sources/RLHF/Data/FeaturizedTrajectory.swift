/// A trajectory as networks read it: the features of every state, row by row, and the actions.
///
/// Built once per trajectory so that reward models, DPO and PPO run whole batches of steps
/// through one forward pass.
public struct FeaturizedTrajectory: Sendable {
    /// T rows of ``featureCount`` features.
    public var features: [Double]
    /// a_0 … a_{T−1}.
    public var actions: [Int]
    /// Features per state.
    public var featureCount: Int
    /// The true return (for analysis only; learners must not read it).
    public var trueReturn: Double

    /// Number of steps T.
    public var count: Int { actions.count }

    /// Reads the features of every state of `trajectory` from `env`.
    public init<E: Environment>(_ trajectory: Trajectory<E.State>, env: E) {
        let f = env.featureCount
        var x = [Double](repeating: 0, count: trajectory.count * f)
        x.withUnsafeMutableBufferPointer { buffer in
            for (t, s) in trajectory.states.enumerated() {
                env.features(of: s, into: UnsafeMutableBufferPointer(rebasing: buffer[(t * f)..<((t + 1) * f)]))
            }
        }
        features = x
        actions = trajectory.actions
        featureCount = f
        trueReturn = trajectory.totalReturn
    }

    /// Creates one from its parts.
    public init(features: [Double], actions: [Int], featureCount: Int, trueReturn: Double) {
        precondition(features.count == actions.count * featureCount, "features do not match the actions")
        self.features = features
        self.actions = actions
        self.featureCount = featureCount
        self.trueReturn = trueReturn
    }
}

/// A labeled pair in network-ready form.
public struct FeaturizedPair: Sendable {
    /// τ0.
    public var first: FeaturizedTrajectory
    /// τ1.
    public var second: FeaturizedTrajectory
    /// p̂, the fraction of evaluators preferring τ1.
    public var label: Double

    /// Creates a pair.
    public init(first: FeaturizedTrajectory, second: FeaturizedTrajectory, label: Double) {
        self.first = first
        self.second = second
        self.label = label
    }

    /// Featurizes a dataset pair.
    public init<E: Environment>(_ pair: PreferencePair<E.State>, env: E) {
        self.init(first: FeaturizedTrajectory(pair.first, env: env), second: FeaturizedTrajectory(pair.second, env: env),
                  label: pair.label)
    }
}
