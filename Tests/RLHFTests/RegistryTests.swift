import Foundation
import Testing
@testable import RLHF

/// A two-cell environment: action 1 reaches the goal (reward 1) with probability 0.9, action 0
/// with probability 0.1; horizon 3. V* and V(uniform) are easy to write down.
private struct TwoCells: TabularEnvironment {
    var horizon: Int { 3 }
    var discount: Double { 1 }
    var actionCount: Int { 2 }
    var stateCount: Int { 2 }
    var featureCount: Int { 2 }
    func reset(using rng: inout Xoshiro256) -> Int { 0 }
    func step(_ state: Int, action: Int, using rng: inout Xoshiro256) -> StepResult<Int> {
        let success = rng.uniform() < (action == 1 ? 0.9 : 0.1)
        return StepResult(next: success ? 1 : 0, reward: success ? 1 : 0, terminal: success)
    }
    func features(of state: Int, into buffer: UnsafeMutableBufferPointer<Double>) {
        buffer[0] = state == 0 ? 1 : 0
        buffer[1] = state == 1 ? 1 : 0
    }
    var model: TabularMDP {
        let row: (Double) -> [(next: Int, probability: Double, reward: Double)] = { p in [(1, p, 1), (0, 1 - p, 0)] }
        return TabularMDP(actionCount: 2, horizon: 3, startDistribution: [1, 0], isTerminal: [false, true],
                          transitions: [[row(0.1), row(0.9)], [[(1, 1, 0)], [(1, 1, 0)]]])
    }
}

/// An algorithm that does nothing but charge one pair per iteration (to check the plumbing).
private struct Idle: PreferenceOptimizer {
    var parameters: [Double]
    let cost: Int
    func queries(forIteration t: Int) -> Int { cost }
    mutating func iterate(_ t: Int, ledger: inout QueryLedger) throws -> Int {
        try ledger.charge(cost, for: "idle")
        return 0
    }
}

private struct IdleFactory: AlgorithmFactory {
    var wrongSize = false
    func makeOptimizer<E: Environment>(env: E, policy: NeuralSoftmaxPolicy, panel: EvaluatorPanel,
                                       configuration: TrainConfiguration) throws -> any PreferenceOptimizer
    where E.State: Codable & Sendable {
        Idle(parameters: wrongSize ? [0] : policy.network.parameters, cost: panel.queriesPerPair)
    }
}

@Suite("Open registries of environments and algorithms")
struct RegistryTests {
    @Test("a registered tabular environment trains by name with exact values, like a built-in one")
    func registeredEnvironment() throws {
        try EnvironmentRegistry.register("test-two-cells", summary: "two cells") { TwoCells() }
        var c = TrainConfiguration()
        c.environment = EnvironmentSpec(name: "test-two-cells")
        c.budget = 20_000
        c.seed = 2
        let r = try Trainer.run(c)
        // V* = 1 − 0.1³ (always action 1); V(uniform) = 1 − 0.5³.
        #expect(abs(r.summary.optimalValue - (1 - 0.001)) < 1e-12)
        #expect(abs(r.summary.uniformValue - (1 - 0.125)) < 1e-12)
        #expect(r.summary.exactValues)
        #expect(r.summary.normalizedValue > 0.3, "ZPG learns to prefer action 1: \(r.summary.normalizedValue)")
        #expect(try Trainer.run(c).summary.finalValue == r.summary.finalValue, "deterministic")
        // Options of GridWorlds are refused for it, by name.
        c.environment.slip = 0.1
        let e = #expect(throws: RLHFError.self) { try Trainer.run(c) }
        #expect("\(e!)".contains("test-two-cells"))
    }

    @Test("a registered algorithm runs by name in the training loop, and its θ must be the policy's")
    func registeredAlgorithm() throws {
        try AlgorithmRegistry.register("test-idle", summary: "idle", factory: IdleFactory())
        let name = try #require(AlgorithmName(rawValue: "test-idle"))
        #expect(name.isRegistered && !name.isZerothOrder)
        #expect(AlgorithmName.known.contains(name) && !AlgorithmName.allCases.contains(name))
        var c = TrainConfiguration()
        c.algorithm = name
        c.budget = 100
        let r = try Trainer.run(c)
        #expect(r.summary.queriesUsed == 100)
        #expect(r.summary.iterations == 10, "M = 10 queries an iteration")
        #expect(r.summary.finalValue == r.summary.initialValue, "an idle optimizer leaves θ alone")
        #expect(r.summary.configuration.algorithm == name)
        // It round-trips through a configuration's JSON.
        let data = try RunOutput.encoder(pretty: false).encode(c)
        #expect(try RunOutput.decoder().decode(TrainConfiguration.self, from: data) == c)
        try AlgorithmRegistry.register("test-idle-wrong", summary: "wrong size", factory: IdleFactory(wrongSize: true))
        c.algorithm = try #require(AlgorithmName(rawValue: "test-idle-wrong"))
        let e = #expect(throws: RLHFError.self) { try Trainer.run(c) }
        #expect("\(e!)".contains("parameters"))
    }

    @Test("names: built-in ones and malformed ones are refused; unknown ones are listed with the registered")
    func names() throws {
        let malformed = ["", "Upper", "-dash", "has space", "dot.yaml", String(repeating: "a", count: 65)]
        for bad in malformed + ["classic", "cartpole", "bandit"] {
            #expect(throws: RLHFError.self, "\(bad)") { try EnvironmentRegistry.register(bad, summary: "") { TwoCells() } }
        }
        for bad in malformed + ["zpg", "dpo", "bilevel"] {
            #expect(throws: RLHFError.self, "\(bad)") { try AlgorithmRegistry.register(bad, summary: "", factory: IdleFactory()) }
        }
        #expect(!EnvironmentRegistry.names.contains { malformed.contains($0) })
        #expect(AlgorithmName(rawValue: "no-such-algorithm") == nil)
        try AlgorithmRegistry.register("test-listed", summary: "listed", factory: IdleFactory())
        let json = #"{"algorithm":"no-such-algorithm"}"#
        do {
            _ = try RunOutput.decoder().decode([String: AlgorithmName].self, from: Data(json.utf8))
            Issue.record("an unknown algorithm decoded")
        } catch {
            #expect("\(error)".contains("no-such-algorithm") && "\(error)".contains("test-listed") && "\(error)".contains("zbcpg"))
        }
    }
}
