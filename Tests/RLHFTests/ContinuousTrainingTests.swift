import Foundation
import Testing
@testable import RLHF

@Suite("Training on a box of actions (pendulum)")
struct ContinuousTrainingTests {
    func configuration(_ algorithm: AlgorithmName) -> TrainConfiguration {
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
        var c = configuration(algorithm)
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

    /// The preference baselines need finite actions yet: refused by name, before anything runs.
    @Test func baselinesAreRefusedWithTheReason() {
        for algorithm in [AlgorithmName.rmPPO, .dpo, .onlineDPO, .bilevel] {
            do {
                _ = try Trainer.run(configuration(algorithm))
                Issue.record("\(algorithm) ran on pendulum")
            } catch {
                #expect("\(error)".contains("does not run on continuous actions yet"), "\(error)")
            }
        }
    }

    /// PPO on the true reward runs on pendulum with the Gaussian policy, reports the continuous
    /// defaults it used, and gives the same numbers on 1 and 2 threads.
    @Test func ppoTrueRewardRuns() throws {
        var c = configuration(.ppoTrueReward)
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
        var unset = configuration(.ppoTrueReward)
        unset.ppoUpdates = 1
        #expect(try Trainer.run(unset).summary.configuration.ppo == .continuous)
    }
}
