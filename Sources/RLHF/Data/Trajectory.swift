import Foundation

/// A recorded episode: the states visited, the actions taken and the true rewards received.
///
/// The rewards are the simulator's; learners that must not see them (DPO, reward learning) read
/// only ``states`` and ``actions`` and the panel's labels. They are kept so that analyses can
/// compare learned rewards with true ones.
public struct Trajectory<State: Codable & Sendable>: Codable, Sendable {
    /// s_0 … s_{T−1}.
    public var states: [State]
    /// a_0 … a_{T−1} (all 0 on a box of actions, whose vectors are ``boxActions``).
    public var actions: [Int]
    /// On an environment with a box of actions: a_0 … a_{T−1}, the vectors the environment
    /// executed (clipped into the box); nil on a finite action set.
    public var boxActions: [[Double]]?
    /// r_0 … r_{T−1} (true rewards).
    public var rewards: [Double]
    /// R(τ) = Σ_t γ^t r_t.
    public var totalReturn: Double
    /// Σ_t γ_m^{T−1−t} r_t for the myopic discount it was recorded with.
    public var myopicReturn: Double

    /// Creates a trajectory from its parts.
    public init(states: [State], actions: [Int], rewards: [Double], totalReturn: Double, myopicReturn: Double,
                boxActions: [[Double]]? = nil) {
        precondition(states.count == actions.count && actions.count == rewards.count
                     && (boxActions?.count ?? actions.count) == actions.count, "a trajectory's arrays differ in length")
        self.states = states
        self.actions = actions
        self.boxActions = boxActions
        self.rewards = rewards
        self.totalReturn = totalReturn
        self.myopicReturn = myopicReturn
    }

    /// Number of steps T.
    public var count: Int { actions.count }

    /// What an evaluator is shown.
    public var shown: ShownTrajectory { ShownTrajectory(totalReturn: totalReturn, myopicReturn: myopicReturn) }

    /// Steps start ..< start + length as a trajectory of their own, its returns recomputed over
    /// the segment (discounted from the segment's first step, as a segment is shown on its own).
    public func segment(start: Int, length: Int, discount: Double, myopicDiscount: Double) -> Trajectory {
        precondition(start >= 0 && length >= 0 && start + length <= count, "segment outside the trajectory")
        let range = start..<(start + length)
        var total = 0.0, myopic = 0.0, weight = 1.0
        for r in rewards[range] {
            total += weight * r
            myopic = myopicDiscount * myopic + r
            weight *= discount
        }
        return Trajectory(states: Array(states[range]), actions: Array(actions[range]), rewards: Array(rewards[range]),
                          totalReturn: total, myopicReturn: myopic, boxActions: boxActions.map { Array($0[range]) })
    }

    /// A segment of `length` steps with a start uniform over 0…T − length (as imitation, B-Pref
    /// and rl-teacher draw them), or the whole trajectory when it has at most `length` steps
    /// (then nothing is drawn from `rng`).
    public func randomSegment(length: Int, discount: Double, myopicDiscount: Double, using rng: inout Xoshiro256) -> Trajectory {
        guard count > length else { return self }
        let start = rng.index(below: count - length + 1)
        return segment(start: start, length: length, discount: discount, myopicDiscount: myopicDiscount)
    }
}

extension Trajectory {
    /// Decodes a trajectory and refuses one whose states, actions, rewards and action vectors
    /// differ in length (what ``init(states:actions:rewards:totalReturn:myopicReturn:boxActions:)``
    /// requires), so a damaged dataset line is an error, not a wrong row.
    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        let states = try c.decode([State].self, forKey: .states), actions = try c.decode([Int].self, forKey: .actions)
        let rewards = try c.decode([Double].self, forKey: .rewards)
        let box = try c.decodeIfPresent([[Double]].self, forKey: .boxActions)
        guard states.count == actions.count, rewards.count == actions.count, (box?.count ?? actions.count) == actions.count else {
            throw DecodingError.dataCorrupted(.init(codingPath: c.codingPath, debugDescription:
                "a trajectory's arrays differ in length (\(states.count) states, \(actions.count) actions, \(rewards.count) rewards\(box.map { ", \($0.count) action vectors" } ?? ""))"))
        }
        self.init(states: states, actions: actions, rewards: rewards, totalReturn: try c.decode(Double.self, forKey: .totalReturn),
                  myopicReturn: try c.decode(Double.self, forKey: .myopicReturn), boxActions: box)
    }

    /// The labeling service's trajectory JSON: `{"states": […], "actions": […], "rewards": […]}`.
    public func displayJSON() throws -> Data {
        if let boxActions {
            var r = DisplayRecorder<State, [Double]>()
            r.states = states
            r.actions = boxActions
            r.rewards = rewards
            return try r.json()
        }
        var r = DisplayRecorder<State, Int>()
        r.states = states
        r.actions = actions
        r.rewards = rewards
        return try r.json()
    }
}

/// A recorder that makes a ``Trajectory`` of the episode it recorded: what pair collection
/// (``PreferenceDataset/collect(_:env:actor0:actor1:recorder:panel:source:name:ledger:seed:stream:segmentLength:)``)
/// keeps of each rollout, ``TrajectoryRecorder`` on finite actions, ``BoxTrajectoryRecorder`` on a box.
public protocol TrajectoryRecording: EpisodeRecorder where State: Codable & Sendable {
    /// An empty recorder for episodes on `env`, with room for its horizon.
    init<E: EpisodicEnvironment>(for env: E) where E.State == State, E.Action == Action
    /// The recorded trajectory with the returns of the episode's summary.
    func trajectory(_ summary: EpisodeSummary) -> Trajectory<State>
}

/// Records an episode as a ``Trajectory``: states, actions and true rewards.
public struct TrajectoryRecorder<State: Codable & Sendable>: EpisodeRecorder {
    /// s₀ … s_{T−1}.
    public var states: [State] = []
    /// a₀ … a_{T−1}.
    public var actions: [Int] = []
    /// r₀ … r_{T−1}.
    public var rewards: [Double] = []

    /// An empty recorder with room for `capacity` steps.
    @inlinable
    public init(capacity: Int) {
        states.reserveCapacity(capacity)
        actions.reserveCapacity(capacity)
        rewards.reserveCapacity(capacity)
    }

    @inlinable
    public mutating func record(time: Int, state: State, action: Int, result: StepResult<State>) {
        states.append(state)
        actions.append(action)
        rewards.append(result.reward)
    }

    /// The recorded trajectory with the returns of the episode's summary.
    @inlinable
    public func trajectory(_ summary: EpisodeSummary) -> Trajectory<State> {
        Trajectory(states: states, actions: actions, rewards: rewards,
                   totalReturn: summary.totalReturn, myopicReturn: summary.myopicReturn)
    }
}

extension TrajectoryRecorder: TrajectoryRecording {
    public init<E: EpisodicEnvironment>(for env: E) where E.State == State, E.Action == Int { self.init(capacity: env.horizon) }
}

/// Records an episode on a box of actions as a ``Trajectory``: states, true rewards and the
/// action vectors clipped into the box (what the environment executes), in
/// ``Trajectory/boxActions`` (``Trajectory/actions`` all 0).
public struct BoxTrajectoryRecorder<State: Codable & Sendable>: TrajectoryRecording {
    /// s₀ … s_{T−1}.
    public var states: [State] = []
    /// a₀ … a_{T−1}, clipped into [low, high].
    public var actions: [[Double]] = []
    /// r₀ … r_{T−1}.
    public var rewards: [Double] = []
    let low: [Double], high: [Double]

    /// An empty recorder for `env`'s box.
    ///
    /// - Precondition: its action space is a box.
    public init<E: EpisodicEnvironment>(for env: E) where E.State == State, E.Action == [Double] {
        guard case let .box(low, high) = env.actionSpace else { preconditionFailure("BoxTrajectoryRecorder needs a box action space") }
        self.low = low
        self.high = high
        states.reserveCapacity(env.horizon)
        actions.reserveCapacity(env.horizon)
        rewards.reserveCapacity(env.horizon)
    }

    public mutating func record(time: Int, state: State, action: [Double], result: StepResult<State>) {
        states.append(state)
        actions.append(ActionSpace.clip(action, low: low, high: high))
        rewards.append(result.reward)
    }

    public func trajectory(_ summary: EpisodeSummary) -> Trajectory<State> {
        Trajectory(states: states, actions: [Int](repeating: 0, count: states.count), rewards: rewards,
                   totalReturn: summary.totalReturn, myopicReturn: summary.myopicReturn, boxActions: actions)
    }
}

extension Environment where State: Codable {
    /// Samples one episode with `actor` and records it.
    public func sampleTrajectory<A: PolicyActor>(_ actor: inout A, myopicDiscount: Double = 1,
                                                 using rng: inout Xoshiro256) -> Trajectory<State> where A.State == State {
        var recorder = TrajectoryRecorder<State>(capacity: horizon)
        let summary = runEpisode(&actor, recorder: &recorder, myopicDiscount: myopicDiscount, using: &rng)
        return recorder.trajectory(summary)
    }
}
