import RLHF

/// The `classic` GridWorld and what the suites build on it: a Bradley-Terry panel, a tabular
/// softmax policy that starts uniform, and exact normalized values.
public enum Classic {
    /// `classic` with `features` (one-hot unless given) and, if given, another slip probability.
    public static func gridWorld(features: GridWorld.FeatureMode = .oneHot, slip: Double? = nil) throws -> GridWorld {
        guard let preset = GridWorldPreset.named("classic") else { throw RLHFError.unknownName(kind: "preset", name: "classic", known: []) }
        var options = preset.options
        if let slip { options.slip = slip }
        var env = try GridWorld(preset: preset, options: options)
        env.featureMode = features
        return env
    }

    /// A Bradley-Terry panel of M = 10 evaluators.
    public static func panel() throws -> EvaluatorPanel {
        try EvaluatorPanel(link: .bradleyTerry, evaluators: 10)
    }

    /// A tabular softmax policy on `env` (its features, no hidden layer) that starts uniform.
    public static func tabularPolicy(_ env: GridWorld, seed: UInt64) -> NeuralSoftmaxPolicy {
        var rng = Xoshiro256(seed: seed)
        return NeuralSoftmaxPolicy(featureCount: env.featureCount, hidden: [], actionCount: env.actionCount,
                                   uniformStart: true, using: &rng)
    }

    /// `classic` with one-hot features (and `slip`, if given), the panel of M = 10 and a uniform
    /// tabular policy (seed 5): the setting of the DPO and bilevel tests.
    public static func fixture(slip: Double? = nil) throws -> (env: GridWorld, panel: EvaluatorPanel, policy: NeuralSoftmaxPolicy) {
        let env = try gridWorld(slip: slip)
        return (env, try panel(), tabularPolicy(env, seed: 5))
    }

    /// The exact normalized value (V(π_θ) − V_uniform) / (V* − V_uniform) of θ for `policy`'s
    /// architecture on `env`.
    public static func normalizedValue(_ theta: [Double], env: GridWorld, policy: NeuralSoftmaxPolicy) -> Double {
        let uniform = env.model.value(policy: env.model.uniformPolicy)
        let v = env.model.value(policy: NeuralTabularFamily(env: env, policy: policy).probabilities(theta))
        return (v - uniform) / (env.model.optimalValue - uniform)
    }
}
