import ArgumentParser
import RLHF
import RLHFGym

struct Env: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Describe an environment: a GridWorld's map, sizes and exact values; CartPole's, Pendulum's and the bandit's sizes and values; a Gymnasium environment's spaces, horizon and random-policy return.",
        discussion: """
            Prints the map, |S| (non-wall cells), |A| = 4, the tabular policy dimension d = |S|·|A|, \
            the exact value of the uniform policy V(uniform) and the optimal finite-horizon value V*.

            For `cartpole` V(uniform) is a Monte-Carlo estimate (20,000 episodes, with its standard \
            error) and V* the horizon; for `pendulum` V(uniform) is the uniform box policy's \
            estimate and V* = 0 (every reward is ≤ 0); for `bandit` and `bandit-CxAxK` both are exact.

            For `gym:ID` (any Gymnasium environment; Python with Gymnasium, see --python) it prints \
            the observation and action spaces, the horizon (the registered max_episode_steps), \
            the reward threshold and the random policy's mean return with its standard error \
            over --episodes episodes (--returns: every episode's).

            Map files use one character a cell: `.` floor, `#` wall, `S` start (exactly one), \
            `G` goal (+1, ends the episode), `T` trap (−1, ends the episode).
            """)

    @Argument(help: ArgumentHelp("A GridWorld preset (classic, traps, cliff, open-N), a map file path, cartpole, pendulum, bandit, bandit-CxAxK or gym:ID.", valueName: "NAME|PATH"))
    var name: String = "classic"

    @OptionGroup(title: "Dynamics")
    var dynamics: DynamicsOptions

    @Flag(help: "Print one JSON object instead of text.")
    var json = false

    @Option(parsing: .unconditional, help: "gym: environments: episodes of the random policy's mean return.")
    var episodes: Count = 1000

    @Option(parsing: .unconditional, help: "gym: environments: seed of the random policy's episodes (episode e from stream (seed, e / 256, e % 256)).")
    var seed: UInt64 = 0

    @Flag(help: "gym: environments: also print every episode's return and length (JSON: returns, lengths).")
    var returns = false

    /// What `rlhf env gym:ID` prints.
    struct GymReport: Encodable {
        var name: String
        var kind = "gymnasium"
        var id: String
        var gymnasium: String
        var python: String
        var observation: GymSpace
        var action: GymSpace
        var features: Int
        var horizon: Int
        var rewardThreshold: Double?
        /// Algorithms that train on it: every one on a Discrete action space, zpg and zbcpg on a Box.
        var algorithms: [String]
        var randomPolicy: RandomPolicy

        struct RandomPolicy: Encodable {
            var episodes: Int
            var seed: UInt64
            var meanReturn: Double
            var standardError: Double
            var meanLength: Double
            var returns: [Double]?
            var lengths: [Int]?
        }
    }

    func describeGym(_ spec: EnvironmentSpec) throws {
        try Validate.atLeast(episodes.value, 1, "episodes", atMost: Limits.episodes)
        let slots = try GymEnvironments.open(spec)
        defer { slots.worker.close() }
        let d = slots.worker.description
        let summaries = try slots.randomPolicyEpisodes(episodes: episodes.value, seed: seed)
        let estimate = Estimate(samples: summaries.map(\.totalReturn))
        let report = GymReport(
            name: spec.name, id: d.id, gymnasium: d.gymnasium, python: d.python, observation: d.observation, action: d.action,
            features: slots.worker.description.observation.isDiscrete ? d.observation.n ?? 1 : d.observation.size,
            horizon: slots.horizon, rewardThreshold: d.rewardThreshold, algorithms: d.action.isDiscrete ? AlgorithmName.builtIn.map(\.rawValue) : ["zpg", "zbcpg"],
            randomPolicy: .init(episodes: episodes.value, seed: seed, meanReturn: estimate.mean, standardError: estimate.standardError,
                                meanLength: Double(summaries.reduce(0) { $0 + $1.steps }) / Double(summaries.count),
                                returns: returns ? summaries.map(\.totalReturn) : nil, lengths: returns ? summaries.map(\.steps) : nil))
        if json { return try printJSON(report) }
        func space(_ s: GymSpace) -> String {
            s.isDiscrete ? "Discrete(\(s.n ?? 0)\((s.start ?? 0) != 0 ? ", start=\(s.start!)" : ""))"
                : "Box(shape \(s.shape ?? []))" + (s.actionSpace.map { sp in
                    if case let .box(low, high) = sp, low.count <= 8 { return " low \(low) high \(high)" }
                    return ""
                } ?? "")
        }
        print("environment       \(spec.name) (Gymnasium \(d.gymnasium), Python \(d.python))")
        print("observation       \(space(d.observation))")
        print("action            \(space(d.action))")
        print("features          \(report.features)")
        print("horizon H         \(report.horizon)" + (spec.horizon == nil ? " (the registered max_episode_steps)" : ""))
        print("reward threshold  " + (d.rewardThreshold.map { fmt($0, 3) } ?? "none registered"))
        print("random policy     \(fmt(estimate.mean, 4)) ± \(fmt(estimate.standardError, 4)) (mean return ± SE, \(episodes.value) episodes, seed \(seed); mean length \(fmt(report.randomPolicy.meanLength, 1)))")
        print("training          " + (d.action.isDiscrete ? "every algorithm (softmax MLP policy)" : "zpg and zbcpg (Gaussian MLP policy; the baselines need discrete actions yet)"))
    }

    struct Report: Encodable {
        var name: String
        var map: [String]
        var rows: Int
        var columns: Int
        var states: Int
        var actions: Int
        var d: Int
        var slip: Double
        var horizon: Int
        var stepReward: Double
        var uniformValue: Double
        var optimalValue: Double
    }

    /// What `rlhf env` prints of an environment that is not a GridWorld.
    struct OtherReport: Encodable {
        var name: String
        var kind: String
        var states: Int?
        var features: Int
        var actions: Int
        var horizon: Int
        var uniformValue: Double
        /// Standard error of ``uniformValue`` when it is a Monte-Carlo estimate.
        var uniformValueSe: Double?
        var optimalValue: Double
    }

    func run() throws {
        let report: OtherReport
        let spec = try dynamics.spec(name)
        if name.hasPrefix(GymEnvironments.prefix) { return try describeGym(spec) }
        switch try spec.resolve() {
        case .gridWorld(let g):
            return try describe(g)
        case .bandit(let b):
            report = OtherReport(name: name, kind: "linear bandit", states: b.contextCount, features: b.featureCount,
                                 actions: b.actionCount, horizon: 1, uniformValue: b.model.value(policy: b.model.uniformPolicy),
                                 uniformValueSe: nil, optimalValue: b.model.optimalValue)
        case .cartPole(let c):
            let e = Trainer.uniformValueEstimate(c, threads: Parallel.coreCount)
            report = OtherReport(name: name, kind: "cartpole", states: nil, features: c.featureCount, actions: c.actionCount,
                                 horizon: c.horizon, uniformValue: e.mean, uniformValueSe: e.standardError,
                                 optimalValue: Double(c.horizon))
        case .pendulum(let p):
            let e = MonteCarlo.evaluateSync(p, family: UniformBoxFamily(env: p), parameters: [], episodes: Trainer.uniformValueEpisodes,
                                            seed: Trainer.uniformValueSeed, threads: Parallel.coreCount).value
            report = OtherReport(name: name, kind: "pendulum (Gymnasium's Pendulum-v1; one torque in [-2, 2]: actions is the box's dimension)",
                                 states: nil, features: p.featureCount, actions: 1, horizon: p.horizon, uniformValue: e.mean,
                                 uniformValueSe: e.standardError, optimalValue: 0)
        case .registered(let r):
            throw ValidationError("'\(r.name)' is an environment a program registered (\(r.summary)); describe it from that program")
        }
        if json { return try printJSON(report) }
        print("environment       \(report.name) (\(report.kind))")
        if let s = report.states { print("contexts          \(s)") }
        print("features          \(report.features)")
        print("actions |A|       \(report.actions)")
        print("horizon H         \(report.horizon)")
        print("V(uniform)        \(fmt(report.uniformValue, 6))" + (report.uniformValueSe.map { " ± \(fmt($0, 6)) (Monte-Carlo, 20,000 episodes)" } ?? ""))
        print("V*                \(fmt(report.optimalValue, 6))" + (report.uniformValueSe != nil ? (report.optimalValue == 0 ? " (every reward is ≤ 0)" : " (the horizon: every step rewards 1)") : ""))
    }

    func describe(_ env: GridWorld) throws {
        let model = env.model
        let report = Report(
            name: name, map: env.mapText.split(separator: "\n").map(String.init), rows: env.rows, columns: env.columns,
            states: env.stateCount, actions: env.actionCount, d: env.stateCount * env.actionCount,
            slip: env.options.slip, horizon: env.options.horizon, stepReward: env.options.stepReward,
            uniformValue: model.value(policy: model.uniformPolicy), optimalValue: model.optimalValue)
        if json {
            try printJSON(report)
            return
        }
        print(env.mapText)
        print("")
        print("states |S|        \(report.states)")
        print("actions |A|       \(report.actions)  (up, down, right, left)")
        print("dimension d       \(report.d)")
        print("slip              \(report.slip)")
        print("horizon H         \(report.horizon)")
        print("step reward       \(report.stepReward)")
        print("V(uniform)        \(fmt(report.uniformValue, 6))")
        print("V*                \(fmt(report.optimalValue, 6))")
    }
}
