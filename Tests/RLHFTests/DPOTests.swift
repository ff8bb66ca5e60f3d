import Foundation
import Testing
@testable import RLHF
import RLHFTestSupport

@Suite("DPO and online DPO")
struct DPOTests {
    /// Runs DPO through the training loop and returns the optimizer, the ledger and the final state.
    static func run(online: Bool, budget: Int, hyper: DPOHyperparameters, seed: UInt64 = 11, slip: Double? = nil,
                    evaluateEvery: Int = 1_000_000) throws -> (DPO<GridWorld, NeuralSoftmaxPolicy>, QueryLedger, TrainingState) {
        let (env, panel, policy) = try Classic.fixture(slip: slip)
        var dpo = try DPO(env: env, policy: policy, panel: panel, hyper: hyper, seed: seed, online: online, budget: budget)
        var ledger = try QueryLedger(budget: budget)
        let loop = TrainingLoop(evaluateEvery: evaluateEvery,
                                evaluate: { (Classic.normalizedValue($0, env: env, policy: policy), nil) }, normalize: { $0 })
        let state = try loop.run(&dpo, ledger: &ledger)
        return (dpo, ledger, state)
    }

    @Test("the loss and dL/dh of a pair match hand-computed values")
    func lossByHand() {
        // β = 0.5, h = 0.3, p̂ = 0.7: βh = 0.15, σ(0.15) = 1/(1 + e^{−0.15}) = 1/1.8607080 = 0.5374298;
        // log σ(0.15) = −0.6209570 and log σ(−0.15) = log σ(0.15) − 0.15 = −0.7709570, so
        // L = 0.7·0.6209570 + 0.3·0.7709570 = 0.4346699 + 0.2312871 = 0.6659570 and
        // dL/dh = β(σ(βh) − p̂) = 0.5·(0.5374298 − 0.7) = −0.0812851.
        #expect(abs(DPOLoss.value(h: 0.3, label: 0.7, beta: 0.5) - 0.6659570) < 1e-7)
        #expect(abs(DPOLoss.derivative(h: 0.3, label: 0.7, beta: 0.5) - (-0.0812851)) < 1e-7)
        // At h = 0 the loss is log 2 whatever the label; a hard label gives log(1 + e^{−βh}).
        #expect(abs(DPOLoss.value(h: 0, label: 0.2, beta: 3) - log(2)) < 1e-12)
        #expect(abs(DPOLoss.value(h: 2, label: 1, beta: 0.5) - log1p(exp(-1))) < 1e-12)
        // No overflow far out in the tails.
        #expect(abs(DPOLoss.value(h: 1e4, label: 0, beta: 1) - 1e4) < 1e-9)
        #expect(DPOLoss.derivative(h: -1e4, label: 1, beta: 2) == -2)
        // dL/dh against a central difference.
        for (h, p, b) in [(0.3, 0.7, 0.5), (-4.0, 0.1, 0.2), (12.0, 0.9, 0.1)] {
            let e = 1e-5
            let fd = (DPOLoss.value(h: h + e, label: p, beta: b) - DPOLoss.value(h: h - e, label: p, beta: b)) / (2 * e)
            #expect(abs(fd - DPOLoss.derivative(h: h, label: p, beta: b)) < 1e-8)
        }
    }

    @Test("the minibatch gradient matches central finite differences of the loss")
    func minibatchGradient() throws {
        // A small MLP policy on coordinate features, random θ, pairs from a random policy and
        // arbitrary reference log-probabilities (they only shift h).
        let env = try Classic.gridWorld(features: .coordinates)
        let panel = try EvaluatorPanel(link: .bradleyTerry, evaluators: 5)
        var rng = Xoshiro256(seed: 3)
        var policy = NeuralSoftmaxPolicy(featureCount: 2, hidden: [3], actionCount: 4, uniformStart: false, using: &rng)
        for i in policy.network.parameters.indices { policy.network.parameters[i] = 0.7 * rng.normal() }
        let family = NeuralFamily(env: env, policy: policy)
        var a0 = policy.network.parameters.withUnsafeBufferPointer { family.makeActor($0) }
        var a1 = policy.network.parameters.withUnsafeBufferPointer { family.makeActor($0) }
        var data = PreferenceDataset<Int>()
        var ledger = try QueryLedger(budget: 30)
        try data.collect(6, env: env, actor0: &a0, actor1: &a1, panel: panel, ledger: &ledger, seed: 8, stream: 0)
        let pairs = data.pairs.map { FeaturizedPair($0, env: env) }
        let references = (0..<(2 * pairs.count)).map { _ in -3 + rng.normal() }
        let beta = 0.7

        // The loss computed independently, step by step from π(·|s).
        func naiveLoss(_ theta: [Double]) -> Double {
            var p = policy
            p.network.parameters = theta
            func logProbability(_ t: FeaturizedTrajectory) -> Double {
                (0..<t.count).reduce(0.0) { sum, i in
                    sum + log(p.probabilities(features: Array(t.features[(2 * i)..<(2 * i + 2)]))[t.actions[i]])
                }
            }
            var total = 0.0
            for (k, pair) in pairs.enumerated() {
                let h = (logProbability(pair.second) - references[2 * k + 1]) - (logProbability(pair.first) - references[2 * k])
                total += DPOLoss.value(h: h, label: pair.label, beta: beta)
            }
            return total / Double(pairs.count)
        }

        var batch = DPOBatch<NeuralSoftmaxPolicy>()
        for (k, pair) in pairs.enumerated() { batch.append(pair, references: references[2 * k], references[2 * k + 1]) }
        let workspace = PolicyWorkspace(for: policy, capacity: 4)   // grows on demand
        policy.network.gradients = policy.network.gradients.map { _ in 123 }   // must be overwritten
        let loss = DPO<GridWorld, NeuralSoftmaxPolicy>.lossAndGradient(&batch, policy: &policy, beta: beta, workspace: workspace)
        let theta = policy.network.parameters
        #expect(abs(loss - naiveLoss(theta)) < 1e-12)
        let numerical = NeuralTestSupport.numericalGradient(theta, naiveLoss)
        let error = NeuralTestSupport.maxError(policy.network.gradients, numerical)
        #expect(error < 1e-6, "max error \(error)")
        #expect(numerical.contains { abs($0) > 1e-3 })   // the check is not vacuous
    }

    @Test("offline DPO buys its pairs once and trains for `offlineEpochs` iterations")
    func offlineAccounting() throws {
        var hyper = DPOHyperparameters()
        hyper.offlineEpochs = 3
        let (dpo, ledger, state) = try Self.run(online: false, budget: 4_567, hyper: hyper)
        #expect(dpo.offlinePairs == 456)
        #expect(dpo.queries(forIteration: 0) == 4_560 && dpo.queries(forIteration: 1) == 0)
        #expect(ledger.used == 4_560 && ledger.used <= ledger.budget)
        #expect(state.iteration == 3 && state.queriesUsed == 4_560)
        #expect(dpo.pairs.count == 456)   // no teacher skips: every bought pair is judged
        #expect(state.envSteps == dpo.pairs.reduce(0) { $0 + $1.first.count + $1.second.count })

        hyper.maxOfflinePairs = 100
        let capped = try Self.run(online: false, budget: 4_567, hyper: hyper)
        #expect(capped.1.used == 1_000 && capped.2.iteration == 3)

        // A budget below one pair's M queries cannot pay for anything.
        #expect(throws: RLHFError.self) { _ = try Self.run(online: false, budget: 9, hyper: hyper) }
    }

    @Test("online DPO pays pairsPerRound·M a round until the budget ends the run")
    func onlineAccounting() throws {
        var hyper = DPOHyperparameters()
        hyper.pairsPerRound = 40
        hyper.epochs = 1
        let (dpo, ledger, state) = try Self.run(online: true, budget: 2_150, hyper: hyper)
        #expect(dpo.iterationLimit == nil && dpo.queries(forIteration: 7) == 400)
        #expect(state.iteration == 5 && ledger.used == 2_000 && ledger.used <= ledger.budget)
        #expect(dpo.pairs.count == 40)   // the last round's pairs only
    }

    @Test("the same seed gives the same run, another seed another")
    func determinism() throws {
        var hyper = DPOHyperparameters()
        hyper.pairsPerRound = 30
        hyper.epochs = 2
        hyper.offlineEpochs = 2
        for online in [false, true] {
            let a = try Self.run(online: online, budget: 1_200, hyper: hyper, seed: 4)
            let b = try Self.run(online: online, budget: 1_200, hyper: hyper, seed: 4)
            let c = try Self.run(online: online, budget: 1_200, hyper: hyper, seed: 5)
            #expect(a.0.parameters == b.0.parameters && a.2.envSteps == b.2.envSteps)
            #expect(a.0.parameters != c.0.parameters)
        }
    }

    @Test("with the previous round as reference, every round starts at h = 0")
    func previousRoundReference() throws {
        var hyper = DPOHyperparameters()
        hyper.reference = .previousRound
        hyper.pairsPerRound = 20
        let (env, panel, policy) = try Classic.fixture()
        var dpo = try DPO(env: env, policy: policy, panel: panel, hyper: hyper, seed: 2, online: true, budget: 1_000)
        var ledger = try QueryLedger(budget: 1_000)
        _ = try dpo.iterate(0, ledger: &ledger)
        // Round 1's pairs come from θ₁ and are measured against θ₁ itself, not the initial θ.
        _ = try dpo.collectPairs(hyper.pairsPerRound, round: 1, ledger: &ledger)
        dpo.computeReferences()
        var batch = DPOBatch<NeuralSoftmaxPolicy>()
        for p in dpo.pairs { batch.append(p, references: 0, 0, env: env) }
        let current = batch.trajectoryLogProbabilities(policy: dpo.policy, workspace: PolicyWorkspace(for: dpo.policy))
        #expect(zip(current, dpo.references).allSatisfy { abs($0 - $1) < 1e-12 })
        #expect(dpo.parameters != dpo.initialParameters)
        var initialBatch = batch
        let uniform = dpo.initialParameters.withUnsafeBufferPointer {
            initialBatch.trajectoryLogProbabilities(policy: dpo.policy, workspace: PolicyWorkspace(for: dpo.policy), parameters: $0)
        }
        #expect(zip(uniform, dpo.pairs.flatMap { [$0.first.count, $0.second.count] }).allSatisfy {
            abs($0 - Double($1) * log(0.25)) < 1e-12
        })
    }

    @Test("DPO improves the exact value on classic, online DPO more")
    func improvesOnClassic() throws {
        // 10⁴ queries = 1000 pairs. Offline with its tuned values but 5 epochs (not 40, to keep
        // the debug build fast) reaches ≈ 0.17 normalized value (5 seeds: 0.16–0.18); online DPO
        // with the defaults (10 rounds of 100 pairs, 8 epochs each) ≈ 0.95 (5 seeds: 0.84–0.97).
        let budget = 10_000
        var hyper = DPOHyperparameters.offlineTuned
        hyper.offlineEpochs = 5
        let offline = try Self.run(online: false, budget: budget, hyper: hyper)
        let online = try Self.run(online: true, budget: budget, hyper: DPOHyperparameters())
        let vOffline = offline.2.records.last!.value, vOnline = online.2.records.last!.value
        #expect(offline.2.records.first!.value == 0)
        #expect(vOffline > 0.1, "offline DPO: \(vOffline)")
        #expect(vOnline > vOffline + 0.4, "online DPO: \(vOnline), offline: \(vOffline)")
    }

    /// Online DPO with `epsilon` as Adam's ε, after `rounds` rounds of 8 passes over 100 pairs that
    /// say nothing about the action at the start state s₀, where the policy is nearly deterministic
    /// (logits 0, 8, 0, 0: π(down|s₀) ≈ 0.999): both trajectories of every pair only go down from
    /// s₀, τ1 twice (as after a slip into the wall), τ0 once, and 7 of 10 evaluators prefer τ0.
    /// The learning rate stays at its starting value (no decay). Returns π(down|s₀).
    static func saturatedStateAfterNoise(epsilon: Double, rounds: Int = 10) throws -> Double {
        let (env, panel, policy) = try Classic.fixture()
        var hyper = DPOHyperparameters()
        hyper.adamEpsilon = epsilon
        var dpo = try DPO(env: env, policy: policy, panel: panel, hyper: hyper, seed: 1, online: true, budget: 100_000)
        let s0 = env.startState
        var theta = dpo.parameters
        theta[s0 * 4 + 1] = 8   // bias 0 (one-hot features, no hidden layer): θ[s·4 + a] is the logit
        dpo.parameters = theta
        func trajectory(_ visits: Int) -> Trajectory<Int> {
            Trajectory(states: Array(repeating: s0, count: visits), actions: Array(repeating: 1, count: visits),
                       rewards: Array(repeating: -0.02, count: visits), totalReturn: -0.02 * Double(visits),
                       myopicReturn: -0.02 * Double(visits))
        }
        dpo.pairs = Array(repeating: PreferencePair(first: trajectory(1), second: trajectory(2), label: 0.3, evaluators: 10),
                          count: hyper.pairsPerRound)
        dpo.computeReferences()
        for t in 0..<rounds {
            for e in 0..<hyper.epochs { _ = dpo.trainEpoch(round: t, pass: e) }
        }
        return NeuralTabularFamily(env: env, policy: dpo.policy).probabilities(dpo.parameters)[s0 * 4 + 1]
    }

    @Test("a nearly deterministic state keeps its action under pairs that differ only in how often they visit it")
    func saturatedStateIsStable() throws {
        // Issue 12 item 19. Such pairs are what slips make once π is nearly deterministic; their
        // gradient on s₀'s logits is ∝ 1 − π(down|s₀) ≈ 10⁻³ (≈ 2·10⁻⁶ in all). With Adam's usual
        // ε = 10⁻⁸ it is normalized to steps of ≈ the learning rate, 32 a round in the same
        // direction, and ten rounds flip s₀ to another action (that is how online DPO collapsed
        // late at slip 0.3); with the default ε = 10⁻⁴ the steps stay ∝ the gradient and s₀
        // hardly moves.
        let stable = try Self.saturatedStateAfterNoise(epsilon: DPOHyperparameters().adamEpsilon)
        #expect(stable > 0.99, "π(down|s₀) = \(stable)")
        let flipped = try Self.saturatedStateAfterNoise(epsilon: 1e-8)
        #expect(flipped < 0.5, "with ε = 10⁻⁸: π(down|s₀) = \(flipped)")
    }

    @Test("online DPO on classic at slip 0.3, seed 4, 10⁶ queries does not collapse late",
          .enabled(if: ProcessInfo.processInfo.environment["RLHF_SLOW_TESTS"] == "1"))
    func noLateCollapseAtSlip03() throws {
        // Issue 12 item 19, the failing run: `rlhf train --algorithm online-dpo --slip 0.3 --seed 4`
        // (this setup, same numbers) was at 0.998 after 8·10⁵ queries, 0.41 one round later and
        // ended at 0.34 with Adam's ε = 10⁻⁸ and a constant learning rate; with the defaults
        // (ε = 10⁻⁴, 1/√t decay) it ends at 0.995, never below 0.96 after 10⁵ queries. About 4
        // minutes in a debug build, hence RLHF_SLOW_TESTS=1.
        let (_, _, state) = try Self.run(online: true, budget: 1_000_000, hyper: DPOHyperparameters(), seed: 4,
                                         slip: 0.3, evaluateEvery: 10)
        let late = state.records.filter { $0.queries >= 100_000 }.map(\.value)
        #expect(late.count >= 90)
        #expect(late.min()! > 0.9, "lowest normalized value after 10⁵ queries: \(late.min()!)")
        #expect(state.records.last!.value > 0.95, "final: \(state.records.last!.value)")
    }

    @Test("bad hyperparameters are rejected")
    func validation() {
        var ok = DPOHyperparameters()
        #expect(throws: Never.self) { try ok.validate() }
        ok.maxGradientNorm = nil
        #expect(throws: Never.self) { try ok.validate() }
        #expect(throws: Never.self) { try DPOHyperparameters.offlineTuned.validate() }
        let bad: [(inout DPOHyperparameters) -> Void] = [
            { $0.beta = 0 }, { $0.beta = -0.1 }, { $0.beta = .nan }, { $0.learningRate = .infinity },
            { $0.learningRate = -1 }, { $0.epochs = 0 }, { $0.offlineEpochs = 0 },
            { $0.finalLearningRateFraction = 1.5 }, { $0.finalLearningRateFraction = -0.1 }, { $0.batchSize = 0 }, { $0.pairsPerRound = -3 },
            { $0.maxOfflinePairs = 0 }, { $0.maxGradientNorm = -1 }, { $0.maxGradientNorm = .nan },
            { $0.adamEpsilon = 0 }, { $0.adamEpsilon = -1e-3 }, { $0.adamEpsilon = .infinity },
        ]
        for change in bad {
            var h = DPOHyperparameters()
            change(&h)
            #expect(throws: RLHFError.self) { try h.validate() }
        }
    }
}
