#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Hyperparameters of bilevel online RLHF (spec §5, Algorithm 1), with their defaults.
///
/// Defaults, from runs on `classic` (one-hot features; tabular policy, reward and critic;
/// Bradley-Terry panel, M = 10; `scripts/experiments.py bilevel` repeats such runs; the diagnosis
/// also compared the learned reward with the true one and solved λ*(φ) exactly). What decides
/// the defaults is the diagnosis of why the method used to sit at ≈ 0.15 normalized value (the
/// policy that bumps into a wall until the horizon) at every budget:
/// - Each level works alone. With r_φ at the true expected reward, the lower level reaches
///   ≈ 0.99 (exact) / 0.95 (sampled, some seeds stall) in 100 iterations; with the policy frozen at
///   uniform, the reward fit agrees with the true preferences on ≈ 0.85–0.9 of fresh pairs (as
///   many as the true expected reward does, 0.857).
/// - But a reward fitted on FEW pairs makes stalling optimal: the learned r_φ(s, a) cannot see
///   where an episode ended (the trap's −1 belongs to the cell entered), so on finite data longer
///   episodes look better (most short ones ended in the trap) and r_φ is positive on the
///   wall-bump self-loops; λ*(φ) from 1000 uniform pairs is the stall (0.15), from 5000 pairs
///   0.895. The old lower level (β = β' = 2, clip 5) reached that stall within 1–3 iterations and
///   saturated the softmax (|λ|∞ ≈ 8–10); the stall policy's own pairs (stay vs slip into the
///   trap) then confirm "staying is good", and a saturated softmax has no gradient left to leave.
///   Exact mode fails the same way, so the critic is not the cause; the penalty term is not
///   either (σ from 0.1 to 10 changes nothing), though it swamps ∇̂_φ G (|pen| 10–30 against
///   |∇G| ≈ 1) whenever λ and λ' end up on different saturated policies.
/// - So the policies must move slowly, whatever the (noisy, at first large) scale of r_φ: a small
///   β, β' with a small clip on the direction's norm bound each inner step by β·clip = 0.005
///   (normalized gradient steps), so the policy stays stochastic while the data accumulate, and a
///   larger entropy weight α keeps it from saturating on a transient reward. This lifts the
///   method off the stall (exact mode: median ≈ 0.5 at 10⁵ queries instead of 0.15; sampled
///   mode: rising with the budget, median ≈ 0.2 at 10⁵), but it does not reach the goal policy:
///   the on-policy fit of r_φ(s, a) keeps finding new wall-bump loops with r_φ > 0 (λ*(φ) ≈ 0.2
///   at 3·10⁵ queries). Larger B, Adam on φ and more replay did not change that. Why: the
///   `fixed-point` study shows that on `classic` even the exactly solved loop "fit r_φ on the
///   current policy's pairs, move to λ*(φ)" leaves the optimal policy for a stall (0.92 → 0.11).
///   What does help is a larger σ (see ``sigma``, now 10): no stalls in 5 seeds at 10⁵ queries.
/// α must stay below |step reward| / log|A| (0.014 on classic): a larger entropy bonus makes long
/// episodes — stalling — optimal under the TRUE reward. Step sizes are plain gradient-ascent
/// steps (no Adam), as in the paper.
public struct BilevelHyperparameters: Sendable, Equatable, Codable {
    // MARK: Queries and the upper level

    /// B: pairs queried from π_λ per outer iteration (B·M queries).
    public var pairsPerIteration: Int = 10
    /// η: step size of the reward update φ ← φ + η [∇̂_φ G + (∇̂_φ J(λ) − ∇̂_φ J(λ'))/σ].
    public var rewardStepSize: Double = 0.1
    /// Reward updates per outer iteration (each on its own minibatch; λ, λ' fixed). 1 is the
    /// algorithm as written; more reuse the paid-for data harder between query rounds.
    public var rewardStepsPerIteration: Int = 5
    /// ∇̂_φ G averages over the B fresh pairs plus this many pairs drawn uniformly (with
    /// replacement) from all earlier data. 0: fresh pairs only (then ∇̂_φ G is unbiased for G at
    /// the current π_λ; replay trades that for variance, older pairs coming from older policies).
    public var replayPairs: Int = 54
    /// How φ follows its ascent direction: plain gradient ascent with step η (``BilevelRewardOptimizer/sgd``),
    /// or Adam with learning rate η (``BilevelRewardOptimizer/adam``; its moments persist across iterations).
    public var rewardOptimizer: BilevelRewardOptimizer = .sgd
    /// W: warm-up pairs. Iteration 0 queries B + W pairs from the initial policy (before it has
    /// moved: at φ = 0 the policy phases of iteration 0 leave a uniform policy as it is) and runs
    /// ``warmupRewardSteps`` reward updates on them instead of ``rewardStepsPerIteration``. This is
    /// Algorithm 1's iteration 0 with a larger batch: φ₀ is fitted before the policy first moves.
    public var warmupPairs: Int = 0
    /// Reward updates of iteration 0 (full batch over its B + W pairs).
    public var warmupRewardSteps: Int = 5

    // MARK: The penalty

    /// σ₀, the penalty parameter of Φ_σ (smaller: closer to the bilevel problem, noisier φ-steps).
    ///
    /// 10 (was 1), from `classic`, Bradley-Terry, M = 10, 5 seeds each (runs as in `scripts/experiments.py bilevel`):
    /// at 10⁵ queries σ = 10 gives 0.34 [0.33–0.36] and never stalls, σ = 1 gives 0.23 with two
    /// seeds in five on the wall-bumping stall (0.15); at 10⁶ σ = 1 stalls on three seeds in five
    /// (median 0.15). Why a larger σ helps here: the bilevel objective itself has its optima on
    /// stalls on `classic` (the `fixed-point` study: a reward fitted on the current policy's pairs
    /// makes standing still optimal, even when that policy is the optimal one), and σ → 0 follows
    /// it there; with σ = 10, λ's steps weigh ∇_λ G — which favours policies whose pairs the reward
    /// can tell apart, i.e. that keep visiting the trap and the goal — and its data keep teaching
    /// r_φ what the goal is worth (λ' then reaches 0.60 at 10⁵ and 0.80 at 10⁶). The cost: λ itself
    /// optimizes J + σG, not J, and plateaus near 0.4 (which is why runs report λ' by default,
    /// ``BilevelDeployment``); and at 10⁴ queries σ = 1 is ahead (λ 0.09 against 0.03, both near
    /// the start). The hypergradient study's smaller σ are for the exactness of ∇Φ_σ, not for
    /// training.
    public var sigma: Double = 10
    /// p of the schedule σ_k = max(σ₀ / (1 + k)^p, σ_min); 0 keeps σ fixed.
    public var sigmaDecay: Double = 0
    /// σ_min, the floor of the schedule.
    public var sigmaMin: Double = 0.01

    // MARK: The lower level

    /// T: inner actor steps per phase and outer iteration.
    public var innerSteps: Int = 5
    /// β': step size of λ' ← λ' + β' ∇̂_λ J (tracks λ*). With ``gradientClip`` = 1 a step moves
    /// λ' by at most 0.005 (was 2 with clip 5, i.e. up to 10: the policy saturated on the first,
    /// noisy rewards; see the type's documentation).
    public var lowerStepSize: Double = 0.005
    /// β: step size of λ ← λ + β (∇̂_λ J + σ ∇̂_λ G) (tracks λ_σ). As β', for the same reason.
    public var policyStepSize: Double = 0.005
    /// α ≥ 0: weight of the entropy in J (α > 0 makes λ*(φ) unique). 0.01 (was 0.002): keeps the
    /// slow policies stochastic while r_φ is still wrong; below 0.014 so that the true reward's
    /// optimum is still the goal.
    public var entropy: Double = 0.01
    /// N: episodes per sampled ∇̂_λ J (fresh at every inner step).
    public var actorEpisodes: Int = 16
    /// Episodes of each of π_λ and π_λ' per sampled ∇̂_φ J (drawn with common random numbers so
    /// that their difference, divided by σ, is not swamped by noise).
    public var rewardEpisodes: Int = 32
    /// Subtract b(s) = Σ_a π(a|s) Q̂(s, a) in ∇̂_λ J.
    public var advantageBaseline: Bool = true
    /// Subtract the leave-one-out mean log-likelihood in ∇̂_λ G.
    public var preferenceBaseline: Bool = true
    /// ∇̂_λ G reuses the last query round's pairs, sampled from λ before its inner steps: each
    /// pair is importance-weighted by π_λ(τ0)π_λ(τ1)/(π_old(τ0)π_old(τ1)), clipped to this (nil: no clip).
    public var importanceClip: Double? = 5
    /// Clip the global norm of every ascent direction (λ', λ and φ) to this; nil: no clipping.
    /// 1 (was 5): with β = β' = 0.005 it bounds every policy step by 0.005 whatever the scale of
    /// the learned reward (the scale of ∇̂_λ J follows r_φ, which is noisy and large early on).
    public var gradientClip: Double? = 1
    /// The critic (Algorithm 2).
    public var critic: CriticHyperparameters = .init()
    /// Exact mode: ∇_φ G and ∇_λ G are computed exactly by enumerating trajectory pairs when
    /// the MDP has at most this many trajectories (else they stay sampled).
    public var enumerationLimit: Int = 512

    /// The defaults.
    public init() {}

    /// σ_k = max(σ₀ / (1 + k)^p, σ_min) (σ₀ itself when p = 0).
    public func sigma(at k: Int) -> Double {
        sigmaDecay == 0 ? sigma : max(sigma / pow(1 + Double(k), sigmaDecay), sigmaMin)
    }

    /// Throws on bad values (the critic's included).
    public func validate() throws {
        try Validate.atLeast(pairsPerIteration, 1, "pairs per iteration (B)", atMost: Limits.pairs)
        try Validate.positive(rewardStepSize, "reward step size (η)")
        try Validate.atLeast(rewardStepsPerIteration, 1, "reward steps per iteration")
        try Validate.atLeast(replayPairs, 0, "replay pairs")
        try Validate.atLeast(warmupPairs, 0, "warm-up pairs (W)")
        try Validate.atLeast(warmupRewardSteps, 1, "warm-up reward steps")
        try Validate.positive(sigma, "penalty σ₀")
        try Validate.nonNegative(sigmaDecay, "σ decay exponent p")
        try Validate.positive(sigmaMin, "σ_min")
        try Validate.atLeast(innerSteps, 1, "inner steps (T)")
        try Validate.positive(lowerStepSize, "λ' step size (β')")
        try Validate.positive(policyStepSize, "λ step size (β)")
        try Validate.nonNegative(entropy, "entropy weight (α)")
        try Validate.atLeast(actorEpisodes, 1, "actor episodes (N)")
        try Validate.atLeast(rewardEpisodes, 1, "reward-gradient episodes")
        if let c = importanceClip { try Validate.positive(c, "importance clip") }
        if let c = gradientClip { try Validate.positive(c, "gradient clip") }
        try critic.validate()
        try Validate.atLeast(enumerationLimit, 0, "enumeration limit")
    }
}

/// How the reward parameters φ follow their ascent direction in Algorithm 1.
public enum BilevelRewardOptimizer: String, Sendable, Equatable, Codable, CaseIterable {
    /// φ ← φ + η·d (d the clipped ascent direction).
    case sgd
    /// Adam (bias-corrected moments, ε = 1e-8) with learning rate η on the clipped direction d.
    case adam
}

/// What the last outer iteration did.
public struct BilevelStatistics: Sendable, Equatable {
    /// σ_k.
    public var sigma: Double
    /// Mean log-likelihood Ĝ of the fresh pairs under r_φ before the reward update.
    public var upperLogLikelihood: Double
    /// Norm of the last ∇̂_φ G and of the last penalty term (∇̂_φ J(λ) − ∇̂_φ J(λ'))/σ.
    public var upperGradientNorm: Double
    public var penaltyGradientNorm: Double
    /// The critics' TD losses (0 in exact mode): of π_λ' and of π_λ.
    public var lowerCriticLoss: Double
    public var criticLoss: Double
    /// Pairs judged this iteration (skipped pairs excluded).
    public var judgedPairs: Int
}

/// Bilevel online RLHF with neural parametrization (spec §5, seeds 000–002): Algorithm 1, the
/// first-order penalty method of Kwon et al. (2024) with a DQN-style critic (Algorithm 2).
///
/// State: the reward network r_φ (``RewardModel``'s layout), two policies of the same
/// architecture — π_λ', which tracks λ*(φ) = argmax J(·, φ), and π_λ, which tracks
/// λ_σ = argmax σG(φ, ·) + J(·, φ) and generates every queried pair (``parameters``) — a critic for each,
/// and the preference data. Outer iteration k, with σ = σ_k:
/// 1. critic for π_λ' under r_φ (Algorithm 2), then T steps λ' ← λ' + β' ∇̂_λ J(λ', φ);
/// 2. critic for π_λ, then T steps λ ← λ + β (∇̂_λ J(λ, φ) + σ ∇̂_λ G(φ, λ)), where ∇̂_λ G uses
///    the pairs of the previous query round (sampled from λ as it was at the start of this
///    phase, importance-weighted as λ moves; 0 at k = 0, before any query);
/// 3. query B fresh pairs from π_λ (B·M queries through the ledger), add them to the data, and
///    φ ← φ + η [∇̂_φ G(φ, λ) + (∇̂_φ J(λ, φ) − ∇̂_φ J(λ', φ)) / σ]
///    (``BilevelHyperparameters/rewardStepsPerIteration`` times).
/// λ, λ' and both critics are warm-started across iterations; r_φ starts at 0.
///
/// Exact mode (tabular environments): no critics; ∇_λ J and ∇_φ J are exact (soft finite-horizon
/// Q from dynamic programming and occupancies; the time-dependent Q, not the discounted one,
/// because that makes ∇_λ J the true gradient of J, the noiseless version of what the critic
/// approximates). ∇_φ G and ∇_λ G are exact too when the MDP has at most
/// ``BilevelHyperparameters/enumerationLimit`` trajectories, otherwise sampled from the queried
/// pairs as in the stochastic algorithm. Queries are charged the same either way.
///
/// Every random draw comes from Xoshiro256(seed, stream: k, phase, step, …), so an iteration
/// depends only on the state it starts from, k and the seed.
public struct Bilevel<E: Environment>: PreferenceOptimizer where E.State: Codable & Sendable {
    /// The hyperparameters.
    public let hyper: BilevelHyperparameters
    /// The environment.
    public let env: E
    /// The model of the evaluators (M, link, teacher).
    public let panel: EvaluatorPanel
    /// Who answers the comparisons: the panel itself unless another source is given (it gives
    /// the panel's M answers a pair).
    public let source: any PreferenceSource
    /// The run's seed.
    public let seed: UInt64
    /// Whether exact gradients replace the critic and samples (tabular environments only).
    public let exact: Bool
    /// π_λ: the policy that generates the queried pairs (its network's parameters are λ). The
    /// trainer reports π_λ' as a run's policy unless told otherwise (``BilevelDeployment``).
    public private(set) var policy: NeuralSoftmaxPolicy
    /// π_λ': the lower-level tracker (parameters λ').
    public private(set) var lowerPolicy: NeuralSoftmaxPolicy
    /// r_φ (its network's parameters are φ; its Adam state is not used).
    public private(set) var rewardModel: RewardModel
    /// The critic of π_λ and that of π_λ'.
    public private(set) var critic: DQNCritic
    public private(set) var lowerCritic: DQNCritic
    /// Every labelled pair so far.
    public private(set) var dataset = PreferenceDataset<E.State>()
    /// The same pairs, featurized.
    public private(set) var featurizedPairs: [FeaturizedPair] = []
    /// The last iteration's statistics.
    public private(set) var lastStatistics: BilevelStatistics?
    /// Per iteration (``DiagnosticAccumulator/addBilevel(_:)``): the upper objective Ĝ, the
    /// norms of its gradient and of the penalty term, the critics' TD losses, σ.
    var diagnostics = DiagnosticAccumulator()
    /// The exact model (tabular environments), and its trajectories when few enough (exact mode).
    public let tabular: TabularBilevelModel?
    public let enumeration: TrajectoryEnumeration?
    /// The pairs of the last query round and their log-probabilities under λ when sampled.
    var recentPairs: [FeaturizedPair] = []
    var recentBehaviour: [Double] = []
    /// Adam's state for φ (used when ``BilevelHyperparameters/rewardOptimizer`` is `.adam`).
    var rewardAdam: Adam

    /// Creates the optimizer with a reward network of hidden widths `rewardHidden` ([] = tabular
    /// on one-hot features), r_φ ≡ 0 at the start; λ = λ' = `policy`'s parameters.
    ///
    /// - Throws: on bad hyperparameters, or `exact` on an environment that is not tabular.
    public init(env: E, policy: NeuralSoftmaxPolicy, rewardHidden: [Int] = [], panel: EvaluatorPanel,
                hyper: BilevelHyperparameters = .init(), seed: UInt64, exact: Bool = false,
                source: (any PreferenceSource)? = nil) throws {
        var rh = RewardModelHyperparameters()
        rh.hidden = rewardHidden
        rh.discount = env.discount
        try rh.validate()
        var rng = Xoshiro256(seed: seed, stream: 0xB1_0001)
        var reward = RewardModel(featureCount: env.featureCount, actionCount: env.actionCount, hyper: rh, using: &rng)
        reward.network.initialize(zeroLastLayer: true, using: &rng)
        try self.init(env: env, policy: policy, reward: reward, panel: panel, hyper: hyper, seed: seed, exact: exact,
                      source: source)
    }

    /// Creates the optimizer with a given reward model (its network's parameters are the initial φ).
    public init(env: E, policy: NeuralSoftmaxPolicy, reward: RewardModel, panel: EvaluatorPanel,
                hyper: BilevelHyperparameters = .init(), seed: UInt64, exact: Bool = false,
                source: (any PreferenceSource)? = nil) throws {
        try hyper.validate()
        self.source = try checkedSource(source, panel: panel)
        guard policy.featureCount == env.featureCount, policy.actionCount == env.actionCount else {
            throw RLHFError.invalidArgument(name: "policy", message: "the policy network does not fit the environment's features and actions")
        }
        guard reward.network.inputSize == env.featureCount, reward.network.outputSize == env.actionCount else {
            throw RLHFError.invalidArgument(name: "reward", message: "the reward network does not fit the environment's features and actions")
        }
        self.env = env
        self.policy = policy
        self.lowerPolicy = policy
        self.rewardModel = reward
        self.panel = panel
        self.hyper = hyper
        self.seed = seed
        self.exact = exact
        var rng = Xoshiro256(seed: seed, stream: 0xB1_0002)
        critic = DQNCritic(featureCount: env.featureCount, actionCount: env.actionCount, hyper: hyper.critic, using: &rng)
        lowerCritic = critic
        rewardAdam = Adam(parameterCount: reward.network.parameterCount, learningRate: hyper.rewardStepSize,
                          maxGradientNorm: hyper.gradientClip, maximize: true)
        tabular = TabularBilevelModel.of(env)
        if exact {
            guard let tabular else {
                throw RLHFError.invalidArgument(name: "exact", message: "exact mode needs a tabular environment")
            }
            enumeration = TrajectoryEnumeration(tabular: tabular, panel: panel, limit: hyper.enumerationLimit)
        } else {
            enumeration = nil
        }
    }

    // MARK: - Parameters

    /// λ, the parameters of π_λ (tracking λ_σ; the policy that queries).
    public var parameters: [Double] {
        get { policy.network.parameters }
        set { policy.network.parameters = newValue }
    }

    /// λ', the parameters of π_λ' (tracking λ*(φ)).
    public var lowerLevelParameters: [Double] {
        get { lowerPolicy.network.parameters }
        set { lowerPolicy.network.parameters = newValue }
    }

    /// φ, the reward network's parameters.
    public var rewardParameters: [Double] {
        get { rewardModel.network.parameters }
        set { rewardModel.network.parameters = newValue }
    }

    /// Pairs queried at iteration k: B + W at k = 0 (the warm-up), B afterwards.
    public func pairs(forIteration k: Int) -> Int { hyper.pairsPerIteration + (k == 0 ? hyper.warmupPairs : 0) }

    /// (B + W)·M at iteration 0, B·M afterwards.
    public func queries(forIteration t: Int) -> Int { pairs(forIteration: t) * panel.queriesPerPair }

    /// σ_k.
    public func sigma(at k: Int) -> Double { hyper.sigma(at: k) }

    // MARK: - Algorithm 1

    public mutating func iterate(_ k: Int, ledger: inout QueryLedger) throws -> Int {
        let sigma = hyper.sigma(at: k)
        var steps = 0
        // 1. λ' tracks λ*(φ): critic, then T ascent steps on J.
        var lowerTheta = lowerPolicy.network.parameters
        var lowerQ = lowerCritic
        let lowerLoss = track(&lowerTheta, critic: &lowerQ, stepSize: hyper.lowerStepSize, sigma: nil, k: k, phase: 1, steps: &steps)
        lowerPolicy.network.parameters = lowerTheta
        lowerCritic = lowerQ
        // 2. λ tracks λ_σ: critic, then T ascent steps on J + σG.
        var theta = policy.network.parameters
        var q = critic
        let loss = track(&theta, critic: &q, stepSize: hyper.policyStepSize, sigma: sigma, k: k, phase: 2, steps: &steps)
        policy.network.parameters = theta
        critic = q
        // 3. Query B fresh pairs from π_λ and update φ.
        let judged = try queryPairs(k, ledger: &ledger, steps: &steps)
        let (upper, gNorm, pNorm) = updateReward(k, sigma: sigma, steps: &steps)
        lastStatistics = BilevelStatistics(sigma: sigma, upperLogLikelihood: upper, upperGradientNorm: gNorm,
                                           penaltyGradientNorm: pNorm, lowerCriticLoss: lowerLoss, criticLoss: loss,
                                           judgedPairs: judged)
        diagnostics.addBilevel(lastStatistics!)
        guard theta.allSatisfy(\.isFinite), lowerTheta.allSatisfy(\.isFinite), rewardParameters.allSatisfy(\.isFinite) else {
            throw RLHFError.diverged(iteration: k, message: "λ, λ' or φ is no longer finite (lower the step sizes or raise σ)")
        }
        return steps
    }

    /// Phases 1 and 2: the critic for π_θ under r_φ (or exact Q), then T inner ascent steps
    /// θ ← θ + step (∇̂_λ J + σ ∇̂_λ G) (σ nil: J alone). Returns the critic's TD loss.
    ///
    /// Both phases draw their episodes and minibatches from the SAME streams (k, 0, …): common
    /// random numbers, so that λ and λ' differ by the σ∇̂_λ G term and their own past, not by
    /// independent sampling noise that the penalty's 1/σ would amplify. (`phase` only labels.)
    mutating func track(_ theta: inout [Double], critic: inout DQNCritic, stepSize: Double, sigma: Double?, k: Int,
                        phase: UInt64, steps: inout Int) -> Double {
        let reward = rewardModel.network
        let alpha = hyper.entropy
        var criticLoss = 0.0
        if !exact {
            let buffer = env.sampleSteps(policy: policy, parameters: theta, episodes: hyper.critic.episodes, seed: seed,
                                         stream: [UInt64(k), 0, 0])
            steps += buffer.count
            let r = BilevelGradients.learnedRewards(reward: reward, steps: buffer)
            let next = probabilities(theta, features: buffer.nextFeatures, rows: buffer.count)
            var rng = Xoshiro256(seed: seed, stream: UInt64(k), 0, 0xC)
            criticLoss = critic.evaluate(buffer, rewards: r, nextProbabilities: next, entropy: alpha, using: &rng).tdLoss
        }
        for i in 0..<hyper.innerSteps {
            var g: [Double]
            if exact, let tabular {
                g = tabular.policyJGradient(policy: policy, parameters: theta, reward: reward, entropy: alpha)
            } else {
                let batch = env.sampleSteps(policy: policy, parameters: theta, episodes: hyper.actorEpisodes, seed: seed,
                                            stream: [UInt64(k), 0, UInt64(i + 1)])
                steps += batch.count
                let q = critic.values(features: batch.features, rows: batch.count)
                g = BilevelGradients.policyJ(policy: policy, parameters: theta, steps: batch, actionValues: q,
                                             discount: env.discount, entropy: alpha, baseline: hyper.advantageBaseline)
            }
            if let sigma {
                let gG: [Double]
                if let enumeration {
                    gG = enumeration.policyGGradient(policy: policy, parameters: theta, reward: reward)
                } else if !recentPairs.isEmpty {
                    gG = BilevelGradients.policyG(policy: policy, parameters: theta, reward: reward, pairs: recentPairs,
                                                  discount: env.discount, behaviourLogProbabilities: recentBehaviour,
                                                  importanceClip: hyper.importanceClip, baseline: hyper.preferenceBaseline)
                } else {
                    gG = []
                }
                for j in 0..<gG.count { g[j] += sigma * gG[j] }
            }
            Bilevel.ascend(&theta, along: &g, step: stepSize, clip: hyper.gradientClip)
        }
        return criticLoss
    }

    /// Phase 3, first half: B pairs from π_λ, judged by the panel and paid for through the ledger.
    mutating func queryPairs(_ k: Int, ledger: inout QueryLedger, steps: inout Int) throws -> Int {
        let family = NeuralFamily(env: env, policy: policy)
        var actor0 = parameters.withUnsafeBufferPointer { family.makeActor($0) }
        var actor1 = parameters.withUnsafeBufferPointer { family.makeActor($0) }
        let before = dataset.count
        steps += try dataset.collect(pairs(forIteration: k), env: env, actor0: &actor0, actor1: &actor1, panel: panel,
                                     source: source, name: "bilevel",
                                     ledger: &ledger, seed: SplitMix64.mix(seed ^ 0xB1_DA7A), stream: UInt64(k))
        recentPairs = dataset.pairs[before...].map { FeaturizedPair($0, env: env) }
        featurizedPairs += recentPairs
        recentBehaviour = BilevelGradients.trajectoryLogProbabilities(policy: policy, parameters: parameters, pairs: recentPairs)
        return recentPairs.count
    }

    /// Phase 3, second half: φ ← φ + η [∇̂_φ G(φ, λ) + (∇̂_φ J(λ, φ) − ∇̂_φ J(λ', φ)) / σ].
    /// Returns Ĝ on the fresh pairs and the norms of the last two terms.
    mutating func updateReward(_ k: Int, sigma: Double, steps: inout Int) -> (Double, Double, Double) {
        var upper = Double.nan, gNorm = 0.0, pNorm = 0.0
        // ∇̂_φ J of both policies from episodes with common random numbers (exact mode: occupancies).
        var stepsLambda: StepBatch<E.State>?, stepsLower: StepBatch<E.State>?
        if !exact {
            stepsLambda = env.sampleSteps(policy: policy, parameters: parameters, episodes: hyper.rewardEpisodes, seed: seed,
                                          stream: [UInt64(k), 3, 0])
            stepsLower = env.sampleSteps(policy: policy, parameters: lowerLevelParameters, episodes: hyper.rewardEpisodes,
                                         seed: seed, stream: [UInt64(k), 3, 0])
            steps += stepsLambda!.count + stepsLower!.count
        }
        let earlier = featurizedPairs.count - recentPairs.count
        let rewardSteps = k == 0 && hyper.warmupPairs > 0 ? hyper.warmupRewardSteps : hyper.rewardStepsPerIteration
        for step in 0..<rewardSteps {
            let reward = rewardModel.network
            var batch = recentPairs
            if hyper.replayPairs > 0 && earlier > 0 {
                var rng = Xoshiro256(seed: seed, stream: UInt64(k), 4, UInt64(step))
                for _ in 0..<hyper.replayPairs { batch.append(featurizedPairs[rng.index(below: earlier)]) }
            }
            var gG: [Double]
            if let enumeration {
                gG = enumeration.rewardGGradient(policy: policy, parameters: parameters, reward: reward)
                if step == 0 { upper = BilevelGradients.rewardG(reward: reward, pairs: recentPairs, discount: env.discount).logLikelihood }
            } else {
                let (g, ll) = BilevelGradients.rewardG(reward: reward, pairs: batch, discount: env.discount)
                gG = g
                if step == 0 { upper = BilevelGradients.rewardG(reward: reward, pairs: recentPairs, discount: env.discount).logLikelihood }
                _ = ll
            }
            let jLambda: [Double], jLower: [Double]
            if exact, let tabular {
                jLambda = tabular.rewardJGradient(policy: policy, parameters: parameters, reward: reward)
                jLower = tabular.rewardJGradient(policy: policy, parameters: lowerLevelParameters, reward: reward)
            } else {
                jLambda = BilevelGradients.rewardJ(reward: reward, steps: stepsLambda!, discount: env.discount)
                jLower = BilevelGradients.rewardJ(reward: reward, steps: stepsLower!, discount: env.discount)
            }
            var penalty2 = 0.0, g2 = 0.0
            for j in 0..<gG.count {
                let p = (jLambda[j] - jLower[j]) / sigma
                penalty2 += p * p
                g2 += gG[j] * gG[j]
                gG[j] += p
            }
            gNorm = g2.squareRoot(); pNorm = penalty2.squareRoot()
            switch hyper.rewardOptimizer {
            case .sgd:
                Bilevel.ascend(&rewardModel.network.parameters, along: &gG, step: hyper.rewardStepSize, clip: hyper.gradientClip)
            case .adam:
                rewardAdam.step(parameters: &rewardModel.network.parameters, gradients: &gG)
            }
        }
        return (upper, gNorm, pNorm)
    }

    // MARK: - Analysis

    /// The learned reward's agreement with the true preferences: the fraction of `pairs` fresh
    /// pairs, both trajectories from π_θ (θ = λ by default), on which R_φ(τ1) − R_φ(τ0) has the
    /// sign of the TRUE return difference (pairs with equal true returns left out; no queries are
    /// charged: this reads the simulator's returns, for analysis only). NaN if every pair ties.
    public func rewardAgreement(pairs: Int, seed analysisSeed: UInt64, parameters theta: [Double]? = nil) -> Double {
        let family = NeuralFamily(env: env, policy: policy)
        let th = theta ?? parameters
        var actor = th.withUnsafeBufferPointer { family.makeActor($0) }
        var agree = 0, counted = 0
        let ws = MLPWorkspace(for: rewardModel.network, capacity: 2 * env.horizon)
        for n in 0..<pairs {
            var rng = Xoshiro256(seed: analysisSeed, stream: 0xA6_4EE, UInt64(n))
            let t0 = FeaturizedTrajectory(env.sampleTrajectory(&actor, using: &rng), env: env)
            let t1 = FeaturizedTrajectory(env.sampleTrajectory(&actor, using: &rng), env: env)
            let truth = t1.trueReturn - t0.trueReturn
            if abs(truth) < 1e-12 { continue }
            counted += 1
            let delta = rewardModel.learnedReturn(t1, workspace: ws) - rewardModel.learnedReturn(t0, workspace: ws)
            if delta != 0 && (delta > 0) == (truth > 0) { agree += 1 }
        }
        return counted > 0 ? Double(agree) / Double(counted) : .nan
    }

    // MARK: - Helpers

    /// π_θ(·|s) for `rows` feature rows.
    func probabilities(_ theta: [Double], features: [Double], rows: Int) -> [Double] {
        guard rows > 0 else { return [] }
        let ws = PolicyWorkspace(for: policy, capacity: rows)
        return features.withUnsafeBufferPointer { x in
            theta.withUnsafeBufferPointer { Array(policy.probabilities(features: x, batch: rows, workspace: ws, parameters: $0)) }
        }
    }

    /// x ← x + step·g, g's global norm clipped to `clip` first.
    static func ascend(_ x: inout [Double], along g: inout [Double], step: Double, clip: Double?) {
        if let clip { GradientClipping.clipGlobalNorm(&g, maxNorm: clip) }
        for j in 0..<x.count { x[j] += step * g[j] }
    }
}

extension Bilevel {
    public mutating func takeDiagnostics() -> [Diagnostic] { diagnostics.take() }
}

extension DiagnosticAccumulator {
    /// One bilevel iteration's figures: `upper_g`, Ĝ, the mean log-likelihood of the fresh
    /// pairs' labels under R_φ (before φ's update); `g_gradient_norm` and `penalty_gradient_norm`,
    /// ‖∇̂_φ G‖ and ‖(∇̂_φ J(λ) − ∇̂_φ J(λ'))/σ‖ of the last reward step; `critic_td_loss` and
    /// `lower_critic_td_loss`, the critics' TD errors (0 in exact mode); `sigma`; `judged_pairs`.
    mutating func addBilevel(_ s: BilevelStatistics) {
        add("upper_g", s.upperLogLikelihood)
        add("g_gradient_norm", s.upperGradientNorm)
        add("penalty_gradient_norm", s.penaltyGradientNorm)
        add("critic_td_loss", s.criticLoss)
        add("lower_critic_td_loss", s.lowerCriticLoss)
        add("sigma", s.sigma)
        add("judged_pairs", Double(s.judgedPairs))
    }
}
