import ArgumentParser
import Foundation
import RLHF
import RLHFStudy

struct Train: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Train a policy from simulated preference feedback and report its exact value.",
        discussion: """
            ZPG perturbs the policy along a random direction, shows pairs of trajectories (one from \
            each policy) to M evaluators, turns the preference rate into a value difference through \
            the inverse link, and steps along the direction. ZBCPG does the same on K blocks of \
            coordinates in parallel. Every answer of every evaluator is one query, charged to the \
            budget given by --queries.

            With no options: ZPG on `classic`, Bradley-Terry evaluators (M = 10), 10⁶ queries, \
            seed 0. Progress goes to standard error; the result to standard output (one JSON object \
            with --json). --out DIR writes metrics.csv, summary.json and a checkpoint that \
            --resume continues from.

            Examples:
              rlhf train
              rlhf train --algorithm zbcpg --blocks 4 --link weibull --queries 500000
              rlhf train --env my-map.txt --slip 0.1 --horizon 30 --out runs/a --json
              rlhf train --policy mlp --hidden 16 --queries 10000000
              rlhf train --env cartpole --policy mlp --hidden 16 --queries 2000000
            """)

    @Option(parsing: .unconditional, help: "Algorithm: zpg, zbcpg (zeroth-order, no reward model); rm-ppo, rm-ppo-offline, dpo, online-dpo (baselines); ppo-true-reward (sanity check, no queries); bilevel (spec §5; on classic slower than online rm-ppo, see the README).")
    var algorithm: AlgorithmName = .zpg

    @Option(name: .long, parsing: .unconditional, help: ArgumentHelp("A GridWorld preset (classic, traps, cliff, open-N), a map file path, cartpole (MLP policy), pendulum (a box of actions: zpg and zbcpg, Gaussian policy), bandit or bandit-CxAxK (a linear bandit: contexts × actions × features), or gym:ID, any Gymnasium environment (gym:CartPole-v1, gym:Pendulum-v1, gym:Hopper-v5; Discrete actions: every algorithm, Box actions: zpg and zbcpg; needs Python with Gymnasium, see --python).", valueName: "NAME|PATH"))
    var env: String = "classic"

    @OptionGroup(title: "Environment dynamics")
    var dynamics: DynamicsOptions

    @Option(parsing: .unconditional, help: "Policy: tabular (softmax, d = |S|·|A|; the default where the environment is tabular) or mlp (softmax over an MLP of state features; the default on cartpole, which has no tabular form).")
    var policy: PolicyKind?

    @Option(parsing: .unconditional, help: ArgumentHelp("mlp: hidden layer widths, comma-separated.", valueName: "W1,W2,..."))
    var hidden: String = "16"

    @Option(parsing: .unconditional, help: "mlp: hidden activation (tanh, relu, leaky-relu(0.01), identity).")
    var activation: String = "tanh"

    @Option(parsing: .unconditional, help: "mlp on a GridWorld: state features, coordinates (row, column) or one-hot.")
    var features: GridWorld.FeatureMode = .coordinates

    @Option(parsing: .unconditional, help: "Episodes per evaluation where values are Monte-Carlo estimates (cartpole).")
    var evalEpisodes: Count = 200

    @Option(name: .customLong("eval"), parsing: .unconditional, help: "What the evaluation points measure: stochastic (the policy π_θ itself, the default) or deterministic (its greedy form, the most probable action in every state).")
    var evaluation: EvaluationMode?

    @OptionGroup(title: "Evaluators")
    var evaluatorOptions: EvaluatorOptions

    @Option(parsing: .unconditional, help: "Evaluators M asked about each pair (each answer is one query).")
    var evaluators: Count = 10

    @Option(parsing: .unconditional, help: "Trajectory pairs N per iteration (per block for zbcpg).")
    var pairs: Count = 8

    @Option(name: .customLong("queries"), parsing: .unconditional, help: "Query budget (whole numbers as 1000000, 1e6, 10^6 or 1_000_000, here and in every count).")
    var budget: Count = 1_000_000

    @Option(parsing: .unconditional, help: "Random seed.")
    var seed: UInt64 = 0

    @Option(parsing: .unconditional, help: "Perturbation radius μ.")
    var mu: Double = 4

    @Option(parsing: .unconditional, help: "Step size α (default 0.01 for zpg; 0.01·K for zbcpg, 0.01·d/b with random blocks).")
    var alpha: Double?

    @Option(parsing: .unconditional, help: "Trimming ε: zpg and zbcpg clamp p̂ to [ε, 1−ε] before inverting the link (default 1/(2M), half a vote; 0.25 for M = 1; 0 disables, refused with M = 1, where every estimate would be infinite). The other algorithms train on the untrimmed p̂ (a cross-entropy) and ignore it.")
    var trim: Double?

    @Option(parsing: .unconditional, help: "Clip the gradient estimate's norm to this value (default: no clipping).")
    var clip: Double?

    @Option(parsing: .unconditional, help: "zbcpg: number of blocks K.")
    var blocks: Count = 4

    @Option(parsing: .unconditional, help: "zbcpg: 'partition' (K fixed random blocks, all every iteration), 'random' (one random block per iteration) or 'layers' (one block per MLP layer).")
    var blockMode: ZBCPGHyperparameters.BlockMode = .partition

    @Option(parsing: .unconditional, help: "zbcpg random mode: block size b (default ⌈d/K⌉).")
    var blockSize: Count?

    @Option(parsing: .unconditional, help: "Worker threads (default: all cores; results do not depend on it).")
    var threads: Count?


    @Option(parsing: .unconditional, help: "Evaluate the policy every this many iterations (default: about 100 points).")
    var evalEvery: Count?

    @Option(parsing: .unconditional, help: "dpo, online-dpo: β of the implicit reward β·log(π/π_ref).")
    var beta: Double?

    @Option(parsing: .unconditional, help: "dpo, online-dpo: Adam learning rate.")
    var dpoLr: Double?

    @Option(parsing: .unconditional, help: "dpo: passes over the data, one per iteration (default 40); online-dpo: passes over each round's pairs (default 8). Defaults: dpo β 0.003, learning rate 0.1; online-dpo β 0.01, learning rate 0.03.")
    var dpoEpochs: Count?

    @Option(parsing: .unconditional, help: "online-dpo: reference policy, initial or previous-round.")
    var dpoReference: DPOReference?

    @Option(parsing: .unconditional, help: "online-dpo: pairs labeled per round (M queries each). rm-ppo: fixed rounds of this many pairs and --ppo-updates updates until the budget is spent (default: the schedule, see --agent-steps).")
    var pairsPerRound: Count?

    @Option(parsing: .unconditional, help: "rm-ppo: the agent's own budget, environment steps of PPO training over the run (default 100000), spread over 21 rounds; the label budget is spread over the same rounds, 10% in round 0 and the rest on a hyperbolic schedule (--set rm-ppo.rounds=R, rm-ppo.initial-label-fraction=f, rm-ppo.query-schedule=constant). Any budget of M queries or more runs.")
    var agentSteps: Count?

    @Option(parsing: .unconditional, help: "rm-ppo, rm-ppo-offline, dpo, online-dpo: show the evaluators segments of L steps (uniform start within each trajectory, as imitation, B-Pref and rl-teacher do) instead of whole trajectories (the default).")
    var segmentLength: Count?

    @Option(parsing: .unconditional, help: "dpo, rm-ppo-offline: most pairs to buy (default: as many as the budget pays for).")
    var maxPairs: Count?

    @Option(parsing: .unconditional, help: "rm-ppo, rm-ppo-offline, ppo-true-reward: PPO's Adam learning rate.")
    var ppoLr: Double?

    @Option(parsing: .unconditional, help: "rm-ppo with --pairs-per-round: PPO updates per round; rm-ppo-offline: all PPO updates of the run; ppo-true-reward: PPO updates.")
    var ppoUpdates: Count?

    @Option(parsing: .unconditional, help: "rm-ppo, rm-ppo-offline, ppo-true-reward: environment steps per PPO update.")
    var ppoSteps: Count?

    @Option(parsing: .unconditional, help: ArgumentHelp("rm-ppo, rm-ppo-offline, bilevel: reward network hidden widths (empty: linear; tabular on one-hot features). Defaults: 64,64 for rm-ppo, empty for bilevel.", valueName: "W1,W2,..."))
    var rewardHidden: String?

    @Option(parsing: .unconditional, help: "rm-ppo, rm-ppo-offline: reward-model epochs per fit.")
    var rewardEpochs: Count?

    @Option(parsing: .unconditional, help: "bilevel: penalty σ (fixed unless --set bilevel.sigma-decay=p with p > 0).")
    var sigma: Double?

    @Option(parsing: .unconditional, help: "bilevel: pairs B queried per outer iteration (B·M queries).")
    var bilevelPairs: Count?

    @Flag(help: "bilevel: exact mode (exact Q and exact J-gradients; tabular environments only).")
    var exact = false

    @Option(parsing: .unconditional, help: "bilevel: the run's policy: lower-level (π_λ', which tracks the optimum of the learned reward; the default) or penalty (π_λ, which generates the queried pairs). The other one's value goes to the summary's figures.")
    var bilevelDeploy: BilevelDeployment?

    @OptionGroup(title: "Feedback: who answers the comparisons")
    var feedback: FeedbackOptions

    @Option(name: .customLong("set"), parsing: .unconditionalSingleValue, help: ArgumentHelp(
        "Any other setting, as a study file's 'settings' map takes it (repeatable; dots for nested settings; applied after the options above): --set bilevel.lower-step-size=0.01 --set bilevel.reward-steps-per-iteration=10 --set teacher.mistake-rate=0.1. An unknown key lists the known ones.",
        valueName: "KEY=VALUE"))
    var set: [String] = []

    @Option(parsing: .unconditional, help: "Directory for metrics.csv, summary.json and checkpoint.json.")
    var out: String?

    @Flag(help: "Continue the run saved in --out DIR (same options) from its checkpoint.")
    var resume = false

    @Flag(help: "Print exactly one JSON object on standard output.")
    var json = false

    @Flag(help: "No progress on standard error.")
    var quiet = false

    func validate() throws {
        if resume && out == nil { throw ValidationError("--resume needs --out DIR (the directory holding checkpoint.json)") }
        if agentSteps != nil && (algorithm != .rmPPO || pairsPerRound != nil) {
            throw ValidationError("--agent-steps is the agent budget of rm-ppo's schedule (rm-ppo without --pairs-per-round); rm-ppo-offline trains --ppo-updates updates, fixed rounds --ppo-updates a round")
        }
        if algorithm == .rmPPO && ppoUpdates != nil && pairsPerRound == nil {
            throw ValidationError("--ppo-updates gives rm-ppo's updates per round with fixed rounds (--pairs-per-round N); by default rm-ppo follows a schedule whose agent budget is --agent-steps")
        }
    }

    /// Parses comma-separated layer widths.
    static func widths(_ text: String, _ option: String, allowEmpty: Bool) throws -> [Int] {
        if text.trimmingCharacters(in: .whitespaces).isEmpty {
            if allowEmpty { return [] }
            throw ValidationError("\(option) needs at least one width, e.g. 64,64")
        }
        let widths = text.split(separator: ",", omittingEmptySubsequences: false).map { Int($0.trimmingCharacters(in: .whitespaces)) }
        guard widths.allSatisfy({ ($0 ?? 0) >= 1 }) else {
            throw ValidationError("\(option) takes comma-separated positive widths, e.g. 64,64 (got '\(text)')")
        }
        return widths.map { $0! }
    }

    func makeConfiguration() throws -> TrainConfiguration {
        var c = TrainConfiguration()
        c.algorithm = algorithm
        c.environment = try dynamics.spec(env)
        c.link = try evaluatorOptions.linkFunction()
        c.evaluators = evaluators.value
        c.trim = trim
        c.teacher = try evaluatorOptions.teacher()
        c.budget = budget.value
        c.seed = seed
        c.mu = mu
        c.alpha = alpha
        c.pairs = pairs.value
        c.gradientClip = clip
        c.blocks = blocks.value
        c.blockMode = blockMode
        c.blockSize = blockSize?.value
        if let t = threads { c.threads = t.value }
        c.evaluateEvery = evalEvery?.value
        c.policy = policy
        c.hidden = try Self.widths(hidden, "--hidden", allowEmpty: false)
        c.activation = activation
        c.features = features
        c.evaluationEpisodes = evalEpisodes.value
        c.evaluation = evaluation
        if beta != nil || dpoLr != nil || dpoEpochs != nil || dpoReference != nil
            || ((algorithm == .dpo || algorithm == .onlineDPO) && (pairsPerRound != nil || maxPairs != nil)) {
            c.dpo = c.resolvedDPO
        }
        if let v = beta { c.dpo?.beta = v }
        if let v = dpoLr { c.dpo?.learningRate = v }
        if let v = dpoEpochs?.value {
            if algorithm == .dpo { c.dpo?.offlineEpochs = v } else { c.dpo?.epochs = v }
        }
        if let v = dpoReference { c.dpo?.reference = v }
        if let v = pairsPerRound?.value { c.dpo?.pairsPerRound = v }
        if let v = maxPairs?.value { c.dpo?.maxOfflinePairs = v }
        // PPO settings start from the environment's defaults (tabular or CleanRL's).
        let usesPPO = [.rmPPO, .rmPPOOffline, .ppoTrueReward].contains(algorithm)
        if usesPPO && (ppoLr != nil || ppoSteps != nil || ppoUpdates != nil || agentSteps != nil || rewardHidden != nil || rewardEpochs != nil || pairsPerRound != nil || maxPairs != nil) {
            let tabular = try c.environment.resolve().isTabular
            c.ppo = c.resolvedPPO(tabular: tabular)
            c.rmPPO = c.resolvedRMPPO(tabular: tabular)
        }
        if let v = pairsPerRound?.value { c.rmPPO?.pairsPerRound = v }
        if let v = maxPairs?.value { c.rmPPO?.offlinePairCap = v }
        if let v = agentSteps?.value { c.rmPPO?.agentSteps = v }
        c.segmentLength = segmentLength?.value
        if let v = ppoLr { c.rmPPO?.ppo.learningRate = v; c.ppo?.learningRate = v }
        if let v = ppoSteps?.value { c.rmPPO?.ppo.stepsPerUpdate = v; c.ppo?.stepsPerUpdate = v }
        if let v = ppoUpdates?.value {
            c.ppoUpdates = v
            if algorithm == .rmPPO { c.rmPPO?.ppoUpdatesPerRound = v } else { c.rmPPO?.offlinePPOUpdates = v }
        }
        if let v = rewardHidden { c.rmPPO?.rewardModel.hidden = try Self.widths(v, "--reward-hidden", allowEmpty: true) }
        if let v = rewardEpochs?.value { c.rmPPO?.rewardModel.epochs = v }
        if algorithm == .bilevel, let v = rewardHidden { c.bilevelRewardHidden = try Self.widths(v, "--reward-hidden", allowEmpty: true) }
        if let v = sigma { c.bilevel.sigma = v }
        if let v = bilevelPairs?.value { c.bilevel.pairsPerIteration = v }
        c.bilevelExact = exact
        if let v = bilevelDeploy { c.bilevelDeploy = v }
        c.feedback = feedback.configuration
        do {
            try CommandLineSettings.apply(set, to: &c)
        } catch let e as StudyError {
            throw ValidationError("--set: \(e)")
        }
        try c.validate()
        return c
    }

    func run() throws {
        let config = try makeConfiguration()
        // A bad map or name, or an environment where every policy is as good, fails before anything else.
        try config.environment.resolve().checkNormalizable(name: config.environment.name, spec: config.environment)
        let resumeState = try resume ? RunOutput.loadCheckpoint(in: out!, for: config) : nil
        let tabular = try config.environment.resolve().isTabular
        if config.policy == nil && !tabular && !quiet {
            printError("rlhf train: \(config.environment.name) has no tabular form; using the MLP policy (hidden \(config.hidden.map(String.init).joined(separator: ",")); --policy mlp)")
        }
        if let out { try RunOutput.prepare(directory: out) }
        let showProgress = !quiet
        var nextReport = 0.0
        if showProgress {
            printError("rlhf train: \(config.algorithm.rawValue) on \(config.environment.name), \(config.link), M = \(config.evaluators), budget \(config.budget) queries, seed \(config.seed)" + (resumeState.map { " (resuming at iteration \($0.iteration))" } ?? ""))
        }
        let result = try Trainer.run(config, progress: { record, fraction in
            guard showProgress, fraction >= nextReport || fraction >= 1 else { return }
            nextReport = (fraction * 10).rounded(.down) / 10 + 0.1
            let pct = String(format: "%3.0f%%", 100 * fraction)
            printError("[\(pct)] iteration \(record.iteration)  queries \(record.queries)  value \(fmt(record.value))  normalized \(fmt(record.normalizedValue, 3))  \(fmt(record.wallSeconds, 2))s")
        }, checkpoint: { state in
            if let out { try RunOutput.saveCheckpoint(state, configuration: config, in: out) }
        }, resume: resumeState)
        if let out {
            try RunOutput.writeResult(result, to: out)
            if showProgress { printError("wrote \(out)/metrics.csv, \(out)/summary.json, \(out)/checkpoint.json") }
        }
        let s = result.summary
        if json {
            try printJSON(s)
        } else {
            print("""
                algorithm         \(s.algorithm)
                environment       \(s.env)
                policy            \(s.policy)  (d = \(s.parameterCount))
                link              \(config.link), M = \(config.evaluators)
                queries used      \(s.queriesUsed) of \(s.budget)
                iterations        \(s.iterations)
                env steps         \(s.envSteps)
                initial value     \(fmt(s.initialValue))\(s.initialValueStandardError.map { "   ± \(fmt($0)) (Monte-Carlo standard error)" } ?? "")
                final value       \(fmt(s.finalValue))   \(s.finalValueStandardError.map { "± \(fmt($0)) (Monte-Carlo standard error)" } ?? "(exact)")
                V(uniform), V*    \(fmt(s.uniformValue)), \(fmt(s.optimalValue))
                normalized value  \(fmt(s.normalizedValue))
                wall time         \(fmt(s.wallSeconds, 3)) s
                """)
            if s.algorithm == AlgorithmName.bilevel.rawValue {
                let reported = config.resolvedBilevelDeploy == .lowerLevel
                    ? "π_λ' (tracks λ*(φ); --bilevel-deploy penalty for π_λ)" : "π_λ (queries; --bilevel-deploy lower-level for π_λ')"
                print("reported policy   " + reported)
            }
            let figures = (s.figures ?? [:]).sorted(by: { $0.key < $1.key })
            let width = max(18, (figures.map { $0.key.count }.max() ?? 0) + 2)
            for (name, v) in figures {
                let label = name.replacingOccurrences(of: "_", with: " ")
                print(label.padding(toLength: width, withPad: " ", startingAt: 0) + fmt(v))
            }
        }
    }
}
