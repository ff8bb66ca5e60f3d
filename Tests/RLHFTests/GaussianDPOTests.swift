import Foundation
import Testing
@testable import RLHF
import RLHFTestSupport

/// DPO on a box of actions: the censored Gaussian likelihood of executed (clipped) actions, its
/// gradient, DPO's loss on box pairs and the runs through the trainer.
@Suite("DPO on a box of actions")
struct GaussianDPOTests {
    static func policy(dim: Int, logStd: [Double], seed: UInt64 = 17) -> GaussianPolicy {
        var rng = Xoshiro256(seed: seed)
        // A random (nonzero) last layer, so that the mean depends on the state.
        return GaussianPolicy(featureCount: 3, hidden: [5], low: [Double](repeating: -1, count: dim),
                              high: [Double](repeating: 1, count: dim), zeroMeanStart: false, using: &rng)
            .with(logStd: logStd)
    }

    /// log π(a|s) of executed actions, one row, under θ.
    static func executed(_ p: GaussianPolicy, _ theta: [Double], _ x: [Double], _ a: [Double]) -> Double {
        let w = GaussianPolicyWorkspace(for: p, capacity: 1)
        var out = [0.0]
        x.withUnsafeBufferPointer { xb in
            a.withUnsafeBufferPointer { ab in
                theta.withUnsafeBufferPointer { t in
                    out.withUnsafeMutableBufferPointer {
                        p.executedLogProbabilities(features: xb, actions: ab, workspace: w, into: $0, parameters: t)
                    }
                }
            }
        }
        return out[0]
    }

    @Test("inside the box the density, at a bound log Φ of the mass beyond it (hand values)")
    func closedForm() {
        // Zero mean, σ = 0.5, box [−2, 2]: a = 2 has mass P(u ≥ 2) = Φ(−4), ln Φ(−4) = −10.36010148652729
        // (Python: math.log(0.5 * math.erfc(4 / math.sqrt(2)))); so has a = −2 by symmetry.
        var rng = Xoshiro256(seed: 5)
        let zero = GaussianPolicy(featureCount: 3, hidden: [4], low: [-2], high: [2], initialLogStd: log(0.5), using: &rng)
        let x = [1.0, 0, 0.3]
        #expect(abs(Self.executed(zero, zero.parameters, x, [2]) - (-10.36010148652729)) < 1e-12)
        #expect(abs(Self.executed(zero, zero.parameters, x, [-2]) - (-10.36010148652729)) < 1e-12)
        // Inside: the Gaussian density, as logProbability scores an unclipped sample.
        #expect(Self.executed(zero, zero.parameters, x, [1]) == zero.logProbability(features: x, action: [1]))
        // Two dimensions, one at a bound and one inside: the sum of the two terms.
        let p = Self.policy(dim: 2, logStd: [-0.3, 0.2])
        let y = [0.6, 0.8, -1.2]
        let m = p.mean(features: y)
        let upper = Loss.logNormalCDF((m[0] - 1) / exp(-0.3)).0
        let z = (0.25 - m[1]) / exp(0.2)
        let inside = -0.5 * z * z - 0.2 - 0.5 * log(2 * .pi)
        #expect(abs(Self.executed(p, p.parameters, y, [1, 0.25]) - (upper + inside)) < 1e-13)
    }

    /// It is the probability of what the clipped policy executes: the share of clipped samples
    /// at the upper bound matches exp(log π(high|s)). Mean 1.5, σ = 1, box [−2, 2]: P = Φ(−0.5)
    /// = 0.3085; with 10⁵ samples the standard error is √(P(1 − P)/n) ≈ 0.0015, the bar 4 SE.
    @Test("the mass at a bound is the share of clipped samples there")
    func massMatchesSampling() {
        var rng = Xoshiro256(seed: 6)
        var p = GaussianPolicy(featureCount: 1, hidden: [], low: [-2], high: [2], using: &rng)
        p.parameters = [0, 1.5, 0]   // weight 0, bias 1.5: mean 1.5 everywhere; log-std 0
        let mass = exp(Self.executed(p, p.parameters, [0.7], [2]))
        #expect(abs(mass - 0.3085375387259869) < 1e-12)
        let n = 100_000
        var atBound = 0
        for _ in 0..<n where p.sampleAction(features: [0.7], using: &rng)[0] == 2 { atBound += 1 }
        let share = Double(atBound) / Double(n)
        let se = (mass * (1 - mass) / Double(n)).squareRoot()
        #expect(abs(share - mass) < 4 * se, "share \(share), mass \(mass), SE \(se)")
    }

    /// Central differences (h = 1e-5) against the analytic gradient, for actions inside the box
    /// and at both bounds, in 1–3 dimensions; rows weighted and batched.
    @Test("∇_θ of the executed-action log-likelihood matches finite differences", arguments: [1, 2, 3])
    func gradientFiniteDifferences(dim: Int) {
        var p = Self.policy(dim: dim, logStd: Array([-0.3, 0.2, -1.1].prefix(dim)), seed: UInt64(30 + dim))
        var rng = Xoshiro256(seed: UInt64(200 + dim))
        let rows = 6
        let xs = (0..<rows).map { _ in NeuralTestSupport.randomArray(3, &rng) }
        // Each coordinate inside, at the lower bound or at the upper one, by turns.
        let actions = (0..<rows).map { r in (0..<dim).map { i -> Double in
            switch (r + i) % 3 { case 0: return -1; case 1: return 1; default: return 0.9 * (2 * rng.uniform() - 1) }
        } }
        let weights = (0..<rows).map { _ in rng.normal() }
        func objective(_ theta: [Double]) -> Double {
            (0..<rows).reduce(0.0) { $0 + weights[$1] * Self.executed(p, theta, xs[$1], actions[$1]) }
        }
        let w = GaussianPolicyWorkspace(for: p, capacity: 1)
        let fx = xs.flatMap { $0 }, fa = actions.flatMap { $0 }
        p.zeroGradients()
        let total = fx.withUnsafeBufferPointer { x in
            fa.withUnsafeBufferPointer { a in
                weights.withUnsafeBufferPointer { p.accumulateExecutedLogProbabilityGradient(features: x, actions: a, weights: $0, workspace: w) }
            }
        } as Double
        #expect(abs(total - objective(p.parameters)) < 1e-12)
        let numeric = NeuralTestSupport.numericalGradient(p.parameters, objective)
        let error = NeuralTestSupport.maxError(p.gradients, numeric)
        #expect(error < 1e-6, "max mixed error \(error)")
        #expect(numeric[p.logStdOffset...].contains { abs($0) > 1e-3 })   // the check is not vacuous
    }

    /// DPO's minibatch loss and gradient on box pairs (collected as the trainer collects them,
    /// actions clipped) against the loss computed row by row and finite differences.
    @Test("DPO's loss gradient on box pairs matches finite differences")
    func dpoLossGradient() throws {
        let env = ActionClipping(Pendulum(horizon: 6))
        var rng = Xoshiro256(seed: 8)
        var policy = GaussianPolicy(featureCount: env.featureCount, hidden: [4], low: [-2], high: [2], initialLogStd: 0.3,
                                    zeroMeanStart: false, using: &rng)
        var c = TrainConfiguration()
        c.evaluators = 1
        let panel = try c.makePanel()
        var data = PreferenceDataset<Pendulum.State>()
        var ledger = try QueryLedger(budget: 5)
        _ = try policy.collectPairs(5, into: &data, env: env, panel: panel, source: panel, name: "test", ledger: &ledger,
                                    seed: 3, stream: 0, segmentLength: nil)
        let vectors = data.pairs.flatMap { $0.first.boxActions! + $0.second.boxActions! }
        #expect(vectors.contains { $0[0] == 2 || $0[0] == -2 } && vectors.contains { abs($0[0]) < 2 })   // bounds and inside
        let references = (0..<(2 * data.pairs.count)).map { _ in -4 + rng.normal() }
        let beta = 0.6
        func naiveLoss(_ theta: [Double]) -> Double {
            func logProbability(_ t: Trajectory<Pendulum.State>) -> Double {
                var x = [Double](repeating: 0, count: env.featureCount)
                return zip(t.states, t.boxActions!).reduce(0.0) { sum, step in
                    x.withUnsafeMutableBufferPointer { env.features(of: step.0, into: $0) }
                    return sum + Self.executed(policy, theta, x, step.1)
                }
            }
            var total = 0.0
            for (k, pair) in data.pairs.enumerated() {
                let h = (logProbability(pair.second) - references[2 * k + 1]) - (logProbability(pair.first) - references[2 * k])
                total += DPOLoss.value(h: h, label: pair.label, beta: beta)
            }
            return total / Double(data.pairs.count)
        }
        var batch = DPOBatch<GaussianPolicy>()
        for (k, pair) in data.pairs.enumerated() { batch.append(pair, references: references[2 * k], references[2 * k + 1], env: env) }
        let workspace = GaussianPolicyWorkspace(for: policy, capacity: 2)
        policy.gradients = policy.gradients.map { _ in 123 }   // must be overwritten
        let loss = DPO<ActionClipping<Pendulum>, GaussianPolicy>.lossAndGradient(&batch, policy: &policy, beta: beta, workspace: workspace)
        #expect(abs(loss - naiveLoss(policy.parameters)) < 1e-12)
        let numeric = NeuralTestSupport.numericalGradient(policy.parameters, naiveLoss)
        let error = NeuralTestSupport.maxError(policy.gradients, numeric)
        #expect(error < 1e-6, "max error \(error)")
        #expect(numeric.contains { abs($0) > 1e-3 })
    }

    /// Online DPO on pendulum: rounds of fresh pairs until the budget is spent, every pair two
    /// 30-step episodes, the same numbers on 1 and 2 threads, the settings reported; offline
    /// DPO buys its pairs once and trains its epochs.
    @Test func onlineAndOfflineDPORun() throws {
        var c = ContinuousTrainingTests.configuration(.onlineDPO)
        c.budget = 120
        var hyper = DPOHyperparameters()
        hyper.pairsPerRound = 40
        hyper.epochs = 2
        c.dpo = hyper
        let a = try Trainer.run(c)
        c.threads = 2
        let b = try Trainer.run(c)
        #expect(a.state.parameters == b.state.parameters && a.summary.finalValue == b.summary.finalValue)
        #expect(a.summary.queriesUsed == 120 && a.summary.iterations == 3 && a.summary.envSteps == 120 * 60)
        #expect(a.summary.configuration.dpo == hyper && a.summary.finalValue.isFinite)
        #expect(a.state.parameters != (try Trainer.gaussianFamily(Pendulum(horizon: 30), c)).policy.parameters)
        var offline = ContinuousTrainingTests.configuration(.dpo)
        offline.budget = 50
        let o = try Trainer.run(offline)
        let tuned = DPOHyperparameters.offlineTuned
        #expect(o.summary.queriesUsed == 50 && o.summary.iterations == tuned.offlineEpochs && o.summary.envSteps == 50 * 60)
        #expect(o.summary.configuration.dpo == tuned)
    }
}

extension GaussianPolicy {
    /// A copy with the log-std vector ℓ.
    func with(logStd: [Double]) -> GaussianPolicy {
        var p = self
        p.logStd = logStd
        return p
    }
}
