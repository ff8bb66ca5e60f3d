/// The summary of one sampled episode.
public struct EpisodeSummary: Sendable, Equatable {
    /// R(τ) = Σ_t γ^t r_t.
    public var totalReturn: Double
    /// Σ_t γ_m^{T−1−t} r_t, what a myopic teacher perceives.
    public var myopicReturn: Double
    /// Number of steps T.
    public var steps: Int

    /// Creates a summary.
    @inlinable
    public init(totalReturn: Double, myopicReturn: Double, steps: Int) {
        self.totalReturn = totalReturn
        self.myopicReturn = myopicReturn
        self.steps = steps
    }

    /// What an evaluator is shown of this episode.
    @inlinable public var shown: ShownTrajectory {
        ShownTrajectory(totalReturn: totalReturn, myopicReturn: myopicReturn)
    }
}

extension Environment {
    /// Samples one episode of at most H steps with `actor`, returning its return.
    ///
    /// - Parameter myopicDiscount: γ_m for the myopic return (1 makes it equal the return
    ///   when γ = 1).
    @inlinable
    public func rollout<A: PolicyActor>(_ actor: inout A, myopicDiscount: Double = 1,
                                        using rng: inout Xoshiro256) -> EpisodeSummary where A.State == State {
        var state = reset(using: &rng)
        var total = 0.0, myopic = 0.0, weight = 1.0
        let gamma = discount
        var t = 0
        while t < horizon {
            let a = actor.action(in: state, using: &rng)
            let result = step(state, action: a, using: &rng)
            total += weight * result.reward
            myopic = myopicDiscount * myopic + result.reward
            weight *= gamma
            t += 1
            if result.terminal { break }
            state = result.next
        }
        return EpisodeSummary(totalReturn: total, myopicReturn: myopic, steps: t)
    }
}
