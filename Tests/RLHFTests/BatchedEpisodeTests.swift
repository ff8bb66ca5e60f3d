import Foundation
import Testing
@testable import RLHF

/// Every step an episode engine reports, for comparing the two loops.
private struct StepLog<S: Equatable, A: Equatable>: EpisodeRecorder, Equatable {
    var times: [Int] = []
    var states: [S] = []
    var actions: [A] = []
    var rewards: [Double] = []
    var nexts: [S] = []
    var terminals: [Bool] = []

    mutating func record(time: Int, state: S, action: A, result: StepResult<S>) {
        times.append(time); states.append(state); actions.append(action)
        rewards.append(result.reward); nexts.append(result.next); terminals.append(result.terminal)
    }
}

/// A stochastic CartPole controller (one uniform a step): pushes right with probability
/// σ(k·(0.1x + 0.5ẋ + 10θ + 2θ̇)), which balances for a while and then, sometimes, fails.
private struct NoisyBalancer: PolicyActor {
    var gain: Double
    mutating func action(in s: CartPole.State, using rng: inout Xoshiro256) -> Int {
        let z = gain * (0.1 * s.x + 0.5 * s.xDot + 10 * s.theta + 2 * s.thetaDot)
        return rng.uniform() < 1 / (1 + exp(-z)) ? 1 : 0
    }
}

/// Runs `n` episodes both ways, episode i from stream (seed, i): the batched engine with
/// `batch` at `width`, and `runEpisode` with a copy of `single`; returns how many episodes
/// agree exactly (summary, every recorded step, and the generator's state afterwards).
private func agreement<E: EpisodicEnvironment, A: EpisodicActor, B: BatchEpisodicActor>(
    _ env: E, single: A, batch: B, episodes n: Int, width: Int, seed: UInt64, myopicDiscount: Double = 0.9
) -> (equal: Int, batched: [EpisodeSummary], sequential: [EpisodeSummary])
where A.State == E.State, A.Action == E.Action, B.State == E.State, B.Action == E.Action, E.State: Equatable, E.Action: Equatable {
    var generators = (0..<n).map { Xoshiro256(seed: seed, stream: UInt64($0)) }
    var logs = [StepLog<E.State, E.Action>](repeating: StepLog(), count: n)
    var batchActor = batch
    let batched = env.runEpisodes(&batchActor, generators: &generators, width: width, recorders: &logs,
                                  myopicDiscount: myopicDiscount)
    var equal = 0
    var sequential: [EpisodeSummary] = []
    for i in 0..<n {
        var rng = Xoshiro256(seed: seed, stream: UInt64(i))
        var actor = single
        var log = StepLog<E.State, E.Action>()
        let summary = env.runEpisode(&actor, recorder: &log, myopicDiscount: myopicDiscount, using: &rng)
        sequential.append(summary)
        if summary == batched[i] && log == logs[i] && rng.next() == generators[i].next() { equal += 1 }
    }
    return (equal, batched, sequential)
}

@Suite("The lock-step batched episode engine")
struct BatchedEpisodeTests {
    @Test("tabular softmax on GridWorld: the batched engine equals runEpisode episode by episode, at any width",
          arguments: ["classic", "cliff"], [1, 7, 64, 1000])
    func tabularGridWorld(preset: String, width: Int) throws {
        let g = try GridWorld(preset: #require(GridWorldPreset.named(preset)))
        let family = TabularSoftmax(stateCount: g.stateCount, actionCount: g.actionCount)
        var rng = Xoshiro256(seed: 11)
        let theta = (0..<family.parameterCount).map { _ in rng.normal() }
        let actor = theta.withUnsafeBufferPointer { family.makeActor($0) }
        let batch = theta.withUnsafeBufferPointer { family.makeBatchActor($0, capacity: width) }
        let n = 300
        let r = agreement(g, single: actor, batch: batch, episodes: n, width: width, seed: 4)
        #expect(r.equal == n)
    }

    @Test("NeuralTabular on GridWorld (coordinate features): batched equals runEpisode exactly")
    func neuralTabularGridWorld() throws {
        var g = try GridWorld(preset: #require(GridWorldPreset.named("classic")))
        g.featureMode = .coordinates
        var rng = Xoshiro256(seed: 5)
        let policy = NeuralSoftmaxPolicy(featureCount: g.featureCount, hidden: [6], actionCount: 4, uniformStart: false, using: &rng)
        let family = NeuralTabularFamily(env: g, policy: policy)
        let theta = policy.network.parameters
        let actor = theta.withUnsafeBufferPointer { family.makeActor($0) }
        let batch = theta.withUnsafeBufferPointer { family.makeBatchActor($0, capacity: 32) }
        let r = agreement(g, single: actor, batch: batch, episodes: 400, width: 32, seed: 8)
        #expect(r.equal == 400)
    }

    @Test("CartPole with a row-by-row actor: batched equals runEpisode exactly, terminations and truncations",
          arguments: [1, 5, 128])
    func cartPoleRowByRow(width: Int) {
        let env = CartPole(horizon: 40)
        let actor = NoisyBalancer(gain: 0.8)
        let r = agreement(env, single: actor, batch: RowByRowActor(actor), episodes: 300, width: width, seed: 21)
        #expect(r.equal == 300)
        let truncated = r.batched.filter { !$0.terminated }.count
        #expect(truncated > 0 && truncated < 300, "both endings occur (\(truncated) truncated)")
        #expect(r.batched.allSatisfy { $0.steps <= 40 && ($0.terminated || $0.steps == 40) })
    }

    @Test("CartPole with the MLP's single-row actor wrapped row by row: exactly runEpisode")
    func cartPoleSingleRowMLP() {
        let env = CartPole(horizon: 200)
        var rng = Xoshiro256(seed: 1)
        let policy = NeuralSoftmaxPolicy(featureCount: 4, hidden: [16], actionCount: 2, uniformStart: false, using: &rng)
        let actor = policy.network.parameters.withUnsafeBufferPointer { NeuralFamily(env: env, policy: policy).makeActor($0) }
        let r = agreement(env, single: actor, batch: RowByRowActor(actor), episodes: 200, width: 64, seed: 3)
        #expect(r.equal == 200)
    }

    @Test("the batched MLP's logits are the single-row pass's up to rounding (not bitwise: GEMM order, FMA, vector tanh)")
    func mlpLogitsAgree() {
        var rng = Xoshiro256(seed: 2)
        let policy = NeuralSoftmaxPolicy(featureCount: 4, hidden: [16], actionCount: 2, uniformStart: false, using: &rng)
        let network = policy.network
        let rows = 500
        let features = (0..<(rows * 4)).map { _ in 0.3 * rng.normal() }
        let acting = network.parameters.withUnsafeBufferPointer { ActingNetwork(network: network, theta: $0, capacity: rows) }
        var scratch = [Double](repeating: 0, count: 64)
        var worst = 0.0, bitwise = 0
        network.parameters.withUnsafeBufferPointer { theta in
            features.withUnsafeBufferPointer { x in
                acting.input.update(from: x.baseAddress!, count: rows * 4)
                let (batched, stride) = acting.forward(batch: rows)
                for r in 0..<rows {
                    let single = scratch.withUnsafeMutableBufferPointer {
                        Array(network.forwardSingle(UnsafeBufferPointer(rebasing: x[(r * 4)..<(r * 4 + 4)]), parameters: theta, scratch: $0))
                    }
                    for a in 0..<2 {
                        worst = max(worst, abs(single[a] - batched[r * stride + a]))
                        if single[a] == batched[r * stride + a] { bitwise += 1 }
                    }
                }
            }
        }
        #expect(worst < 1e-13, "largest logit difference \(worst)")
        print("batched vs single-row MLP logits: \(bitwise) of \(2 * rows) bitwise equal, largest difference \(worst)")
    }

    @Test("the padded acting network computes the network's outputs (odd widths, several layers, each activation)",
          arguments: [Activation.tanh, .relu, .leakyReLU(slope: 0.1)])
    func actingNetworkMatchesForward(activation: Activation) {
        var rng = Xoshiro256(seed: 4)
        let network = MLP(inputSize: 3, hidden: [5, 9], outputSize: 3, activation: activation, zeroLastLayer: false, using: &rng)
        let rows = 37
        let features = (0..<(rows * 3)).map { _ in rng.normal() }
        let expected = network.forward(features)
        let acting = network.parameters.withUnsafeBufferPointer { ActingNetwork(network: network, theta: $0, capacity: 4) }
        acting.reserve(rows)
        features.withUnsafeBufferPointer { acting.input.update(from: $0.baseAddress!, count: rows * 3) }
        let (out, stride) = acting.forward(batch: rows)
        #expect(stride == 8)
        for r in 0..<rows {
            for a in 0..<3 { #expect(abs(out[r * stride + a] - expected[r * 3 + a]) < 1e-12) }
        }
    }

    @Test("updating a copied batch actor leaves the original's θ alone")
    func batchActorCopyOnWrite() {
        let env = CartPole()
        var rng = Xoshiro256(seed: 1)
        let policy = NeuralSoftmaxPolicy(featureCount: 4, hidden: [16], actionCount: 2, uniformStart: false, using: &rng)
        let family = NeuralFamily(env: env, policy: policy)
        let theta = policy.network.parameters
        let original = theta.withUnsafeBufferPointer { family.makeBatchActor($0, capacity: 8) }
        var copy = original
        let zeros = [Double](repeating: 0, count: theta.count)
        zeros.withUnsafeBufferPointer { family.update(&copy, to: $0) }
        #expect(copy.network !== original.network)
        #expect(original.network.parameters[0] != 0 && copy.network.parameters[0] == 0)
    }

    @Test("CartPole with the batched MLP actor: nearly every episode as runEpisode's (equal returns), same mean",
          arguments: [false, true])
    func cartPoleBatchedMLP(greedy: Bool) {
        let env = CartPole(horizon: 500)
        var rng = Xoshiro256(seed: 1)
        let policy = NeuralSoftmaxPolicy(featureCount: 4, hidden: [16], actionCount: 2, uniformStart: false, using: &rng)
        let family = NeuralFamily(env: env, policy: policy, greedy: greedy)
        let theta = policy.network.parameters
        let actor = theta.withUnsafeBufferPointer { family.makeActor($0) }
        let batch = theta.withUnsafeBufferPointer { family.makeBatchActor($0, capacity: 64) }
        let n = 400
        let r = agreement(env, single: actor, batch: batch, episodes: n, width: 64, seed: 6)
        let sameReturn = zip(r.batched, r.sequential).filter { $0.totalReturn == $1.totalReturn && $0.steps == $1.steps }.count
        #expect(sameReturn >= n * 98 / 100, "\(sameReturn) of \(n) episodes with equal returns")
        print("batched MLP actor (greedy: \(greedy)): \(r.equal) of \(n) episodes identical step by step, \(sameReturn) with equal returns")
    }

    @Test("a recorder per episode sees that episode's steps, whatever the width")
    func recordersPerEpisode() throws {
        let g = try GridWorld(preset: #require(GridWorldPreset.named("classic")))
        let family = TabularSoftmax(stateCount: g.stateCount, actionCount: 4)
        let theta = [Double](repeating: 0, count: family.parameterCount)
        func logs(width: Int) -> [StepLog<Int, Int>] {
            var generators = (0..<50).map { Xoshiro256(seed: 9, stream: UInt64($0)) }
            var recorders = [StepLog<Int, Int>](repeating: StepLog(), count: 50)
            var actor = theta.withUnsafeBufferPointer { family.makeBatchActor($0, capacity: width) }
            let summaries = g.runEpisodes(&actor, generators: &generators, width: width, recorders: &recorders)
            for (s, log) in zip(summaries, recorders) {
                #expect(log.times == Array(0..<s.steps))
                #expect(log.terminals.last == s.terminated)
            }
            return recorders
        }
        #expect(logs(width: 1) == logs(width: 13))
    }

    @Test("no episodes, and the accumulator's sums are runEpisode's")
    func edgeCases() {
        let env = CartPole()
        var actor = RowByRowActor(NoisyBalancer(gain: 1))
        var none: [Xoshiro256] = []
        #expect(env.rollouts(&actor, generators: &none, width: 4).isEmpty)
        var acc = EpisodeAccumulator(discount: 0.5, myopicDiscount: 0.25)
        acc.add(reward: 1, terminal: false)
        acc.add(reward: 2, terminal: false)
        let ended = acc.add(reward: 4, terminal: true)
        #expect(ended)
        #expect(acc.summary == EpisodeSummary(totalReturn: 1 + 0.5 * 2 + 0.25 * 4, myopicReturn: 0.0625 + 0.25 * 2 + 4,
                                              steps: 3, terminated: true))
    }

    @Test("batched Monte-Carlo: the same numbers on any number of threads and at any width")
    func evaluateBatchedDeterministic() async throws {
        let g = try GridWorld(preset: #require(GridWorldPreset.named("classic")))
        let family = TabularSoftmax(stateCount: g.stateCount, actionCount: 4)
        let theta = [Double](repeating: 0, count: family.parameterCount)
        let a = await MonteCarlo.evaluateBatched(g, family: family, parameters: theta, episodes: 1000, seed: 3, threads: 1)
        let b = await MonteCarlo.evaluateBatched(g, family: family, parameters: theta, episodes: 1000, seed: 3, threads: 3, width: 7)
        let c = MonteCarlo.evaluateBatchedSync(g, family: family, parameters: theta, episodes: 1000, seed: 3, threads: 2, width: 300)
        let d = await MonteCarlo.evaluateBatched(g, family: family, parameters: theta, episodes: 1000, seed: 3, threads: 2, width: 1)
        #expect(a.value == b.value && b.value == c.value && c.value == d.value)
        #expect(a.steps == b.steps && b.steps == c.steps && c.steps == d.steps)
        #expect(a.value.count == 1000)
    }

    @Test("batched work items: consecutive runs of chunks covering them all, at least two per thread")
    func batchedGroups() {
        for (chunks, threads) in [(1, 1), (5, 1), (64, 1), (65, 1), (300, 1), (3, 2), (79, 2), (200, 8)] {
            let groups = MonteCarlo.batchedGroups(chunks: chunks, threads: threads)
            #expect(groups.first?.lowerBound == 0 && groups.last?.upperBound == chunks)
            #expect(zip(groups, groups.dropFirst()).allSatisfy { $0.upperBound == $1.lowerBound })
            #expect(groups.allSatisfy { !$0.isEmpty && $0.count <= MonteCarlo.batchedGroupChunks })
            if threads > 1 { #expect(groups.count >= min(chunks, 2 * threads)) }
        }
        #expect(MonteCarlo.batchedGroups(chunks: 0, threads: 4).isEmpty)
    }

    @Test("batched Monte-Carlo agrees with the exact value and with the sequential evaluation")
    func evaluateBatchedAgrees() async throws {
        let g = try GridWorld(preset: #require(GridWorldPreset.named("classic")))
        let family = TabularSoftmax(stateCount: g.stateCount, actionCount: 4)
        var rng = Xoshiro256(seed: 77)
        let theta = (0..<family.parameterCount).map { _ in rng.normal() }
        let exact = g.model.value(policy: family.probabilities(theta))
        let batched = await MonteCarlo.evaluateBatched(g, family: family, parameters: theta, episodes: 20_000, seed: 5, threads: 2)
        let sequential = await MonteCarlo.evaluate(g, family: family, parameters: theta, episodes: 20_000, seed: 5, threads: 2)
        #expect(abs(batched.value.mean - exact) < 4 * batched.value.standardError)
        #expect(batched.value != sequential.value, "other streams, other numbers")
        let se = (batched.value.standardError * batched.value.standardError
                  + sequential.value.standardError * sequential.value.standardError).squareRoot()
        #expect(abs(batched.value.mean - sequential.value.mean) < 4 * se)
    }

    @Test("batched Monte-Carlo of the CartPole MLP: the single-row evaluation's mean within noise")
    func evaluateBatchedCartPole() async {
        let env = CartPole()
        var rng = Xoshiro256(seed: 1)
        let policy = NeuralSoftmaxPolicy(featureCount: 4, hidden: [16], actionCount: 2, uniformStart: false, using: &rng)
        let family = NeuralFamily(env: env, policy: policy)
        let theta = policy.network.parameters
        let batched = await MonteCarlo.evaluateBatched(env, family: family, parameters: theta, episodes: 2000, seed: 2, threads: 2)
        let sequential = await MonteCarlo.evaluate(env, family: family, parameters: theta, episodes: 2000, seed: 2, threads: 2)
        let se = (batched.value.standardError * batched.value.standardError
                  + sequential.value.standardError * sequential.value.standardError).squareRoot()
        #expect(abs(batched.value.mean - sequential.value.mean) < 4 * se)
        #expect(abs(Double(batched.steps) - batched.value.mean * 2000) < 1e-6, "CartPole's return is its length")
    }
}

/// Distance in units in the last place between two finite doubles of the same sign (0 when equal).
private func ulpDistance(_ a: Double, _ b: Double) -> UInt64 {
    if a == b { return 0 }
    func ordered(_ x: Double) -> Int64 {
        let bits = Int64(bitPattern: x.bitPattern)
        return bits < 0 ? Int64.min &- bits : bits
    }
    let d = ordered(a) &- ordered(b)
    return d < 0 ? UInt64(-d) : UInt64(d)
}

@Suite("The vectorized tanh kernel")
struct VectorTanhTests {
    /// Arguments over the whole range: a fine linear grid on [−25, 25], a logarithmic one from
    /// subnormals to 10³⁰⁰, random values, both signs.
    static var arguments: [Double] {
        var x: [Double] = []
        var v = -25.0
        while v <= 25 { x.append(v); v += 0.000_97 }
        var e = -1074.0
        while e <= 997 { let m = Foundation.pow(2, e) * 1.37; x.append(m); x.append(-m); e += 0.25 }
        var rng = Xoshiro256(seed: 12)
        for _ in 0..<20_000 { x.append(rng.normal() * 3) }
        x += [0.625, -0.625, 0.625.nextDown, 0x1p-27, 0x1p-27.nextDown, 19.06, 20, 20.0.nextUp, 22, 710, -710,
              Double.leastNonzeroMagnitude, -Double.leastNonzeroMagnitude, Double.leastNormalMagnitude,
              Double.greatestFiniteMagnitude, -Double.greatestFiniteMagnitude]
        return x
    }

    @Test("within 3 ulp of libm's tanh over the whole range, tiny and huge arguments included")
    func agreesWithLibm() {
        let x = Self.arguments
        let y = VectorTanh.values(x)
        var worst: UInt64 = 0, worstAt = 0.0
        for i in x.indices {
            let reference = Foundation.tanh(x[i])
            let d = ulpDistance(y[i], reference)
            if d > worst { worst = d; worstAt = x[i] }
        }
        #expect(worst <= 3, "\(worst) ulp at \(worstAt)")
        print("ck_tanh (\(VectorTanh.kernelName)) vs libm tanh: at most \(worst) ulp (at \(worstAt)) over \(x.count) arguments")
    }

    @Test("special values: NaN, ±∞, ±0, subnormals, saturation")
    func specialValues() {
        let x: [Double] = [.nan, .infinity, -.infinity, 0, -0.0, 5e-324, -5e-324, 1e-300, 30, -30, 1e308]
        let y = VectorTanh.values(x)
        #expect(y[0].isNaN)
        #expect(y[1] == 1 && y[2] == -1)
        #expect(y[3] == 0 && y[3].sign == .plus && y[4] == 0 && y[4].sign == .minus)
        #expect(y[5] == 5e-324 && y[6] == -5e-324 && y[7] == 1e-300)
        #expect(y[8] == 1 && y[9] == -1 && y[10] == 1)
    }

    @Test("the dispatched variant gives the portable variant's bits, at every length, in place too")
    func variantsAgree() {
        let x = Self.arguments
        let a = VectorTanh.values(x), b = VectorTanh.values(x, portable: true)
        #expect(zip(a, b).allSatisfy { $0.bitPattern == $1.bitPattern })
        for n in 0...19 {
            var buffer = Array(x[1000..<(1000 + n)])
            let expected = Array(a[1000..<(1000 + n)])
            buffer.withUnsafeMutableBufferPointer { p in
                if n > 0 { VectorTanh.apply(p.baseAddress!, count: n, into: p.baseAddress!) }
            }
            #expect(buffer == expected, "length \(n)")
        }
    }
}
