/// The algorithm a run uses: one of the toolkit's (`zpg`, `rm-ppo`, …) or one a program
/// registered with ``AlgorithmRegistry/register(_:summary:factory:)``.
///
/// Written as its name in configurations, study files and `summary.json`; reading a name that is
/// neither built in nor registered fails with the list of known ones.
public struct AlgorithmName: RawRepresentable, Hashable, Sendable, Codable, CustomStringConvertible {
    /// The algorithm's name.
    public let rawValue: String

    /// The algorithm of this name, if it is built in or registered.
    public init?(rawValue: String) {
        guard Self.builtIn.contains(where: { $0.rawValue == rawValue }) || AlgorithmRegistry.factory(named: rawValue) != nil else {
            return nil
        }
        self.rawValue = rawValue
    }

    init(builtIn name: String) { rawValue = name }

    /// Zeroth-order policy gradient (spec §4).
    public static let zpg = AlgorithmName(builtIn: "zpg")
    /// Zeroth-order block-coordinate policy gradient (spec §4).
    public static let zbcpg = AlgorithmName(builtIn: "zbcpg")
    /// Reward model + PPO, online: pairs from the current policy every round (spec §6).
    public static let rmPPO = AlgorithmName(builtIn: "rm-ppo")
    /// Reward model + PPO, offline: one round of pairs from the initial policy (spec §6).
    public static let rmPPOOffline = AlgorithmName(builtIn: "rm-ppo-offline")
    /// DPO on pairs from the initial policy, labeled once (spec §6).
    public static let dpo = AlgorithmName(builtIn: "dpo")
    /// Online DPO: fresh pairs from the current policy every round (spec §6).
    public static let onlineDPO = AlgorithmName(builtIn: "online-dpo")
    /// PPO against the true reward: the sanity check, no queries.
    public static let ppoTrueReward = AlgorithmName(builtIn: "ppo-true-reward")
    /// Bilevel online RLHF, first-order penalty method with a DQN critic (spec §5).
    public static let bilevel = AlgorithmName(builtIn: "bilevel")

    /// The toolkit's own algorithms, in the order `rlhf help train` lists them.
    public static let builtIn: [AlgorithmName] = [.zpg, .zbcpg, .rmPPO, .rmPPOOffline, .dpo, .onlineDPO, .ppoTrueReward, .bilevel]
    /// The built-in algorithms (registered ones are in ``known``).
    public static var allCases: [AlgorithmName] { builtIn }
    /// Every algorithm a configuration may name now: the built-in ones, then the registered ones.
    public static var known: [AlgorithmName] { builtIn + AlgorithmRegistry.names.map(AlgorithmName.init(builtIn:)) }

    /// Whether the algorithm is one of the zeroth-order methods (ZPG, ZBCPG).
    public var isZerothOrder: Bool { self == .zpg || self == .zbcpg }
    /// Whether a program registered it (it is not one of the toolkit's).
    public var isRegistered: Bool { !Self.builtIn.contains(self) }

    public var description: String { rawValue }

    public init(from decoder: Decoder) throws {
        let name = try decoder.singleValueContainer().decode(String.self)
        guard let a = AlgorithmName(rawValue: name) else {
            throw DecodingError.dataCorrupted(.init(codingPath: decoder.codingPath, debugDescription:
                "unknown algorithm '\(name)'; known: \(AlgorithmName.known.map(\.rawValue).joined(separator: ", "))"))
        }
        self = a
    }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.singleValueContainer()
        try c.encode(rawValue)
    }
}

/// The policy parametrizations `rlhf train` offers.
public enum PolicyKind: String, Sendable, Codable, CaseIterable {
    /// Tabular softmax, d = |S|·|A| (tabular environments only).
    case tabular
    /// Softmax over the logits of an MLP of the state's features.
    case mlp
}

/// Everything that defines one training run; equal configurations give equal numbers.
///
/// Hyperparameters are flat fields so that a configuration reads the same on the command line,
/// in `summary.json` and in study files.
public struct TrainConfiguration: Sendable, Equatable, Codable {
    /// The algorithm.
    public var algorithm: AlgorithmName = .zpg
    /// The environment.
    public var environment = EnvironmentSpec(name: "classic")
    /// The evaluators' link function.
    public var link: LinkFunction = .bradleyTerry
    /// Number of evaluators M a pair is shown to.
    public var evaluators: Int = 10
    /// Trimming ε (nil: ``EvaluatorPanel/defaultTrim(evaluators:)``, 1/(2M) for M ≥ 2 and ¼ for
    /// M = 1). Only the zeroth-order methods invert the link and so read it.
    public var trim: Double? = nil
    /// Noisy-teacher settings.
    public var teacher = Teacher()
    /// The query budget.
    public var budget: Int = 1_000_000
    /// The seed.
    public var seed: UInt64 = 0
    /// Perturbation radius μ.
    public var mu: Double = 4
    /// Step size α (nil: the algorithm's default, see ``defaultAlpha(dimension:)``).
    public var alpha: Double? = nil
    /// Trajectory pairs N per iteration (per block for ZBCPG).
    public var pairs: Int = 8
    /// Gradient-norm clip (nil: none).
    public var gradientClip: Double? = nil
    /// ZBCPG: number of blocks K.
    public var blocks: Int = 4
    /// ZBCPG: partition or random blocks.
    public var blockMode: ZBCPGHyperparameters.BlockMode = .partition
    /// ZBCPG random mode: block size b (nil: ⌈d/K⌉).
    public var blockSize: Int? = nil
    /// ZBCPG: worker threads (results do not depend on it).
    public var threads: Int = Parallel.coreCount
    /// Evaluate every this many iterations (nil: about 100 points over the run, 20 where values
    /// are Monte-Carlo estimates).
    public var evaluateEvery: Int? = nil
    /// The policy parametrization (nil: ``resolvedPolicy(tabular:)``, tabular where the
    /// environment has a tabular form, the MLP elsewhere).
    public var policy: PolicyKind? = nil
    /// Hidden widths of an MLP policy. Default one layer of 16: ZPG's variance grows with d,
    /// and 16 units (d = 132 on a GridWorld with coordinate features) suffice there.
    public var hidden: [Int] = [16]
    /// Hidden activation of an MLP policy: `tanh`, `relu`, `leaky-relu(0.01)`, `identity`.
    public var activation: String = "tanh"
    /// What an MLP policy sees of a GridWorld state.
    public var features: GridWorld.FeatureMode = .coordinates
    /// About how many evaluation points a run has when ``evaluateEvery`` is nil (nil: 100 where
    /// values are exact, 20 where they are Monte-Carlo estimates).
    public var evaluationPoints: Int? = nil
    /// Which policy the evaluation points measure: π_θ (stochastic; nil, the default) or its
    /// greedy form (deterministic). Optional so that configurations saved before it existed
    /// still read.
    public var evaluation: EvaluationMode? = nil
    /// Episodes per evaluation point where values are Monte-Carlo estimates (CartPole).
    public var evaluationEpisodes: Int = 200
    /// DPO and online DPO; nil: ``resolvedDPO`` (tuned separately for the two).
    public var dpo: DPOHyperparameters? = nil
    /// Reward model + PPO (online and offline); nil: ``defaultRMPPO(tabular:)``.
    public var rmPPO: RewardModelPPOHyperparameters? = nil
    /// PPO against the true reward (`ppo-true-reward`); nil: ``defaultPPO(tabular:)``.
    public var ppo: PPOHyperparameters? = nil
    /// `ppo-true-reward`: number of PPO updates (iterations).
    public var ppoUpdates: Int = 200
    /// Reward-model methods and DPO: show the evaluators segments of this many steps, drawn with
    /// a uniform start within each trajectory (imitation, B-Pref, rl-teacher), instead of whole
    /// trajectories (nil, the default, as the ZPG paper asks).
    public var segmentLength: Int? = nil
    /// The bilevel method's hyperparameters.
    public var bilevel = BilevelHyperparameters()
    /// The bilevel method's reward network hidden widths ([] = tabular on one-hot features).
    public var bilevelRewardHidden: [Int] = []
    /// The bilevel method's exact mode (exact Q and exact J-gradients on tabular environments).
    public var bilevelExact: Bool = false
    /// Which of the bilevel method's two tracked policies is the run's policy — evaluated at every
    /// point, in `normalized_value` — the other one going to the summary's figures. nil: π_λ'
    /// (``BilevelDeployment/lowerLevel``, the tracker of λ*(φ); see ``BilevelDeployment`` for why).
    public var bilevelDeploy: BilevelDeployment? = nil
    /// Who answers the comparisons (nil: the simulated panel, ``FeedbackConfiguration``).
    /// Optional so that configurations saved before it existed still read.
    public var feedback: FeedbackConfiguration? = nil

    /// The defaults: ZPG on `classic`, Bradley-Terry, M = 10, 10⁶ queries, seed 0.
    public init() {}

    /// ZPG's default step size (spec §4's calibration).
    public static let zpgAlpha = 0.01

    /// The step size used when ``alpha`` is nil: 0.01 for ZPG; for ZBCPG 0.01·d/b̄ with b̄ the
    /// mean block size (= 0.01·K for a partition). An iteration of ZBCPG estimates the gradient
    /// from K blocks' worth of queries (partition) or only b of d coordinates (random block), so
    /// the step is scaled to keep progress per query comparable to ZPG's — the linear
    /// scaling rule. On `classic` with K = 4 this default reached the same normalized value
    /// per query as ZPG (see the README's table).
    public func defaultAlpha(dimension d: Int) -> Double {
        switch algorithm {
        case .zbcpg:
            switch blockMode {
            case .partition: return Self.zpgAlpha * Double(min(blocks, d))
            case .layers: return Self.zpgAlpha * Double(layerCount)
            case .random:
                let b = min(d, blockSize ?? (d + blocks - 1) / blocks)
                return Self.zpgAlpha * Double(d) / Double(b)
            }
        default: return Self.zpgAlpha
        }
    }

    /// PPO's defaults for an environment: on tabular environments (GridWorld, bandit)
    /// ``PPOHyperparameters/gridWorld`` (larger step, γ = 1, time-aware critic), elsewhere
    /// ``PPOHyperparameters/cartPole`` (CleanRL's ppo.py with the step size that solves CartPole
    /// in ``ppoUpdates`` = 200 updates).
    public static func defaultPPO(tabular: Bool) -> PPOHyperparameters {
        tabular ? .gridWorld : .cartPole
    }

    /// RM + PPO's defaults for an environment (PPO as in ``defaultPPO(tabular:)``).
    public static func defaultRMPPO(tabular: Bool) -> RewardModelPPOHyperparameters {
        var h = RewardModelPPOHyperparameters()
        h.ppo = defaultPPO(tabular: tabular)
        return h
    }

    /// The policy this run uses: ``policy``, or when unset `tabular` on a tabular environment
    /// (GridWorld, bandit) and `mlp` elsewhere (CartPole). Depends only on the configuration.
    public func resolvedPolicy(tabular: Bool) -> PolicyKind { policy ?? (tabular ? .tabular : .mlp) }

    /// How this run evaluates: ``evaluation``, stochastic when unset.
    public var resolvedEvaluation: EvaluationMode { evaluation ?? .stochastic }

    /// The bilevel policy this run reports: ``bilevelDeploy``, or π_λ' (``BilevelDeployment/lowerLevel``) when unset.
    public var resolvedBilevelDeploy: BilevelDeployment { bilevelDeploy ?? .lowerLevel }

    /// The DPO hyperparameters this run uses: ``DPOHyperparameters/offlineTuned`` for `dpo`,
    /// the defaults (tuned online) for `online-dpo`.
    public var resolvedDPO: DPOHyperparameters {
        dpo ?? (algorithm == .dpo ? .offlineTuned : DPOHyperparameters())
    }

    /// The PPO hyperparameters this run uses: ``ppo``, or ``defaultPPO(tabular:)`` — and
    /// ``PPOHyperparameters/continuous`` on an environment with a box of actions.
    public func resolvedPPO(tabular: Bool) -> PPOHyperparameters {
        if let ppo { return ppo }
        if !tabular, hasBoxActions { return .continuous }
        return Self.defaultPPO(tabular: tabular)
    }

    /// The RM + PPO hyperparameters this run uses: ``rmPPO``, or ``defaultRMPPO(tabular:)`` —
    /// and ``RewardModelPPOHyperparameters/continuous`` on an environment with a box of actions.
    public func resolvedRMPPO(tabular: Bool) -> RewardModelPPOHyperparameters {
        if let rmPPO { return rmPPO }
        if !tabular, hasBoxActions { return .continuous }
        return Self.defaultRMPPO(tabular: tabular)
    }

    /// Whether the environment's actions are a box of reals (resolving it: for a `gym:` id,
    /// one cached description of the worker).
    var hasBoxActions: Bool { (try? environment.resolve().hasBoxActions(environment)) == true }

    /// This configuration with its algorithm's nested settings resolved to what runs (DPO's,
    /// RM + PPO's or PPO's defaults, the bilevel policy reported), as `summary.json` and
    /// `--json` print it: a reader sees every setting the run used.
    public func resolvedForSummary(tabular: Bool) -> TrainConfiguration {
        var c = self
        c.policy = resolvedPolicy(tabular: tabular)
        switch algorithm {
        case .dpo, .onlineDPO: c.dpo = resolvedDPO
        case .rmPPO, .rmPPOOffline: c.rmPPO = resolvedRMPPO(tabular: tabular)
        case .ppoTrueReward: c.ppo = resolvedPPO(tabular: tabular)
        case .bilevel: c.bilevelDeploy = resolvedBilevelDeploy
        default: break
        }
        return c
    }

    /// ZPG's hyperparameters for a policy of dimension d.
    public func zpgHyperparameters(dimension d: Int) -> ZPGHyperparameters {
        var h = ZPGHyperparameters()
        h.mu = mu
        h.alpha = alpha ?? defaultAlpha(dimension: d)
        h.pairs = pairs
        h.gradientClip = gradientClip
        return h
    }

    /// ZBCPG's hyperparameters for a policy of dimension d.
    public func zbcpgHyperparameters(dimension d: Int) -> ZBCPGHyperparameters {
        var h = ZBCPGHyperparameters()
        h.base = zpgHyperparameters(dimension: d)
        h.blocks = blocks
        h.mode = blockMode
        h.blockSize = blockSize
        h.threads = threads
        return h
    }

    /// The evaluator panel this configuration describes.
    public func makePanel() throws -> EvaluatorPanel {
        try EvaluatorPanel(link: link, evaluators: evaluators, trim: trim, teacher: teacher)
    }

    /// Checks every value that does not need the environment, before anything runs.
    public func validate() throws {
        let panel = try makePanel()
        if algorithm.isZerothOrder && panel.trim == 0 && evaluators == 1 && !panel.noiseless {
            // One vote makes p̂ 0 or 1, and σ⁻¹ of either is infinite: every estimate would be ±∞.
            throw RLHFError.invalidArgument(name: "trim (ε)", message: "\(algorithm.rawValue) with one evaluator (M = 1) needs ε > 0: p̂ is 0 or 1 and σ⁻¹(p̂) is infinite (the default for M = 1 is 0.25)")
        }
        try Validate.atLeast(budget, 1, "query budget", atMost: Limits.budget)
        try Validate.atLeast(blocks, 1, "blocks (K)")
        try zbcpgHyperparameters(dimension: max(blocks, 1)).validate()
        if let e = evaluateEvery { try Validate.atLeast(e, 1, "evaluate every") }
        if let p = evaluationPoints { try Validate.atLeast(p, 1, "evaluation points") }
        try Validate.atLeast(evaluationEpisodes, 1, "evaluation episodes", atMost: Limits.episodes)
        try Validate.atLeast(hidden.count, 1, "hidden layers", atMost: Limits.layers)
        for h in hidden { try Validate.atLeast(h, 1, "hidden width", atMost: Limits.layerWidth) }
        try Validate.product([blocksPerIteration, pairs, evaluators], atMost: Limits.budget,
                             "queries per iteration", "blocks × pairs × evaluators")
        _ = try parsedActivation()
        // Every nested block that is set is checked, whichever algorithm runs: it is part of the
        // configuration that summary.json and checkpoints record.
        try dpo?.validate()
        try rmPPO?.validate()
        try ppo?.validate()
        try Validate.atLeast(ppoUpdates, 1, "PPO updates")
        if let l = segmentLength {
            try Validate.atLeast(l, 1, "segment length", atMost: Limits.horizon)
            guard Self.segmentAlgorithms.contains(algorithm) else {
                throw RLHFError.invalidArgument(name: "segment length", message: "\(algorithm.rawValue) compares whole trajectories; segments apply to \(Self.segmentAlgorithms.map(\.rawValue).joined(separator: ", "))")
            }
        }
        try bilevel.validate()
        try Validate.atLeast(bilevelRewardHidden.count, 0, "reward hidden layers", atMost: Limits.layers)
        for h in bilevelRewardHidden { try Validate.atLeast(h, 1, "reward hidden width", atMost: Limits.layerWidth) }
        if let f = feedback {
            try f.validate()
            if f.kind != .simulated && (algorithm == .ppoTrueReward || algorithm.isRegistered) {
                throw RLHFError.invalidArgument(name: "feedback", message: algorithm == .ppoTrueReward
                    ? "ppo-true-reward asks no questions; --feedback \(f.kind.rawValue) applies to the preference algorithms"
                    : "\(algorithm.rawValue) is a registered algorithm, which is given the simulated panel; --feedback \(f.kind.rawValue) applies to the built-in ones")
            }
            if f.kind == .service && evaluators > 1_000 {
                throw RLHFError.invalidArgument(name: "evaluators (M)", message: "the labeling service takes at most 1000 answers a pair")
            }
        }
        if blockMode == .layers && policy == .tabular {
            throw RLHFError.invalidArgument(name: "block mode", message: "'layers' needs an MLP policy (--policy mlp)")
        }
    }

    /// The algorithms that can show segments (``segmentLength``).
    public static let segmentAlgorithms: [AlgorithmName] = [.rmPPO, .rmPPOOffline, .dpo, .onlineDPO]

    /// The MLP policy's hidden activation.
    public func parsedActivation() throws -> Activation {
        guard let a = Activation(name: activation) else {
            throw RLHFError.unknownName(kind: "activation", name: activation, known: ["tanh", "relu", "leaky-relu(0.01)", "identity"])
        }
        return a
    }

    /// Number of layers of the MLP policy (ZBCPG's block count in `layers` mode).
    public var layerCount: Int { hidden.count + 1 }

    /// Number of blocks a ZBCPG iteration estimates.
    public var blocksPerIteration: Int {
        switch blockMode {
        case .partition: return blocks
        case .random: return 1
        case .layers: return layerCount
        }
    }

    /// Queries one iteration of a zeroth-order method costs (the baselines say it themselves).
    public var queriesPerIteration: Int {
        let perBlock = pairs * evaluators
        switch algorithm {
        case .zbcpg: return blocksPerIteration * perBlock
        default: return perBlock
        }
    }
}
