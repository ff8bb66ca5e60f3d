/// The normalized value (V − V(uniform)) / (V* − V(uniform)) that every run reports, and the
/// check that it is defined.
public enum Normalization {
    /// Relative gap below which V* and V(uniform) count as equal: a few hundred ulps of the
    /// values' scale, far above rounding noise of exact evaluation and far below any gap a
    /// policy could learn something from.
    public static let relativeTolerance = 1e-9

    /// Throws if V* and V(uniform) are equal (within ``relativeTolerance``): then every policy
    /// has the same value, there is nothing to learn, and the normalized value would be
    /// rounding noise divided by rounding noise (or ±∞). Checked before a run starts.
    public static func check(uniform: Double, optimal: Double, environment: String) throws {
        let scale = max(1, abs(uniform), abs(optimal))
        guard uniform.isFinite, optimal.isFinite, optimal - uniform > relativeTolerance * scale else {
            throw RLHFError.invalidArgument(
                name: "environment",
                message: "on \(environment) the optimal value V* = \(optimal) equals the uniform policy's V(uniform) = \(uniform), so every policy is as good as any other: nothing can be learned and the normalized value is undefined (change the horizon, slip or map)")
        }
    }

    /// (V − V(uniform)) / (V* − V(uniform)).
    @inlinable
    public static func normalized(_ value: Double, uniform: Double, optimal: Double) -> Double {
        (value - uniform) / (optimal - uniform)
    }
}

extension EnvironmentSpec.Resolved {
    /// For environments with an exact model, ``Normalization/check(uniform:optimal:environment:)``
    /// on their exact values; environments with Monte-Carlo values are checked when a run
    /// starts (their V(uniform) is an estimate that costs rollouts).
    public func checkNormalizable(name: String, spec: EnvironmentSpec? = nil) throws {
        switch self {
        case .gridWorld(let g): try Self.check(g.model, name)
        case .bandit(let b): try Self.check(b.model, name)
        case .cartPole, .pendulum: break
        case .registered(let r): try r.check(spec ?? EnvironmentSpec(name: name))
        }
    }

    static func check(_ model: TabularMDP, _ name: String) throws {
        try Normalization.check(uniform: model.value(policy: model.uniformPolicy), optimal: model.optimalValue, environment: name)
    }
}
