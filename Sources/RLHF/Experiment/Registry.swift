import Foundation

/// A user's algorithm, as ``AlgorithmRegistry`` runs it: a factory of ``PreferenceOptimizer``s.
///
/// `rlhf train`'s machinery (``Trainer/run(_:progress:checkpoint:resume:)``) builds the
/// environment, the starting policy network (the configuration's MLP, or a linear softmax on
/// one-hot features with `policy: tabular`), the evaluator panel, and then asks the factory for
/// the optimizer; the training loop, ledger, evaluation (exact on tabular environments,
/// Monte-Carlo elsewhere), checkpoints, `metrics.csv` and the summary are the toolkit's. The
/// optimizer's ``PreferenceOptimizer/parameters`` must be the policy network's θ (that is what
/// is evaluated).
public protocol AlgorithmFactory: Sendable {
    /// The optimizer for one run on `env`, starting from `policy`, asking `panel`.
    func makeOptimizer<E: Environment>(env: E, policy: NeuralSoftmaxPolicy, panel: EvaluatorPanel,
                                       configuration: TrainConfiguration) throws -> any PreferenceOptimizer
    where E.State: Codable & Sendable
    /// The smallest budget a run can learn with (studies refuse smaller ones before running).
    func minimumBudget(_ configuration: TrainConfiguration) -> Int
}

extension AlgorithmFactory {
    /// One labeled pair: M queries.
    public func minimumBudget(_ configuration: TrainConfiguration) -> Int { configuration.evaluators }
}

/// Names and factories of the algorithms a program added to the toolkit's: once registered, an
/// algorithm runs by name in a ``TrainConfiguration`` (so in ``Trainer`` and in studies) like a
/// built-in one. Registration is process-wide and usually done once at start-up.
public enum AlgorithmRegistry {
    struct Entry { var summary: String; var factory: any AlgorithmFactory }
    nonisolated(unsafe) static var entries: [(String, Entry)] = []
    static let lock = NSLock()

    /// Registers `factory` under `name` (lowercase letters, digits and dashes; not a built-in
    /// name; registering a name again replaces its factory).
    public static func register(_ name: String, summary: String, factory: any AlgorithmFactory) throws {
        try RegistryName.check(name, kind: "algorithm", taken: AlgorithmName.builtIn.map(\.rawValue))
        lock.withLock {
            entries.removeAll { $0.0 == name }
            entries.append((name, Entry(summary: summary, factory: factory)))
        }
    }

    /// The registered names, in registration order.
    public static var names: [String] { lock.withLock { entries.map(\.0) } }

    /// The factory registered under `name`.
    public static func factory(named name: String) -> (any AlgorithmFactory)? {
        lock.withLock { entries.first { $0.0 == name }?.1.factory }
    }

    /// The one-line summary registered with `name`.
    public static func summary(named name: String) -> String? {
        lock.withLock { entries.first { $0.0 == name }?.1.summary }
    }
}

/// A registered environment: what the toolkit needs to train and describe it, with the concrete
/// environment type captured (so its episode loop is specialized like a built-in one's).
public struct RegisteredEnvironment: Sendable {
    /// The name configurations use.
    public let name: String
    /// Whether it has an exact model (values by dynamic programming) or is evaluated by
    /// Monte-Carlo rollouts.
    public let isTabular: Bool
    /// A one-line description (`rlhf env`).
    public let summary: String
    let check: @Sendable (EnvironmentSpec) throws -> Void
    let train: @Sendable (TrainConfiguration, Trainer.Hooks) throws -> TrainResult
    /// Whether the environment a spec names has a box of actions (PPO's defaults depend on it).
    var boxActions: @Sendable (EnvironmentSpec) throws -> Bool = { _ in false }

    /// An environment without an exact model, as a provider (``EnvironmentRegistry/registerProvider(prefix:resolve:)``)
    /// returns it: Monte-Carlo values normalized between the uniform policy's (`uniformEpisodes`
    /// episodes from a fixed stream) and `optimalValue`, MLP policies, every algorithm.
    ///
    /// - Parameters:
    ///   - check: validates a spec (its options and arguments) before a run or a study starts.
    ///   - make: builds the environment for one run.
    ///   - failure: for an environment that runs outside the process (a simulator in a worker),
    ///     the error that stopped it, if any: checked before every checkpoint and when the run
    ///     ends, so a run whose simulator died never saves or reports numbers computed after
    ///     the death (the last checkpoint stays usable for `--resume`).
    public static func sampled<E: Environment>(
        name: String, summary: String, uniformEpisodes: Int = Trainer.uniformValueEpisodes,
        check: @escaping @Sendable (EnvironmentSpec) throws -> Void,
        make: @escaping @Sendable (EnvironmentSpec) throws -> (env: E, optimalValue: Double, failure: @Sendable () -> (any Error)?)
    ) -> RegisteredEnvironment where E.State: Codable & Sendable {
        RegisteredEnvironment(name: name, isTabular: false, summary: summary, check: check, train: { config, hooks in
            let made = try make(config.environment)
            return try guarded(hooks, failure: made.failure) {
                try Trainer.runSampled(made.env, optimalValue: made.optimalValue, uniformEpisodes: uniformEpisodes, config, $0)
            }
        })
    }

    /// An environment with a box of actions (continuous control), as a provider returns it:
    /// ZPG and ZBCPG with a Gaussian MLP policy (``Trainer``'s continuous path), Monte-Carlo
    /// values normalized between the uniform random policy's and `optimalValue`; `check`,
    /// `make` and `failure` as in ``sampled(name:summary:uniformEpisodes:check:make:)``.
    public static func continuous<E: EpisodicEnvironment>(
        name: String, summary: String, uniformEpisodes: Int = Trainer.uniformValueEpisodes,
        check: @escaping @Sendable (EnvironmentSpec) throws -> Void,
        make: @escaping @Sendable (EnvironmentSpec) throws -> (env: E, optimalValue: Double, failure: @Sendable () -> (any Error)?)
    ) -> RegisteredEnvironment where E.Action == [Double], E.State: Codable & Sendable {
        RegisteredEnvironment(name: name, isTabular: false, summary: summary, check: check, train: { config, hooks in
            let made = try make(config.environment)
            return try guarded(hooks, failure: made.failure) {
                try Trainer.runContinuous(made.env, optimalValue: made.optimalValue, uniformEpisodes: uniformEpisodes, config, $0)
            }
        }, boxActions: { _ in true })
    }

    /// An environment whose kind is known only when a run starts (a simulator's action space
    /// read from it): `entry` gives the environment proper for a spec, when a run checks or
    /// trains it.
    public static func deferred(name: String, summary: String,
                                entry: @escaping @Sendable (EnvironmentSpec) throws -> RegisteredEnvironment) -> RegisteredEnvironment {
        RegisteredEnvironment(name: name, isTabular: false, summary: summary, check: { spec in
            try entry(spec).check(spec)
        }, train: { config, hooks in
            try entry(config.environment).train(config, hooks)
        }, boxActions: { spec in
            try entry(spec).boxActions(spec)
        })
    }

    /// Runs `body` with hooks that refuse to checkpoint after `failure` reports one, and lets
    /// the failure (when there is one) replace whatever the run returned or threw.
    static func guarded(_ hooks: Trainer.Hooks, failure: @escaping @Sendable () -> (any Error)?,
                        _ body: (Trainer.Hooks) throws -> TrainResult) throws -> TrainResult {
        var guarded = hooks
        guarded.checkpoint = { state in
            if let f = failure() { throw f }
            try hooks.checkpoint(state)
        }
        let result: TrainResult
        do {
            result = try body(guarded)
        } catch {
            throw failure() ?? error
        }
        if let f = failure() { throw f }
        return result
    }
}

/// Environments a program added to the toolkit's: once registered, an environment runs by name
/// (``EnvironmentSpec/name``) in ``Trainer`` and in studies, with every algorithm.
public enum EnvironmentRegistry {
    nonisolated(unsafe) static var entries: [RegisteredEnvironment] = []
    static let lock = NSLock()

    /// Registers a tabular environment: exact values from its ``TabularEnvironment/model``, and
    /// ZPG/ZBCPG with a tabular or an MLP policy. `make` builds it (it is called for each run; a
    /// configuration's slip, horizon and step reward are GridWorld options and are refused).
    public static func register<E: TabularEnvironment>(_ name: String, summary: String,
                                                       make: @escaping @Sendable () throws -> E) throws {
        try add(RegisteredEnvironment(name: name, isTabular: true, summary: summary, check: { spec in
            try noOptions(spec)
            let model = try make().model
            try Normalization.check(uniform: model.value(policy: model.uniformPolicy), optimal: model.optimalValue,
                                    environment: name)
        }, train: { config, hooks in
            try Trainer.runTabular(try make(), config, hooks)
        }))
    }

    /// Registers an environment without an exact model: values are Monte-Carlo estimates,
    /// normalized between the uniform policy's (estimated) and `optimalValue` (the best return,
    /// or an upper bound of it, as CartPole's H); policies are MLPs.
    public static func register<E: Environment>(_ name: String, summary: String, optimalValue: Double,
                                                make: @escaping @Sendable () throws -> E) throws where E.State: Codable & Sendable {
        try add(RegisteredEnvironment(name: name, isTabular: false, summary: summary, check: { spec in
            try noOptions(spec)
            _ = try make()
        }, train: { config, hooks in
            try Trainer.runSampled(try make(), optimalValue: optimalValue, config, hooks)
        }))
    }

    static func noOptions(_ spec: EnvironmentSpec) throws {
        if spec.slip != nil || spec.horizon != nil || spec.stepReward != nil || spec.hasArguments || spec.referenceReturn != nil {
            throw RLHFError.invalidArgument(name: "slip / horizon / step reward", message: "'\(spec.name)' is a registered environment; these are GridWorld and gym: options")
        }
    }

    static func add(_ entry: RegisteredEnvironment) throws {
        try RegistryName.check(entry.name, kind: "environment", taken: EnvironmentSpec.knownNames)
        lock.withLock {
            entries.removeAll { $0.name == entry.name }
            entries.append(entry)
        }
    }

    /// The registered names, in registration order.
    public static var names: [String] { lock.withLock { entries.map(\.name) } }

    /// The environment registered under `name`.
    public static func entry(named name: String) -> RegisteredEnvironment? {
        lock.withLock { entries.first { $0.name == name } }
    }

    nonisolated(unsafe) static var providers: [(prefix: String, resolve: @Sendable (EnvironmentSpec) throws -> RegisteredEnvironment)] = []

    /// Registers a family of environments named `<prefix><id>` (the Gymnasium bridge registers
    /// `gym:`): `resolve` turns a spec with such a name into its environment. It is called every
    /// time a configuration is resolved, so it must not start anything costly; the returned
    /// environment's check does the validation that may.
    public static func registerProvider(prefix: String, resolve: @escaping @Sendable (EnvironmentSpec) throws -> RegisteredEnvironment) {
        lock.withLock {
            providers.removeAll { $0.prefix == prefix }
            providers.append((prefix, resolve))
        }
    }

    /// Prefixes of environment families the toolkit knows of, and what provides them.
    static let knownPrefixes = ["gym:": "the Gymnasium bridge (module RLHFGym; the rlhf command has it: call GymEnvironments.register() in your own program)"]

    /// The environment a provider gives for `spec`, nil when no provider's prefix matches.
    static func provided(_ spec: EnvironmentSpec) throws -> RegisteredEnvironment? {
        let provider = lock.withLock { providers.first { spec.name.hasPrefix($0.prefix) } }
        if let provider { return try provider.resolve(spec) }
        if let (prefix, what) = knownPrefixes.first(where: { spec.name.hasPrefix($0.key) }) {
            throw RLHFError.invalidArgument(name: "environment", message: "'\(spec.name)' is a \(prefix) environment, which needs \(what)")
        }
        return nil
    }
}

/// The rule for registered names, shared by both registries.
enum RegistryName {
    static func check(_ name: String, kind: String, taken: [String]) throws {
        let allowed = name.unicodeScalars.allSatisfy { ("a"..."z").contains($0) || ("0"..."9").contains($0) || $0 == "-" }
        guard !name.isEmpty, name.count <= 64, allowed, name.first != "-" else {
            throw RLHFError.invalidArgument(name: "\(kind) name", message: "'\(name)' must be 1–64 lowercase letters, digits and dashes, not starting with a dash")
        }
        guard !taken.contains(name) else {
            throw RLHFError.invalidArgument(name: "\(kind) name", message: "'\(name)' is a built-in \(kind)")
        }
    }
}
