/// How RM + PPO spreads its label budget over the rounds after the initial one (imitation's
/// `query_schedule`): round i of R (i = 1…R) gets a share proportional to w((i − 1)/(R − 1)).
public enum RMPPOQuerySchedule: String, Sendable, Equatable, Codable, CaseIterable {
    /// w(x) = 1: equal shares.
    case constant
    /// w(x) = 1/(1 + x): more labels early, when the policy changes fastest (imitation's default).
    case hyperbolic

    /// The weight of progress x ∈ [0, 1].
    public func weight(_ x: Double) -> Double {
        switch self {
        case .constant: return 1
        case .hyperbolic: return 1 / (1 + x)
        }
    }
}

/// Hyperparameters of RM + PPO (spec §6), with their defaults.
///
/// The online variant runs in rounds; a round labels some pairs (pairs·M queries), refits the
/// reward model (the first round: ``RewardModelHyperparameters/epochs`` passes over its pairs;
/// every later round: as many minibatch steps from a replay of all the pairs so far as `epochs`
/// passes over them would make, at most ``RewardModelHyperparameters/stepsPerRound``) and runs PPO updates against it. Two plans:
///
/// - **Scheduled** (the default, ``pairsPerRound`` nil), as the `imitation` library does: the agent
///   has its own budget, ``agentSteps`` environment steps of PPO, spread evenly over
///   ``rounds`` + 1 rounds; the label budget (budget/M pairs) is spread over the same rounds —
///   a fraction ``initialLabelFraction`` in round 0, before any PPO update, the rest over rounds
///   1…R by ``querySchedule``. Any budget of at least M queries (one pair) runs, and the
///   amount of agent training does not depend on the number of labels.
/// - **Fixed rounds** (``pairsPerRound`` set): every round labels that many pairs and runs
///   ``ppoUpdatesPerRound`` updates until the budget cannot pay for another round (the plan
///   before issue 17; the README's GridWorld tables name it with `--pairs-per-round`).
///
/// Offline runs label once and then only train (see ``RewardModelPPO``).
public struct RewardModelPPOHyperparameters: Sendable, Equatable, Codable {
    /// Fixed rounds: pairs labelled per round (each costs M queries); nil: the schedule. On
    /// `classic` 250 pairs and 5 updates a round beat 1000/20 and 100/2 at 10⁵ queries.
    public var pairsPerRound: Int? = nil
    /// The reward model (architecture, Adam, epochs of the first or only fit, minibatch steps of
    /// each later online refit). A refit continues from the previous round's φ and Adam state.
    public var rewardModel: RewardModelHyperparameters = RewardModelPPOHyperparameters.defaultRewardModel
    /// PPO against the learned reward.
    public var ppo: PPOHyperparameters = .init()
    /// Fixed rounds: PPO updates after each (re)fit.
    public var ppoUpdatesPerRound: Int = 5
    /// Scheduled: environment steps of PPO training over the whole run (the agent's budget, like
    /// imitation's `total_timesteps`): ⌈agentSteps / stepsPerUpdate⌉ updates spread evenly over
    /// the rounds (each update collects whole episodes of at least ``PPOHyperparameters/stepsPerUpdate`` steps).
    public var agentSteps: Int = 100_000
    /// Scheduled: label rounds after the initial one (R; the run has R + 1 rounds).
    public var rounds: Int = 20
    /// Scheduled: fraction of the pairs labelled in round 0, before PPO starts (imitation's
    /// `initial_comparison_frac`; at least one pair).
    public var initialLabelFraction: Double = 0.1
    /// Scheduled: how the remaining pairs are spread over rounds 1…R.
    public var querySchedule: RMPPOQuerySchedule = .hyperbolic
    /// Offline variant: at most this many pairs (nil: as many as the budget pays for, budget/M).
    public var offlinePairCap: Int? = nil
    /// Offline variant: total PPO updates of the run (it ends after ⌈this / ppoUpdatesPerRound⌉ iterations).
    public var offlinePPOUpdates: Int = 200

    /// The reward-model setting used by default: ``RewardModelHyperparameters``' defaults with
    /// 5 epochs for a fit from scratch (offline's one fit, online's first) and
    /// ``defaultRewardStepsPerRound`` minibatch steps for each later online refit.
    public static var defaultRewardModel: RewardModelHyperparameters {
        var h = RewardModelHyperparameters()
        h.epochs = 5
        h.stepsPerRound = defaultRewardStepsPerRound
        return h
    }

    /// Most minibatch steps (of 32 pairs) of an online refit after the first, by default: 256,
    /// about 8,000 pair visits a round. On `classic` with fixed rounds of 250 pairs (tabular
    /// reward, 5·10⁴ queries, 20 rounds, seeds 1–3) this refit reached 0.80 / 0.77 / 0.94 where
    /// the all-data refit (5 epochs, up to 700 steps a round by the end) reached 0.76 / 0.24 /
    /// 0.97. Without the cap's lower branch (always exactly N steps) 128 reached
    /// 0.39 / 0.53 / 0.93, 256 0.80 / 0.89 / 0.97 and 512 stalled two seeds of three at 0.15: many
    /// steps on the few pairs of the first rounds overfit, hence "as many as `epochs` passes
    /// would make". At 10⁶ queries (400 rounds) it makes ≈ 10⁵ steps in all where the all-data
    /// refit made ≈ 3·10⁶ (each ≈ 1–2 ms with the 64-64 reward network).
    public static let defaultRewardStepsPerRound = 256

    /// The defaults.
    public init() {}

    /// The defaults on a box of actions (continuous control): PPO as ``PPOHyperparameters/continuous``
    /// (rl-zoo's Pendulum setting, 4096 steps an update) with an agent budget of
    /// ``continuousAgentSteps`` steps (100 updates: PPO on the true reward reaches −190 on
    /// Pendulum-v1 in about as many); the reward model as by default, on rows φ(s) ⊕ a.
    public static var continuous: RewardModelPPOHyperparameters {
        var h = RewardModelPPOHyperparameters()
        h.ppo = .continuous
        h.agentSteps = continuousAgentSteps
        return h
    }

    /// The agent budget of ``continuous``: 100 PPO updates of 4096 steps.
    public static let continuousAgentSteps = 409_600

    /// Throws on bad values (including the reward model's and PPO's).
    public func validate() throws {
        if let p = pairsPerRound { try Validate.atLeast(p, 1, "pairs per round", atMost: Limits.pairs) }
        try rewardModel.validate()
        try ppo.validate()
        try Validate.atLeast(ppoUpdatesPerRound, 1, "PPO updates per round")
        try Validate.atLeast(agentSteps, 1, "agent steps", atMost: Limits.count)
        try Validate.atLeast(rounds, 1, "rounds", atMost: Limits.count)
        try Validate.inRange(initialLabelFraction, 0...1, "initial label fraction")
        if let c = offlinePairCap { try Validate.atLeast(c, 1, "offline pair cap") }
        try Validate.atLeast(offlinePPOUpdates, 1, "offline PPO updates")
    }

    /// Scheduled plan: PPO updates the run makes, ⌈agentSteps / stepsPerUpdate⌉.
    public var scheduledUpdates: Int { (agentSteps + ppo.stepsPerUpdate - 1) / ppo.stepsPerUpdate }

    /// Scheduled plan: pairs labelled in each of the R + 1 rounds for `pairs` pairs in all —
    /// ⌊f·pairs⌋ (at least 1) in round 0, the rest over rounds 1…R in proportion to the query
    /// schedule's weights, rounded by largest remainders (ties to the earlier round), so the
    /// counts sum to `pairs` exactly.
    public func labelSchedule(pairs: Int) -> [Int] {
        guard pairs > 0 else { return [Int](repeating: 0, count: rounds + 1) }
        let first = min(pairs, max(1, Int((initialLabelFraction * Double(pairs)).rounded(.down))))
        let weights = (0..<rounds).map { querySchedule.weight(rounds > 1 ? Double($0) / Double(rounds - 1) : 0) }
        return [first] + Self.apportion(pairs - first, weights: weights)
    }

    /// Scheduled plan: PPO updates in each of the R + 1 rounds (even shares, the remainder to
    /// the earliest rounds).
    public var updateSchedule: [Int] {
        Self.apportion(scheduledUpdates, weights: [Double](repeating: 1, count: rounds + 1))
    }

    /// Splits `total` into whole shares proportional to `weights` by largest remainders (ties
    /// to the earlier index).
    static func apportion(_ total: Int, weights: [Double]) -> [Int] {
        let sum = weights.reduce(0, +)
        let exact = weights.map { Double(total) * $0 / sum }
        var shares = exact.map { Int($0.rounded(.down)) }
        let order = exact.indices.sorted { a, b in
            let ra = exact[a] - Double(shares[a]), rb = exact[b] - Double(shares[b])
            return ra != rb ? ra > rb : a < b
        }
        var left = total - shares.reduce(0, +)
        for i in order where left > 0 { shares[i] += 1; left -= 1 }
        return shares
    }
}

/// Standard RLHF: a Bradley-Terry reward model r_φ(s, a) fitted to the panel's soft labels, then
/// PPO against r_φ (spec §6), paying M queries a pair through the same ledger as ZPG.
///
/// - Online (iteration = round t): sample the round's pairs with BOTH trajectories from the
///   CURRENT policy (pair n from stream (seed′, t, n)), label them (pairs·M queries), hold out a
///   fraction of them for validation (shuffle of stream (seed″ + t, 0xF17)), refit r_φ, run the
///   round's PPO updates against r_φ. The first fit makes ``RewardModelHyperparameters/epochs``
///   passes over the first round's pairs; every later refit continues from φ and Adam's state
///   with minibatches drawn from the same stream out of the replay of every training pair so
///   far: as many as `epochs` passes over the replay would take, at most
///   ``RewardModelHyperparameters/stepsPerRound``. Each round's reward-model work is bounded
///   (constant once the replay is large) and a run's cost grows linearly with the budget (with `stepsPerRound` nil, every
///   round refits `epochs` passes over all the data so far, as before issue 13). How many pairs
///   and updates a round gets is the plan of ``RewardModelPPOHyperparameters`` (scheduled: R + 1
///   rounds whatever the budget; fixed rounds: until the budget cannot pay for one more). The
///   PPO step size anneals over the updates of the whole plan.
/// - Offline: iteration 0 labels min(budget/M, cap) pairs from the initial policy and fits r_φ
///   once; every iteration (0 included) runs PPO updates and charges 0 queries, and
///   ``iterationLimit`` ends the run after ``RewardModelPPOHyperparameters/offlinePPOUpdates``
///   updates.
///
/// PPO's update u (counted over the run) draws from PPO's own streams, so a run depends only
/// on the seed. θ is the policy network's flat parameter vector; the reward model, the critic,
/// both Adam states and the data are state too, so a run cannot resume from θ alone.
///
/// The policy is a ``RewardLearningPolicy``: a softmax network on finite actions, where r_φ
/// reads φ(s) and has one output per action, or a Gaussian one on a box, where r_φ reads the
/// row φ(s) ⊕ a (the executed action) and has one output (``EpisodicEnvironment/rewardModelShape``).
public struct RewardModelPPO<E: EpisodicEnvironment, Policy: RewardLearningPolicy>: PreferenceOptimizer
where E.State: Codable & Sendable, Policy.Action == E.Action {
    /// The hyperparameters.
    public let hyper: RewardModelPPOHyperparameters
    /// The model of the evaluators (M, link, teacher).
    public let panel: EvaluatorPanel
    /// Who answers the comparisons: the panel itself unless another source is given (it gives
    /// the panel's M answers a pair).
    public let source: any PreferenceSource
    /// The run's seed.
    public let seed: UInt64
    /// Online (pairs from the current policy every round) or offline (one round from the initial policy).
    public let online: Bool
    /// The query budget the run was planned for.
    public let budget: Int
    /// Pairs the offline variant labels.
    public let offlinePairs: Int
    /// Online, scheduled plan: pairs and PPO updates of each round (nil for fixed rounds and offline).
    public let schedule: (pairs: [Int], updates: [Int])?
    /// Segment length L of the labelled pairs (nil: whole trajectories).
    public let segmentLength: Int?
    /// PPO, whose reward source becomes r_φ after the first fit.
    public private(set) var ppo: PPO<E, Policy>
    /// The learned reward r_φ.
    public private(set) var rewardModel: RewardModel
    /// Every labelled pair so far.
    public private(set) var dataset = PreferenceDataset<E.State>()
    /// The same pairs, featurized (what the reward model trains on).
    public private(set) var featurizedPairs: [FeaturizedPair] = []
    /// The last fit's losses and accuracies (an incremental refit reports on the round's new
    /// pairs, its training and held-out part).
    public private(set) var lastFit: RewardFitReport?
    /// Indices into ``featurizedPairs`` of the pairs the reward model trains on (the replay;
    /// the others are held out), round by round.
    public private(set) var replay: [Int] = []
    /// Adam steps of the reward model so far.
    public private(set) var rewardSteps = 0
    /// The last PPO update's statistics.
    public private(set) var lastStatistics: PPOStatistics?
    /// The reward fits' figures (``DiagnosticAccumulator/addRewardFit(_:)``), then PPO's
    /// (``DiagnosticAccumulator/addPPO(_:)``).
    var diagnostics = DiagnosticAccumulator()
    /// PPO updates made so far (the index of the next one).
    public private(set) var updatesDone = 0

    /// Creates the optimizer starting from `policy`.
    ///
    /// - Parameter segmentLength: show the evaluators segments of this many steps (uniform
    ///   start within each trajectory) instead of whole trajectories.
    /// - Throws: ``RLHFError/invalidArgument(name:message:)`` on bad hyperparameters,
    ///   ``RLHFError/budgetTooSmall(budget:needed:what:)`` when the budget cannot label one pair.
    public init(env: E, policy: Policy, panel: EvaluatorPanel, hyper: RewardModelPPOHyperparameters = .init(),
                seed: UInt64, online: Bool, budget: Int, segmentLength: Int? = nil,
                source: (any PreferenceSource)? = nil) throws {
        try hyper.validate()
        try Validate.atLeast(budget, 1, "query budget", atMost: Limits.budget)
        if let l = segmentLength { try Validate.atLeast(l, 1, "segment length", atMost: Limits.horizon) }
        self.source = try checkedSource(source, panel: panel)
        let m = panel.queriesPerPair
        guard budget >= m else { throw RLHFError.budgetTooSmall(budget: budget, needed: m, what: "labelling one pair") }
        self.hyper = hyper
        self.panel = panel
        self.seed = seed
        self.online = online
        self.budget = budget
        self.segmentLength = segmentLength
        offlinePairs = min(budget / m, hyper.offlinePairCap ?? Int.max)
        let planned: Int
        if !online {
            schedule = nil
            planned = hyper.offlinePPOUpdates
        } else if let perRound = hyper.pairsPerRound {
            schedule = nil
            planned = max(1, budget / (perRound * m)) * hyper.ppoUpdatesPerRound
        } else {
            let plan = (pairs: hyper.labelSchedule(pairs: min(budget / m, Limits.pairs)), updates: hyper.updateSchedule)
            schedule = plan
            planned = hyper.scheduledUpdates
        }
        ppo = try PPO(env: env, policy: policy, hyper: hyper.ppo, seed: seed, rewardSource: .environment, plannedUpdates: planned)
        var rng = Xoshiro256(seed: seed, stream: 0x7E_0001)
        let shape = env.rewardModelShape
        rewardModel = RewardModel(featureCount: shape.inputs, actionCount: shape.outputs, hyper: hyper.rewardModel, using: &rng)
    }

    /// θ, the policy's parameters.
    public var parameters: [Double] {
        get { ppo.policy.parameters }
        set { ppo.policy.parameters = newValue }
    }

    /// Minibatch steps of an incremental refit with `replay` training pairs: what the all-data
    /// refit would make, epochs · ⌈replay / batch size⌉, capped at `cap` (``RewardModelHyperparameters/stepsPerRound``).
    static func refitSteps(replay: Int, hyper: RewardModelHyperparameters, cap: Int) -> Int {
        let batches = (replay + hyper.batchSize - 1) / hyper.batchSize
        return batches > cap / hyper.epochs ? cap : min(cap, hyper.epochs * batches)
    }

    /// Pairs labelled in iteration t.
    func pairs(forIteration t: Int) -> Int {
        if let schedule { return t < schedule.pairs.count ? schedule.pairs[t] : 0 }
        if online { return hyper.pairsPerRound ?? 0 }
        return t == 0 ? offlinePairs : 0
    }

    /// Scheduled: the round's pairs · M. Fixed rounds: pairs per round · M every round.
    /// Offline: min(budget/M, cap)·M at iteration 0, then 0.
    public func queries(forIteration t: Int) -> Int { pairs(forIteration: t) * panel.queriesPerPair }

    /// Scheduled: R + 1 rounds. Offline: ⌈offline PPO updates / updates per round⌉. Fixed rounds:
    /// nil (the budget ends the run).
    public var iterationLimit: Int? {
        if let schedule { return schedule.updates.count }
        return online ? nil : (hyper.offlinePPOUpdates + hyper.ppoUpdatesPerRound - 1) / hyper.ppoUpdatesPerRound
    }

    /// One round; returns the environment steps of the labelled pairs and the PPO rollouts.
    public mutating func iterate(_ t: Int, ledger: inout QueryLedger) throws -> Int {
        var steps = 0
        // 1–3: label pairs from the current policy (every round online, once offline) and refit r_φ.
        let count = pairs(forIteration: t)
        if count > 0 {
            let before = dataset.count
            steps += try ppo.policy.collectPairs(count, into: &dataset, env: ppo.env, panel: panel,
                                                 source: source, name: online ? "rm-ppo" : "rm-ppo-offline",
                                                 ledger: &ledger, seed: SplitMix64.mix(seed ^ 0x7E_DA7A), stream: UInt64(t),
                                                 segmentLength: segmentLength)
            for pair in dataset.pairs[before...] { featurizedPairs.append(FeaturizedPair(pair, env: ppo.env)) }
            let fitSeed = SplitMix64.mix(seed ^ 0x7E_F17) &+ UInt64(t)
            let fit: RewardFitReport
            if online, before > 0, let stepsPerRound = hyper.rewardModel.stepsPerRound {
                // Incremental: hold out part of the new pairs, add the rest to the replay, and
                // make minibatch steps from the replay (epochs' worth, at most stepsPerRound).
                var rng = Xoshiro256(seed: fitSeed, stream: 0xF17)
                let split = RewardModel.holdOut(featurizedPairs.count - before, fraction: hyper.rewardModel.validationFraction,
                                                using: &rng)
                let train = split.train.map { before + $0 }, validation = split.validation.map { before + $0 }
                replay += train
                fit = rewardModel.refit(featurizedPairs, replay: replay,
                                        steps: Self.refitSteps(replay: replay.count, hyper: hyper.rewardModel, cap: stepsPerRound),
                                        using: &rng,
                                        assessTrain: train, assessValidation: validation)
            } else {
                // From scratch (offline's one fit, online's first) or, without stepsPerRound,
                // epochs over all the data. The replay gets the pairs this fit trained on.
                fit = rewardModel.fit(featurizedPairs, seed: fitSeed)
                var rng = Xoshiro256(seed: fitSeed, stream: 0xF17)
                replay = RewardModel.holdOut(featurizedPairs.count, fraction: hyper.rewardModel.validationFraction,
                                             using: &rng).train.sorted()
            }
            lastFit = fit
            diagnostics.addRewardFit(fit)
            rewardSteps += fit.steps
            ppo.rewardSource = .learned(rewardModel)
        }
        // 4: PPO against r_φ.
        let updates: Int
        if let schedule {
            updates = schedule.updates[t]
        } else {
            let perRound = hyper.ppoUpdatesPerRound
            updates = online ? perRound : min(perRound, hyper.offlinePPOUpdates - t * perRound)
        }
        for _ in 0..<updates {
            let s = ppo.update(updatesDone)
            updatesDone += 1
            lastStatistics = s
            diagnostics.addPPO(s)
            steps += s.steps
        }
        return steps
    }

    public mutating func takeDiagnostics() -> [Diagnostic] { diagnostics.take() }
}

extension DiagnosticAccumulator {
    /// One reward-model fit's figures: `reward_loss` and `reward_accuracy` on the pairs it trained
    /// on (of the round's new pairs, for an incremental refit), `reward_heldout_loss` and
    /// `reward_heldout_accuracy` on the held-out pairs (``RewardModelHyperparameters/validationFraction``;
    /// accuracy: the share whose learned return difference has the sign of the true one),
    /// `reward_steps`, the Adam steps of the fit.
    mutating func addRewardFit(_ fit: RewardFitReport) {
        add("reward_loss", fit.trainLoss)
        add("reward_accuracy", fit.trainAccuracy)
        add("reward_heldout_loss", fit.validationLoss)
        add("reward_heldout_accuracy", fit.validationAccuracy)
        add("reward_steps", Double(fit.steps))
    }
}

/// A PPO policy whose own trajectories RM + PPO labels: it rolls out `count` pairs (both
/// trajectories from itself, pair n from stream (seed, stream, n)), has them judged and appends
/// them to a dataset
/// (``PreferenceDataset/collect(_:env:actor0:actor1:recorder:panel:source:name:ledger:seed:stream:segmentLength:)``).
public protocol RewardLearningPolicy: PPOPolicy {
    /// Samples, labels and appends `count` pairs; returns the environment steps taken.
    func collectPairs<E: EpisodicEnvironment>(
        _ count: Int, into dataset: inout PreferenceDataset<E.State>, env: E, panel: EvaluatorPanel,
        source: any PreferenceSource, name: String, ledger: inout QueryLedger, seed: UInt64, stream: UInt64,
        segmentLength: Int?
    ) throws -> Int where E.Action == Action, E.State: Codable & Sendable
}

extension NeuralSoftmaxPolicy: RewardLearningPolicy {
    /// Acts with ``NeuralFamily``'s actor (one uniform a step) and records ``Trajectory``s.
    public func collectPairs<E: EpisodicEnvironment>(
        _ count: Int, into dataset: inout PreferenceDataset<E.State>, env: E, panel: EvaluatorPanel,
        source: any PreferenceSource, name: String, ledger: inout QueryLedger, seed: UInt64, stream: UInt64,
        segmentLength: Int?
    ) throws -> Int where E.Action == Int, E.State: Codable & Sendable {
        let family = NeuralFamily(env: env, policy: self)
        var actor0 = network.parameters.withUnsafeBufferPointer { family.makeActor($0) }
        var actor1 = network.parameters.withUnsafeBufferPointer { family.makeActor($0) }
        return try dataset.collect(count, env: env, actor0: &actor0, actor1: &actor1, recorder: TrajectoryRecorder<E.State>.self,
                                   panel: panel, source: source, name: name, ledger: &ledger, seed: seed, stream: stream,
                                   segmentLength: segmentLength)
    }
}

extension GaussianPolicy: RewardLearningPolicy {
    /// Acts as PPO's rollouts do (an unclipped sample u; the environment clips it) and records
    /// the executed, clipped actions (``BoxTrajectoryRecorder``).
    public func collectPairs<E: EpisodicEnvironment>(
        _ count: Int, into dataset: inout PreferenceDataset<E.State>, env: E, panel: EvaluatorPanel,
        source: any PreferenceSource, name: String, ledger: inout QueryLedger, seed: UInt64, stream: UInt64,
        segmentLength: Int?
    ) throws -> Int where E.Action == [Double], E.State: Codable & Sendable {
        var actor0 = PPOActor(env: env, policy: self), actor1 = PPOActor(env: env, policy: self)
        return try dataset.collect(count, env: env, actor0: &actor0, actor1: &actor1, recorder: BoxTrajectoryRecorder<E.State>.self,
                                   panel: panel, source: source, name: name, ledger: &ledger, seed: seed, stream: stream,
                                   segmentLength: segmentLength)
    }
}
