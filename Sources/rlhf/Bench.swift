import ArgumentParser
import RLHF
import RLHFGym

struct Bench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Measure simulation and training speed on this machine.",
        discussion: """
            Environment steps per second of uniform-policy rollouts on `classic` (one core and all \
            cores, a TaskGroup of fixed-size chunks), and queries per second of full 10⁶-query ZPG \
            and ZBCPG runs with the default settings; forward + backward time of a 64-64-64-64 and a \
            256-256-256-256 MLP on a batch of 256; CartPole rollout steps per second with an MLP \
            policy, one forward pass a step and batched (the lock-step engine, --batch-width episodes \
            a step, one matrix product per layer). Build with `-c release` for meaningful figures; \
            --cartpole-only skips everything but the CartPole lines.

            The MLP figures name the matrix kernel used (avx512f, avx2+fma or portable: the best \
            this CPU and OS support). RLHF_KERNEL=avx512|avx2|portable selects another available \
            one; an unknown or unavailable name falls back to the best, with a note on stderr.
            """)

    @Option(help: "Episodes per rollout measurement.")
    var episodes: Int = 400_000

    @Option(help: "Query budget of the ZPG and ZBCPG runs.")
    var queries: Int = 1_000_000

    @Option(help: "Episodes advanced together by the batched CartPole measurement (B).")
    var batchWidth: Int = MonteCarlo.defaultBatchWidth

    @Flag(help: "Measure only the CartPole rollouts (single-row and batched).")
    var cartpoleOnly = false

    @Option(help: ArgumentHelp("Measure only Gymnasium environments (comma-separated ids, e.g. CartPole-v1,Pendulum-v1,HalfCheetah-v5,Hopper-v5): steps/s through the worker against Gymnasium's own vector loop in the same Python (--python, RLHF_PYTHON).", valueName: "ID,ID,..."))
    var gym: String?

    @Option(help: "Gymnasium measurements: environments stepped together (B).")
    var gymEnvs: Int = 8

    @Option(help: "Gymnasium measurements: lock-step steps timed (each of B environments).")
    var gymSteps: Int = 2000

    @Option(help: ArgumentHelp("Gymnasium measurements: the Python that runs Gymnasium (default: $RLHF_PYTHON, else python3).", valueName: "PATH"))
    var python: String?

    @Flag(help: "Print one JSON object instead of text.")
    var json = false

    @Flag(help: "Measure only the MLP forward + backward times (and name the matrix kernel).")
    var mlpOnly = false

    @Option(help: "Timed rounds of the MLP measurements (200 steps in all; the fastest round's mean counts).")
    var mlpRounds: Int = 5

    /// The `--mlp-only` report.
    struct MLPReport: Encodable {
        var matrixKernel: String
        var matrixKernelsAvailable: [String]
        var mlpForwardBackwardMicrosWidth64: Double
        var mlpForwardBackwardMicrosWidth256: Double
    }

    struct Report: Encodable {
        var cores: Int
        var envStepsPerSecondOneCore: Double
        var envStepsPerSecondAllCores: Double
        var zpgQueriesPerSecond: Double
        var zpgSeconds: Double
        var zpgNormalizedValue: Double
        var zbcpgQueriesPerSecond: Double
        var zbcpgSeconds: Double
        var zbcpgNormalizedValue: Double
        var matrixKernel: String
        var matrixKernelsAvailable: [String]
        var mlpForwardBackwardMicrosWidth64: Double
        var mlpForwardBackwardMicrosWidth256: Double
        var cartpoleStepsPerSecondOneCore: Double
        var cartpoleStepsPerSecondAllCores: Double
        var cartpoleBatchedStepsPerSecondOneCore: Double
        var cartpoleBatchedStepsPerSecondAllCores: Double
        var cartpoleBatchWidth: Int
    }

    func validate() throws {
        guard episodes >= 1 else { throw ValidationError("--episodes must be at least 1") }
        guard (1...200).contains(mlpRounds) else { throw ValidationError("--mlp-rounds must be between 1 and 200") }
        guard batchWidth >= 1 else { throw ValidationError("--batch-width must be at least 1") }
        guard queries >= 80 else { throw ValidationError("--queries must be at least 80 (one ZPG iteration)") }
    }

    /// CartPole steps per second with the default MLP policy of `rlhf train --env cartpole
    /// --policy mlp`: one forward pass a step, then batched; each on one core and on all.
    func cartpoleFigures(cores: Int) async -> (one: Double, all: Double, batchedOne: Double, batchedAll: Double) {
        let cartpole = CartPole()
        var rng = Xoshiro256(seed: 1)
        let policy = NeuralSoftmaxPolicy(featureCount: 4, hidden: [16], actionCount: 2, uniformStart: false, using: &rng)
        let cartFamily = NeuralFamily(env: cartpole, policy: policy)
        let theta = policy.network.parameters
        func cartpoleSteps(threads: Int) async -> Double {
            let clock = Stopwatch()
            let (_, steps) = await MonteCarlo.evaluate(cartpole, family: cartFamily, parameters: theta,
                                                       episodes: episodes / 20, seed: 2, threads: threads)
            return Double(steps) / clock.seconds
        }
        func cartpoleBatchedSteps(threads: Int) async -> Double {
            let clock = Stopwatch()
            let (_, steps) = await MonteCarlo.evaluateBatched(cartpole, family: cartFamily, parameters: theta,
                                                              episodes: episodes / 20, seed: 2, threads: threads,
                                                              width: batchWidth)
            return Double(steps) / clock.seconds
        }
        let one = await cartpoleSteps(threads: 1)
        let all = await cartpoleSteps(threads: cores)
        let batchedOne = await cartpoleBatchedSteps(threads: 1)
        let batchedAll = await cartpoleBatchedSteps(threads: cores)
        return (one, all, batchedOne, batchedAll)
    }

    func cartpoleLines(_ cart: (one: Double, all: Double, batchedOne: Double, batchedAll: Double)) -> String {
        """
        CartPole steps/s, one core     \(fmt(cart.one / 1e6, 2)) M   (MLP 4-16-2 policy, one forward pass a step)
        CartPole steps/s, all cores    \(fmt(cart.all / 1e6, 2)) M
        CartPole steps/s, batched, one core   \(fmt(cart.batchedOne / 1e6, 2)) M   (B = \(batchWidth) episodes a step, one matrix product per layer)
        CartPole steps/s, batched, all cores  \(fmt(cart.batchedAll / 1e6, 2)) M
        """
    }

    func runGym(_ ids: [String]) throws {
        try Validate.atLeast(gymEnvs, 1, "gym-envs", atMost: GymSlots.maximumSlots)
        try Validate.atLeast(gymSteps, 1, "gym-steps", atMost: Limits.count)
        if let python { GymEnvironments.python = python }
        var all: [GymBenchmark.Figures] = []
        for id in ids {
            let f = try GymBenchmark.measure(id: id, numEnvs: gymEnvs, steps: gymSteps)
            all.append(f)
            if !json {
                print("gym:\(id)  B = \(f.numEnvs): worker \(fmt(f.bridgeBatchedStepsPerSecond, 0)) steps/s lock-step (\(fmt(f.bridgeSingleStepsPerSecond, 0)) one row a frame), Gymnasium's own vector loop \(fmt(f.gymnasiumStepsPerSecond, 0)); bridge slowdown \(fmt(f.slowdownBatched, 2))× lock-step, \(fmt(f.slowdownSingle, 2))× one row a frame")
            }
        }
        if json { try printJSON(all) }
    }

    func run() async throws {
        if let gym {
            return try runGym(gym.split(separator: ",").map { String($0).trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty })
        }
        if mlpOnly {
            let report = MLPReport(matrixKernel: NeuralBenchmark.kernel, matrixKernelsAvailable: NeuralBenchmark.availableKernels,
                                   mlpForwardBackwardMicrosWidth64: NeuralBenchmark.forwardBackwardMicros(width: 64, rounds: mlpRounds),
                                   mlpForwardBackwardMicrosWidth256: NeuralBenchmark.forwardBackwardMicros(width: 256, rounds: mlpRounds))
            if json {
                try printJSON(report)
                return
            }
            print("""
                matrix kernel                  \(report.matrixKernel)   (available: \(report.matrixKernelsAvailable.joined(separator: ", ")))
                MLP fwd+bwd, width 64          \(fmt(report.mlpForwardBackwardMicrosWidth64, 1)) µs   (64-64-64-64 ReLU, batch 256, Double)
                MLP fwd+bwd, width 256         \(fmt(report.mlpForwardBackwardMicrosWidth256, 1)) µs
                """)
            return
        }
        if cartpoleOnly {
            let cores = Parallel.coreCount
            let cart = await cartpoleFigures(cores: cores)
            if json {
                struct CartPoleReport: Encodable {
                    var cores: Int
                    var cartpoleStepsPerSecondOneCore: Double
                    var cartpoleStepsPerSecondAllCores: Double
                    var cartpoleBatchedStepsPerSecondOneCore: Double
                    var cartpoleBatchedStepsPerSecondAllCores: Double
                    var cartpoleBatchWidth: Int
                }
                try printJSON(CartPoleReport(cores: cores, cartpoleStepsPerSecondOneCore: cart.one,
                                             cartpoleStepsPerSecondAllCores: cart.all,
                                             cartpoleBatchedStepsPerSecondOneCore: cart.batchedOne,
                                             cartpoleBatchedStepsPerSecondAllCores: cart.batchedAll,
                                             cartpoleBatchWidth: batchWidth))
            } else {
                print("cores                          \(cores)\n" + cartpoleLines(cart))
            }
            return
        }
        let env = try GridWorld(preset: GridWorldPreset.named("classic")!)
        let family = TabularSoftmax(stateCount: env.stateCount, actionCount: env.actionCount)
        let theta = [Double](repeating: 0, count: family.parameterCount)
        let cores = Parallel.coreCount

        func stepsPerSecond(threads: Int) async -> Double {
            let clock = Stopwatch()
            let (_, steps) = await MonteCarlo.evaluate(env, family: family, parameters: theta,
                                                       episodes: episodes, seed: 1, threads: threads)
            return Double(steps) / clock.seconds
        }
        let one = await stepsPerSecond(threads: 1)
        let all = await stepsPerSecond(threads: cores)

        var config = TrainConfiguration()
        config.budget = queries
        let zpg = try Trainer.run(config).summary
        config.algorithm = .zbcpg
        let zbcpg = try Trainer.run(config).summary

        // Neural: forward + backward of a 64-64-64-64 (and 256-…) ReLU MLP on a batch of 256.
        let mlp64 = NeuralBenchmark.forwardBackwardMicros(width: 64, rounds: mlpRounds)
        let mlp256 = NeuralBenchmark.forwardBackwardMicros(width: 256, rounds: mlpRounds)
        let cart = await cartpoleFigures(cores: cores)

        let report = Report(
            cores: cores, envStepsPerSecondOneCore: one, envStepsPerSecondAllCores: all,
            zpgQueriesPerSecond: Double(zpg.queriesUsed) / zpg.wallSeconds, zpgSeconds: zpg.wallSeconds,
            zpgNormalizedValue: zpg.normalizedValue,
            zbcpgQueriesPerSecond: Double(zbcpg.queriesUsed) / zbcpg.wallSeconds, zbcpgSeconds: zbcpg.wallSeconds,
            zbcpgNormalizedValue: zbcpg.normalizedValue, matrixKernel: NeuralBenchmark.kernel,
            matrixKernelsAvailable: NeuralBenchmark.availableKernels,
            mlpForwardBackwardMicrosWidth64: mlp64, mlpForwardBackwardMicrosWidth256: mlp256,
            cartpoleStepsPerSecondOneCore: cart.one, cartpoleStepsPerSecondAllCores: cart.all,
            cartpoleBatchedStepsPerSecondOneCore: cart.batchedOne, cartpoleBatchedStepsPerSecondAllCores: cart.batchedAll,
            cartpoleBatchWidth: batchWidth)
        if json {
            try printJSON(report)
            return
        }
        print("""
            cores                          \(cores)
            env steps/s, one core          \(fmt(one / 1e6, 1)) M   (classic, uniform policy)
            env steps/s, all cores         \(fmt(all / 1e6, 1)) M
            ZPG queries/s                  \(fmt(zpg.queriesUsed.asDouble / zpg.wallSeconds / 1e6, 2)) M   (\(zpg.queriesUsed) queries in \(fmt(zpg.wallSeconds, 3)) s, normalized \(fmt(zpg.normalizedValue, 3)))
            ZBCPG queries/s (K = 4)        \(fmt(zbcpg.queriesUsed.asDouble / zbcpg.wallSeconds / 1e6, 2)) M   (\(zbcpg.queriesUsed) queries in \(fmt(zbcpg.wallSeconds, 3)) s, normalized \(fmt(zbcpg.normalizedValue, 3)))
            matrix kernel                  \(NeuralBenchmark.kernel)   (available: \(NeuralBenchmark.availableKernels.joined(separator: ", ")))
            MLP fwd+bwd, width 64          \(fmt(mlp64, 1)) µs   (64-64-64-64 ReLU, batch 256, Double, kernel \(NeuralBenchmark.kernel))
            MLP fwd+bwd, width 256         \(fmt(mlp256, 1)) µs
            """ + "\n" + cartpoleLines(cart))
    }
}

extension Int {
    var asDouble: Double { Double(self) }
}
