extension EvaluatorPanel {
    /// The one "roll out a pair, then judge it" of the toolkit: τ⁰ with `actor0` and τ¹ with
    /// `actor1` from `rng` (in that order, recording into the recorders), then `shown` turns
    /// the two episodes into what the evaluators see (whole returns, or a segment's, drawing from
    /// `rng` after both rollouts), and the panel answers from `rng`.
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
        let (e0, e1) = env.rolloutPair(&actor0, &actor1, recorders: &recorder0, &recorder1,
                                       myopicDiscount: teacher.myopicDiscount, using: &rng)
        let (s0, s1) = shown(e0, recorder0, e1, recorder1, &rng)
        return (preferenceRate(s0, s1, using: &rng), e0.steps + e1.steps)
    }
}
