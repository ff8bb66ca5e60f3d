import Foundation
import Testing
@testable import RLHF

@Suite("Training on a box of actions (pendulum)")
struct ContinuousTrainingTests {
    /// A small pendulum run (H = 30, M = 1, a 4-unit hidden layer, 400 queries); also used by
    /// ``GaussianDPOTests``.
    static func configuration(_ algorithm: AlgorithmName) -> TrainConfiguration {
        var c = TrainConfiguration()
        c.environment = EnvironmentSpec(name: "pendulum", horizon: 30)
        c.algorithm = algorithm
        c.budget = 400
        c.evaluators = 1
        c.evaluationEpisodes = 40
        c.seed = 9
        c.hidden = [4]
        return c
    }

    /// ZPG and ZBCPG run on pendulum with the Gaussian policy, the same numbers on 1 and 2 threads.
    @Test(arguments: [AlgorithmName.zpg, .zbcpg])
    func runsDeterministically(_ algorithm: AlgorithmName) throws {
        var c = Self.configuration(algorithm)
        let a = try Trainer.run(c)
        c.threads = 2
        let b = try Trainer.run(c)
        #expect(a.state.parameters == b.state.parameters)
        #expect(a.summary.finalValue == b.summary.finalValue)
        // d = the 3-4-1 mean network (16 + 5) plus one log-std.
        #expect(a.summary.parameterCount == 3 * 4 + 4 + 4 + 1 + 1)
        #expect(a.summary.queriesUsed <= 400 && a.summary.queriesUsed > 400 - c.queriesPerIteration && a.summary.envSteps > 0)
        #expect(a.state.parameters != (try Trainer.gaussianFamily(Pendulum(horizon: 30), c)).policy.parameters)
        #expect(a.summary.optimalValue == 0 && a.summary.uniformValue < 0)
    }

    /// The uniform value by which pendulum runs normalize is that of the uniform box policy.
    @Test func uniformValueIsTheBoxPolicys() {
        let p = Pendulum(horizon: 30)
        var actor = UniformBoxFamily(env: p).makeActor(UnsafeBufferPointer(start: nil, count: 0))
        var rng = Xoshiro256(seed: 1)
        let a = actor.action(in: p.reset(using: &rng), using: &rng)
        #expect(a.count == 1 && a[0] >= -2 && a[0] <= 2)
    }

    /// The bilevel method needs finite actions yet: refused by name, before anything runs.
    @Test func baselinesAreRefusedWithTheReason() {
        for algorithm in [AlgorithmName.bilevel] {
            do {
                _ = try Trainer.run(Self.configuration(algorithm))
                Issue.record("\(algorithm) ran on pendulum")
            } catch {
                #expect("\(error)".contains("does not run on continuous actions yet"), "\(error)")
            }
        }
    }

    /// PPO on the true reward runs on pendulum with the Gaussian policy, reports the continuous
    /// defaults it used, and gives the same numbers on 1 and 2 threads.
    @Test func ppoTrueRewardRuns() throws {
        var c = Self.configuration(.ppoTrueReward)
        c.ppoUpdates = 3
        var hyper = PPOHyperparameters.continuous
        hyper.stepsPerUpdate = 120
        c.ppo = hyper
        let a = try Trainer.run(c)
        c.threads = 2
        let b = try Trainer.run(c)
        #expect(a.state.parameters == b.state.parameters && a.summary.finalValue == b.summary.finalValue)
        #expect(a.summary.iterations == 3 && a.summary.queriesUsed == 0 && a.summary.envSteps == 3 * 120)
        #expect(a.summary.configuration.ppo == hyper)
        var unset = Self.configuration(.ppoTrueReward)
        unset.ppoUpdates = 1
        #expect(try Trainer.run(unset).summary.configuration.ppo == .continuous)
    }

    /// RM + PPO on pendulum: a reward model on φ(s) ⊕ a with one output, the whole budget spent
    /// on labelled pairs (M = 1, the scheduled rounds), the box defaults, and the same numbers
    /// on 1 and 2 threads; the offline variant labels once and charges nothing after.
    @Test func rewardModelPPORuns() throws {
        var c = Self.configuration(.rmPPO)
        var hyper = RewardModelPPOHyperparameters.continuous
        hyper.ppo.stepsPerUpdate = 120
        hyper.agentSteps = 360
        hyper.rounds = 2
        hyper.rewardModel.hidden = [8]
        c.rmPPO = hyper
        let a = try Trainer.run(c)
        c.threads = 2
        let b = try Trainer.run(c)
        #expect(a.state.parameters == b.state.parameters && a.summary.finalValue == b.summary.finalValue)
        #expect(a.summary.queriesUsed == 400 && a.summary.iterations == 3)
        #expect(a.summary.configuration.rmPPO == hyper && a.summary.finalValue.isFinite)
        // 400 pairs of two 30-step episodes, plus 3 PPO updates of 120 steps.
        #expect(a.summary.envSteps == 400 * 60 + 3 * 120)
        var offline = Self.configuration(.rmPPOOffline)
        offline.budget = 20
        hyper.offlinePPOUpdates = 2
        hyper.ppoUpdatesPerRound = 1
        offline.rmPPO = hyper
        let o = try Trainer.run(offline)
        #expect(o.summary.queriesUsed == 20 && o.summary.iterations == 2 && o.summary.envSteps == 20 * 60 + 2 * 120)
        // Unset, the box defaults: PPO's continuous setting and a 100-update agent budget.
        offline.rmPPO = nil
        #expect(offline.resolvedRMPPO(tabular: false) == .continuous)
        #expect(RewardModelPPOHyperparameters.continuous.ppo == .continuous && RewardModelPPOHyperparameters.continuous.scheduledUpdates == 100)
    }

    /// The reward PPO relabels its steps with (``GaussianPolicy/learnedRewards(_:features:actions:)``,
    /// unclipped samples) is the reward the model trained on for the same steps (rows of a
    /// recorded trajectory, whose actions the recorder clipped): the same rows, the same values.
    @Test func learnedRewardsMatchTheTrainingRows() throws {
        let env = Pendulum(horizon: 12)
        var rng = Xoshiro256(seed: 5)
        let policy = GaussianPolicy(featureCount: env.featureCount, hidden: [4], low: [-2], high: [2], using: &rng)
        let shape = env.rewardModelShape
        #expect(shape.inputs == env.featureCount + 1 && shape.outputs == 1)
        var h = RewardModelHyperparameters()
        h.hidden = [6]
        let model = RewardModel(featureCount: shape.inputs, actionCount: shape.outputs, hyper: h, using: &rng)
        var recorder = BoxTrajectoryRecorder<Pendulum.State>(for: env)
        var state = env.reset(using: &rng)
        var features = [Double](), unclipped = [[Double]]()
        var x = [Double](repeating: 0, count: env.featureCount)
        for t in 0..<12 {
            let u = [rng.uniform() * 8 - 4]   // half of them outside [−2, 2]
            x.withUnsafeMutableBufferPointer { env.features(of: state, into: $0) }
            features += x
            unclipped.append(u)
            let result = env.step(state, action: ActionSpace.clip(u, low: [-2], high: [2]), using: &rng)
            recorder.record(time: t, state: state, action: u, result: result)
            state = result.next
        }
        let trajectory = recorder.trajectory(EpisodeSummary(totalReturn: 0, myopicReturn: 0, steps: 12, terminated: false))
        #expect(trajectory.boxActions! == unclipped.map { [min(max($0[0], -2), 2)] } && trajectory.actions == [Int](repeating: 0, count: 12))
        let rows = FeaturizedTrajectory(trajectory, env: env)
        #expect(rows.featureCount == env.featureCount + 1 && rows.count == 12)
        #expect(rows.features[env.featureCount] == trajectory.boxActions![0][0])
        let trained = model.rewards(rows)
        let relabelled = features.withUnsafeBufferPointer { policy.learnedRewards(model, features: $0, actions: unclipped) }
        #expect(relabelled == trained)
        // A segment keeps its actions; the JSON a person is shown carries the vectors.
        let segment = trajectory.segment(start: 3, length: 4, discount: 1, myopicDiscount: 1)
        #expect(segment.boxActions! == Array(trajectory.boxActions![3..<7]))
        struct Shown: Decodable { let actions: [[Double]] }
        #expect(try JSONDecoder().decode(Shown.self, from: try trajectory.displayJSON()).actions == trajectory.boxActions)
    }

    /// A dataset of box-action pairs saves and loads with its action vectors.
    @Test func boxDatasetRoundTrips() throws {
        let env = Pendulum(horizon: 5)
        var rng = Xoshiro256(seed: 2)
        let policy = GaussianPolicy(featureCount: env.featureCount, hidden: [3], low: [-2], high: [2], using: &rng)
        var dataset = PreferenceDataset<Pendulum.State>()
        var ledger = try QueryLedger(budget: 6)
        let panel = try EvaluatorPanel(link: .bradleyTerry, evaluators: 2)
        let steps = try policy.collectPairs(3, into: &dataset, env: ActionClipping(env), panel: panel, source: panel, name: "t",
                                            ledger: &ledger, seed: 1, stream: 0, segmentLength: nil)
        #expect(steps == 30 && dataset.count == 3 && ledger.used == 6)
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("box-\(UUID().uuidString).jsonl").path
        defer { try? FileManager.default.removeItem(atPath: path) }
        try dataset.save(to: path)
        let loaded = try PreferenceDataset<Pendulum.State>.load(from: path)
        #expect(loaded.count == 3 && loaded.queriesPaid == 6)
        for (a, b) in zip(loaded.pairs, dataset.pairs) {
            #expect(a.first.boxActions! == b.first.boxActions! && a.second.boxActions! == b.second.boxActions! && a.label == b.label)
            #expect(a.first.boxActions!.allSatisfy { $0.count == 1 && abs($0[0]) <= 2 })
        }
        // A line whose action vectors do not match its steps is refused with its number.
        var lines = try String(contentsOfFile: path, encoding: .utf8).split(separator: "\n").map(String.init)
        var pair = try JSONSerialization.jsonObject(with: Data(lines[1].utf8)) as! [String: Any]
        var first = pair["first"] as! [String: Any]
        first["box_actions"] = (first["box_actions"] as! [Any]).dropLast().map { $0 }
        pair["first"] = first
        lines[1] = String(decoding: try JSONSerialization.data(withJSONObject: pair), as: UTF8.self)
        try (lines.joined(separator: "\n") + "\n").write(toFile: path, atomically: true, encoding: .utf8)
        #expect(throws: RLHFError.self) { try PreferenceDataset<Pendulum.State>.load(from: path) }
        do { _ = try PreferenceDataset<Pendulum.State>.load(from: path) } catch {
            #expect("\(error)".contains("line 2") && "\(error)".contains("4 action vectors"), "\(error)")
        }
    }
}
