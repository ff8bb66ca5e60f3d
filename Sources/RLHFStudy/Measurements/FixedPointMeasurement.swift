import Foundation
import RLHF

/// The `fixed-point` measurement study: is the goal policy a fixed point of on-policy reward
/// learning on `classic`, and where does the bilevel objective Φ(φ) = G(φ, λ*(φ)) send the policy?
///
/// Algorithm 1 fits r_φ on pairs drawn from the CURRENT policy (spec §5's G) and moves the policy
/// toward λ*(φ). This study runs the idealized version of that loop with every inner problem
/// solved: starting from a policy π₀, for rounds k = 0, 1, …
/// 1. draw ``pairs(quick:)`` pairs from π_k and have a Bradley-Terry panel (M = 10) label them;
/// 2. fit a tabular r_φ(s, a) (linear on one-hot features, from φ = 0; Adam, learning rate 0.02,
///    40 epochs, batch 32: the training loss has flattened by then) — the maximizer of G(·, π_k) on
///    that sample;
/// 3. π_{k+1} = λ*(φ), the entropy-regularized optimum (α = ``entropy``, soft backward induction,
///    ``TabularBilevelModel/softOptimalPolicy(rewardTable:alpha:)``).
///
/// Variants: `from-uniform` (π₀ uniform) and `from-optimal` (π₀ the soft-optimal policy of the TRUE
/// expected reward, normalized value 0.92). Rows: x `round` (k), metrics `value` (the true
/// normalized value of π_k; the primary metric), `refit_value` (of π_{k+1} = λ*(φ_k)),
/// `log_likelihood` (G(φ_k, π_k) on 2000 fresh pairs of π_k: how well the fitted reward explains
/// what the policy produces), and `agreement` (the fraction of those pairs, true ties left out,
/// on which R_φ orders the two trajectories as their true returns do; no row when all of them tie).
///
/// What it shows (release, 5 000 pairs a round, 3 seeds, `rlhf study fixed-point`, 33 s): the
/// optimal policy is NOT a fixed point. Its normalized value is 0.92; the policy that is optimal
/// for the reward fitted on its own pairs has 0.11 [0.09, 0.21]. Preferences only see return
/// DIFFERENCES: nearly every trajectory of the optimal policy reaches the goal, so the goal's
/// reward cancels in R_φ(τ1) − R_φ(τ0) and is not learned; what is learned is that longer paths
/// (slips) are worse, i.e. each visited move costs; and the moves the policy never makes (bumping
/// into a wall, which keeps the agent in place) keep r_φ = 0. Under r_φ, standing still for the
/// whole horizon then beats walking to a goal worth nothing. From the uniform policy the loop also
/// ends near such stalls (0.13 after 5 rounds). G is close to log ½ at every policy on the way
/// (−0.67 to −0.70): with M = 10 evaluators and `classic`'s small return differences the upper
/// objective barely tells the policies apart, so nothing in Φ pulls the method back to the goal.
/// This is Algorithm 1's plateau on `classic` (issue 5) with every inner problem solved exactly:
/// a property of fitting the reward on the current policy's data, not of the optimizer. (RM+PPO
/// online escapes it because it refits on ALL pairs collected so far, the early near-uniform ones
/// included, which do show what reaching the goal is worth.)
public enum FixedPointMeasurement {
    /// The question the study's report opens with, answered by the trend of `value` over rounds.
    public static let question = StudyQuestion(
        question: "Is the optimal policy a fixed point of on-policy reward learning on classic (fit r_φ to the current policy's pairs, then move to λ*(φ)), and where does the loop go from the uniform policy?",
        answer: .trend)

    /// Seeds of a default run.
    public static let defaultSeeds: [UInt64] = [1, 2, 3]

    /// Rounds of the loop.
    public static func rounds(quick: Bool) -> Int { quick ? 3 : 5 }

    /// Pairs per reward fit.
    public static func pairs(quick: Bool) -> Int { quick ? 2000 : 5000 }

    /// Fresh pairs on which G and the agreement are measured.
    public static let testPairs = 2000

    /// α of the lower level (Algorithm 1's default entropy weight).
    public static let entropy = BilevelHyperparameters().entropy

    /// Runs both variants for every seed; (seed, variant) pairs are the work items, so the rows do
    /// not depend on `threads`.
    public static func run(seeds: [UInt64], quick: Bool, threads: Int = 1) -> [MeasurementRow] {
        let items = seeds.flatMap { s in ["from-uniform", "from-optimal"].map { (s, $0) } }
        // `measure` throws only if the `classic` preset or the panel were invalid, which they are not.
        return Parallel.map(items.count, threads: threads) { i in
            try! measure(seed: items[i].0, start: items[i].1, quick: quick)
        }.flatMap { $0 }
    }

    /// The rows of one seed and start.
    static func measure(seed: UInt64, start: String, quick: Bool, rounds count: Int? = nil) throws -> [MeasurementRow] {
        var env = try GridWorld(preset: GridWorldPreset.named("classic")!)
        env.featureMode = .oneHot
        let panel = try EvaluatorPanel(link: .bradleyTerry, evaluators: 10)
        guard let tab = TabularBilevelModel.of(env) else { return [] }
        let m = env.actionCount
        var rng = Xoshiro256(seed: seed, stream: 0xF1_0001)
        var policy = NeuralSoftmaxPolicy(featureCount: env.featureCount, hidden: [], actionCount: m, using: &rng)
        let uniformValue = env.model.value(policy: env.model.uniformPolicy)
        let bestValue = env.model.optimalValue
        func normalized(_ pi: [Double]) -> Double { (env.model.value(policy: pi) - uniformValue) / (bestValue - uniformValue) }

        // A policy table as the parameters of a linear softmax on one-hot features: logits log π(a|s).
        func parameters(_ pi: [Double]) -> [Double] {
            var theta = [Double](repeating: 0, count: policy.network.parameterCount)
            for k in 0..<pi.count { theta[k] = max(log(pi[k]), -50) }
            return theta
        }
        func sample(_ pi: [Double], _ n: Int, stream: UInt64) throws -> [FeaturizedPair] {
            policy.network.parameters = parameters(pi)
            let family = NeuralFamily(env: env, policy: policy)
            let theta = policy.network.parameters
            var a0 = theta.withUnsafeBufferPointer { family.makeActor($0) }
            var a1 = theta.withUnsafeBufferPointer { family.makeActor($0) }
            var data = PreferenceDataset<GridWorld.State>()
            var ledger = try QueryLedger(budget: n * panel.queriesPerPair)
            try data.collect(n, env: env, actor0: &a0, actor1: &a1, panel: panel, ledger: &ledger,
                             seed: SplitMix64.mix(seed ^ 0xF1_DA7A), stream: stream)
            return data.pairs.map { FeaturizedPair($0, env: env) }
        }
        var hyper = RewardModelHyperparameters()
        hyper.hidden = []
        hyper.learningRate = 0.02
        hyper.epochs = 40
        hyper.validationFraction = 0
        hyper.discount = env.discount

        var pi: [Double]
        if start == "from-optimal" {
            pi = tab.softOptimalPolicy(rewardTable: env.model.expectedReward, alpha: entropy)
        } else {
            pi = env.model.uniformPolicy
        }
        var rows: [MeasurementRow] = []
        func row(_ k: Int, _ metric: String, _ y: Double) {
            // The agreement is undefined (NaN) when every fresh pair ties: no row then.
            guard y.isFinite else { return }
            rows.append(MeasurementRow(variant: start, xName: "round", x: Double(k), seed: seed, metric: metric, y: y))
        }
        for k in 0..<(count ?? rounds(quick: quick)) {
            let train = try sample(pi, pairs(quick: quick), stream: UInt64(2 * k))
            let test = try sample(pi, testPairs, stream: UInt64(2 * k + 1))
            var fitRng = Xoshiro256(seed: seed, stream: 0xF1_0002, UInt64(k))
            var reward = RewardModel(featureCount: env.featureCount, actionCount: m, hyper: hyper, using: &fitRng)
            reward.network.initialize(zeroLastLayer: true, using: &fitRng)
            reward.fit(train, seed: SplitMix64.mix(seed &+ UInt64(k)))
            let next = tab.softOptimalPolicy(rewardTable: tab.rewardTable(reward.network), alpha: entropy)
            row(k, "value", normalized(pi))
            row(k, "refit_value", normalized(next))
            row(k, "log_likelihood", BilevelGradients.rewardG(reward: reward.network, pairs: test, discount: env.discount).logLikelihood)
            row(k, "agreement", reward.assess(test).accuracy)
            pi = next
        }
        return rows
    }
}
