/// The summary of a finished run, as `summary.json` and `rlhf train --json` print it.
public struct RunSummary: Sendable, Codable, Equatable {
    public var algorithm: String
    public var env: String
    public var link: String
    public var seed: UInt64
    public var budget: Int
    public var queriesUsed: Int
    public var envSteps: Int
    public var iterations: Int
    public var parameterCount: Int
    /// The step size α actually used (the configuration's, or the algorithm's default).
    public var alpha: Double
    public var initialValue: Double
    public var finalValue: Double
    public var optimalValue: Double
    public var uniformValue: Double
    public var normalizedValue: Double
    /// Whether values are exact (dynamic programming) rather than Monte-Carlo estimates.
    public var exactValues: Bool
    public var wallSeconds: Double
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

/// Runs a ``TrainConfiguration``: builds the environment, panel and algorithm, and drives the
/// ``TrainingLoop`` with exact evaluation.
public enum Trainer {
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
        let env = try config.environment.makeGridWorld()
        let panel = try config.makePanel()
        let family = TabularSoftmax(stateCount: env.stateCount, actionCount: env.actionCount)
        let model = env.model
        let uniform = model.value(policy: model.uniformPolicy)
        let optimal = model.optimalValue
        let normalize = { (v: Double) in (v - uniform) / (optimal - uniform) }

        let cost = config.queriesPerIteration
        guard cost <= config.budget else {
            throw RLHFError.budgetTooSmall(budget: config.budget, needed: cost, what: "one \(config.algorithm.rawValue) iteration")
        }
        let iterations = config.budget / cost
        var loop = TrainingLoop(evaluateEvery: config.evaluateEvery ?? max(1, iterations / 100),
                                evaluate: { (model.value(policy: family.probabilities($0)), nil) },
                                normalize: normalize)
        loop.onRecord = progress
        loop.onCheckpoint = checkpoint
        if let r = resume {
            guard r.parameters.count == family.parameterCount else {
                throw RLHFError.invalidArgument(name: "resume", message: "the checkpoint has \(r.parameters.count) parameters, this run needs \(family.parameterCount)")
            }
        }
        var ledger = try QueryLedger(budget: config.budget)
        let state: TrainingState
        switch config.algorithm {
        case .zpg:
            var zpg = try ZPG(env: env, family: family, panel: panel,
                              hyper: config.zpgHyperparameters(dimension: family.parameterCount), seed: config.seed)
            state = try loop.run(&zpg, ledger: &ledger, resume: resume)
        case .zbcpg:
            var z = try ZBCPG(env: env, family: family, panel: panel,
                              hyper: config.zbcpgHyperparameters(dimension: family.parameterCount), seed: config.seed)
            state = try loop.run(&z, ledger: &ledger, resume: resume)
        }
        let first = state.records.first!, last = state.records.last!
        let summary = RunSummary(
            algorithm: config.algorithm.rawValue, env: config.environment.name, link: config.link.kind.rawValue,
            seed: config.seed, budget: config.budget, queriesUsed: ledger.used, envSteps: state.envSteps,
            iterations: state.iteration, parameterCount: family.parameterCount,
            alpha: config.alpha ?? config.defaultAlpha(dimension: family.parameterCount),
            initialValue: first.value, finalValue: last.value, optimalValue: optimal, uniformValue: uniform,
            normalizedValue: last.normalizedValue, exactValues: true, wallSeconds: last.wallSeconds,
            configuration: config)
        return TrainResult(summary: summary, state: state)
    }
}
