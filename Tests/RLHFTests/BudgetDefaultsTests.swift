import Foundation
import Testing
@testable import RLHF
import RLHFTestSupport

/// Issue 17: defaults that work at small budgets, one evaluator, segments, greedy evaluation.
@Suite("Defaults at small budgets (issue 17)")
struct BudgetDefaultsTests {
    // MARK: - Trimming with one evaluator

    @Test("default trimming: 1/(2M) for M ≥ 2 (0.05 at M = 10), 1/4 for M = 1")
    func defaultTrim() throws {
        #expect(EvaluatorPanel.defaultTrim(evaluators: 10) == 0.05)
        #expect(EvaluatorPanel.defaultTrim(evaluators: 2) == 0.25)
        #expect(EvaluatorPanel.defaultTrim(evaluators: 1) == 0.25)
        let one = try EvaluatorPanel(link: .bradleyTerry, evaluators: 1)
        #expect(one.trim == 0.25)
        // A single vote keeps its sign: Δ̂ = ±ln 3.
        #expect(abs(one.estimatedDifference(rate: 1) - log(3)) < 1e-12)
        #expect(abs(one.estimatedDifference(rate: 0) + log(3)) < 1e-12)
        // Every algorithm's default configuration is valid with M = 1.
        for a in AlgorithmName.allCases {
            var c = TrainConfiguration()
            c.algorithm = a
            c.evaluators = 1
            try c.validate()
        }
    }

    @Test("ZPG and ZBCPG with M = 1 and ε = 0 are refused before the run; the soft-label methods accept it")
    func zeroTrimOneEvaluator() throws {
        for a in [AlgorithmName.zpg, .zbcpg] {
            var c = TrainConfiguration()
            c.algorithm = a
            c.evaluators = 1
            c.trim = 0
            let error = #expect(throws: RLHFError.self) { try c.validate() }
            #expect("\(error!)".contains("M = 1"))
            c.evaluators = 2
            try c.validate()
        }
        for a in [AlgorithmName.rmPPO, .dpo, .onlineDPO, .bilevel] {
            var c = TrainConfiguration()
            c.algorithm = a
            c.evaluators = 1
            c.trim = 0
            try c.validate()
        }
    }

    // MARK: - Policy resolution

    @Test("the policy resolves from the environment when unset: tabular on GridWorlds, MLP on CartPole")
    func policyResolution() throws {
        var c = TrainConfiguration()
        #expect(c.policy == nil)
        #expect(c.resolvedPolicy(tabular: true) == .tabular && c.resolvedPolicy(tabular: false) == .mlp)
        c.policy = .tabular
        #expect(c.resolvedPolicy(tabular: false) == .tabular)
        // ZPG on CartPole with the policy unset runs (and reports an MLP).
        var z = TrainConfiguration()
        z.environment = EnvironmentSpec(name: "cartpole", horizon: 20)
        z.budget = 200
        z.pairs = 2
        z.evaluationEpisodes = 4
        z.threads = 1
        let r = try Trainer.run(z)
        #expect(r.summary.policy.hasPrefix("mlp") && r.summary.configuration.policy == .mlp)
        #expect(r.summary.initialValueStandardError != nil && r.summary.finalValueStandardError != nil)
        // An explicit tabular policy is still refused there.
        z.policy = .tabular
        #expect(throws: RLHFError.self) { try Trainer.run(z) }
        // 'layers' blocks need the MLP the policy resolves to: refused on classic, accepted on CartPole.
        var l = TrainConfiguration()
        l.algorithm = .zbcpg
        l.blockMode = .layers
        l.budget = 1000
        #expect(throws: RLHFError.self) { try Trainer.run(l) }
    }

    @Test("rlhf train --env cartpole runs with the default policy and says it uses the MLP")
    func cartPoleCLI() throws {
        let r = try CLI.run(["train", "--env", "cartpole", "--horizon", "10", "--queries", "32", "--pairs", "2",
                             "--eval-episodes", "2", "--threads", "1", "--evaluators", "1", "--json"])
        #expect(r.status == 0, "\(r.stderr)")
        #expect(r.stderr.contains("no tabular form; using the MLP policy"))
        #expect(r.stdout.contains("\"initial_value_standard_error\""))
        let tab = try CLI.run(["train", "--env", "cartpole", "--policy", "tabular", "--queries", "32"])
        #expect(tab.status != 0 && tab.stderr.contains("tabular"))
        // --ppo-updates alone would be ignored by the schedule: refused with a message.
        let upd = try CLI.run(["train", "--algorithm", "rm-ppo", "--ppo-updates", "3", "--queries", "100"])
        #expect(upd.status != 0 && upd.stderr.contains("--agent-steps"))
        let agent = try CLI.run(["train", "--algorithm", "rm-ppo-offline", "--agent-steps", "1000"])
        #expect(agent.status != 0 && agent.stderr.contains("--agent-steps is the agent budget"), "\(agent.stderr)")
        // The new settings list their choices through --set.
        let ev = try CLI.run(["train", "--set", "evaluation=greedy"])
        #expect(ev.status != 0 && ev.stderr.contains("'evaluation': 'greedy' is not one of: stochastic, deterministic"), "\(ev.stderr)")
        let qs = try CLI.run(["train", "--algorithm", "rm-ppo", "--set", "rm-ppo.query-schedule=linear"])
        #expect(qs.status != 0 && qs.stderr.contains("is not one of: constant, hyperbolic"), "\(qs.stderr)")
        let seg = try CLI.run(["train", "--segment-length", "5", "--queries", "100"])
        #expect(seg.status != 0 && seg.stderr.contains("segments apply to rm-ppo"), "\(seg.stderr)")
    }

    @Test("a checkpoint naming the policy resumes a run that leaves it unset, where it resolves the same")
    func checkpointPolicy() throws {
        let dir = TestFiles.temporaryDirectory("i17", create: false)
        try RunOutput.prepare(directory: dir)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        var saved = TrainConfiguration()
        saved.budget = 160
        saved.policy = .tabular
        let result = try Trainer.run(saved)
        try RunOutput.saveCheckpoint(result.state, configuration: saved, in: dir)
        var wanted = saved
        wanted.policy = nil
        _ = try RunOutput.loadCheckpoint(in: dir, for: wanted)
        wanted.policy = .mlp
        #expect(throws: RLHFError.self) { try RunOutput.loadCheckpoint(in: dir, for: wanted) }
    }

    // MARK: - RM + PPO's schedule

    @Test("default RM + PPO needs one pair (M queries), on any environment; PPO's CartPole step size is 2.5e-3")
    func rmPPODefaultMinimum() throws {
        for m in [1, 10] {
            var c = TrainConfiguration()
            c.algorithm = .rmPPO
            c.evaluators = m
            #expect(c.minimumBudget(tabular: true) == m && c.minimumBudget(tabular: false) == m)
        }
        #expect(TrainConfiguration.defaultPPO(tabular: false).learningRate == 2.5e-3)
        #expect(TrainConfiguration.defaultRMPPO(tabular: false).ppo.learningRate == 2.5e-3)
        #expect(TrainConfiguration.defaultPPO(tabular: true) == .gridWorld)
    }

    @Test("the label schedule front-loads a fraction, spreads the rest and sums to the budget")
    func labelSchedule() throws {
        var h = RewardModelPPOHyperparameters()
        h.rounds = 4
        let s = h.labelSchedule(pairs: 500)
        #expect(s.count == 5 && s.reduce(0, +) == 500 && s[0] == 50)
        // Hyperbolic: non-increasing after round 0; weights 1, 3/4, 3/5, 1/2 of 450.
        #expect(s[1] >= s[2] && s[2] >= s[3] && s[3] >= s[4])
        #expect(s[1] == 158 && s[4] == 79)
        h.querySchedule = .constant
        #expect(h.labelSchedule(pairs: 500) == [50, 113, 113, 112, 112])
        // Tiny budgets: at least one pair in round 0, the rest where the schedule puts them.
        for p in 1...12 {
            let t = h.labelSchedule(pairs: p)
            #expect(t.reduce(0, +) == p && t[0] >= 1)
        }
        h.agentSteps = 1000
        h.ppo.stepsPerUpdate = 100
        #expect(h.scheduledUpdates == 10 && h.updateSchedule == [2, 2, 2, 2, 2])
        h.agentSteps = 1001
        #expect(h.scheduledUpdates == 11 && h.updateSchedule == [3, 2, 2, 2, 2])
    }

    @Test("scheduled RM + PPO spends exactly the pairs its budget buys, whatever the budget, in R + 1 rounds")
    func scheduledRun() throws {
        let env = OneHotView(try GridWorld(preset: GridWorldPreset.named("classic")!))
        var rng = Xoshiro256(seed: 1)
        let policy = NeuralSoftmaxPolicy(featureCount: env.featureCount, hidden: [], actionCount: env.actionCount,
                                         uniformStart: true, using: &rng)
        var h = RewardModelPPOHyperparameters()
        h.rounds = 3
        h.agentSteps = 256
        h.ppo = .gridWorld
        h.ppo.stepsPerUpdate = 64
        h.rewardModel.hidden = []
        h.rewardModel.epochs = 1
        for (m, budget) in [(1, 1), (1, 7), (3, 20), (1, 500)] {
            let panel = try EvaluatorPanel(link: .bradleyTerry, evaluators: m)
            var opt = try RewardModelPPO(env: env, policy: policy, panel: panel, hyper: h, seed: 2, online: true, budget: budget)
            var ledger = try QueryLedger(budget: budget)
            let loop = TrainingLoop(evaluateEvery: 1, evaluate: { _ in (0, nil) }, normalize: { $0 })
            let state = try loop.run(&opt, ledger: &ledger)
            #expect(state.iteration == 4)
            #expect(ledger.used == (budget / m) * m)
            #expect(opt.dataset.count == budget / m)
            #expect(opt.updatesDone == 4 && opt.ppo.plannedUpdates == 4)
        }
    }

    // MARK: - Segments

    @Test("segments: a uniform start, the returns recomputed over the segment, whole trajectories when shorter")
    func segments() throws {
        let t = Trajectory<Int>(states: [0, 1, 2, 3, 4], actions: [0, 1, 0, 1, 0], rewards: [1, 2, 3, 4, 5],
                                totalReturn: 15, myopicReturn: 15)
        let s = t.segment(start: 1, length: 3, discount: 1, myopicDiscount: 1)
        #expect(s.states == [1, 2, 3] && s.rewards == [2, 3, 4] && s.totalReturn == 9 && s.myopicReturn == 9)
        let d = t.segment(start: 2, length: 2, discount: 0.5, myopicDiscount: 0.5)
        #expect(d.totalReturn == 3 + 0.5 * 4 && d.myopicReturn == 0.5 * 3 + 4)
        var rng = Xoshiro256(seed: 3)
        var starts = Set<Int>()
        for _ in 0..<200 {
            let r = t.randomSegment(length: 2, discount: 1, myopicDiscount: 1, using: &rng)
            #expect(r.count == 2)
            starts.insert(r.states[0])
        }
        #expect(starts == [0, 1, 2, 3])
        #expect(t.randomSegment(length: 5, discount: 1, myopicDiscount: 1, using: &rng).count == 5)

        // The panel judges the segments: with a noiseless panel and a step link, the label is the
        // sign of the segments' return difference.
        let env = try CartPole.validated(horizon: 200)
        var prng = Xoshiro256(seed: 5)
        let policy = NeuralSoftmaxPolicy(featureCount: 4, hidden: [4], actionCount: 2, uniformStart: true, using: &prng)
        let family = NeuralFamily(env: env, policy: policy)
        var a0 = policy.network.parameters.withUnsafeBufferPointer { family.makeActor($0) }
        var a1 = policy.network.parameters.withUnsafeBufferPointer { family.makeActor($0) }
        var data = PreferenceDataset<CartPole.State>()
        var ledger = try QueryLedger(budget: 100)
        let panel = try EvaluatorPanel(link: .bradleyTerry, evaluators: 1)
        _ = try data.collect(50, env: env, actor0: &a0, actor1: &a1, panel: panel, ledger: &ledger, seed: 9, stream: 0,
                             segmentLength: 10)
        #expect(data.count == 50)
        for p in data.pairs {
            #expect(p.first.count <= 10 && p.second.count <= 10)
            #expect(p.first.totalReturn == Double(p.first.count) && p.second.totalReturn == Double(p.second.count))
        }
        #expect(data.pairs.contains { $0.first.count == 10 })
    }

    @Test("online DPO and RM + PPO train on segments when asked")
    func learnersUseSegments() throws {
        let env = try CartPole.validated(horizon: 100)
        var rng = Xoshiro256(seed: 6)
        let policy = NeuralSoftmaxPolicy(featureCount: 4, hidden: [4], actionCount: 2, uniformStart: true, using: &rng)
        let panel = try EvaluatorPanel(link: .bradleyTerry, evaluators: 1)
        var h = DPOHyperparameters()
        h.pairsPerRound = 20
        h.epochs = 1
        var dpo = try DPO(env: env, policy: policy, panel: panel, hyper: h, seed: 1, online: true, budget: 40, segmentLength: 4)
        var ledger = try QueryLedger(budget: 40)
        _ = try dpo.iterate(0, ledger: &ledger)
        #expect(dpo.pairs.count == 20 && dpo.pairs.allSatisfy { $0.first.count <= 4 && $0.second.count <= 4 })
        #expect(dpo.pairs.contains { $0.first.count == 4 })
        var r = RewardModelPPOHyperparameters()
        r.rounds = 1
        r.agentSteps = 64
        r.ppo.stepsPerUpdate = 64
        r.rewardModel.hidden = []
        var rm = try RewardModelPPO(env: env, policy: policy, panel: panel, hyper: r, seed: 1, online: true, budget: 30,
                                    segmentLength: 4)
        ledger = try QueryLedger(budget: 30)
        _ = try rm.iterate(0, ledger: &ledger)
        #expect(rm.featurizedPairs.count == 3 && rm.featurizedPairs.allSatisfy { $0.first.count <= 4 && $0.second.count <= 4 })
    }

    @Test("segment length is validated and refused for algorithms that compare whole trajectories")
    func segmentValidation() throws {
        var c = TrainConfiguration()
        c.algorithm = .rmPPO
        c.segmentLength = 0
        #expect(throws: RLHFError.self) { try c.validate() }
        c.segmentLength = 50
        try c.validate()
        c.algorithm = .zpg
        #expect(throws: RLHFError.self) { try c.validate() }
    }

    // MARK: - Greedy evaluation

    @Test("deterministic evaluation measures the greedy policy")
    func greedy() throws {
        #expect(GreedyPolicy.table([0.2, 0.5, 0.3, 0.5, 0.5, 0], actionCount: 3) == [0, 1, 0, 1, 0, 0])
        var c = TrainConfiguration()
        c.algorithm = .ppoTrueReward
        c.ppoUpdates = 1
        c.evaluation = .deterministic
        let r = try Trainer.run(c)
        // The uniform start's greedy policy always takes action 0 (up): its exact value differs
        // from the uniform policy's.
        let env = try GridWorld(preset: GridWorldPreset.named("classic")!)
        let greedyValue = env.model.value(policy: GreedyPolicy.table(env.model.uniformPolicy, actionCount: 4))
        #expect(r.summary.initialValue == greedyValue)
        #expect(r.summary.initialValue != r.summary.uniformValue)
    }

    // MARK: - Every budget from the minimum runs

    /// Small settings of every algorithm, so that a sweep runs in seconds in a debug build.
    static func small(_ a: AlgorithmName, evaluators m: Int) -> TrainConfiguration {
        var c = TrainConfiguration()
        c.algorithm = a
        c.evaluators = m
        c.pairs = 2
        c.threads = 1
        c.evaluationPoints = 2
        switch a {
        case .rmPPO, .rmPPOOffline:
            var h = TrainConfiguration.defaultRMPPO(tabular: true)
            h.agentSteps = 128
            h.rounds = 2
            h.ppo.stepsPerUpdate = 64
            h.rewardModel.hidden = []
            h.rewardModel.epochs = 1
            h.offlinePPOUpdates = 2
            h.ppoUpdatesPerRound = 1
            c.rmPPO = h
        case .dpo, .onlineDPO:
            var h = c.resolvedDPO
            h.pairsPerRound = 3
            h.epochs = 1
            h.offlineEpochs = 2
            c.dpo = h
        case .ppoTrueReward:
            var h = PPOHyperparameters.gridWorld
            h.stepsPerUpdate = 64
            c.ppo = h
            c.ppoUpdates = 1
        case .bilevel:
            c.bilevel.pairsPerIteration = 2
            c.bilevel.innerSteps = 1
            c.bilevel.actorEpisodes = 2
            c.bilevel.rewardEpisodes = 2
            c.bilevel.critic.hidden = [4]
        default:
            break
        }
        return c
    }

    @Test("every budget from the documented minimum runs, for every algorithm and M ∈ {1, 2, 5}")
    func budgetSweep() throws {
        for a in AlgorithmName.allCases {
            for m in [1, 2, 5] {
                var c = Self.small(a, evaluators: m)
                let minimum = c.minimumBudget(tabular: true)
                for budget in Set([max(minimum, 1), max(minimum, 1) + 1, 3 * max(minimum, 1) + m]).sorted() {
                    c.budget = budget
                    let r: TrainResult
                    do { r = try Trainer.run(c) } catch {
                        Issue.record("\(a.rawValue), M = \(m), budget \(budget) (minimum \(minimum)): \(error)")
                        continue
                    }
                    #expect(r.summary.queriesUsed <= budget)
                    #expect(r.summary.iterations >= 1, "\(a.rawValue), M = \(m), budget \(budget)")
                    if a != .ppoTrueReward { #expect(r.summary.queriesUsed >= m, "\(a.rawValue) asked nothing at budget \(budget)") }
                }
                // Below the minimum the run is refused (never a silent run that learns nothing).
                if minimum > 1 {
                    c.budget = minimum - 1
                    #expect(throws: RLHFError.self, "\(a.rawValue), M = \(m)") { try Trainer.run(c) }
                }
            }
        }
    }
}
