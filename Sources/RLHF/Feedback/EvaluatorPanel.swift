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
    /// Trimming ε ∈ [0, ½): p̂ is clamped to [ε, 1 − ε]. Default ``defaultTrim(evaluators:)``.
    ///
    /// Trimming acts only where the link is inverted, Δ̂ = σ⁻¹(clamp(p̂)): ZPG and ZBCPG. The
    /// reward-model methods, DPO, online DPO and the bilevel method train on the untrimmed soft
    /// label p̂ (a cross-entropy, finite at p̂ ∈ {0, 1}), so ε does not change them.
    public var trim: Double
    /// How the evaluators depart from the ideal.
    public var teacher: Teacher
    /// The M → ∞ limit, for checking estimators: p̂ is σ(ΔR) itself instead of a sample mean of
    /// M answers (noisy-teacher effects apply to σ's argument and as an expected flip rate).
    /// Each pair is still charged M queries.
    public var noiseless: Bool = false

    /// The default trimming: ε = 1/(2M) (half a vote) for M ≥ 2, and ¼ for M = 1.
    ///
    /// With M = 1, p̂ ∈ {0, 1} and half a vote would be ε = ½, which clamps every answer to ½
    /// (Δ̂ = 0: no signal). ¼ is the Krichevsky–Trofimov estimate (k + ½)/(M + 1) of a single
    /// vote, whose clamp 1/(2(M + 1)) is ¼ at M = 1; it keeps the answer's sign and makes
    /// Δ̂ = ±σ⁻¹(¾) (± ln 3 ≈ ±1.10 for Bradley-Terry, s = 1). For M ≥ 2 the default is unchanged
    /// (ε = 0.05 at M = 10), so every figure measured with it stands.
    public static func defaultTrim(evaluators: Int) -> Double {
        evaluators == 1 ? 0.25 : 1 / (2 * Double(max(evaluators, 1)))
    }

    /// Creates a panel; `trim` nil means ``defaultTrim(evaluators:)``.
    public init(link: LinkFunction, evaluators: Int, trim: Double? = nil, teacher: Teacher = Teacher(),
                noiseless: Bool = false) throws {
        try Validate.atLeast(evaluators, 1, "evaluators (M)", atMost: Limits.evaluators)
        try teacher.validate()
        let eps = trim ?? Self.defaultTrim(evaluators: evaluators)
        try Validate.nonNegative(eps, "trim (ε)")
        guard eps < 0.5 else { throw RLHFError.invalidArgument(name: "trim (ε)", message: "\(eps) must be below 0.5") }
        self.link = link
        self.evaluators = evaluators
        self.trim = eps
        self.teacher = teacher
        self.noiseless = noiseless
    }

    /// Number of queries one judged pair costs: M.
    @inlinable public var queriesPerPair: Int { evaluators }

    /// The probability that one evaluator of this panel answers "τ1 preferred", or nil if the
    /// teacher skips the pair.
    @inlinable
    public func answerProbability(_ t0: ShownTrajectory, _ t1: ShownTrajectory) -> Double? {
        let myopic = teacher.myopicDiscount != 1
        let r0 = myopic ? t0.myopicReturn : t0.totalReturn
        let r1 = myopic ? t1.myopicReturn : t1.totalReturn
        if let skip = teacher.skipThreshold, r0 < skip, r1 < skip { return nil }
        let diff = r1 - r0
        let p = abs(diff) < teacher.equalThreshold ? 0.5 : link.probability(diff)
        let flip = teacher.mistakeRate
        return p * (1 - flip) + (1 - p) * flip
    }

    /// Asks the M evaluators about (τ0, τ1): p̂, the fraction preferring τ1 (σ-exact when
    /// ``noiseless``), or nil if the teacher skipped the pair (the queries are spent either way).
    @inlinable
    public func preferenceRate(_ t0: ShownTrajectory, _ t1: ShownTrajectory, using rng: inout Xoshiro256) -> Double? {
        guard let p = answerProbability(t0, t1) else { return nil }
        if noiseless { return p }
        var count = 0
        for _ in 0..<evaluators where rng.uniform() < p { count += 1 }
        return Double(count) / Double(evaluators)
    }

    /// clamp(p̂, ε, 1 − ε).
    @inlinable
    public func trimmed(_ rate: Double) -> Double {
        min(max(rate, trim), 1 - trim)
    }

    /// Δ̂ = σ⁻¹(clamp(p̂, ε, 1 − ε)): the estimated return difference R(τ1) − R(τ0).
    @inlinable
    public func estimatedDifference(rate: Double) -> Double {
        link.inverse(trimmed(rate))
    }

    /// Asks the panel and returns Δ̂, or nil if the pair was skipped.
    @inlinable
    public func estimateDifference(_ t0: ShownTrajectory, _ t1: ShownTrajectory, using rng: inout Xoshiro256) -> Double? {
        preferenceRate(t0, t1, using: &rng).map { estimatedDifference(rate: $0) }
    }
}
