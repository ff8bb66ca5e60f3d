/// Hyperparameters of RM + PPO (spec §6), with their defaults.
///
/// A round labels ``pairsPerRound`` pairs (pairs·M queries), refits the reward model on all the
/// data so far and runs ``ppoUpdatesPerRound`` PPO updates against it. Offline runs label once
/// and then only train (see ``RewardModelPPO``).
public struct RewardModelPPOHyperparameters: Sendable, Equatable, Codable {
    /// Pairs labelled per round in the online variant (each costs M queries). Small rounds keep
    /// the data close to the current policy; on `classic` 250 pairs and 5 updates a round beat
    /// 1000/20 and 100/2 at 10⁵ queries.
    public var pairsPerRound: Int = 250
    /// The reward model (architecture, Adam, epochs per fit). The fit continues from the previous
    /// round's φ and Adam state, so a few epochs over all the data suffice.
    public var rewardModel: RewardModelHyperparameters = RewardModelPPOHyperparameters.defaultRewardModel
    /// PPO against the learned reward.
    public var ppo: PPOHyperparameters = .init()
    /// PPO updates after each (re)fit.
    public var ppoUpdatesPerRound: Int = 5
    /// Offline variant: at most this many pairs (nil: as many as the budget pays for, budget/M).
    public var offlinePairCap: Int? = nil
    /// Offline variant: total PPO updates of the run (it ends after ⌈this / ppoUpdatesPerRound⌉ iterations).
    public var offlinePPOUpdates: Int = 200

    /// The reward-model setting used by default: ``RewardModelHyperparameters``' defaults with
    /// 5 epochs per (warm-started) fit.
    public static var defaultRewardModel: RewardModelHyperparameters {
        var h = RewardModelHyperparameters()
        h.epochs = 5
        return h
    }

    /// The defaults.
    public init() {}

    /// Throws on bad values (including the reward model's and PPO's).
    public func validate() throws {
        try Validate.atLeast(pairsPerRound, 1, "pairs per round", atMost: Limits.pairs)
        try rewardModel.validate()
        try ppo.validate()
        try Validate.atLeast(ppoUpdatesPerRound, 1, "PPO updates per round")
        if let c = offlinePairCap { try Validate.atLeast(c, 1, "offline pair cap") }
        try Validate.atLeast(offlinePPOUpdates, 1, "offline PPO updates")
    }
}

/// Standard RLHF: a Bradley-Terry reward model r_φ(s, a) fitted to the panel's soft labels, then
/// PPO against r_φ (spec §6), paying M queries a pair through the same ledger as ZPG.
///
/// - Online (iteration = round t): sample ``RewardModelPPOHyperparameters/pairsPerRound`` pairs
///   with BOTH trajectories from the CURRENT policy (pair n from stream (seed′, t, n)), label
///   them (pairs·M queries), refit r_φ on all the data so far (warm start), run
///   ``RewardModelPPOHyperparameters/ppoUpdatesPerRound`` PPO updates against r_φ. The budget
///   ends the run; the PPO step size anneals over the updates the budget pays for.
/// - Offline: iteration 0 labels min(budget/M, cap) pairs from the initial policy and fits r_φ
///   once; every iteration (0 included) runs PPO updates and charges 0 queries, and
///   ``iterationLimit`` ends the run after ``RewardModelPPOHyperparameters/offlinePPOUpdates``
///   updates.
///
/// PPO's update u = t·(updates per round) + k draws from PPO's own streams, so a run depends only
/// on the seed. θ is the policy network's flat parameter vector; the reward model, the critic,
/// both Adam states and the data are state too, so a run cannot resume from θ alone.
public struct RewardModelPPO<E: Environment>: PreferenceOptimizer where E.State: Codable & Sendable {
    /// The hyperparameters.
    public let hyper: RewardModelPPOHyperparameters
    /// The simulated evaluators.
    public let panel: EvaluatorPanel
    /// The run's seed.
    public let seed: UInt64
    /// Online (pairs from the current policy every round) or offline (one round from the initial policy).
    public let online: Bool
    /// The query budget the run was planned for.
    public let budget: Int
    /// Pairs the offline variant labels.
    public let offlinePairs: Int
    /// PPO, whose reward source becomes r_φ after the first fit.
    public private(set) var ppo: PPO<E>
    /// The learned reward r_φ.
    public private(set) var rewardModel: RewardModel
    /// Every labelled pair so far.
    public private(set) var dataset = PreferenceDataset<E.State>()
    /// The same pairs, featurized (what the reward model trains on).
    public private(set) var featurizedPairs: [FeaturizedPair] = []
    /// The last fit's losses and accuracies.
    public private(set) var lastFit: RewardFitReport?
    /// The last PPO update's statistics.
    public private(set) var lastStatistics: PPOStatistics?

    /// Creates the optimizer starting from `policy`.
    ///
    /// - Throws: ``RLHFError/invalidArgument(name:message:)`` on bad hyperparameters,
    ///   ``RLHFError/budgetTooSmall(budget:needed:what:)`` when the budget cannot label one pair.
    public init(env: E, policy: NeuralSoftmaxPolicy, panel: EvaluatorPanel, hyper: RewardModelPPOHyperparameters = .init(),
                seed: UInt64, online: Bool, budget: Int) throws {
        try hyper.validate()
        try Validate.atLeast(budget, 1, "query budget", atMost: Limits.budget)
        let m = panel.queriesPerPair
        guard budget >= m else { throw RLHFError.budgetTooSmall(budget: budget, needed: m, what: "labelling one pair") }
        self.hyper = hyper
        self.panel = panel
        self.seed = seed
        self.online = online
        self.budget = budget
        offlinePairs = min(budget / m, hyper.offlinePairCap ?? Int.max)
        let planned = online
            ? max(1, budget / (hyper.pairsPerRound * m)) * hyper.ppoUpdatesPerRound
            : hyper.offlinePPOUpdates
        ppo = try PPO(env: env, policy: policy, hyper: hyper.ppo, seed: seed, rewardSource: .environment, plannedUpdates: planned)
        var rng = Xoshiro256(seed: seed, stream: 0x7E_0001)
        rewardModel = RewardModel(featureCount: env.featureCount, actionCount: env.actionCount, hyper: hyper.rewardModel, using: &rng)
    }

    /// θ, the policy network's parameters.
    public var parameters: [Double] {
        get { ppo.policy.network.parameters }
        set { ppo.policy.network.parameters = newValue }
    }

    /// Online: pairs per round · M every round. Offline: min(budget/M, cap)·M at iteration 0, then 0.
    public func queries(forIteration t: Int) -> Int {
        if online { return hyper.pairsPerRound * panel.queriesPerPair }
        return t == 0 ? offlinePairs * panel.queriesPerPair : 0
    }

    /// Offline: ⌈offline PPO updates / updates per round⌉. Online: nil (the budget ends the run).
    public var iterationLimit: Int? {
        online ? nil : (hyper.offlinePPOUpdates + hyper.ppoUpdatesPerRound - 1) / hyper.ppoUpdatesPerRound
    }

    /// One round; returns the environment steps of the labelled pairs and the PPO rollouts.
    public mutating func iterate(_ t: Int, ledger: inout QueryLedger) throws -> Int {
        var steps = 0
        // 1–3: label pairs from the current policy (every round online, once offline) and refit r_φ.
        if online || t == 0 {
            let count = online ? hyper.pairsPerRound : offlinePairs
            let family = NeuralFamily(env: ppo.env, policy: ppo.policy)
            var actor0 = parameters.withUnsafeBufferPointer { family.makeActor($0) }
            var actor1 = parameters.withUnsafeBufferPointer { family.makeActor($0) }
            let before = dataset.count
            steps += try dataset.collect(count, env: ppo.env, actor0: &actor0, actor1: &actor1, panel: panel,
                                         ledger: &ledger, seed: SplitMix64.mix(seed ^ 0x7E_DA7A), stream: UInt64(t))
            for pair in dataset.pairs[before...] { featurizedPairs.append(FeaturizedPair(pair, env: ppo.env)) }
            lastFit = rewardModel.fit(featurizedPairs, seed: SplitMix64.mix(seed ^ 0x7E_F17) &+ UInt64(t))
            ppo.rewardSource = .learned(rewardModel)
        }
        // 4: PPO against r_φ.
        let perRound = hyper.ppoUpdatesPerRound
        let updates = online ? perRound : min(perRound, hyper.offlinePPOUpdates - t * perRound)
        for k in 0..<updates {
            let s = ppo.update(t * perRound + k)
            lastStatistics = s
            steps += s.steps
        }
        return steps
    }
}
