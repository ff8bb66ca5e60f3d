import Foundation
import Testing
@testable import RLHF
import RLHFTestSupport

@Suite("PPO and RM + PPO")
struct PPOTests {
    // MARK: - The objective's pieces against hand computation

    @Test("the clipped surrogate inside and outside the clip range, for both signs of the advantage")
    func clippedSurrogate() {
        let eps = 0.2
        // (ratio, advantage) → (min(ρA, clip(ρ)A), d/dρ)
        let cases: [(Double, Double, Double, Double)] = [
            (1.1, 2, 2.2, 2),     // inside the range: unclipped
            (1.5, 2, 2.4, 0),     // A > 0, ρ > 1 + ε: clipped at 1.2·2, no gradient
            (0.5, 2, 1.0, 2),     // A > 0, ρ < 1 − ε: the unclipped term is smaller, gradient kept
            (0.9, -1, -0.9, -1),  // inside the range
            (0.5, -1, -0.8, 0),   // A < 0, ρ < 1 − ε: clipped at 0.8·(−1)
            (1.5, -1, -1.5, -1),  // A < 0, ρ > 1 + ε: unclipped is smaller, gradient kept
            (1.3, 0, 0, 0),
        ]
        for (ratio, adv, objective, gradient) in cases {
            let r = PPOLoss.clippedSurrogate(ratio: ratio, advantage: adv, clip: eps)
            #expect(abs(r.objective - objective) < 1e-12, "ρ \(ratio), A \(adv): \(r.objective) ≠ \(objective)")
            #expect(r.ratioGradient == gradient, "ρ \(ratio), A \(adv): gradient \(r.ratioGradient) ≠ \(gradient)")
        }
        // The batch loss: −mean of the objectives, gradient −ρ·dL/dρ / n per log-probability.
        let ratios = [1.1, 1.5, 0.5, 0.5]
        let adv = [2.0, 2.0, 2.0, -1.0]
        let old = [-1.0, -0.5, -2.0, -0.7]
        let new = zip(old, ratios).map { $0 + log($1) }
        let (loss, grad) = PPOLoss.policyLoss(newLogProbabilities: new, oldLogProbabilities: old, advantages: adv, clip: eps)
        #expect(abs(loss - -(2.2 + 2.4 + 1.0 - 0.8) / 4) < 1e-12)
        let expected = [-1.1 * 2 / 4, 0, -0.5 * 2 / 4, 0]
        for i in 0..<4 { #expect(abs(grad[i] - expected[i]) < 1e-12) }
    }

    @Test("the clipped value loss")
    func valueLoss() {
        // Unclipped: ½(v − R)².
        #expect(PPOLoss.valueLoss(value: 2, oldValue: 0, target: 1, clip: nil) == (0.5, 1))
        // v moved 0.5 away from v_old = 1 towards nothing useful: clipped prediction 1.2, target 3:
        // ½·max((1.5 − 3)², (1.2 − 3)²) = ½·3.24, and the clipped branch has no gradient.
        let a = PPOLoss.valueLoss(value: 1.5, oldValue: 1, target: 3, clip: 0.2)
        #expect(abs(a.loss - 1.62) < 1e-12 && a.valueGradient == 0)
        // Inside the clip range both branches coincide: ½(v − R)².
        let b = PPOLoss.valueLoss(value: 1.1, oldValue: 1, target: 3, clip: 0.2)
        #expect(abs(b.loss - 0.5 * 1.9 * 1.9) < 1e-12 && abs(b.valueGradient - -1.9) < 1e-12)
    }

    @Test("GAE against a hand-computed episode, terminated and bootstrapped")
    func gae() {
        let r = [1.0, 0, 2], v = [0.5, 1.0, 1.5]
        // γ = 0.9, λ = 0.8, γλ = 0.72. Terminated: δ₂ = 2 − 1.5 = 0.5, δ₁ = 0.9·1.5 − 1 = 0.35,
        // δ₀ = 1 + 0.9·1 − 0.5 = 1.4; Â₂ = 0.5, Â₁ = 0.35 + 0.72·0.5 = 0.71, Â₀ = 1.4 + 0.72·0.71 = 1.9112.
        let term = PPOLoss.generalizedAdvantages(rewards: r, values: v, finalValue: 0, gamma: 0.9, lambda: 0.8)
        for (a, e) in zip(term.advantages, [1.9112, 0.71, 0.5]) { #expect(abs(a - e) < 1e-12) }
        for (x, e) in zip(term.returns, [2.4112, 1.71, 2.0]) { #expect(abs(x - e) < 1e-12) }
        // Bootstrapped from V(s₃) = 2: δ₂ = 2 + 1.8 − 1.5 = 2.3, Â₁ = 0.35 + 0.72·2.3 = 2.006,
        // Â₀ = 1.4 + 0.72·2.006 = 2.84432.
        let boot = PPOLoss.generalizedAdvantages(rewards: r, values: v, finalValue: 2, gamma: 0.9, lambda: 0.8)
        for (a, e) in zip(boot.advantages, [2.84432, 2.006, 2.3]) { #expect(abs(a - e) < 1e-12) }
        // λ = 1, γ = 1: Monte-Carlo returns minus the baseline (4 steps).
        let mc = PPOLoss.generalizedAdvantages(rewards: [1, -1, 3, 0.5], values: [2, 1, 0, 4], finalValue: 0, gamma: 1, lambda: 1)
        for (a, e) in zip(mc.advantages, [3.5 - 2, 2.5 - 1, 3.5 - 0, 0.5 - 4]) { #expect(abs(a - e) < 1e-12) }
        // λ = 0: one-step TD errors.
        let td = PPOLoss.generalizedAdvantages(rewards: r, values: v, finalValue: 2, gamma: 0.9, lambda: 0)
        for (a, e) in zip(td.advantages, [1.4, 0.35, 2.3]) { #expect(abs(a - e) < 1e-12) }
    }

    @Test("the minibatch loss gradient matches finite differences (policy and critic)")
    func lossGradient() throws {
        var hyper = PPOHyperparameters()
        hyper.stepsPerUpdate = 40
        hyper.clipCoefficient = 0.1
        hyper.entropyCoefficient = 0.05
        hyper.truncation = .timeAware
        hyper.valueHidden = [5]
        var rng = Xoshiro256(seed: 5)
        let policy = NeuralSoftmaxPolicy(featureCount: 4, hidden: [6], actionCount: 2, uniformStart: false, using: &rng)
        var ppo = try PPO(env: CartPole(), policy: policy, hyper: hyper, seed: 3)
        var batch = ppo.collect(update: 0)
        ppo.prepare(&batch)
        // Move both networks away from the rollout's, so that ratios leave [0.9, 1.1] and values
        // leave the clip range for some samples.
        for i in ppo.policy.network.parameters.indices { ppo.policy.network.parameters[i] += 0.3 * rng.normal() }
        for i in ppo.valueNetwork.parameters.indices { ppo.valueNetwork.parameters[i] += 0.3 * rng.normal() }
        let indices = Array(0..<batch.count)[...]
        let scratch = PPOScratch(policy: ppo.policy, valueNetwork: ppo.valueNetwork)
        let result = ppo.lossAndGradients(batch, indices: indices, scratch: scratch)
        #expect(result.clipped > 0 && result.clipped < batch.count, "clipped \(result.clipped) of \(batch.count)")
        let policyGradient = ppo.policy.network.gradients, valueGradient = ppo.valueNetwork.gradients
        let numeric = ppo.numericalLossGradients(batch, indices: indices, scratch: scratch)
        #expect(NeuralTestSupport.maxError(policyGradient, numeric.policy) < 1e-6)
        #expect(NeuralTestSupport.maxError(valueGradient, numeric.value) < 1e-6)
    }

    @Test("hyperparameters reject negative and non-finite values")
    func validation() throws {
        var h = PPOHyperparameters()
        try h.validate()
        try PPOHyperparameters.gridWorld.validate()
        h.learningRate = .nan
        #expect(throws: RLHFError.self) { try h.validate() }
        h = PPOHyperparameters(); h.entropyCoefficient = -0.1
        #expect(throws: RLHFError.self) { try h.validate() }
        h = PPOHyperparameters(); h.gaeLambda = 1.5
        #expect(throws: RLHFError.self) { try h.validate() }
        h = PPOHyperparameters(); h.minibatches = 0
        #expect(throws: RLHFError.self) { try h.validate() }
        h = PPOHyperparameters(); h.maxGradientNorm = .infinity
        #expect(throws: RLHFError.self) { try h.validate() }
        var r = RewardModelPPOHyperparameters(); r.pairsPerRound = 0
        #expect(throws: RLHFError.self) { try r.validate() }
        r = RewardModelPPOHyperparameters(); r.ppo.clipCoefficient = -1
        #expect(throws: RLHFError.self) { try r.validate() }
        // A budget below one pair's M queries cannot label anything.
        let env = try Classic.gridWorld()
        let panel = try EvaluatorPanel(link: .bradleyTerry, evaluators: 10)
        #expect(throws: RLHFError.self) {
            _ = try RewardModelPPO(env: env, policy: Classic.tabularPolicy(env, seed: 1), panel: panel, seed: 1, online: false, budget: 9)
        }
    }

    // MARK: - Learning

    @Test("PPO with the true reward solves classic (exact normalized value ≥ 0.95)")
    func solvesClassic() throws {
        let env = try Classic.gridWorld()
        let policy = Classic.tabularPolicy(env, seed: 1)
        // 60 updates of ≥ 512 steps ≈ 31k environment steps; in release builds 0.95 is reached
        // after ≈ 10–16k steps (seeds 1–2).
        var opt = try PPOTrueReward(env: env, policy: policy, hyper: .gridWorld, updates: 60, seed: 1)
        let loop = TrainingLoop(evaluateEvery: 60, evaluate: { (Classic.normalizedValue($0, env: env, policy: policy), nil) },
                                normalize: { $0 })
        var ledger = try QueryLedger(budget: 1)
        let state = try loop.run(&opt, ledger: &ledger)
        #expect(ledger.used == 0 && state.iteration == 60)
        let value = state.records.last!.value
        #expect(value >= 0.95, "normalized value \(value)")
    }

    /// CartPole: ≈ 25–30 s in a release build, several minutes in debug; run with
    /// `RLHF_SLOW_TESTS=1`.
    @Test("PPO with the true reward solves CartPole (mean stochastic return ≥ 450 over 100 episodes)",
          .enabled(if: ProcessInfo.processInfo.environment["RLHF_SLOW_TESTS"] == "1"))
    func solvesCartPole() throws {
        let env = CartPole()
        var rng = Xoshiro256(seed: 1)
        let policy = NeuralSoftmaxPolicy(featureCount: 4, hidden: [64, 64], actionCount: 2, uniformStart: true, using: &rng)
        let updates = 600   // ≈ 500k steps; CleanRL's ppo.py runs 500k on CartPole-v1
        var opt = try PPOTrueReward(env: env, policy: policy, hyper: PPOHyperparameters(), updates: updates, seed: 1)
        var ledger = try QueryLedger(budget: 1)
        for t in 0..<updates { _ = try opt.iterate(t, ledger: &ledger) }
        // The learned policy, sampling its actions (not greedy), on 100 fresh episodes.
        let family = NeuralFamily(env: env, policy: opt.ppo.policy)
        var actor = opt.parameters.withUnsafeBufferPointer { family.makeActor($0) }
        var total = 0.0
        for e in 0..<100 {
            var r = Xoshiro256(seed: 777, stream: UInt64(e))
            total += env.rollout(&actor, using: &r).totalReturn
        }
        #expect(total / 100 >= 450, "mean return \(total / 100)")
    }

    @Test("online RM + PPO improves on classic with 5·10⁴ Bradley-Terry queries")
    func rewardModelPPOImproves() throws {
        let env = try Classic.gridWorld()
        let policy = Classic.tabularPolicy(env, seed: 1)
        let panel = try EvaluatorPanel(link: .bradleyTerry, evaluators: 10)
        var hyper = RewardModelPPOHyperparameters()
        hyper.pairsPerRound = 250       // fixed rounds: 250 pairs and 5 updates a round
        hyper.ppo = .gridWorld
        hyper.rewardModel.hidden = []   // a tabular reward, fast in debug builds
        var opt = try RewardModelPPO(env: env, policy: policy, panel: panel, hyper: hyper, seed: 1, online: true, budget: 50_000)
        let loop = TrainingLoop(evaluateEvery: 100, evaluate: { (Classic.normalizedValue($0, env: env, policy: policy), nil) },
                                normalize: { $0 })
        var ledger = try QueryLedger(budget: 50_000)
        let state = try loop.run(&opt, ledger: &ledger)
        #expect(state.iteration == 20 && ledger.used == 50_000)
        // With the default incremental refit (at most 256 reward-model steps a round after the
        // first fit) seeds 1–3 reach 0.80, 0.77 and 0.94; with the all-data refit before issue 13
        // 0.76, 0.24 and 0.97 (seed 2 then still in the "hide from the trap" plateau at
        // ≈ 0.15–0.25 that the learned reward leads PPO into). The uniform policy is 0.
        let value = state.records.last!.value
        #expect(value >= 0.5, "normalized value \(value) after \(state.iteration) rounds")
    }

    // MARK: - Accounting and determinism

    @Test("queries are charged through the ledger: online per round, offline once, true reward never")
    func ledger() throws {
        let env = try Classic.gridWorld()
        let policy = Classic.tabularPolicy(env, seed: 1)
        let panel = try EvaluatorPanel(link: .bradleyTerry, evaluators: 4)
        var hyper = RewardModelPPOHyperparameters()
        hyper.pairsPerRound = 30
        hyper.ppoUpdatesPerRound = 1
        hyper.ppo.stepsPerUpdate = 64
        hyper.rewardModel.hidden = []
        hyper.rewardModel.epochs = 1
        // Online: 30·4 = 120 queries a round; a budget of 400 pays for 3 rounds.
        var online = try RewardModelPPO(env: env, policy: policy, panel: panel, hyper: hyper, seed: 1, online: true, budget: 400)
        var ledger = try QueryLedger(budget: 400)
        let loop = TrainingLoop(evaluateEvery: 1, evaluate: { _ in (0, nil) }, normalize: { $0 })
        var state = try loop.run(&online, ledger: &ledger)
        #expect(state.iteration == 3 && ledger.used == 360)
        #expect(online.dataset.queriesPaid == 360 && online.dataset.count == 90 && online.featurizedPairs.count == 90)
        // Offline: min(400/4, cap 50) = 50 pairs at iteration 0, then free PPO updates until the limit.
        hyper.offlinePairCap = 50
        hyper.offlinePPOUpdates = 5
        hyper.ppoUpdatesPerRound = 2
        var offline = try RewardModelPPO(env: env, policy: policy, panel: panel, hyper: hyper, seed: 1, online: false, budget: 400)
        #expect(offline.queries(forIteration: 0) == 200 && offline.queries(forIteration: 1) == 0 && offline.iterationLimit == 3)
        ledger = try QueryLedger(budget: 400)
        state = try loop.run(&offline, ledger: &ledger)
        #expect(state.iteration == 3 && ledger.used == 200 && offline.dataset.count == 50)
        #expect(offline.ppo.plannedUpdates == 5)
        // PPO with the true reward: no queries.
        var ppo = try PPOTrueReward(env: env, policy: policy, hyper: hyper.ppo, updates: 2, seed: 1)
        ledger = try QueryLedger(budget: 1)
        state = try loop.run(&ppo, ledger: &ledger)
        #expect(state.iteration == 2 && ledger.used == 0 && state.envSteps >= 128)
    }

    @Test("runs are deterministic in the seed")
    func determinism() throws {
        let env = try Classic.gridWorld()
        var rng = Xoshiro256(seed: 4)
        let mlpPolicy = NeuralSoftmaxPolicy(featureCount: env.featureCount, hidden: [8], actionCount: 4, using: &rng)
        var hyper = PPOHyperparameters.gridWorld
        hyper.stepsPerUpdate = 100
        func ppoRun(_ seed: UInt64) throws -> ([Double], [Double], PPOStatistics) {
            var p = try PPO(env: env, policy: mlpPolicy, hyper: hyper, seed: seed, plannedUpdates: 3)
            var s: PPOStatistics?
            for u in 0..<3 { s = p.update(u) }
            return (p.policy.network.parameters, p.valueNetwork.parameters, s!)
        }
        let a = try ppoRun(7), b = try ppoRun(7), other = try ppoRun(8)
        #expect(a.0 == b.0 && a.1 == b.1 && a.2 == b.2)
        #expect(a.0 != other.0)

        let panel = try EvaluatorPanel(link: .bradleyTerry, evaluators: 5)
        var rm = RewardModelPPOHyperparameters()
        rm.pairsPerRound = 20
        rm.ppoUpdatesPerRound = 2
        rm.ppo = hyper
        rm.rewardModel.hidden = [4]
        rm.rewardModel.epochs = 2
        func rmRun(_ seed: UInt64) throws -> [Double] {
            var opt = try RewardModelPPO(env: env, policy: mlpPolicy, panel: panel, hyper: rm, seed: seed, online: true, budget: 200)
            var ledger = try QueryLedger(budget: 200)
            for t in 0..<2 { _ = try opt.iterate(t, ledger: &ledger) }
            return opt.parameters + opt.rewardModel.network.parameters
        }
        #expect(try rmRun(3) == rmRun(3))
        #expect(try rmRun(3) != rmRun(4))
    }

    @Test("truncation handling: bootstrapping changes only episodes cut by the horizon")
    func truncation() throws {
        // CartPole with H = 5: every episode of a fresh policy is cut by the horizon.
        var hyper = PPOHyperparameters()
        hyper.stepsPerUpdate = 20
        var rng = Xoshiro256(seed: 2)
        let policy = NeuralSoftmaxPolicy(featureCount: 4, hidden: [4], actionCount: 2, using: &rng)
        var terminal = try PPO(env: CartPole(horizon: 5), policy: policy, hyper: hyper, seed: 1)
        hyper.truncation = .bootstrap
        let boot = try PPO(env: CartPole(horizon: 5), policy: policy, hyper: hyper, seed: 1)
        var a = terminal.collect(update: 0), b = boot.collect(update: 0)
        #expect(a.episodes.count == 4 && a.episodes.allSatisfy { !$0.terminated && $0.count == 5 })
        #expect(b.finalInputs.count == 4 * 4 && a.finalInputs.isEmpty)
        terminal.valueNetwork = boot.valueNetwork
        terminal.prepare(&a)
        boot.prepare(&b)
        // Same critic: the last step's advantage differs by γ·V(s_H), the earlier ones by (γλ)^k of it.
        let ws = MLPWorkspace(for: boot.valueNetwork, capacity: 4)
        let finals = b.finalInputs.withUnsafeBufferPointer { Array(boot.valueNetwork.forward($0, batch: 4, workspace: ws)) }
        for (e, episode) in a.episodes.enumerated() {
            for k in 0..<5 {
                let i = episode.start + 4 - k
                let expected = pow(hyper.gamma * hyper.gaeLambda, Double(k)) * hyper.gamma * finals[e]
                #expect(abs((b.advantages[i] - a.advantages[i]) - expected) < 1e-12)
            }
        }
    }
}

extension PPO {
    /// Central finite differences of one minibatch's loss in the policy's and the critic's
    /// parameters (what ``lossAndGradients(_:indices:scratch:)`` must leave in their buffers).
    func numericalLossGradients(_ batch: PPOBatch<E.Action>, indices: ArraySlice<Int>,
                                scratch: PPOScratch<Policy>) -> (policy: [Double], value: [Double]) {
        let policy = NeuralTestSupport.numericalGradient(self.policy.parameters) { theta in
            var probe = self
            probe.policy.parameters = theta
            return probe.lossAndGradients(batch, indices: indices, scratch: scratch).loss
        }
        let value = NeuralTestSupport.numericalGradient(valueNetwork.parameters) { w in
            var probe = self
            probe.valueNetwork.parameters = w
            return probe.lossAndGradients(batch, indices: indices, scratch: scratch).loss
        }
        return (policy, value)
    }
}
