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

    /// Reads the features of every state of `trajectory` from `env`. On a box of actions a row
    /// is φ(s_t) ⊕ a_t (the executed action appended, ``EpisodicEnvironment/rewardModelShape``)
    /// and every action is 0: the reward model's single output scores the row.
    public init<E: EpisodicEnvironment>(_ trajectory: Trajectory<E.State>, env: E) {
        let f = env.featureCount
        var x = [Double](repeating: 0, count: trajectory.count * f)
        x.withUnsafeMutableBufferPointer { buffer in
            for (t, s) in trajectory.states.enumerated() {
                env.features(of: s, into: UnsafeMutableBufferPointer(rebasing: buffer[(t * f)..<((t + 1) * f)]))
            }
        }
        precondition((trajectory.boxActions != nil) == !env.actionSpace.isFinite,
                     "a trajectory \(trajectory.boxActions == nil ? "without" : "with") action vectors on \(env.actionSpace)")
        if let box = trajectory.boxActions, case let .box(low, high) = env.actionSpace {
            features = x.withUnsafeBufferPointer { Self.boxRows(features: $0, featureCount: f, actions: box, low: low, high: high) }
            featureCount = f + low.count
        } else {
            features = x
            featureCount = f
        }
        actions = trajectory.actions
        trueReturn = trajectory.totalReturn
    }

    /// The reward model's rows on a box of actions: row i is φ(s_i) (`featureCount` values of
    /// `features`) followed by clip(a_i) into [low, high].
    public static func boxRows(features: UnsafeBufferPointer<Double>, featureCount f: Int, actions: [[Double]],
                               low: [Double], high: [Double]) -> [Double] {
        let d = low.count, width = f + d
        precondition(features.count == actions.count * f, "\(features.count) features for \(actions.count) rows of \(f)")
        var rows = [Double](repeating: 0, count: actions.count * width)
        rows.withUnsafeMutableBufferPointer { out in
            for (i, a) in actions.enumerated() {
                precondition(a.count == d, "an action of \(a.count) values in a box of \(d)")
                for j in 0..<f { out[i * width + j] = features[i * f + j] }
                for j in 0..<d { out[i * width + f + j] = a[j] }
                ActionSpace.clip(UnsafeMutableBufferPointer(rebasing: out[(i * width + f)..<((i + 1) * width)]), low: low, high: high)
            }
        }
        return rows
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
    public init<E: EpisodicEnvironment>(_ pair: PreferencePair<E.State>, env: E) {
        self.init(first: FeaturizedTrajectory(pair.first, env: env), second: FeaturizedTrajectory(pair.second, env: env),
                  label: pair.label)
    }
}

extension EpisodicEnvironment {
    /// The shape of a reward model r_φ(s, a) on this environment: on a finite action set φ(s)
    /// in and one output per action (r_φ(s, ·)); on a box the row φ(s) ⊕ a in and one output.
    public var rewardModelShape: (inputs: Int, outputs: Int) {
        switch actionSpace {
        case let .finite(n): return (featureCount, n)
        case let .box(low, _): return (featureCount + low.count, 1)
        }
    }
}
