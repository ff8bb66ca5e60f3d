import Testing
@testable import RLHF
import RLHFTestSupport

@Suite("Reward model")
struct RewardModelTests {
    /// Pairs from the uniform policy on `classic`, labeled by a Bradley-Terry panel.
    static func dataset(pairs: Int, seed: UInt64) throws -> (GridWorld, [FeaturizedPair]) {
        let env = try Classic.gridWorld()
        let panel = try Classic.panel()
        var ledger = try QueryLedger(budget: pairs * 10)
        var actor = TabularActor(logits: [Double](repeating: 0, count: env.stateCount * 4), actionCount: 4)
        var other = actor
        var data = PreferenceDataset<Int>()
        try data.collect(pairs, env: env, actor0: &actor, actor1: &other, panel: panel, ledger: &ledger, seed: seed, stream: 1)
        #expect(ledger.used == pairs * 10 && data.queriesPaid == pairs * 10)
        return (env, data.pairs.map { FeaturizedPair($0, env: env) })
    }

    @Test("a tabular reward model recovers the true preferences on held-out pairs", arguments: [[Int](), [32]])
    func recoversPreferences(hidden: [Int]) throws {
        let (env, pairs) = try Self.dataset(pairs: 3000, seed: 4)
        var hyper = RewardModelHyperparameters()
        hyper.hidden = hidden
        hyper.epochs = 15
        hyper.learningRate = 1e-2
        hyper.validationFraction = 0.2
        var rng = Xoshiro256(seed: 1)
        var model = RewardModel(featureCount: env.featureCount, actionCount: 4, hyper: hyper, using: &rng)
        let before = model.assess(pairs)
        let report = model.fit(pairs, seed: 9)
        #expect(report.validationPairs == 600)
        #expect(report.trainLoss < before.loss)
        // Chance is 50%. Uniform-policy pairs on classic mostly differ a lot in return (goal vs
        // trap vs timeout), but pairs of two time-outs differ by a few step costs, which ten
        // Bradley-Terry votes cannot resolve; the fitted models order ≈ 90% of held-out pairs
        // correctly, and we require 85% (600 pairs: a binomial SE of about 1.3%).
        #expect(report.validationAccuracy >= 0.85, "\(report)")
    }

    @Test("one step's gradient matches finite differences of the batch loss")
    func gradient() throws {
        let (env, pairs) = try Self.dataset(pairs: 6, seed: 2)
        var hyper = RewardModelHyperparameters()
        hyper.hidden = [5]
        hyper.discount = 0.9
        var rng = Xoshiro256(seed: 3)
        var model = RewardModel(featureCount: env.featureCount, actionCount: 4, hyper: hyper, using: &rng)
        for i in model.network.parameters.indices { model.network.parameters[i] += 0.1 * rng.normal() }
        func loss(_ m: RewardModel) -> Double { m.assess(pairs).loss }
        // Compute the analytic gradient with SGD lr 1: Δθ = −∇L.
        let theta = model.network.parameters
        let ws = MLPWorkspace(for: model.network, capacity: 64)
        var probe = model
        probe.optimizer = Adam(parameterCount: theta.count, learningRate: 0)   // no move, just gradients
        probe.step(on: pairs[...], workspace: ws)
        let grad = probe.network.gradients
        let h = 1e-6
        for i in stride(from: 0, to: theta.count, by: 7) {
            var plus = model, minus = model
            plus.network.parameters[i] += h
            minus.network.parameters[i] -= h
            let fd = (loss(plus) - loss(minus)) / (2 * h)
            #expect(abs(fd - grad[i]) < 1e-6 * max(1, abs(fd)), "parameter \(i): fd \(fd), analytic \(grad[i])")
        }
    }

    @Test("datasets round-trip through JSON Lines")
    func jsonLines() throws {
        let env = try Classic.gridWorld()
        let panel = try EvaluatorPanel(link: .bradleyTerry, evaluators: 3)
        var ledger = try QueryLedger(budget: 30)
        var a = TabularActor(logits: [Double](repeating: 0, count: 92), actionCount: 4), b = a
        var data = PreferenceDataset<Int>()
        try data.collect(10, env: env, actor0: &a, actor1: &b, panel: panel, ledger: &ledger, seed: 1, stream: 0)
        #expect(throws: RLHFError.self) { try data.collect(1, env: env, actor0: &a, actor1: &b, panel: panel, ledger: &ledger, seed: 1, stream: 1) }
        let path = "/tmp/rlhf-dataset-\(getpid()).jsonl"
        try data.save(to: path)
        let loaded = try PreferenceDataset<Int>.load(from: path)
        #expect(loaded.count == 10 && loaded.queriesPaid == 30)
        #expect(loaded.pairs.map(\.label) == data.pairs.map(\.label))
        #expect(loaded.pairs.map(\.second.actions) == data.pairs.map(\.second.actions))
        try "{\"bad\": 1}\n".write(toFile: path, atomically: true, encoding: .utf8)
        #expect(throws: RLHFError.self) { try PreferenceDataset<Int>.load(from: path) }
    }
}

import Foundation
