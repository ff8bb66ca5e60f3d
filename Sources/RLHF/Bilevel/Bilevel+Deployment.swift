/// Which policy of Algorithm 1 a run reports as its result.
///
/// Algorithm 1 tracks two policies: π_λ, which approximates λ_σ = argmax σG + J and generates
/// every queried pair (the online policy), and π_λ', which approximates λ*(φ) = argmax J(·, φ),
/// the lower-level solution of the bilevel problem for the current reward. As σ → 0 the two
/// coincide; at the default σ = 10 they do not (on `classic` at 10⁶ queries: λ ≈ 0.4, λ' ≈ 0.75).
public enum BilevelDeployment: String, Sendable, Equatable, Codable, CaseIterable {
    /// π_λ, the penalty problem's policy, which queries the evaluators (the default).
    case penalty
    /// π_λ', the tracker of λ*(φ): the policy that is optimal for the learned reward.
    case lowerLevel = "lower-level"
}

/// Algorithm 1 unchanged, with π_λ' as the run's policy: the training loop evaluates and reports
/// λ' (``Bilevel/lowerLevelParameters``), and the summary's figures carry π_λ's value instead
/// (`penalty_policy_value`) beside the reward's agreement.
public struct BilevelLowerLevelDeployment<E: Environment>: PreferenceOptimizer where E.State: Codable & Sendable {
    /// The algorithm.
    public var base: Bilevel<E>

    /// Wraps `base`.
    public init(_ base: Bilevel<E>) { self.base = base }

    /// λ'.
    public var parameters: [Double] {
        get { base.lowerLevelParameters }
        set { base.lowerLevelParameters = newValue }
    }

    public func queries(forIteration t: Int) -> Int { base.queries(forIteration: t) }

    public mutating func iterate(_ t: Int, ledger: inout QueryLedger) throws -> Int {
        try base.iterate(t, ledger: &ledger)
    }

    /// π_λ's true value (`penalty_policy_value`) and the reward's agreement, as ``Bilevel/summaryFigures(value:)``.
    public func summaryFigures(value: ([Double]) -> Double) -> [String: Double] {
        var figures = base.summaryFigures(value: value)
        figures["lower_level_value"] = nil
        figures["penalty_policy_value"] = value(base.parameters)
        return figures
    }
}
