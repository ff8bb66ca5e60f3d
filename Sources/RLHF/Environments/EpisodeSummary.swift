/// The summary of one sampled episode.
public struct EpisodeSummary: Sendable, Equatable {
    /// R(τ) = Σ_t γ^t r_t.
    public var totalReturn: Double
    /// Σ_t γ_m^{T−1−t} r_t, what a myopic teacher perceives.
    public var myopicReturn: Double
    /// Number of steps T.
    public var steps: Int
    /// Whether the episode reached a terminal state (false when the horizon cut it).
    public var terminated: Bool

    /// Creates a summary.
    @inlinable
    public init(totalReturn: Double, myopicReturn: Double, steps: Int, terminated: Bool = false) {
        self.totalReturn = totalReturn
        self.myopicReturn = myopicReturn
        self.steps = steps
        self.terminated = terminated
    }

    /// What an evaluator is shown of this episode.
    @inlinable public var shown: ShownTrajectory {
        ShownTrajectory(totalReturn: totalReturn, myopicReturn: myopicReturn)
    }
}
