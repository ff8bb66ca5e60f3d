/// What an evaluator is shown of a trajectory: its return, and the myopically weighted return
/// Σ_t γ_m^{T−1−t} r_t that a myopic teacher perceives instead (equal to the return when γ_m = 1).
public struct ShownTrajectory: Sendable, Equatable {
    /// R(τ) = Σ_t γ^t r_t.
    public var totalReturn: Double
    /// Σ_t γ_m^{T−1−t} r_t.
    public var myopicReturn: Double

    /// Creates the summary of a trajectory.
    @inlinable
    public init(totalReturn: Double, myopicReturn: Double) {
        self.totalReturn = totalReturn
        self.myopicReturn = myopicReturn
    }
}

/// A panel of M simulated evaluators (spec §3).
///
/// A query shows one pair to one evaluator; the panel asks all M, so judging a pair costs M
/// queries. The answers are independent; p̂ is the fraction preferring τ1. The estimated return
/// difference is Δ̂ = σ⁻¹(clamp(p̂, ε, 1 − ε)).
public struct EvaluatorPanel: Sendable, Equatable, Codable {
    /// The link of the simulated humans (and the one inverted by the estimator).
    public var link: LinkFunction
    /// Number of evaluators M ≥ 1.
    public var evaluators: Int
    /// Trimming ε ∈ [0, ½): p̂ is clamped to [ε, 1 − ε]. Default 1/(2M), half a vote.
    public var trim: Double
    /// How the evaluators depart from the ideal.
    public var teacher: Teacher

    /// Creates a panel; `trim` nil means the default 1/(2M).
    public init(link: LinkFunction, evaluators: Int, trim: Double? = nil, teacher: Teacher = Teacher()) throws {
        try Validate.atLeast(evaluators, 1, "evaluators (M)")
        let eps = trim ?? 1 / (2 * Double(evaluators))
        try Validate.nonNegative(eps, "trim (ε)")
        guard eps < 0.5 else { throw RLHFError.invalidArgument(name: "trim (ε)", message: "\(eps) must be below 0.5") }
        self.link = link
        self.evaluators = evaluators
        self.trim = eps
        self.teacher = teacher
    }

    /// Number of queries one judged pair costs: M.
    @inlinable public var queriesPerPair: Int { evaluators }

    /// Asks the M evaluators about (τ0, τ1): the number preferring τ1, or nil if the teacher
    /// skipped the pair (the queries are spent either way).
    @inlinable
    public func votes(_ t0: ShownTrajectory, _ t1: ShownTrajectory, using rng: inout Xoshiro256) -> Int? {
        let myopic = teacher.myopicDiscount != 1
        let r0 = myopic ? t0.myopicReturn : t0.totalReturn
        let r1 = myopic ? t1.myopicReturn : t1.totalReturn
        if let skip = teacher.skipThreshold, r0 < skip, r1 < skip { return nil }
        let diff = r1 - r0
        let p = abs(diff) < teacher.equalThreshold ? 0.5 : link.probability(diff)
        let flip = teacher.mistakeRate
        var count = 0
        for _ in 0..<evaluators {
            var prefers1 = rng.uniform() < p
            if flip > 0 && rng.uniform() < flip { prefers1.toggle() }
            if prefers1 { count += 1 }
        }
        return count
    }

    /// The trimmed preference rate clamp(votes/M, ε, 1 − ε).
    @inlinable
    public func trimmedRate(votes: Int) -> Double {
        let p = Double(votes) / Double(evaluators)
        return min(max(p, trim), 1 - trim)
    }

    /// Δ̂ = σ⁻¹(trimmed p̂): the estimated return difference R(τ1) − R(τ0) from `votes`.
    @inlinable
    public func estimatedDifference(votes: Int) -> Double {
        link.inverse(trimmedRate(votes: votes))
    }

    /// Asks the panel and returns Δ̂, or nil if the pair was skipped.
    @inlinable
    public func estimateDifference(_ t0: ShownTrajectory, _ t1: ShownTrajectory, using rng: inout Xoshiro256) -> Double? {
        votes(t0, t1, using: &rng).map { estimatedDifference(votes: $0) }
    }
}
