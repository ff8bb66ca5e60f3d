import Foundation
import RLHF

/// The `gradient` measurement study (spec §7, first check): the ZPG gradient estimator against the
/// exact gradient of the μ-smoothed value on a small tabular MDP, as the panel grows (M → ∞).
///
/// Setting: the 2×2 GridWorld `S.` / `.G` (slip 0.2, H = 4, step reward −0.1; 4 states, d = 16),
/// tabular softmax policy at random logits θ (normal, scale 0.5; one draw per seed), ZPG with
/// μ = 2 and N = 8 pairs per estimate, Bradley-Terry link (s = 1), default trimming ε = 1/(2M).
///
/// - Reference: ∇V_μ(θ) = (d/μ) E_v[V(θ + μv) v] (v uniform on the unit sphere), by Monte Carlo
///   over ``referenceDirections(quick:)`` directions with EXACT values, antithetic
///   ((V(θ + μv) − V(θ − μv))/2) and with the control variate d (v·∇V) v − ∇V (mean zero; ∇V the
///   exact policy gradient). Its standard error is added to the estimator's in `standard_error`.
/// - Estimator: the mean of ``estimates(quick:)`` ZPG estimates ĝ_t = (d/μ) Δ̂_t v_t, each one
///   iteration of ``ZPG`` with step size 1 from θ (so ĝ_t is the parameter change), Δ̂ from the
///   panel's preference rates through the inverse link. Every (variant, M) uses the same ZPG seed,
///   so the directions and rollouts are common: the variants differ only in the panel's answers.
///
/// Variants: `panel` (M sampled answers per pair: Δ̂ = σ⁻¹(clamp(p̂, ε, 1 − ε)) is biased for finite
/// M) and `noiseless` (the panel's M → ∞ limit, p̂ = σ(ΔR) exactly, still trimmed at ε = 1/(2M):
/// the estimator is then unbiased unless the trimming binds). x is M (`evaluators`). Metrics:
/// - `relative_error` = ‖ḡ − ∇V_μ‖ / ‖∇V_μ‖, ḡ the mean of the estimates;
/// - `cosine` between ḡ and ∇V_μ;
/// - `standard_error` = √(tr Cov(ḡ) + tr Cov(reference)) / ‖∇V_μ‖, the Monte-Carlo noise floor of
///   `relative_error` (an unbiased estimator has relative_error ≈ standard_error; a larger error is bias).
public enum GradientMeasurement {
    /// The question the study's report opens with, answered by the trend of the error along M.
    public static let question = StudyQuestion(
        question: "Does the mean of ZPG's gradient estimates agree with the exact gradient of the μ-smoothed value on a small GridWorld, and does the bias of a finite Bradley-Terry panel vanish as the number of evaluators M grows?",
        answer: .trend)

    /// Seeds of a default run (each a random θ).
    public static let defaultSeeds: [UInt64] = [1, 2, 3, 4, 5]

    /// The panel sizes swept.
    public static func evaluators(quick: Bool) -> [Int] { quick ? [2, 10, 100] : [2, 10, 100, 1000] }

    /// ZPG estimates averaged per (variant, M, seed).
    public static func estimates(quick: Bool) -> Int { quick ? 4_000 : 200_000 }

    /// Sphere directions of the exact reference ∇V_μ.
    public static func referenceDirections(quick: Bool) -> Int { quick ? 4_000 : 200_000 }

    /// Perturbation radius μ.
    public static let mu = 2.0

    /// Trajectory pairs N per estimate.
    public static let pairs = 8

    /// The map of the measurement's GridWorld.
    public static let map = "S.\n.G"

    /// The measurement's GridWorld: ``map`` with slip 0.2, H = 4, step reward −0.1.
    public static func environment() -> GridWorld {
        try! GridWorld(map: map, options: .init(slip: 0.2, horizon: 4, stepReward: -0.1))
    }

    /// Runs the measurement for every seed, one after another.
    public static func run(seeds: [UInt64], quick: Bool) -> [MeasurementRow] {
        run(seeds: seeds, quick: quick, threads: 1)
    }

    /// Runs the measurement with the seeds spread over up to `threads` threads; the rows do not
    /// depend on `threads` (each seed is its own work item).
    public static func run(seeds: [UInt64], quick: Bool, threads: Int) -> [MeasurementRow] {
        Parallel.map(seeds.count, threads: threads) { measure(seed: seeds[$0], quick: quick) }.flatMap { $0 }
    }

    /// Per-coordinate means and the trace of the covariance of their mean.
    struct VectorMoments {
        var sum: [Double]
        var sumSquares: [Double]
        var count = 0

        init(dimension: Int) {
            sum = [Double](repeating: 0, count: dimension)
            sumSquares = sum
        }

        mutating func add(_ x: [Double]) {
            for i in 0..<x.count { sum[i] += x[i]; sumSquares[i] += x[i] * x[i] }
            count += 1
        }

        var mean: [Double] { sum.map { $0 / Double(count) } }

        /// Σ_i Var(mean_i) (unbiased sample variances / count).
        var traceCovarianceOfMean: Double {
            let n = Double(count)
            var t = 0.0
            for i in 0..<sum.count {
                let m = sum[i] / n
                t += max(sumSquares[i] / n - m * m, 0) * n / (n - 1) / n
            }
            return t
        }
    }

    /// The exact μ-smoothed gradient at θ by Monte Carlo with exact values (see the type's notes).
    static func smoothedGradient(env: GridWorld, family: TabularSoftmax, theta: [Double], mu: Double,
                                 directions: Int, seed: UInt64) -> VectorMoments {
        let d = theta.count
        let exactGradient = env.model.advantageOccupancy(policy: family.probabilities(theta))
        var rng = Xoshiro256(seed: seed, stream: 0x67_7261_64, 2)
        var moments = VectorMoments(dimension: d)
        var plus = theta, minus = theta, sample = theta
        for _ in 0..<directions {
            let v = rng.unitSphere(dimension: d)
            for i in 0..<d { plus[i] = theta[i] + mu * v[i]; minus[i] = theta[i] - mu * v[i] }
            let difference = env.model.value(policy: family.probabilities(plus)) - env.model.value(policy: family.probabilities(minus))
            let scale = Double(d) / mu * 0.5 * difference - Double(d) * VectorMath.dot(v, exactGradient)
            for i in 0..<d { sample[i] = scale * v[i] + exactGradient[i] }
            moments.add(sample)
        }
        return moments
    }

    /// The rows of one seed.
    static func measure(seed: UInt64, quick: Bool) -> [MeasurementRow] {
        let env = environment()
        let family = TabularSoftmax(stateCount: env.stateCount, actionCount: env.actionCount)
        let d = family.parameterCount
        var thetaRng = Xoshiro256(seed: seed, stream: 0x67_7261_64, 1)
        let theta = (0..<d).map { _ in 0.5 * thetaRng.normal() }
        let reference = smoothedGradient(env: env, family: family, theta: theta, mu: mu,
                                         directions: referenceDirections(quick: quick), seed: seed)
        let exact = reference.mean
        let exactNorm = VectorMath.norm(exact)
        var hyper = ZPGHyperparameters()
        hyper.mu = mu
        hyper.alpha = 1
        hyper.pairs = pairs
        let count = estimates(quick: quick)
        var rows: [MeasurementRow] = []
        for variant in ["panel", "noiseless"] {
            for m in evaluators(quick: quick) {
                // Fixed, valid settings: a failure here is a bug, not a measurement to skip silently.
                guard let panel = try? EvaluatorPanel(link: .bradleyTerry, evaluators: m, noiseless: variant == "noiseless"),
                      var zpg = try? ZPG(env: env, family: family, panel: panel, hyper: hyper, seed: seed),
                      var ledger = try? QueryLedger(budget: Limits.budget) else {
                    preconditionFailure("gradient measurement: cannot build ZPG with M = \(m)")
                }
                var moments = VectorMoments(dimension: d)
                var estimate = theta
                for t in 0..<count {
                    zpg.parameters = theta
                    guard (try? zpg.iterate(t, ledger: &ledger)) != nil else { break }
                    for i in 0..<d { estimate[i] = zpg.parameters[i] - theta[i] }
                    moments.add(estimate)
                }
                let mean = moments.mean
                let error = VectorMath.distance(mean, exact) / exactNorm
                let se = (moments.traceCovarianceOfMean + reference.traceCovarianceOfMean).squareRoot() / exactNorm
                let x = Double(m)
                rows.append(MeasurementRow(variant: variant, xName: "evaluators", x: x, seed: seed, metric: "relative_error", y: error))
                rows.append(MeasurementRow(variant: variant, xName: "evaluators", x: x, seed: seed, metric: "cosine", y: VectorMath.cosine(mean, exact)))
                rows.append(MeasurementRow(variant: variant, xName: "evaluators", x: x, seed: seed, metric: "standard_error", y: se))
            }
        }
        return rows
    }
}
