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

    // MARK: - Online RM + PPO's incremental refit

    /// Online RM + PPO on `classic` with fixed rounds of 40 pairs (M = 2), one short PPO update a
    /// round and a tabular reward: cheap rounds whose data grows.
    static func smallOnline(stepsPerRound: Int?, seed: UInt64 = 1) throws -> RewardModelPPO<GridWorld, NeuralSoftmaxPolicy> {
        let env = try Classic.gridWorld()
        let panel = try EvaluatorPanel(link: .bradleyTerry, evaluators: 2)
        var hyper = RewardModelPPOHyperparameters()
        hyper.pairsPerRound = 40
        hyper.ppoUpdatesPerRound = 1
        hyper.ppo = .gridWorld
        hyper.ppo.stepsPerUpdate = 64
        hyper.rewardModel.hidden = []
        hyper.rewardModel.epochs = 2
        hyper.rewardModel.stepsPerRound = stepsPerRound
        return try RewardModelPPO(env: env, policy: Classic.tabularPolicy(env, seed: 1), panel: panel, hyper: hyper,
                                  seed: seed, online: true, budget: 40 * 2 * 6)
    }

    @Test("online RM + PPO: the refits' steps stop growing with the data at steps-per-round")
    func boundedRefit() throws {
        var opt = try Self.smallOnline(stepsPerRound: 7)
        var ledger = try QueryLedger(budget: 40 * 2 * 6)
        var perRound: [Int] = []
        for t in 0..<6 {
            let before = opt.rewardSteps
            _ = try opt.iterate(t, ledger: &ledger)
            perRound.append(opt.rewardSteps - before)
            // 40 new pairs a round, ⌊0.1 · 40⌋ = 4 of them held out: the replay grows by 36.
            #expect(opt.featurizedPairs.count == 40 * (t + 1) && opt.replay.count == 36 * (t + 1))
            #expect(Set(opt.replay).count == opt.replay.count && opt.replay.allSatisfy { $0 < opt.featurizedPairs.count })
            if t > 0 {
                // The report covers the round's new pairs only.
                #expect(opt.lastFit?.trainPairs == 36 && opt.lastFit?.validationPairs == 4 && opt.lastFit?.steps == perRound[t])
            }
        }
        // Round 0 fits from scratch: 2 epochs of ⌈36 / 32⌉ = 2 minibatches. Then as many as 2
        // epochs over the replay would take (2 · ⌈72 / 32⌉ = 6 in round 1), at most 7: from
        // round 2 on the work no longer grows with the data.
        #expect(perRound == [4, 6, 7, 7, 7, 7], "\(perRound)")

        // Without stepsPerRound (the refit before issue 13) every round makes 2 epochs over all
        // the training pairs so far, 2 · ⌈36 (t + 1) / 32⌉ steps: the work grows with the data.
        var full = try Self.smallOnline(stepsPerRound: nil)
        ledger = try QueryLedger(budget: 40 * 2 * 6)
        perRound = []
        for t in 0..<6 {
            let before = full.rewardSteps
            _ = try full.iterate(t, ledger: &ledger)
            perRound.append(full.rewardSteps - before)
        }
        #expect(perRound == [4, 6, 8, 10, 12, 14], "\(perRound)")
    }

    @Test("online RM + PPO: a copy taken between rounds continues exactly as the uninterrupted run")
    func continuesFromCopy() throws {
        func state(_ o: RewardModelPPO<GridWorld, NeuralSoftmaxPolicy>) -> [Double] {
            o.parameters + o.rewardModel.network.parameters + o.ppo.valueNetwork.parameters + [Double(o.rewardSteps)]
        }
        var straight = try Self.smallOnline(stepsPerRound: 7, seed: 5)
        var ledger = try QueryLedger(budget: 40 * 2 * 6)
        for t in 0..<6 { _ = try straight.iterate(t, ledger: &ledger) }

        var first = try Self.smallOnline(stepsPerRound: 7, seed: 5)
        var ledger1 = try QueryLedger(budget: 40 * 2 * 6)
        for t in 0..<3 { _ = try first.iterate(t, ledger: &ledger1) }
        var resumed = first, ledger2 = ledger1
        // The original goes on differently (another round index): nothing it shares with the
        // copy may carry over.
        _ = try first.iterate(5, ledger: &ledger1)
        for t in 3..<6 { _ = try resumed.iterate(t, ledger: &ledger2) }
        #expect(state(resumed) == state(straight))
        #expect(resumed.replay == straight.replay && resumed.lastFit?.trainLoss == straight.lastFit?.trainLoss && ledger2.used == ledger.used)
    }

    @Test("steps per round: RM + PPO's default, in its configuration JSON, validated; files without it read as the former refit")
    func stepsPerRoundSetting() throws {
        let h = RewardModelPPOHyperparameters()
        #expect(h.rewardModel.stepsPerRound == RewardModelPPOHyperparameters.defaultRewardStepsPerRound)
        let data = try JSONEncoder().encode(h)
        let object = try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
        let reward = try #require(object["rewardModel"] as? [String: Any])
        #expect(reward["stepsPerRound"] as? Int == RewardModelPPOHyperparameters.defaultRewardStepsPerRound)
        #expect(try JSONDecoder().decode(RewardModelPPOHyperparameters.self, from: data) == h)
        // A file written before the field existed ran the all-data refit, and reads as it.
        var old = object, oldReward = reward
        oldReward["stepsPerRound"] = nil
        old["rewardModel"] = oldReward
        let decoded = try JSONDecoder().decode(RewardModelPPOHyperparameters.self, from: JSONSerialization.data(withJSONObject: old))
        #expect(decoded.rewardModel.stepsPerRound == nil && decoded.rewardModel.epochs == h.rewardModel.epochs)
        var bad = h
        bad.rewardModel.stepsPerRound = 0
        #expect(throws: RLHFError.self) { try bad.validate() }
        // The CLI's --set reaches it by name and validates it like every other field.
        let r = try CLI.run(["train", "--algorithm", "rm-ppo", "--set", "rm-ppo.reward-model.steps-per-round=0", "--quiet"])
        #expect(r.status != 0 && r.stderr.contains("reward steps per round"), "\(r.stderr)")
        // The run's configuration names it; null selects the all-data refit (and reads back so).
        func rewardSettings(_ extra: [String]) throws -> [String: Any] {
            let run = try CLI.run(["train", "--algorithm", "rm-ppo", "--pairs-per-round", "1", "--ppo-updates", "1",
                                   "--ppo-steps", "10", "--queries", "2", "--evaluators", "1", "--json", "--quiet"] + extra)
            #expect(run.status == 0, "\(run.stderr)")
            let summary = try #require(try JSONSerialization.jsonObject(with: Data(run.stdout.utf8)) as? [String: Any])
            let configuration = try #require(summary["configuration"] as? [String: Any])
            let rmPPO = try #require(configuration["rm_ppo"] as? [String: Any])
            return try #require(rmPPO["reward_model"] as? [String: Any])
        }
        #expect(try rewardSettings([])["steps_per_round"] as? Int == RewardModelPPOHyperparameters.defaultRewardStepsPerRound)
        #expect(try rewardSettings(["--set", "rm-ppo.reward-model.steps-per-round=null"])["steps_per_round"] == nil)
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
