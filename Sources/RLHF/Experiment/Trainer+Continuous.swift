extension Trainer {
    /// The policy family a run on a box-action environment trains: a ``GaussianPolicyFamily``
    /// over the configuration's MLP (`--hidden`, `--activation`), its mean network initialized
    /// from stream (seed, 0x1A17) with a zero last layer (mean 0 everywhere) and every log-std
    /// 0 (σ = 1); actions are clipped into the box.
    static func gaussianFamily<E: EpisodicEnvironment>(_ env: E, _ config: TrainConfiguration) throws -> GaussianPolicyFamily<E>
    where E.Action == [Double] {
        guard let dimension = env.actionSpace.dimension else { preconditionFailure("a box action space") }
        try Validate.network(inputs: env.featureCount, hidden: config.hidden, outputs: dimension, "policy network (--hidden)")
        var rng = Xoshiro256(seed: config.seed, stream: 0x1A17)
        return GaussianPolicyFamily(env: env, hidden: config.hidden, activation: try config.parsedActivation(), using: &rng)
    }

    /// An environment with a box of actions (continuous control): ZPG or ZBCPG with a Gaussian
    /// MLP policy (``gaussianFamily(_:_:)``), Monte-Carlo values with standard errors, normalized
    /// between the uniform random policy's value (``UniformBoxFamily``, `uniformEpisodes`
    /// episodes from a fixed stream) and `optimalValue`. ZBCPG's `layers` blocks are the mean
    /// network's layers and the log-stds. `ppo-true-reward` runs PPO with the same Gaussian policy
    /// (``PPOHyperparameters/continuous`` unless the configuration sets PPO's settings), and so
    /// do `rm-ppo` and `rm-ppo-offline` (a reward model on φ(s) ⊕ a); `dpo` and `online-dpo`
    /// score the executed (clipped) actions by the censored Gaussian likelihood
    /// (``GaussianPolicy/executedLogProbabilities(features:actions:workspace:into:parameters:)``).
    static func runContinuous<E: EpisodicEnvironment>(_ env: E, optimalValue: Double, uniformEpisodes: Int = uniformValueEpisodes,
                                                      _ config: TrainConfiguration, _ hooks: Hooks) throws -> TrainResult
    where E.Action == [Double], E.State: Codable & Sendable {
        let baselines: [AlgorithmName] = [.ppoTrueReward, .rmPPO, .rmPPOOffline, .dpo, .onlineDPO]
        guard config.algorithm.isZerothOrder || baselines.contains(config.algorithm) else {
            throw RLHFError.invalidArgument(name: "algorithm", message: "\(config.algorithm.rawValue) does not run on continuous actions yet (\(config.environment.name) has a box action space); zpg, zbcpg, rm-ppo, rm-ppo-offline, dpo, online-dpo and ppo-true-reward do")
        }
        guard config.resolvedPolicy(tabular: false) == .mlp else {
            throw RLHFError.invalidArgument(name: "policy", message: "a tabular policy needs a tabular environment; use --policy mlp on \(config.environment.name)")
        }
        let family = try gaussianFamily(env, config)
        var evaluated = family
        evaluated.deterministic = config.resolvedEvaluation == .deterministic
        let uniform = MonteCarlo.evaluateSync(env, family: UniformBoxFamily(env: env), parameters: [], episodes: uniformEpisodes,
                                              seed: uniformValueSeed, threads: config.threads).value.mean
        let policy = family.policy
        // PPO records the unclipped Gaussian samples and steps the environment with their clipped
        // form (ActionClipping); its defaults on box actions are ``PPOHyperparameters/continuous``
        // and ``RewardModelPPOHyperparameters/continuous``.
        if baselines.contains(config.algorithm) {
            try checkNetworkSizes(env, config, tabular: false)
            let evaluate = monteCarloEvaluator(env, evaluated, config), d = policy.parameterCount
            if config.algorithm == .ppoTrueReward {
                return try execute(PPOTrueReward(env: ActionClipping(env), policy: policy, hyper: config.resolvedPPO(tabular: false),
                                                 updates: config.ppoUpdates, seed: config.seed),
                                   parameterCount: d, evaluate: evaluate, uniform: uniform, optimal: optimalValue, exact: false, config, hooks)
            }
            // The pairs' trajectories record the executed (clipped) actions: the reward model reads
            // φ(s) ⊕ a, DPO scores a by the censored Gaussian likelihood.
            let panel = try config.makePanel()
            let source = try preferenceSource(env, panel: panel, config)
            if config.algorithm == .rmPPO || config.algorithm == .rmPPOOffline {
                return try execute(RewardModelPPO(env: ActionClipping(env), policy: policy, panel: panel,
                                                  hyper: config.resolvedRMPPO(tabular: false), seed: config.seed,
                                                  online: config.algorithm == .rmPPO, budget: config.budget,
                                                  segmentLength: config.segmentLength, source: source),
                                   parameterCount: d, evaluate: evaluate, uniform: uniform, optimal: optimalValue, exact: false, config, hooks)
            }
            return try execute(DPO(env: ActionClipping(env), policy: policy, panel: panel, hyper: config.resolvedDPO,
                                   seed: config.seed, online: config.algorithm == .onlineDPO, budget: config.budget,
                                   segmentLength: config.segmentLength, source: source),
                               parameterCount: d, evaluate: evaluate, uniform: uniform, optimal: optimalValue, exact: false, config, hooks)
        }
        let blocks = policy.network.layers.map { Array($0.weightOffset..<$0.endOffset) }
            + [Array(policy.logStdOffset..<policy.parameterCount)]
        return try drive(env, family, initial: policy.parameters, blocks: blocks,
                         evaluate: monteCarloEvaluator(env, evaluated, config),
                         uniform: uniform, optimal: optimalValue, exact: false, config, hooks)
    }

    /// The evaluation of a run without an exact model: the Monte-Carlo value of θ over the
    /// configuration's evaluation episodes, each evaluation point from its own stream
    /// (seed ^ 0xE7A1_0000_0000 + point), independent of the training streams.
    static func monteCarloEvaluator<E: EpisodicEnvironment, F: EpisodicPolicyFamily>(
        _ env: E, _ family: F, _ config: TrainConfiguration
    ) -> ([Double]) -> (value: Double, standardError: Double?) where F.State == E.State, F.Action == E.Action {
        let episodes = config.evaluationEpisodes, threads = config.threads, seed = config.seed
        var evaluationIndex: UInt64 = 0
        return { theta in
            evaluationIndex += 1
            let e = MonteCarlo.evaluateSync(env, family: family, parameters: theta, episodes: episodes,
                                            seed: seed ^ 0xE7A1_0000_0000 &+ evaluationIndex, threads: threads).value
            return (e.mean, e.standardError)
        }
    }
}
