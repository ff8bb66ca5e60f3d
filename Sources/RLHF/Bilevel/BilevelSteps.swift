/// Steps sampled from a policy, in network-ready rows: what the critic (Algorithm 2) and the
/// sampled estimators of spec §5 read.
///
/// Row i is one step (s_i, a_i) of one of ``episodes`` episodes, at time t_i (0-based within its
/// episode), with the features of the state it leads to and whether that state is terminal
/// (an episode cut by the horizon is NOT terminal: its last row keeps a next state to bootstrap from).
public struct StepBatch<State: Sendable>: Sendable {
    /// Features per state.
    public let featureCount: Int
    /// Number of episodes the rows come from (the N of the 1/N in every estimate).
    public var episodes: Int = 0
    /// s_i.
    public var states: [State] = []
    /// Features of s_i, rows × featureCount.
    public var features: [Double] = []
    /// a_i.
    public var actions: [Int] = []
    /// t_i, the step's time within its episode.
    public var times: [Int] = []
    /// Features of s'_i, rows × featureCount (zeros when the step is terminal).
    public var nextFeatures: [Double] = []
    /// Whether s'_i is terminal (no bootstrap).
    public var terminal: [Bool] = []
    /// The true rewards r(s_i, a_i, s'_i) (for analysis only; learners must not read them).
    public var trueRewards: [Double] = []

    /// An empty batch.
    public init(featureCount: Int) { self.featureCount = featureCount }

    /// Number of rows.
    public var count: Int { actions.count }
}

/// Records an episode's steps as rows of a ``StepBatch``: the state, its features, the action,
/// the time, the next state's features (zeros after a terminal step) and the true reward.
public struct StepRowRecorder<E: Environment>: EpisodeRecorder {
    /// The environment whose features are recorded.
    public let env: E
    /// The rows so far.
    public var batch: StepBatch<E.State>
    @usableFromInline var scratch: [Double]

    /// A recorder appending to an empty batch.
    public init(env: E) {
        self.env = env
        batch = StepBatch(featureCount: env.featureCount)
        scratch = [Double](repeating: 0, count: env.featureCount)
    }

    @inlinable
    public mutating func record(time: Int, state: E.State, action: Int, result: StepResult<E.State>) {
        let env = self.env
        batch.states.append(state)
        scratch.withUnsafeMutableBufferPointer { env.features(of: state, into: $0) }
        batch.features.append(contentsOf: scratch)
        batch.actions.append(action)
        batch.times.append(time)
        batch.terminal.append(result.terminal)
        batch.trueRewards.append(result.reward)
        if result.terminal {
            batch.nextFeatures.append(contentsOf: repeatElement(0, count: env.featureCount))
        } else {
            scratch.withUnsafeMutableBufferPointer { env.features(of: result.next, into: $0) }
            batch.nextFeatures.append(contentsOf: scratch)
        }
    }
}

extension Environment {
    /// Samples `episodes` episodes of π_θ (`policy`'s architecture with parameters `theta`) into
    /// step rows. Episode n draws from stream (seed, stream…, n), so two policies sampled with the
    /// same streams share their random numbers (common random numbers: every action is one
    /// inverse-CDF draw).
    public func sampleSteps(policy: NeuralSoftmaxPolicy, parameters theta: [Double], episodes: Int,
                            seed: UInt64, stream: [UInt64]) -> StepBatch<State> {
        let family = NeuralFamily(env: self, policy: policy)
        var actor = theta.withUnsafeBufferPointer { family.makeActor($0) }
        var recorder = StepRowRecorder(env: self)
        recorder.batch.episodes = episodes
        for n in 0..<episodes {
            var rng = Xoshiro256(seed: seed, streamCoordinates: stream + [UInt64(n)])
            _ = runEpisode(&actor, recorder: &recorder, using: &rng)
        }
        return recorder.batch
    }
}
