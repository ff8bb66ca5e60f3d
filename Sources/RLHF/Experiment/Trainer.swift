/// The summary of a finished run, as `summary.json` and `rlhf train --json` print it.
public struct RunSummary: Sendable, Codable, Equatable {
    public var algorithm: String
    public var env: String
    public var link: String
    public var policy: String
    public var seed: UInt64
    public var budget: Int
    public var queriesUsed: Int
    public var envSteps: Int
    public var iterations: Int
    public var parameterCount: Int
    /// The step size α of ZPG/ZBCPG actually used (the configuration's, or the algorithm's
    /// default); nil for the other algorithms, whose step sizes are in ``configuration``.
    public var alpha: Double?
    public var initialValue: Double
    /// Standard error of ``initialValue`` when it is a Monte-Carlo estimate.
    public var initialValueStandardError: Double?
    public var finalValue: Double
    /// Standard error of ``finalValue`` when it is a Monte-Carlo estimate.
    public var finalValueStandardError: Double?
    public var optimalValue: Double
    public var uniformValue: Double
    public var normalizedValue: Double
    /// Whether values are exact (dynamic programming) rather than Monte-Carlo estimates.
    public var exactValues: Bool
    public var wallSeconds: Double
    /// Algorithm-specific figures (the bilevel method: `penalty_policy_value` and
    /// `penalty_policy_normalized` of π_λ — or `lower_level_…` of π_λ' when π_λ is the run's
    /// policy — and `reward_agreement`); nil when there are none.
    public var figures: [String: Double]?
    /// The full configuration, for reproduction.
    public var configuration: TrainConfiguration
}

/// The result of ``Trainer/run(_:progress:checkpoint:resume:)``.
public struct TrainResult: Sendable {
    /// The summary.
    public var summary: RunSummary
    /// The final state (θ and every evaluation point).
    public var state: TrainingState
}

/// Runs a ``TrainConfiguration``: builds the environment, policy, panel and algorithm, and drives
/// the ``TrainingLoop`` with exact evaluation on tabular environments and Monte-Carlo evaluation
/// elsewhere.
public enum Trainer {
    /// Callbacks and resume state of a run.
    struct Hooks {
        var progress: (TrainingRecord, Double) -> Void
        var checkpoint: (TrainingState) throws -> Void
        var resume: TrainingState?
    }

    /// Runs a configuration to the end of its budget.
    ///
    /// - Parameters:
    ///   - progress: called at every evaluation point with the record and the fraction of the
    ///     budget used.
    ///   - checkpoint: called with the state at every evaluation point, to save it.
    ///   - resume: a state saved by `checkpoint` from a run of the same configuration.
    public static func run(_ config: TrainConfiguration,
                           progress: @escaping (TrainingRecord, Double) -> Void = { _, _ in },
                           checkpoint: @escaping (TrainingState) throws -> Void = { _ in },
                           resume: TrainingState? = nil) throws -> TrainResult {
        try config.validate()
        let hooks = Hooks(progress: progress, checkpoint: checkpoint, resume: resume)
        let resolved = try config.environment.resolve()
        // The policy left unset resolves from the environment; the resolved configuration is
        // validated again (e.g. `--block-mode layers` needs the MLP it may resolve to).
        var config = config
        config.policy = config.resolvedPolicy(tabular: resolved.isTabular)
        try config.validate()
        switch resolved {
        case .gridWorld(var g):
            g.featureMode = config.features
            return try runTabular(g, config, hooks)
        case .bandit(let b):
            return try runTabular(b, config, hooks)
        case .cartPole(let c):
            return try runSampled(c, optimalValue: Double(c.horizon), config, hooks)
        case .pendulum(let p):
            // Every reward is ≤ 0: 0 bounds the best return.
            return try runContinuous(p, optimalValue: 0, config, hooks)
        case .registered(let r):
            return try r.train(config, hooks)
        }
    }

    /// The policy network a baseline starts from: with `--policy tabular` a linear softmax on
    /// one-hot features (env must be a ``OneHotView``), else the configuration's MLP.
    static func baselinePolicy<E: Environment>(_ env: E, _ config: TrainConfiguration) throws -> NeuralSoftmaxPolicy {
        switch config.resolvedPolicy(tabular: true) {
        case .tabular:
            var rng = Xoshiro256(seed: config.seed, stream: 0x1A17)
            return NeuralSoftmaxPolicy(featureCount: env.featureCount, hidden: [], actionCount: env.actionCount,
                                       uniformStart: true, using: &rng)
        case .mlp:
            return try makePolicy(config, featureCount: env.featureCount, actionCount: env.actionCount)
        }
    }

    /// Builds the baseline a configuration names, starting from `policy`, and runs it. Each
    /// branch calls ``execute(_:parameterCount:evaluate:uniform:optimal:exact:_:_:)`` with the
    /// concrete optimizer type, so that its code is specialized (an existential would run the
    /// unspecialized generic code, about twice as slow).
    static func runBaseline<E: Environment>(
        _ env: E, policy: NeuralSoftmaxPolicy, evaluate: @escaping ([Double]) -> (value: Double, standardError: Double?),
        uniform: Double, optimal: Double, exact: Bool, _ config: TrainConfiguration, _ hooks: Hooks
    ) throws -> TrainResult where E.State: Codable & Sendable {
        let tabular = E.self is any TabularEnvironment.Type
        try checkNetworkSizes(env, config, tabular: tabular)
        let panel = try config.makePanel()
        let source = try preferenceSource(env, panel: panel, config)
        let d = policy.parameterCount
        switch config.algorithm {
        case .dpo, .onlineDPO:
            return try execute(DPO(env: env, policy: policy, panel: panel, hyper: config.resolvedDPO, seed: config.seed,
                                   online: config.algorithm == .onlineDPO, budget: config.budget,
                                   segmentLength: config.segmentLength, source: source),
                               parameterCount: d, evaluate: evaluate, uniform: uniform, optimal: optimal, exact: exact, config, hooks)
        case .rmPPO, .rmPPOOffline:
            return try execute(RewardModelPPO(env: env, policy: policy, panel: panel, hyper: config.resolvedRMPPO(tabular: tabular),
                                              seed: config.seed, online: config.algorithm == .rmPPO, budget: config.budget,
                                              segmentLength: config.segmentLength, source: source),
                               parameterCount: d, evaluate: evaluate, uniform: uniform, optimal: optimal, exact: exact, config, hooks)
        case .ppoTrueReward:
            return try execute(PPOTrueReward(env: env, policy: policy, hyper: config.resolvedPPO(tabular: tabular),
                                             updates: config.ppoUpdates, seed: config.seed),
                               parameterCount: d, evaluate: evaluate, uniform: uniform, optimal: optimal, exact: exact, config, hooks)
        case .bilevel:
            let bilevel = try Bilevel(env: env, policy: policy, rewardHidden: config.bilevelRewardHidden, panel: panel,
                                      hyper: config.bilevel, seed: config.seed, exact: config.bilevelExact, source: source)
            if config.resolvedBilevelDeploy == .lowerLevel {
                return try execute(BilevelLowerLevelDeployment(bilevel),
                                   parameterCount: d, evaluate: evaluate, uniform: uniform, optimal: optimal, exact: exact, config, hooks)
            }
            return try execute(bilevel,
                               parameterCount: d, evaluate: evaluate, uniform: uniform, optimal: optimal, exact: exact, config, hooks)
        default:
            guard let factory = AlgorithmRegistry.factory(named: config.algorithm.rawValue) else {
                preconditionFailure("\(config.algorithm) is neither a baseline nor registered")
            }
            let optimizer = try factory.makeOptimizer(env: env, policy: policy, panel: panel, configuration: config)
            guard optimizer.parameters.count == d else {
                throw RLHFError.invalidArgument(name: "algorithm", message: "\(config.algorithm)'s optimizer has \(optimizer.parameters.count) parameters; the policy network has \(d)")
            }
            return try execute(optimizer, parameterCount: d, evaluate: evaluate, uniform: uniform, optimal: optimal,
                               exact: exact, config, hooks)
        }
    }

    /// A baseline on a tabular environment: exact values of the neural policy's table.
    static func runBaselineTabular<E: TabularEnvironment>(_ env: E, uniform: Double, optimal: Double,
                                                          _ config: TrainConfiguration, _ hooks: Hooks) throws -> TrainResult {
        let policy = try baselinePolicy(env, config)
        let family = NeuralTabularFamily(env: env, policy: policy)
        let model = env.model
        return try runBaseline(env, policy: policy, evaluate: { (exactValue(model, family.probabilities($0), config), nil) },
                               uniform: uniform, optimal: optimal, exact: true, config, hooks)
    }

    /// The exact value of a policy table, or of its greedy form under `--eval deterministic`.
    static func exactValue(_ model: TabularMDP, _ probabilities: [Double], _ config: TrainConfiguration) -> Double {
        model.value(policy: config.resolvedEvaluation == .deterministic
                    ? GreedyPolicy.table(probabilities, actionCount: model.actionCount) : probabilities)
    }

    /// The MLP policy of a configuration, initialized from stream (seed, 0x1A17) with a zero last
    /// layer, so that it starts uniform.
    static func makePolicy(_ config: TrainConfiguration, featureCount: Int, actionCount: Int) throws -> NeuralSoftmaxPolicy {
        try Validate.network(inputs: featureCount, hidden: config.hidden, outputs: actionCount, "policy network (--hidden)")
        var rng = Xoshiro256(seed: config.seed, stream: 0x1A17)
        return NeuralSoftmaxPolicy(featureCount: featureCount, hidden: config.hidden, actionCount: actionCount,
                                   activation: try config.parsedActivation(), uniformStart: true, using: &rng)
    }

    /// Checks the sizes of the networks a baseline builds besides its policy (reward model,
    /// PPO's value network, the bilevel reward and critic) before any is allocated.
    static func checkNetworkSizes<E: EpisodicEnvironment>(_ env: E, _ config: TrainConfiguration, tabular: Bool) throws {
        let f = env.featureCount, m = env.actionSpace.count ?? 1, reward = env.rewardModelShape
        switch config.algorithm {
        case .rmPPO, .rmPPOOffline:
            let h = config.resolvedRMPPO(tabular: tabular)
            try Validate.network(inputs: reward.inputs, hidden: h.rewardModel.hidden, outputs: reward.outputs,
                                 "reward network (--reward-hidden)")
            try Validate.network(inputs: f + 1, hidden: h.ppo.valueHidden, outputs: 1, "PPO value network")
        case .ppoTrueReward:
            try Validate.network(inputs: f + 1, hidden: config.resolvedPPO(tabular: tabular).valueHidden, outputs: 1, "PPO value network")
        case .bilevel:
            try Validate.network(inputs: f, hidden: config.bilevelRewardHidden, outputs: m, "reward network (--reward-hidden)")
            try Validate.network(inputs: f, hidden: config.bilevel.critic.hidden, outputs: m, "critic network (bilevel.critic.hidden)")
        default:
            break
        }
    }

    /// One block per network layer (weights and bias).
    static func layerBlocks(_ policy: NeuralSoftmaxPolicy) -> [[Int]] {
        policy.network.layers.map { Array($0.weightOffset..<$0.endOffset) }
    }

    /// A tabular environment: exact values from the model.
    static func runTabular<E: TabularEnvironment>(_ env: E, _ config: TrainConfiguration, _ hooks: Hooks) throws -> TrainResult {
        let model = env.model
        let uniform = model.value(policy: model.uniformPolicy)
        let optimal = model.optimalValue
        if !config.algorithm.isZerothOrder {
            return config.resolvedPolicy(tabular: true) == .tabular
                ? try runBaselineTabular(OneHotView(env), uniform: uniform, optimal: optimal, config, hooks)
                : try runBaselineTabular(env, uniform: uniform, optimal: optimal, config, hooks)
        }
        switch config.resolvedPolicy(tabular: true) {
        case .tabular:
            let family = TabularSoftmax(stateCount: env.stateCount, actionCount: env.actionCount)
            return try drive(env, family, initial: [Double](repeating: 0, count: family.parameterCount), blocks: nil,
                             evaluate: { (exactValue(model, family.probabilities($0), config), nil) },
                             uniform: uniform, optimal: optimal, exact: true, config, hooks)
        case .mlp:
            let policy = try makePolicy(config, featureCount: env.featureCount, actionCount: env.actionCount)
            let family = NeuralTabularFamily(env: env, policy: policy)
            return try drive(env, family, initial: policy.network.parameters, blocks: layerBlocks(policy),
                             evaluate: { (exactValue(model, family.probabilities($0), config), nil) },
                             uniform: uniform, optimal: optimal, exact: true, config, hooks)
        }
    }

    /// Seed of the Monte-Carlo estimate of the uniform policy's value: fixed, so that every run's
    /// normalization is the same.
    public static let uniformValueSeed: UInt64 = 0x0B5E

    /// The uniform policy's value on an environment without an exact model, as every run
    /// normalizes by it: 20,000 episodes from a fixed stream (the same on any thread count).
    public static func uniformValueEstimate<E: Environment>(_ env: E, threads: Int, episodes: Int = uniformValueEpisodes) -> Estimate {
        MonteCarlo.evaluateSync(env, family: UniformFamily<E>(actionCount: env.actionCount), parameters: [],
                                episodes: episodes, seed: uniformValueSeed, threads: threads).value
    }

    /// Episodes of the uniform policy's Monte-Carlo value on environments without an exact model.
    public static let uniformValueEpisodes = 20_000

    /// An environment without an exact model: Monte-Carlo values with standard errors.
    static func runSampled<E: Environment>(_ env: E, optimalValue: Double, uniformEpisodes: Int = uniformValueEpisodes,
                                           _ config: TrainConfiguration, _ hooks: Hooks) throws -> TrainResult
    where E.State: Codable & Sendable {
        guard config.resolvedPolicy(tabular: false) == .mlp else {
            throw RLHFError.invalidArgument(name: "policy", message: "a tabular policy needs a tabular environment; use --policy mlp on \(config.environment.name)")
        }
        let policy = try makePolicy(config, featureCount: env.featureCount, actionCount: env.actionCount)
        let family = NeuralFamily(env: env, policy: policy)
        let evaluated = NeuralFamily(env: env, policy: policy, greedy: config.resolvedEvaluation == .deterministic)
        let uniform = uniformValueEstimate(env, threads: config.threads, episodes: uniformEpisodes).mean
        let evaluate = monteCarloEvaluator(env, evaluated, config)
        if !config.algorithm.isZerothOrder {
            return try runBaseline(env, policy: policy, evaluate: evaluate, uniform: uniform, optimal: optimalValue,
                                   exact: false, config, hooks)
        }
        return try drive(env, family, initial: policy.network.parameters, blocks: layerBlocks(policy),
                         evaluate: evaluate, uniform: uniform, optimal: optimalValue, exact: false, config, hooks)
    }

    /// Builds ZPG or ZBCPG and runs the loop.
    static func drive<E: EpisodicEnvironment, F: EpisodicPolicyFamily>(
        _ env: E, _ family: F, initial: [Double], blocks: [[Int]]?,
        evaluate: @escaping ([Double]) -> (value: Double, standardError: Double?),
        uniform: Double, optimal: Double, exact: Bool, _ config: TrainConfiguration, _ hooks: Hooks
    ) throws -> TrainResult where F.State == E.State, F.Action == E.Action {
        let panel = try config.makePanel()
        let source = try preferenceSource(env, panel: panel, config)
        let d = family.parameterCount
        let cost = config.queriesPerIteration
        guard cost <= config.budget else {
            throw RLHFError.budgetTooSmall(budget: config.budget, needed: cost, what: "one \(config.algorithm.rawValue) iteration")
        }
        switch config.algorithm {
        case .zbcpg:
            return try execute(ZBCPG(env: env, family: family, panel: panel, hyper: config.zbcpgHyperparameters(dimension: d),
                                     seed: config.seed, initial: initial, blocks: blocks, source: source),
                               parameterCount: d, evaluate: evaluate, uniform: uniform, optimal: optimal, exact: exact, config, hooks)
        default:
            return try execute(ZPG(env: env, family: family, panel: panel, hyper: config.zpgHyperparameters(dimension: d),
                                   seed: config.seed, initial: initial, source: source),
                               parameterCount: d, evaluate: evaluate, uniform: uniform, optimal: optimal, exact: exact, config, hooks)
        }
    }

    /// Who answers a run's comparisons: the panel, unless the configuration's `feedback` names
    /// another source (``PreferenceSources/make(_:)``).
    static func preferenceSource<E: EpisodicEnvironment>(_ env: E, panel: EvaluatorPanel,
                                                         _ config: TrainConfiguration) throws -> any PreferenceSource {
        guard let f = config.feedback, f.kind != .simulated || f.record != nil else { return panel }
        let name = config.environment.name
        return try PreferenceSources.make(PreferenceSourceContext(
            feedback: f, panel: panel, environmentName: name, environmentDescription: labelingDescription(of: env, name: name),
            algorithm: config.algorithm.rawValue, seed: config.seed))
    }

    /// Runs any optimizer in the training loop and summarizes the run.
    static func execute<O: PreferenceOptimizer>(_ optimizer: O, parameterCount d: Int,
                        evaluate: @escaping ([Double]) -> (value: Double, standardError: Double?),
                        uniform: Double, optimal: Double, exact: Bool, _ config: TrainConfiguration,
                        _ hooks: Hooks) throws -> TrainResult {
        try Normalization.check(uniform: uniform, optimal: optimal, environment: config.environment.name)
        if let r = hooks.resume, r.parameters.count != d {
            throw RLHFError.invalidArgument(name: "resume", message: "the checkpoint has \(r.parameters.count) parameters, this run needs \(d)")
        }
        var optimizer = optimizer
        // About 100 evaluation points where values are exact and cheap, 20 where each is a
        // Monte-Carlo estimate that costs rollouts (unless the configuration says).
        let points = config.evaluationPoints ?? (exact ? 100 : 20)
        // Without an iteration limit the budget ends the run: estimate it from a typical
        // (non-first) iteration's cost.
        let iterations = optimizer.iterationLimit ?? config.budget / max(1, optimizer.queries(forIteration: 1))
        var loop = TrainingLoop(evaluateEvery: config.evaluateEvery ?? max(1, iterations / points), evaluate: evaluate,
                                normalize: { Normalization.normalized($0, uniform: uniform, optimal: optimal) })
        loop.onRecord = hooks.progress
        loop.onCheckpoint = hooks.checkpoint
        var ledger = try QueryLedger(budget: config.budget)
        let state = try loop.run(&optimizer, ledger: &ledger, resume: hooks.resume)
        let first = state.records.first!, last = state.records.last!
        var figures = optimizer.summaryFigures { evaluate($0).value }
        for (name, v) in figures where name.hasSuffix("_value") {
            figures[String(name.dropLast(6)) + "_normalized"] = Normalization.normalized(v, uniform: uniform, optimal: optimal)
        }
        let summary = RunSummary(
            algorithm: config.algorithm.rawValue, env: config.environment.name, link: config.link.kind.rawValue,
            policy: config.resolvedPolicy(tabular: exact) == .tabular ? "tabular" : "mlp \(config.hidden.map(String.init).joined(separator: ","))",
            seed: config.seed, budget: config.budget, queriesUsed: ledger.used, envSteps: state.envSteps,
            iterations: state.iteration, parameterCount: d,
            alpha: config.algorithm.isZerothOrder ? config.alpha ?? config.defaultAlpha(dimension: d) : nil,
            initialValue: first.value, initialValueStandardError: first.valueStandardError, finalValue: last.value, finalValueStandardError: last.valueStandardError,
            optimalValue: optimal, uniformValue: uniform, normalizedValue: last.normalizedValue, exactValues: exact,
            wallSeconds: last.wallSeconds, figures: figures.isEmpty ? nil : figures,
            configuration: config.resolvedForSummary(tabular: exact))
        return TrainResult(summary: summary, state: state)
    }
}

/// The uniform random policy on any environment (for Monte-Carlo normalization).
public struct UniformFamily<E: Environment>: PolicyFamily {
    public typealias State = E.State
    /// Number of actions.
    public let actionCount: Int

    /// Creates the family.
    public init(actionCount: Int) { self.actionCount = actionCount }

    public var parameterCount: Int { 0 }

    /// Acts uniformly at random.
    public struct Actor: PolicyActor {
        public typealias State = E.State
        let actionCount: Int
        public mutating func action(in state: E.State, using rng: inout Xoshiro256) -> Int {
            rng.index(below: actionCount)
        }
    }

    public func makeActor(_ theta: UnsafeBufferPointer<Double>) -> Actor { Actor(actionCount: actionCount) }
    public func update(_ actor: inout Actor, to theta: UnsafeBufferPointer<Double>) {}
}
