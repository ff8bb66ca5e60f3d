/// Which policy of Algorithm 1 a run reports as its result.
///
/// Algorithm 1 tracks two policies: π_λ, which approximates λ_σ = argmax σG + J and generates
/// every queried pair (the online policy), and π_λ', which approximates λ*(φ) = argmax J(·, φ),
/// the lower-level solution of the bilevel problem for the current reward. As σ → 0 the two
/// coincide; at the default σ = 10 they do not (on `classic`, 5 seeds: λ 0.34 and λ' 0.60 at
/// 10⁵ queries, λ 0.39 and λ' 0.80 at 10⁶).
///
/// The default is λ': the bilevel problem's answer is the pair (φ, λ*(φ)) — the reward and the
/// policy that is optimal for it — and λ_σ is the penalty reformulation's auxiliary variable,
/// which keeps σ·G in its objective and so trades value for pairs the reward can explain. λ'
/// costs no queries of its own (it only reads the data λ collects), so reporting it is fair in
/// the query accounting; λ is the behaviour policy, as in off-policy RL.
public enum BilevelDeployment: String, Sendable, Equatable, Codable, CaseIterable {
    /// π_λ, the penalty problem's policy, which generates every queried pair.
    case penalty
    /// π_λ', the tracker of λ*(φ): the policy that is optimal for the learned reward (the default).
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

    public mutating func takeDiagnostics() -> [Diagnostic] { base.takeDiagnostics() }

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
