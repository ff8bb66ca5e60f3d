// A worked example of extending the toolkit from Swift: a user-defined environment and a
// user-defined algorithm, registered by name, trained like the built-in ones and compared with
// ZPG in a small study (results.csv, report.md, plot.svg). CI builds and runs it:
//
//     swift run -c release rlhf-example [output-folder]
//
// Nothing here is special to the toolkit's own code: it uses only the public API of the RLHF and
// RLHFStudy libraries.
import Foundation
import RLHF
import RLHFStudy

// MARK: - A user-defined environment

/// A chain of `length` cells; the agent starts in cell 0 and moves left or right, but with
/// probability `slip` it moves the other way. Reaching the last cell ends the episode with
/// reward 1; every other step costs 0.01. Tabular, so its exact model gives exact values.
struct ChainWalk: TabularEnvironment {
    var length = 8
    var slip = 0.2
    var horizon: Int { 3 * length }
    var discount: Double { 1 }
    var actionCount: Int { 2 }
    var stateCount: Int { length }
    var featureCount: Int { length }

    func reset(using rng: inout Xoshiro256) -> Int { 0 }

    /// The cell after moving `direction` (−1 or +1) from `s`, walls at both ends.
    func moved(_ s: Int, _ direction: Int) -> Int { min(max(s + direction, 0), length - 1) }

    func step(_ state: Int, action: Int, using rng: inout Xoshiro256) -> StepResult<Int> {
        var direction = action == 1 ? 1 : -1
        if rng.uniform() < slip { direction = -direction }
        let next = moved(state, direction)
        let goal = next == length - 1
        return StepResult(next: next, reward: goal ? 1 : -0.01, terminal: goal)
    }

    func features(of state: Int, into buffer: UnsafeMutableBufferPointer<Double>) {
        for i in buffer.indices { buffer[i] = i == state ? 1 : 0 }
    }

    /// The same dynamics as a table: what `step` samples, with its probabilities.
    var model: TabularMDP {
        let transitions = (0..<length).map { s in
            (0..<2).map { a -> [(next: Int, probability: Double, reward: Double)] in
                let forward = a == 1 ? 1 : -1
                return [(forward, 1 - slip), (-forward, slip)].map { d, p in
                    let next = moved(s, d)
                    return (next: next, probability: p, reward: next == length - 1 ? 1 : -0.01)
                }
            }
        }
        var start = [Double](repeating: 0, count: length)
        start[0] = 1
        return TabularMDP(actionCount: 2, horizon: horizon, startDistribution: start,
                          isTerminal: (0..<length).map { $0 == length - 1 }, transitions: transitions)
    }
}

// MARK: - A user-defined algorithm

/// Preference hill climbing: each iteration proposes θ′ = θ + σ z (z standard normal), shows
/// the panel `pairs` pairs (τ ~ π_θ, τ′ ~ π_θ′), and moves to θ′ when the panel prefers it on
/// average. The simplest reward-free method there is — a baseline for ZPG, not a rival.
struct PreferenceHillClimb<E: Environment>: PreferenceOptimizer where E.State: Codable & Sendable {
    let env: E
    let family: NeuralFamily<E>
    let panel: EvaluatorPanel
    let seed: UInt64
    var sigma = 0.5
    var pairs = 8
    var parameters: [Double]
    var diagnostics = DiagnosticAccumulator()

    func queries(forIteration t: Int) -> Int { pairs * panel.queriesPerPair }

    mutating func iterate(_ t: Int, ledger: inout QueryLedger) throws -> Int {
        try ledger.charge(queries(forIteration: t), for: "one hill-climbing iteration")
        var rng = Xoshiro256(seed: seed, stream: UInt64(t))
        var candidate = parameters
        for i in candidate.indices { candidate[i] += sigma * rng.normal() }
        var current = parameters.withUnsafeBufferPointer { family.makeActor($0) }
        var proposed = candidate.withUnsafeBufferPointer { family.makeActor($0) }
        var preference = 0.0, judged = 0, steps = 0
        for n in 0..<pairs {
            var pairRng = Xoshiro256(seed: seed, stream: UInt64(t), UInt64(n + 1))
            var none0 = NoRecording<E.State, Int>(), none1 = NoRecording<E.State, Int>()
            let answer = panel.judgeRolloutPair(env: env, &current, &proposed, recorders: &none0, &none1,
                                                using: &pairRng) { a, _, b, _, _ in (a.shown, b.shown) }
            steps += answer.steps
            if let rate = answer.rate { preference += rate; judged += 1 }
        }
        let mean = judged > 0 ? preference / Double(judged) : 0.5
        diagnostics.add("preference_for_candidate", mean)
        diagnostics.add("accepted", mean > 0.5 ? 1 : 0)
        if mean > 0.5 { parameters = candidate }
        return steps
    }

    mutating func takeDiagnostics() -> [Diagnostic] { diagnostics.take() }
}

/// What the registry calls to build the algorithm for a run.
struct HillClimbFactory: AlgorithmFactory {
    func makeOptimizer<E: Environment>(env: E, policy: NeuralSoftmaxPolicy, panel: EvaluatorPanel,
                                       configuration: TrainConfiguration) throws -> any PreferenceOptimizer
    where E.State: Codable & Sendable {
        PreferenceHillClimb(env: env, family: NeuralFamily(env: env, policy: policy), panel: panel,
                            seed: configuration.seed, parameters: policy.network.parameters)
    }

    func minimumBudget(_ configuration: TrainConfiguration) -> Int { 8 * configuration.evaluators }
}

// MARK: - Register, train, study

let out = CommandLine.arguments.count > 1 ? CommandLine.arguments[1] : ".build/example-study"
do {
    try EnvironmentRegistry.register("chain-walk", summary: "an 8-cell chain with 20% slip") { ChainWalk() }
    try AlgorithmRegistry.register("hill-climb", summary: "preference hill climbing", factory: HillClimbFactory())

    // One run, as `rlhf train --env chain-walk --algorithm hill-climb` would do it.
    var config = TrainConfiguration()
    config.environment = EnvironmentSpec(name: "chain-walk")
    config.algorithm = AlgorithmName(rawValue: "hill-climb")!
    config.budget = 20_000
    config.seed = 1
    let run = try Trainer.run(config)
    print("hill-climb on chain-walk: normalized value \(run.summary.normalizedValue) after \(run.summary.queriesUsed) queries (exact: \(run.summary.exactValues))")

    // A study by name: the registered algorithm against ZPG on the registered environment.
    let yaml = """
        name: chain-walk
        title: Preference hill climbing against ZPG on a slippery chain
        environments: [chain-walk]
        links: [bradley-terry]
        seeds: 3
        budgets: [2000, 20000]
        algorithms:
          - {label: zpg, algorithm: zpg}
          - {label: hill-climb, algorithm: hill-climb}
        """
    let study = try Study.parse(yaml: yaml, file: "chain-walk.yaml")
    let plan = try StudyPlan(study)
    let outcome = try StudyRunner(directory: out, workers: Parallel.coreCount).run(plan, source: yaml)
    guard outcome.failures.isEmpty else {
        for f in outcome.failures { print("failed: \(f)") }
        exit(1)
    }
    let finals = outcome.rows.filter(\.isFinal)
    for algorithm in ["zpg", "hill-climb"] {
        let values = finals.filter { $0.algorithm == algorithm && $0.budget == 20_000 }.map(\.normalizedValue)
        print("\(algorithm) at 20,000 queries: mean normalized value \(values.reduce(0, +) / Double(values.count)) over \(values.count) seeds")
    }
    print("study written to \(out)/ (results.csv, report.md)")
} catch {
    print("error: \(error)")
    exit(1)
}
