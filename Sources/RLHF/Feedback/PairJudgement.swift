import Foundation

extension EpisodicEnvironment {
    /// The one "roll out a pair to be judged" of the toolkit: τ⁰ with `actor0` and τ¹ with
    /// `actor1` from `rng` (in that order, recording into the recorders), then `shown` turns the
    /// two episodes into what the evaluators see (whole returns, or a segment's, drawing from
    /// `rng` after both rollouts) and, for sources that show them to people, the trajectories'
    /// JSON. The request's answer stream is `rng` as it is then: where the panel draws its votes.
    ///
    /// - Returns: the request to hand to a ``PreferenceSource`` and the environment steps of
    ///   both episodes.
    @inlinable
    public func proposeComparison<A0: EpisodicActor, A1: EpisodicActor, R0: EpisodeRecorder, R1: EpisodeRecorder>(
        key: ComparisonKey, _ actor0: inout A0, _ actor1: inout A1,
        recorders recorder0: inout R0, _ recorder1: inout R1, myopicDiscount: Double, using rng: inout Xoshiro256,
        shown: (EpisodeSummary, R0, EpisodeSummary, R1, inout Xoshiro256) -> (ShownTrajectory, ShownTrajectory, (Data, Data)?)
    ) -> (request: ComparisonRequest, steps: Int)
    where A0.State == State, A0.Action == Action, A1.State == State, A1.Action == Action,
          R0.State == State, R0.Action == Action, R1.State == State, R1.Action == Action {
        let (e0, e1) = rolloutPair(&actor0, &actor1, recorders: &recorder0, &recorder1,
                                   myopicDiscount: myopicDiscount, using: &rng)
        let (s0, s1, json) = shown(e0, recorder0, e1, recorder1, &rng)
        return (ComparisonRequest(key: key, first: s0, second: s1, answerStream: rng, trajectories: json), e0.steps + e1.steps)
    }
}

extension EvaluatorPanel {
    /// Rolls out a pair and lets this panel judge it at once: ``EpisodicEnvironment/proposeComparison(key:_:_:recorders:myopicDiscount:using:shown:)``
    /// followed by the panel's answer from the request's stream (what every in-process
    /// algorithm does when its source is the panel, one pair at a time).
    ///
    /// - Returns: p̂, the fraction of the M evaluators preferring τ¹ (nil: the teacher skipped
    ///   the pair; its queries are spent either way), and the environment steps of both
    ///   episodes.
    @inlinable
    public func judgeRolloutPair<E: EpisodicEnvironment, A0: EpisodicActor, A1: EpisodicActor,
                                 R0: EpisodeRecorder, R1: EpisodeRecorder>(
        env: E, _ actor0: inout A0, _ actor1: inout A1, recorders recorder0: inout R0, _ recorder1: inout R1,
        using rng: inout Xoshiro256,
        shown: (EpisodeSummary, R0, EpisodeSummary, R1, inout Xoshiro256) -> (ShownTrajectory, ShownTrajectory)
    ) -> (rate: Double?, steps: Int)
    where A0.State == E.State, A0.Action == E.Action, A1.State == E.State, A1.Action == E.Action,
          R0.State == E.State, R0.Action == E.Action, R1.State == E.State, R1.Action == E.Action {
        let (request, steps) = env.proposeComparison(key: "", &actor0, &actor1, recorders: &recorder0, &recorder1,
                                                     myopicDiscount: teacher.myopicDiscount, using: &rng) { a, r0, b, r1, rng in
            let (s0, s1) = shown(a, r0, b, r1, &rng)
            return (s0, s1, nil)
        }
        var answers = request.answerStream
        let rate = preferenceRate(request.first, request.second, using: &answers)
        rng = answers
        return (rate, steps)
    }
}

/// Records an episode for showing it to a person: states, actions and rewards, encoded as the
/// labeling service's trajectory JSON (`{"states": […], "actions": […], "rewards": […]}`, keys of
/// states in snake_case). Works for any state and action type that is `Encodable` at run time
/// (every environment of the toolkit); others are refused when encoded.
public struct DisplayRecorder<State, Action>: EpisodeRecorder {
    /// s₀ … s_{T−1}.
    public var states: [State] = []
    /// a₀ … a_{T−1}.
    public var actions: [Action] = []
    /// r₀ … r_{T−1}.
    public var rewards: [Double] = []

    /// An empty recorder.
    @inlinable public init() {}

    @inlinable
    public mutating func record(time: Int, state: State, action: Action, result: StepResult<State>) {
        states.append(state)
        actions.append(action)
        rewards.append(result.reward)
    }

    /// The JSON of steps `range` (all when nil).
    public func json(range: Range<Int>? = nil) throws -> Data {
        let r = range ?? 0..<states.count
        var encodedStates = [any Encodable](), encodedActions = [any Encodable]()
        for i in r {
            guard let s = states[i] as? any Encodable, let a = actions[i] as? any Encodable else {
                throw RLHFError.invalidArgument(name: "feedback", message: "the environment's states (\(State.self)) or actions (\(Action.self)) cannot be shown: they are not Encodable")
            }
            encodedStates.append(s)
            encodedActions.append(a)
        }
        return try RunOutput.encoder(pretty: false).encode(
            DisplayTrajectory(states: encodedStates.map(AnyEncodable.init), actions: encodedActions.map(AnyEncodable.init),
                              rewards: Array(rewards[r])))
    }
}

/// The JSON form of a shown trajectory.
struct DisplayTrajectory: Encodable {
    var states: [AnyEncodable]
    var actions: [AnyEncodable]
    var rewards: [Double]
}

/// An `Encodable` of any type.
struct AnyEncodable: Encodable {
    let value: any Encodable
    init(_ value: any Encodable) { self.value = value }
    func encode(to encoder: Encoder) throws { try value.encode(to: encoder) }
}
