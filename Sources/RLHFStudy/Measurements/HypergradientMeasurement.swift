import Foundation
import RLHF

/// The `hypergradient` measurement study (spec §7): the first-order penalty gradient ∇Φ_σ of
/// Algorithm 1 against the exact hypergradient ∇Φ on a tiny MDP, as σ → 0.
///
/// Setting (the one of the test `BilevelTests.penaltyGradientApproachesHypergradient`): the
/// layered MDP of ``layeredModel()`` (5 states, 2 actions, H = 2, 12 trajectories), a tabular
/// softmax policy and a tabular reward r_φ on one-hot features, entropy weight α = 0.5 (so λ*(φ) is
/// unique as a policy), a Bradley-Terry panel of M = 10 whose expected labels enter the exact
/// upper objective G (by ``TrajectoryEnumeration``). Per seed, φ and the policy's starting λ are
/// drawn at random (normal, scale 0.5); then
/// - the exact hypergradient ∇Φ(φ), Φ(φ) = G(φ, π*(φ)), is the central finite difference
///   (h = 1e-5) of Φ with π*(φ) from soft backward induction;
/// - λ* and, for every σ, λ_σ are solved exactly (``TabularBilevelModel/solveLowerLevel(policy:from:reward:entropy:sigma:enumeration:stepSize:tolerance:maxIterations:)``,
///   gradient norm below 1e-11), and
///   ∇Φ_σ = ∇_φ G(φ, λ_σ) + (∇_φ J(λ_σ, φ) − ∇_φ J(λ*, φ)) / σ.
///
/// Rows: variant `penalty-proxy`, x `sigma`, metrics `relative_error` = ‖∇Φ_σ − ∇Φ‖ / ‖∇Φ‖ and
/// `cosine` between the two. The proxy's bias is O(σ), so the error should fall about tenfold per
/// decade of σ. Seed 4 is the test's initialization (errors 0.00852, 0.00322, 0.00114, 0.00035,
/// 0.00012 at σ = 1, 0.3, 0.1, 0.03, 0.01).
public enum HypergradientMeasurement {
    /// The question the study's report opens with, answered by the trend of the error along σ.
    public static let question = StudyQuestion(
        question: "Does the first-order penalty gradient ∇Φ_σ of Algorithm 1 approach the exact hypergradient ∇Φ (finite differences through the exactly solved, entropy-regularized lower level) on a tiny MDP as σ → 0?",
        answer: .trend)

    /// Seeds of a default run (4 is the test's initialization).
    public static let defaultSeeds: [UInt64] = [1, 2, 3, 4, 5]

    /// The σ values swept: 1 … 0.01 (quick), down to 0.001 (full).
    public static func sigmas(quick: Bool) -> [Double] {
        quick ? [1, 0.3, 0.1, 0.03, 0.01] : [1, 0.3, 0.1, 0.03, 0.01, 0.003, 0.001]
    }

    /// Entropy weight α of the lower level.
    public static let entropy = 0.5

    /// Runs the measurement for every seed (one random initialization of φ and λ each), one seed
    /// after another.
    public static func run(seeds: [UInt64], quick: Bool) -> [MeasurementRow] {
        run(seeds: seeds, quick: quick, threads: 1)
    }

    /// Runs the measurement with the seeds spread over up to `threads` threads; the rows do not
    /// depend on `threads` (each seed is its own work item).
    public static func run(seeds: [UInt64], quick: Bool, threads: Int) -> [MeasurementRow] {
        Parallel.map(seeds.count, threads: threads) { measure(seed: seeds[$0], quick: quick) }.flatMap { $0 }
    }

    /// The layered tiny MDP: state 0 at t = 0, states 1 and 2 at t = 1, then terminal 3 or 4;
    /// H = 2, γ = 1. Every state occurs at one time only, so the entropy-regularized optimum over
    /// stationary policies is the soft-Bellman one. 12 trajectories.
    public static func layeredModel() -> TabularMDP {
        TabularMDP(
            actionCount: 2, horizon: 2, startDistribution: [1, 0, 0, 0, 0], isTerminal: [false, false, false, true, true],
            transitions: [
                [[(1, 0.8, 0.1), (2, 0.2, 0.1)], [(1, 0.3, 0), (2, 0.7, 0)]],
                [[(3, 1, 1.0)], [(3, 0.6, 0.5), (4, 0.4, -0.5)]],
                [[(3, 1, -0.2)], [(4, 0.5, 0.8), (3, 0.5, 0)]],
                [[], []], [[], []],
            ])
    }

    /// The rows of one seed.
    static func measure(seed: UInt64, quick: Bool) -> [MeasurementRow] {
        let env = ModelEnvironment(model: layeredModel())
        let tab = TabularBilevelModel(env: env)
        let panel = try! EvaluatorPanel(link: .bradleyTerry, evaluators: 10)
        guard let en = TrajectoryEnumeration(tabular: tab, panel: panel) else { return [] }
        // A tabular softmax policy and a tabular reward with random parameters (as the test draws them).
        var rng = Xoshiro256(seed: seed)
        var policy = NeuralSoftmaxPolicy(featureCount: env.stateCount, hidden: [], actionCount: env.actionCount,
                                         uniformStart: false, using: &rng)
        var reward = MLP(inputSize: env.stateCount, hidden: [], outputSize: env.actionCount, activation: .relu, using: &rng)
        for i in 0..<policy.network.parameterCount { policy.network.parameters[i] = 0.5 * rng.normal() }
        for i in 0..<reward.parameterCount { reward.parameters[i] = 0.5 * rng.normal() }
        let alpha = entropy

        // ∇Φ by central differences of Φ(φ) = G(φ, π*(φ)), π* by soft backward induction.
        let exact = tab.hypergradientByFiniteDifferences(reward: reward, enumeration: en, alpha: alpha)
        // λ* and λ_σ by exact gradient ascent (λ_σ warm-started from λ*).
        let start = [Double](repeating: 0, count: policy.parameterCount)
        let star = tab.solveLowerLevel(policy: policy, from: start, reward: reward, entropy: alpha, stepSize: 2, tolerance: 1e-11)
        let jStar = tab.rewardJGradient(policy: policy, parameters: star.parameters, reward: reward)
        var rows: [MeasurementRow] = []
        for sigma in sigmas(quick: quick) {
            let ls = tab.solveLowerLevel(policy: policy, from: star.parameters, reward: reward, entropy: alpha, sigma: sigma,
                                         enumeration: en, stepSize: 2, tolerance: 1e-11)
            let gG = en.rewardGGradient(policy: policy, parameters: ls.parameters, reward: reward)
            let jSigma = tab.rewardJGradient(policy: policy, parameters: ls.parameters, reward: reward)
            let proxy = (0..<gG.count).map { gG[$0] + (jSigma[$0] - jStar[$0]) / sigma }
            let error = VectorMath.distance(proxy, exact) / VectorMath.norm(exact)
            let cosine = VectorMath.cosine(proxy, exact)
            rows.append(MeasurementRow(variant: "penalty-proxy", xName: "sigma", x: sigma, seed: seed, metric: "relative_error", y: error))
            rows.append(MeasurementRow(variant: "penalty-proxy", xName: "sigma", x: sigma, seed: seed, metric: "cosine", y: cosine))
        }
        return rows
    }

}

/// Small vector helpers of the measurement studies.
enum VectorMath {
    /// a · b.
    static func dot(_ a: [Double], _ b: [Double]) -> Double {
        var s = 0.0
        for i in 0..<min(a.count, b.count) { s += a[i] * b[i] }
        return s
    }

    /// ‖a‖.
    static func norm(_ a: [Double]) -> Double { dot(a, a).squareRoot() }

    /// ‖a − b‖.
    static func distance(_ a: [Double], _ b: [Double]) -> Double {
        var s = 0.0
        for i in 0..<min(a.count, b.count) { s += (a[i] - b[i]) * (a[i] - b[i]) }
        return s.squareRoot()
    }

    /// a · b / (‖a‖ ‖b‖).
    static func cosine(_ a: [Double], _ b: [Double]) -> Double { dot(a, b) / (norm(a) * norm(b)) }
}
