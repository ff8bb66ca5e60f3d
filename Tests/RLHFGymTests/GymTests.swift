import Foundation
import Testing
@testable import RLHF
@testable import RLHFGym

/// Whether `RLHF_PYTHON` (else python3) has Gymnasium (and MuJoCo): the tests that run a worker
/// are skipped, visibly, where it has not (`.ci/run` installs it in a virtual environment).
enum GymAvailability {
    static let python = GymWorker.interpreter(nil)

    static func imports(_ modules: String) -> Bool {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        p.arguments = [python, "-c", "import \(modules)"]
        p.standardOutput = FileHandle.nullDevice
        p.standardError = FileHandle.nullDevice
        guard (try? p.run()) != nil else { return false }
        p.waitUntilExit()
        return p.terminationStatus == 0
    }

    static let gymnasium = imports("gymnasium")
    static let mujoco = gymnasium && imports("gymnasium, mujoco")

    /// The repository's root (for Sources/RLHFGym/gym_reference.py).
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    /// What `gym_reference.py random-returns` prints.
    struct Returns: Decodable { var returns: [Double]; var steps: [Int] }

    /// Runs `gym_reference.py` with `arguments` and decodes its JSON (with JSONDecoder:
    /// JSONSerialization on Linux rounds some doubles to a neighbour).
    static func reference(_ arguments: [String]) throws -> Returns {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        p.arguments = [python, root.appendingPathComponent("Sources/RLHFGym/gym_reference.py").path] + arguments
        let out = Pipe()
        p.standardOutput = out
        try p.run()
        let data = out.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        #expect(p.terminationStatus == 0)
        return try JSONDecoder().decode(Returns.self, from: data)
    }
}

@Suite("Gymnasium specs (no Python needed)")
struct GymSpecTests {
    @Test func keywordArgumentsAreJSONLiteralsOrStrings() throws {
        let spec = EnvironmentSpec(name: "gym:HalfCheetah-v5", horizon: 200,
                                   arguments: ["ctrl_cost_weight": "0.05", "render_mode": "rgb_array", "exclude": "true", "xs": "[1, 2]"])
        #expect(try GymEnvironments.keywordArguments(spec)
                == #"{"ctrl_cost_weight": 0.05, "exclude": true, "max_episode_steps": 200, "render_mode": "rgb_array", "xs": [1, 2]}"#)
        #expect(try GymEnvironments.keywordArguments(EnvironmentSpec(name: "gym:CartPole-v1")) == "{}")
    }

    @Test func badSpecsAreRefusedByName() {
        #expect(throws: RLHFError.self) { try GymEnvironments.keywordArguments(EnvironmentSpec(name: "gym:X-v0", arguments: ["1bad": "1"])) }
        #expect(throws: RLHFError.self) { try GymEnvironments.keywordArguments(EnvironmentSpec(name: "gym:X-v0", arguments: ["a-b": "1"])) }
        #expect(throws: RLHFError.self) { try GymEnvironments.keywordArguments(EnvironmentSpec(name: "gym:X-v0", slip: 0.1)) }
        #expect(throws: RLHFError.self) {
            try GymEnvironments.keywordArguments(EnvironmentSpec(name: "gym:X-v0", horizon: 10, arguments: ["max_episode_steps": "5"]))
        }
        #expect(throws: RLHFError.self) { try GymEnvironments.id(of: EnvironmentSpec(name: "gym:")) }
        #expect(throws: RLHFError.self) { try GymEnvironments.id(of: EnvironmentSpec(name: "gym:Cart Pole")) }
        #expect(throws: RLHFError.self) {
            try GymEnvironments.keywordArguments(EnvironmentSpec(name: "gym:X-v0", arguments: ["a": String(repeating: "x", count: Limits.gymArgumentBytes + 1)]))
        }
    }

    /// gym_reference.py's Python generator printed these (its self-test): the Swift streams.
    @Test func theReferenceGeneratorIsOurs() {
        var g = Xoshiro256(seed: 1, stream: 0, 0)
        #expect([g.next(), g.next(), g.next()] == [0x809C_5B54_0DA6_3C2B, 0x3AFE_1A27_81D8_1810, 0x1500_2D60_98F7_2124])
    }

    @Test func gymNamesResolveWithoutStartingAnything() throws {
        GymEnvironments.register()
        guard case .registered(let r) = try EnvironmentSpec(name: "gym:Anything-v0").resolve() else {
            Issue.record("a gym: name did not resolve to a registered environment"); return
        }
        #expect(!r.isTabular)
        // Arguments belong to gym: environments only.
        #expect(throws: RLHFError.self) { try EnvironmentSpec(name: "classic", arguments: ["a": "1"]).resolve() }
    }

    @Test func aMissingInterpreterSaysWhatToInstall() {
        do {
            _ = try GymWorker(id: "CartPole-v1", kwargsJSON: "{}", python: "/nonexistent/python3")
            Issue.record("a worker started without a Python")
        } catch {
            #expect("\(error)".contains("no Python interpreter '/nonexistent/python3'"))
            #expect("\(error)".contains("pip install"))
        }
    }
}

@Suite("Gymnasium through the worker", .enabled(if: GymAvailability.gymnasium, "needs Python with Gymnasium (python3 -m pip install \"gymnasium[mujoco]\"; RLHF_PYTHON names the interpreter)"))
struct GymWorkerTests {
    @Test func describesSpacesAndHorizon() throws {
        let d = try GymEnvironments.describe(EnvironmentSpec(name: "gym:CartPole-v1"))
        #expect(d.observation == GymSpace(kind: "box", n: nil, start: nil, shape: [4], low: d.observation.low, high: d.observation.high))
        #expect(d.action.isDiscrete && d.action.n == 2)
        #expect(d.maxEpisodeSteps == 500)
        #expect(d.rewardThreshold == 475)
        let p = try GymEnvironments.describe(EnvironmentSpec(name: "gym:Pendulum-v1"))
        #expect(p.action.actionSpace == .box(low: [-2], high: [2]))
        #expect(p.maxEpisodeSteps == 200)
    }

    @Test func errorsNameTheProblem() {
        func message(_ spec: EnvironmentSpec) -> String {
            do { _ = try GymEnvironments.open(spec); return "(no error)" } catch { return "\(error)" }
        }
        let unknown = message(EnvironmentSpec(name: "gym:Nope-v0"))
        #expect(unknown.contains("gym:Nope-v0") && unknown.contains("does not know") && unknown.contains("Nope"))
        let kwarg = message(EnvironmentSpec(name: "gym:CartPole-v1", arguments: ["bogus": "1"]))
        #expect(kwarg.contains("bogus"))
        // Blackjack's observation is a Tuple.
        let tuple = message(EnvironmentSpec(name: "gym:Blackjack-v1"))
        #expect(tuple.contains("Tuple") && tuple.contains("observation"))
    }

    /// The worker's CartPole-v1 and the toolkit's own `cartpole` agree on the uniform policy's
    /// mean return within 4 standard errors of the difference (10⁴ episodes each).
    @Test func cartPoleMatchesTheNativeOne() throws {
        let slots = try GymEnvironments.open(EnvironmentSpec(name: "gym:CartPole-v1"))
        defer { slots.worker.close() }
        let gym = Estimate(samples: try slots.randomPolicyEpisodes(episodes: 10_000, seed: 11).map(\.totalReturn))
        let native = Trainer.uniformValueEstimate(CartPole(), threads: 1, episodes: 10_000)
        let se = (gym.standardError * gym.standardError + native.standardError * native.standardError).squareRoot()
        #expect(abs(gym.mean - native.mean) < 4 * se, "gym \(gym.mean) ± \(gym.standardError), native \(native.mean) ± \(native.standardError)")
        #expect(gym.mean > 15 && gym.mean < 30)
    }

    /// Through the worker, the random policy's episodes are Gymnasium's own loop in Python
    /// (Sources/RLHFGym/gym_reference.py, the same generator): every return equal to the last bit.
    @Test(arguments: ["Pendulum-v1", "CartPole-v1"])
    func randomReturnsEqualGymnasiumsOwnLoop(_ id: String) throws {
        try compareWithReference(id, episodes: 20)
    }

    @Test(.enabled(if: GymAvailability.mujoco, "needs MuJoCo (python3 -m pip install \"gymnasium[mujoco]\")"))
    func hopperEqualsGymnasiumsOwnLoop() throws {
        try compareWithReference("Hopper-v5", episodes: 10)
    }

    func compareWithReference(_ id: String, episodes: Int) throws {
        let slots = try GymEnvironments.open(EnvironmentSpec(name: "gym:\(id)"))
        defer { slots.worker.close() }
        let ours = try slots.randomPolicyEpisodes(episodes: episodes, seed: 5)
        let theirs = try GymAvailability.reference(["random-returns", "--env", id, "--episodes", "\(episodes)", "--seed", "5"])
        #expect(ours.map(\.totalReturn) == theirs.returns)
        #expect(ours.map(\.steps) == theirs.steps)
    }

    /// A run on a gym: environment is deterministic for its seed, on any thread count.
    @Test func zpgOnCartPoleIsDeterministic() throws {
        GymEnvironments.register()
        var c = TrainConfiguration()
        c.environment = EnvironmentSpec(name: "gym:CartPole-v1", horizon: 60)
        c.algorithm = .zpg
        c.budget = 400
        c.evaluators = 1
        c.evaluationEpisodes = 50
        c.seed = 3
        c.hidden = [8]
        let a = try Trainer.run(c)
        c.threads = 2
        let b = try Trainer.run(c)
        #expect(a.state.parameters == b.state.parameters)
        #expect(a.summary.finalValue == b.summary.finalValue)
        #expect(a.summary.envSteps > 0 && a.summary.queriesUsed == 400)
    }

    /// A worker that dies mid-episode gives an error that names the environment and the step;
    /// nothing is reported as a number.
    @Test func aDeadWorkerIsAClearError() throws {
        let slots = try GymEnvironments.open(EnvironmentSpec(name: "gym:CartPole-v1"))
        let env = GymEnvironment(slots: slots)
        var rng = Xoshiro256(seed: 1)
        var s = env.reset(using: &rng)
        s = env.step(s, action: 0, using: &rng).next
        kill(slots.worker.process.processIdentifier, SIGKILL)
        slots.worker.process.waitUntilExit()
        let r = env.step(s, action: 1, using: &rng)
        #expect(r.terminal && r.reward.isNaN)
        let failure = try #require(slots.failure)
        #expect("\(failure)".contains("gym:CartPole-v1"))
        #expect("\(failure)".contains("killed by signal 9") || "\(failure)".contains("exited"))
        #expect(throws: GymError.self) { try slots.randomPolicyEpisodes(episodes: 1, seed: 0) }
    }

    /// A state can be stepped once: a copy stepped again is refused (an episode cannot branch).
    @Test func aStateCannotBeSteppedTwice() throws {
        let slots = try GymEnvironments.open(EnvironmentSpec(name: "gym:CartPole-v1"))
        defer { slots.worker.close() }
        let env = GymEnvironment(slots: slots)
        var rng = Xoshiro256(seed: 1)
        let s = env.reset(using: &rng)
        _ = env.step(s, action: 0, using: &rng)
        let again = env.step(s, action: 0, using: &rng)
        #expect(again.reward.isNaN)
        #expect("\(slots.failure!)".contains("cannot branch"))
    }
}
