import Foundation
import RLHF

/// The `critic` measurement study (spec §7): convergence of the DQN-style critic of Algorithm 2
/// (``DQNCritic``) to the exact discounted Q of a fixed policy on the `classic` GridWorld.
///
/// Setting (the one of the test `BilevelTests.criticConverges`): `classic` with one-hot features,
/// a fixed tabular softmax policy π with random logits (normal, scale 0.5; one draw per seed), the
/// TRUE expected reward r(s, a) as r_φ, no entropy bonus (α = 0: the plain target of spec §5),
/// the critic's discount γ = 0.95. The replay buffer is one sample of episodes of π (per seed);
/// the critic trains on it for J target refreshes of n SGD steps each, and after J refreshes its
/// Q̂ is compared with the exact Q^π_γ (``TabularBilevelModel/discountedQ(rewardTable:policyTable:discount:entropy:tolerance:maxIterations:)``)
/// in the on-policy norm (``TabularBilevelModel/relativeError(_:exact:policyTable:)``).
///
/// The sweep over J is one training run per seed and variant, read at J ∈ ``refreshes(quick:)``:
/// the critic is warm-started, and J refreshes in consecutive calls are the same computation as
/// one call with J refreshes (plain SGD has no state across calls).
///
/// Variants: `tabular` (Q linear in one-hot features, step size 0.5) and `mlp` (one hidden ReLU
/// layer of ``mlpWidth``, step size ``mlpLearningRate``). Rows: x `refreshes` (J), metrics
/// `relative_error` and `td_loss` (½·mean squared TD error over the buffer against the last targets).
public enum CriticMeasurement {
    /// The question the study's report opens with, answered by the trend of the error along J.
    public static let question = StudyQuestion(
        question: "Does the DQN critic of Algorithm 2 converge to the exact discounted Q of a fixed policy on the classic GridWorld as the number of target refreshes J grows, and how close does it get?",
        answer: .trend)

    /// Seeds of a default run.
    public static let defaultSeeds: [UInt64] = [1, 2, 3, 4, 5]

    /// The J values at which the critic is read.
    public static func refreshes(quick: Bool) -> [Int] {
        quick ? [1, 3, 10, 30, 100] : [1, 2, 5, 10, 20, 50, 100, 200, 300]
    }

    /// Episodes of π in the replay buffer.
    public static func episodes(quick: Bool) -> Int { quick ? 200 : 1000 }

    /// n, SGD steps between target refreshes.
    public static let stepsPerRefresh = 80

    /// Hidden width of the `mlp` variant.
    public static let mlpWidth = 64

    /// SGD step size of the `mlp` variant.
    public static let mlpLearningRate = 0.05

    /// The critic's hyperparameters of a variant (`tabular` or `mlp`).
    public static func hyperparameters(variant: String, quick: Bool) -> CriticHyperparameters {
        var hyper = CriticHyperparameters()
        hyper.episodes = episodes(quick: quick)
        hyper.stepsPerRefresh = stepsPerRefresh
        hyper.refreshes = 1
        if variant == "mlp" {
            hyper.hidden = [mlpWidth]
            hyper.learningRate = mlpLearningRate
        } else {
            hyper.hidden = []
            hyper.learningRate = 0.5
        }
        return hyper
    }

    /// The variants measured: both critics in a full run, the tabular one in a quick run.
    public static func variants(quick: Bool) -> [String] { quick ? ["tabular"] : ["tabular", "mlp"] }

    /// Runs the measurement for every seed and variant, one after another.
    public static func run(seeds: [UInt64], quick: Bool) -> [MeasurementRow] {
        run(seeds: seeds, quick: quick, threads: 1)
    }

    /// Runs the measurement with the (seed, variant) items spread over up to `threads` threads;
    /// the rows do not depend on `threads`.
    public static func run(seeds: [UInt64], quick: Bool, threads: Int) -> [MeasurementRow] {
        let variants = variants(quick: quick)
        let items = seeds.flatMap { seed in variants.map { (seed, $0) } }
        return Parallel.map(items.count, threads: threads) { measure(seed: items[$0].0, variant: items[$0].1, quick: quick) }
            .flatMap { $0 }
    }

    /// The rows of one seed and variant.
    static func measure(seed: UInt64, variant: String, quick: Bool) -> [MeasurementRow] {
        guard let preset = GridWorldPreset.named("classic"), var env = try? GridWorld(preset: preset) else { return [] }
        env.featureMode = .oneHot
        let tab = TabularBilevelModel(env: env)
        let n = env.stateCount, m = env.actionCount
        // The fixed policy: random logits, scale 0.5.
        var rng = Xoshiro256(seed: seed, stream: 1)
        var policy = NeuralSoftmaxPolicy(featureCount: env.featureCount, hidden: [], actionCount: m, uniformStart: false, using: &rng)
        for i in 0..<policy.network.parameterCount { policy.network.parameters[i] = 0.5 * rng.normal() }
        let lambda = policy.network.parameters
        let pi = tab.policyTable(policy, parameters: lambda)
        // r_φ = the true expected reward r(s, a); the exact Q^π_γ under it.
        let r = env.model.expectedReward
        let hyper = hyperparameters(variant: variant, quick: quick)
        let exact = tab.discountedQ(rewardTable: r, policyTable: pi, discount: hyper.discount)
        // The buffer (the same for both variants of a seed) and π(·|s') of every row.
        let buffer = env.sampleSteps(policy: policy, parameters: lambda, episodes: hyper.episodes, seed: seed, stream: [2])
        let rewards = zip(buffer.states, buffer.actions).map { r[$0 * m + $1] }
        let ws = PolicyWorkspace(for: policy, capacity: buffer.count)
        let next = buffer.nextFeatures.withUnsafeBufferPointer {
            Array(policy.probabilities(features: $0, batch: buffer.count, workspace: ws))
        }
        var initRng = Xoshiro256(seed: seed, stream: 3)
        var critic = DQNCritic(featureCount: env.featureCount, actionCount: m, hyper: hyper, using: &initRng)
        var sgdRng = Xoshiro256(seed: seed, stream: 4)
        var rows: [MeasurementRow] = []
        var done = 0
        for target in refreshes(quick: quick) {
            var report: CriticReport?
            while done < target {
                report = critic.evaluate(buffer, rewards: rewards, nextProbabilities: next, entropy: 0, using: &sgdRng)
                done += 1
            }
            let estimate = critic.values(features: tab.stateFeatures, rows: n)
            let error = tab.relativeError(estimate, exact: exact, policyTable: pi)
            rows.append(MeasurementRow(variant: variant, xName: "refreshes", x: Double(target), seed: seed, metric: "relative_error", y: error))
            rows.append(MeasurementRow(variant: variant, xName: "refreshes", x: Double(target), seed: seed, metric: "td_loss", y: report?.tdLoss ?? .nan))
        }
        return rows
    }
}
