/// What the episode engine keeps of each step of an episode.
///
/// The engine (``EpisodicEnvironment/runEpisode(_:recorder:myopicDiscount:using:)``) is generic
/// over its recorder, so the compiler specializes one loop per recorder: ``NoRecording`` for the
/// zeroth-order hot path and Monte-Carlo evaluation, ``TrajectoryRecorder`` for the pairs shown
/// to evaluators, ``StepRowRecorder`` for the bilevel critic's rows, PPO's batch recorder.
public protocol EpisodeRecorder {
    /// The environment's state type.
    associatedtype State
    /// The environment's action type.
    associatedtype Action
    /// Called once per step, after the environment moved: step `time` (0-based) took `action`
    /// in `state` and gave `result` (its next state, reward and whether it is terminal).
    mutating func record(time: Int, state: State, action: Action, result: StepResult<State>)
}

/// The recorder that keeps nothing: the episode's summary is all that is returned.
public struct NoRecording<State, Action>: EpisodeRecorder {
    /// Creates it.
    @inlinable public init() {}
    @inlinable @inline(__always)
    public mutating func record(time: Int, state: State, action: Action, result: StepResult<State>) {}
}

/// The running sums of one episode, step by step: what ``EpisodeSummary`` reports, accumulated
/// the one way both episode loops (``EpisodicEnvironment/runEpisode(_:recorder:myopicDiscount:using:)``
/// and the lock-step ``EpisodicEnvironment/runEpisodes(_:generators:width:recorders:myopicDiscount:)``)
/// share, so that their summaries agree bit for bit.
@frozen
public struct EpisodeAccumulator: Sendable {
    /// R(τ) so far: Σₜ γᵗ rₜ.
    public var totalReturn = 0.0
    /// The myopic return so far: Σₜ γ_m^{T−1−t} rₜ over the steps taken.
    public var myopicReturn = 0.0
    /// γᵗ of the next step.
    @usableFromInline var weight = 1.0
    /// Steps taken T.
    public var steps = 0
    /// Whether the last step was terminal.
    public var terminated = false
    /// γ.
    @usableFromInline let discount: Double
    /// γ_m.
    @usableFromInline let myopicDiscount: Double

    /// An episode with no step yet, discounting returns by γ = `discount` and the myopic return
    /// by γ_m = `myopicDiscount`.
    @inlinable
    public init(discount: Double, myopicDiscount: Double) {
        self.discount = discount
        self.myopicDiscount = myopicDiscount
    }

    /// Adds one step's reward; returns `terminal` (the episode ends with this step), which it
    /// also records in ``terminated``.
    @inlinable @inline(__always) @discardableResult
    public mutating func add(reward: Double, terminal: Bool) -> Bool {
        totalReturn += weight * reward
        myopicReturn = myopicDiscount * myopicReturn + reward
        weight *= discount
        steps += 1
        if terminal { terminated = true }
        return terminal
    }

    /// The summary of the steps added so far.
    @inlinable
    public var summary: EpisodeSummary {
        EpisodeSummary(totalReturn: totalReturn, myopicReturn: myopicReturn, steps: steps, terminated: terminated)
    }
}

extension EpisodicEnvironment {
    /// The one episode loop of the toolkit: draws s₀, then for t = 0, 1, … asks `actor` for aₜ
    /// and steps, until a terminal state or the horizon H (a truncation, not a termination).
    ///
    /// Every draw comes from `rng` in this order: the start, then per step the actor's draws and
    /// then the environment's. The return is R(τ) = Σₜ γᵗ rₜ, the myopic return Σₜ γ_m^{T−1−t} rₜ
    /// (what a myopic teacher perceives, spec §3), the length T and whether the episode
    /// terminated before H.
    @inlinable
    public func runEpisode<A: EpisodicActor, R: EpisodeRecorder>(
        _ actor: inout A, recorder: inout R, myopicDiscount: Double = 1, using rng: inout Xoshiro256
    ) -> EpisodeSummary where A.State == State, A.Action == Action, R.State == State, R.Action == Action {
        var state = reset(using: &rng)
        var episode = EpisodeAccumulator(discount: discount, myopicDiscount: myopicDiscount)
        let h = horizon
        while episode.steps < h {
            let a = actor.action(in: state, using: &rng)
            let result = step(state, action: a, using: &rng)
            recorder.record(time: episode.steps, state: state, action: a, result: result)
            if episode.add(reward: result.reward, terminal: result.terminal) { break }
            state = result.next
        }
        return episode.summary
    }

    /// One episode with nothing recorded: its summary.
    ///
    /// - Parameter myopicDiscount: γ_m for the myopic return (1 makes it equal the return
    ///   when γ = 1).
    @inlinable
    public func rollout<A: EpisodicActor>(_ actor: inout A, myopicDiscount: Double = 1,
                                          using rng: inout Xoshiro256) -> EpisodeSummary
    where A.State == State, A.Action == Action {
        var none = NoRecording<State, Action>()
        return runEpisode(&actor, recorder: &none, myopicDiscount: myopicDiscount, using: &rng)
    }

    /// A pair of episodes from one generator: τ⁰ with `actor0`, then τ¹ with `actor1` (the order
    /// of every comparison the toolkit asks for, so that a pair's numbers depend only on its
    /// stream).
    @inlinable
    public func rolloutPair<A0: EpisodicActor, A1: EpisodicActor, R0: EpisodeRecorder, R1: EpisodeRecorder>(
        _ actor0: inout A0, _ actor1: inout A1, recorders recorder0: inout R0, _ recorder1: inout R1,
        myopicDiscount: Double, using rng: inout Xoshiro256
    ) -> (first: EpisodeSummary, second: EpisodeSummary)
    where A0.State == State, A0.Action == Action, A1.State == State, A1.Action == Action,
          R0.State == State, R0.Action == Action, R1.State == State, R1.Action == Action {
        let first = runEpisode(&actor0, recorder: &recorder0, myopicDiscount: myopicDiscount, using: &rng)
        let second = runEpisode(&actor1, recorder: &recorder1, myopicDiscount: myopicDiscount, using: &rng)
        return (first, second)
    }
}
