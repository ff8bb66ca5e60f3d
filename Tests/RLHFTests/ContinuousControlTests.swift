import Testing
import RLHF
import RLHFTestSupport

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A Pendulum whose episodes start from a given state (Gymnasium's `env.unwrapped.state = …`).
private struct FixedStartPendulum: EpisodicEnvironment {
    var base = Pendulum()
    var start: Pendulum.State
    var actionSpace: ActionSpace { base.actionSpace }
    var horizon: Int { base.horizon }
    var discount: Double { base.discount }
    var featureCount: Int { base.featureCount }
    func reset(using rng: inout Xoshiro256) -> Pendulum.State { start }
    func step(_ state: Pendulum.State, action: [Double], using rng: inout Xoshiro256) -> StepResult<Pendulum.State> {
        base.step(state, action: action, using: &rng)
    }
    func features(of state: Pendulum.State, into buffer: UnsafeMutableBufferPointer<Double>) {
        base.features(of: state, into: buffer)
    }
}

/// Plays a fixed sequence of torques (then zero).
private struct ScriptedActor: EpisodicActor {
    var torques: [Double]
    var t = 0
    mutating func action(in state: Pendulum.State, using rng: inout Xoshiro256) -> [Double] {
        defer { t += 1 }
        return [t < torques.count ? torques[t] : 0]
    }
}

/// Keeps every step's state, action and reward.
private struct StepLog<State>: EpisodeRecorder {
    var states: [State] = []
    var actions: [[Double]] = []
    var rewards: [Double] = []
    var nexts: [State] = []
    mutating func record(time: Int, state: State, action: [Double], result: StepResult<State>) {
        states.append(state)
        actions.append(action)
        rewards.append(result.reward)
        nexts.append(result.next)
    }
}

/// Whether two generators are at the same position, judged by their next four outputs (two
/// different positions agreeing on 256 output bits is not a practical possibility).
private func samePosition(_ a: Xoshiro256, _ b: Xoshiro256) -> Bool {
    var x = a, y = b
    return (0..<4).allSatisfy { _ in x.next() == y.next() }
}

/// |a − b| ≤ tol·max(1, |b|).
private func close(_ a: Double, _ b: Double, _ tol: Double = 1e-14) -> Bool {
    abs(a - b) <= tol * max(1, abs(b))
}

@Suite("Continuous control: Pendulum")
struct ContinuousPendulumTests {
    @Test("Gymnasium Pendulum-v1 constants and spaces")
    func constants() {
        let env = Pendulum()
        #expect(Pendulum.maxSpeed == 8 && Pendulum.maxTorque == 2 && Pendulum.dt == 0.05)
        #expect(Pendulum.mass == 1 && Pendulum.length == 1 && Pendulum.defaultGravity == 10 && env.gravity == 10)
        #expect(env.actionSpace == .box(low: [-2], high: [2]))
        #expect(env.actionSpace.dimension == 1 && !env.actionSpace.isFinite)
        #expect(env.horizon == 200 && env.discount == 1 && env.featureCount == 3)
        #expect(throws: RLHFError.self) { try Pendulum.validated(horizon: 0) }
        #expect(throws: RLHFError.self) { try Pendulum.validated(gravity: .nan) }
        #expect((try? Pendulum.validated(gravity: 9.81, horizon: 50))?.horizon == 50)
    }

    /// Steps worked out by hand from θ̇′ = θ̇ + (3g/2·sin θ + 3u)·dt, clipped to ±8, θ′ = θ + θ̇′·dt,
    /// r = −(norm(θ)² + 0.1θ̇² + 0.001u²), with g = 10, dt = 0.05.
    @Test("hand-computed steps from known states")
    func handSteps() {
        let env = Pendulum()
        var rng = Xoshiro256(seed: 1)
        func step(_ theta: Double, _ thetaDot: Double, _ u: Double, _ e: Pendulum = Pendulum()) -> StepResult<Pendulum.State> {
            e.step(.init(theta: theta, thetaDot: thetaDot), action: [u], using: &rng)
        }
        // Upright at rest, u = 1: θ̇′ = 3·1·0.05 = 0.15, θ′ = 0.15·0.05 = 0.0075, r = −0.001·1.
        var r = step(0, 0, 1)
        #expect(close(r.next.thetaDot, 0.15) && close(r.next.theta, 0.0075) && close(r.reward, -0.001))
        #expect(!r.terminal)
        // Horizontal at rest, no torque: θ̇′ = 15·sin(π/2)·0.05 = 0.75, θ′ = π/2 + 0.0375,
        // r = −(π/2)² = −2.4674011002723395.
        r = step(.pi / 2, 0, 0)
        #expect(close(r.next.thetaDot, 0.75) && close(r.next.theta, .pi / 2 + 0.0375) && close(r.reward, -2.4674011002723395))
        // Torque and speed clipping: u = 5 → 2; θ̇′ = 7.9 + (15 + 6)·0.05 = 8.95 → 8; θ′ = π/2 + 8·0.05;
        // r = −((π/2)² + 0.1·7.9² + 0.001·2²) = −(2.4674011002723395 + 6.241 + 0.004) = −8.71240110027234.
        r = step(.pi / 2, 7.9, 5)
        #expect(r.next.thetaDot == 8 && close(r.next.theta, .pi / 2 + 0.4) && close(r.reward, -8.71240110027234))
        // The mirror image: u = −2, θ̇′ = −7.9 − 1.05 → −8.
        r = step(-.pi / 2, -7.9, -2)
        #expect(r.next.thetaDot == -8 && close(r.next.theta, -.pi / 2 - 0.4) && close(r.reward, -8.71240110027234))
        // Negative torque clip: u = −3 acts as −2: θ̇′ = −0.3, θ′ = −0.015, r = −0.004; same as u = −2.
        r = step(0, 0, -3)
        #expect(close(r.next.thetaDot, -0.3) && close(r.next.theta, -0.015) && close(r.reward, -0.004))
        let r2 = step(0, 0, -2)
        #expect(r.next == r2.next && r.reward == r2.reward)
        // Another gravity: g = 9.81 at θ = π/6: θ̇′ = 14.715·0.5·0.05 = 0.367875, θ′ = π/6 + 0.01839375,
        // r = −(π/6)² = −0.27415567780803757.
        r = step(.pi / 6, 0, 0, Pendulum(gravity: 9.81))
        #expect(close(r.next.thetaDot, 0.367875) && close(r.next.theta, .pi / 6 + 0.01839375)
                && close(r.reward, -0.27415567780803757))
        // The cost reads the normalized angle: θ = 2π + 0.5 costs 0.5² = 0.25; θ itself is not wrapped.
        r = step(2 * .pi + 0.5, 0, 0)
        #expect(close(r.reward, -0.25) && r.next.theta > 2 * .pi)
        // Hanging down: norm(π) = −π, r = −π²; the step is deterministic (no draws).
        let before = rng
        r = step(.pi, 0, 0)
        #expect(close(r.reward, -.pi * .pi))
        #expect(samePosition(rng, before))
        _ = env
    }

    @Test("angle normalization is Gymnasium's ((x + π) mod 2π) − π")
    func angleNormalization() {
        // Values printed by gymnasium.envs.classic_control.pendulum.angle_normalize.
        #expect(Pendulum.normalizeAngle(0) == 0)
        #expect(Pendulum.normalizeAngle(.pi) == -.pi)
        #expect(Pendulum.normalizeAngle(-.pi) == -.pi)
        #expect(Pendulum.normalizeAngle(1.5 * .pi) == -1.5707963267948966)
        #expect(Pendulum.normalizeAngle(-4.0) == 2.2831853071795862)
        #expect(Pendulum.normalizeAngle(7.0) == 0.7168146928204138)
        #expect(Pendulum.normalizeAngle(2 * .pi) == 0)
        for k in -5...5 {
            let x = 0.3 + Double(k) * 2 * .pi
            #expect(abs(Pendulum.normalizeAngle(x) - 0.3) < 1e-13)
            let y = Pendulum.normalizeAngle(Double(k) * 1.7)
            #expect(y >= -.pi && y < .pi)
        }
    }

    @Test("features are (cos θ, sin θ, θ̇)")
    func features() {
        let env = Pendulum()
        var buffer = [Double](repeating: 0, count: 3)
        buffer.withUnsafeMutableBufferPointer { env.features(of: .init(theta: .pi / 3, thetaDot: -2.5), into: $0) }
        #expect(close(buffer[0], 0.5) && close(buffer[1], 0.8660254037844386) && buffer[2] == -2.5)
    }

    @Test("reset: θ ~ U[−π, π), θ̇ ~ U[−1, 1), two uniform draws, deterministic per seed")
    func reset() {
        let env = Pendulum()
        var a = Xoshiro256(seed: 7), b = Xoshiro256(seed: 7), c = Xoshiro256(seed: 8)
        let s = env.reset(using: &a)
        #expect(s == env.reset(using: &b))
        #expect(s != env.reset(using: &c))
        var manual = Xoshiro256(seed: 7)
        let u1 = manual.uniform(), u2 = manual.uniform()
        #expect(s.theta == -.pi + 2 * .pi * u1 && s.thetaDot == -1 + 2 * u2)
        #expect(samePosition(a, manual))
        var rng = Xoshiro256(seed: 9)
        var maxTheta = 0.0, maxSpeed = 0.0
        for _ in 0..<2000 {
            let s = env.reset(using: &rng)
            #expect(s.theta >= -.pi && s.theta < .pi && s.thetaDot >= -1 && s.thetaDot < 1)
            maxTheta = max(maxTheta, abs(s.theta)); maxSpeed = max(maxSpeed, abs(s.thetaDot))
        }
        // The ranges are covered: the largest of 2000 |U| is above 0.99 of the bound but for 2e-9.
        #expect(maxTheta > 0.99 * .pi && maxSpeed > 0.99)
    }

    /// Reference numbers from Gymnasium 1.4.0 with numpy 2.4.6 (`pip install gymnasium` in a scratch venv;
    /// the state is float64): `env = gym.make("Pendulum-v1"); env.reset(seed=0);
    /// env.unwrapped.state = np.array([-4.0, 7.5])`, then `env.step(np.array([a]))` for the
    /// actions below, printing `repr` of `env.unwrapped.state` and of the reward. The first three
    /// steps clip both the torque (3 → 2, −5 → −2, 0.5) and the speed (→ 8); the last two clip
    /// ±10 → ±2. Both sides compute sin with the C library and the same operation order, so on
    /// Linux/glibc the numbers agree bit for bit; the tolerance 1e-13 allows an ulp-level
    /// difference in `sin` between libms.
    @Test("matches Gymnasium's Pendulum-v1 on a fixed action sequence")
    func gymnasiumSequence() {
        let actions = [3.0, -5.0, 0.5, -2.0, 2.0, 0.0, 1.25, -0.75, 10.0, -10.0]
        let expected: [(theta: Double, thetaDot: Double, reward: Double)] = [
            (-3.6, 8.0, -10.841935146920742),
            (-3.2, 8.0, -13.603483392664414),
            (-2.8000000000000003, 8.0, -15.906281638408078),
            (-2.4275620556308466, 7.448758887383072, -14.244000000000002),
            (-2.0646823032552257, 7.25759504751242, -11.44545843017549),
            (-1.7348212018843487, 6.597222027417541, -9.530181600742985),
            (-1.4325817774966012, 6.0447884877549525, -7.363500950411778),
            (-1.1731097368004946, 5.18944081392213, -5.706799835384802),
            (-0.9332111740841044, 4.797971254327804, -4.073216050696203),
            (-0.7384451946266204, 3.895319589149679, -3.1769359111710247),
        ]
        let env = FixedStartPendulum(start: .init(theta: -4.0, thetaDot: 7.5))
        var actor = ScriptedActor(torques: actions)
        var log = StepLog<Pendulum.State>()
        var rng = Xoshiro256(seed: 0)
        let summary = env.runEpisode(&actor, recorder: &log, using: &rng)
        #expect(summary.steps == 200 && !summary.terminated)
        for (t, e) in expected.enumerated() {
            #expect(close(log.nexts[t].theta, e.theta, 1e-13), "θ at step \(t)")
            #expect(close(log.nexts[t].thetaDot, e.thetaDot, 1e-13), "θ̇ at step \(t)")
            #expect(close(log.rewards[t], e.reward, 1e-13), "reward at step \(t)")
        }
    }

    /// Gymnasium 1.4.0, as above: from `state = [1.0, 0.0]`, 200 steps of `np.array([0.0])` until
    /// `truncated` (never `terminated`); the summed reward −1067.4522016320407 and the final state
    /// (5.07532615043847, 2.733454412331052). 200 steps of a swinging pendulum amplify ulp-level
    /// differences in `sin` at most mildly; the tolerance is 1e-9.
    @Test("matches Gymnasium's 200-step zero-torque return from a fixed state")
    func gymnasiumZeroTorqueEpisode() {
        let env = FixedStartPendulum(start: .init(theta: 1.0, thetaDot: 0.0))
        var actor = ScriptedActor(torques: [])
        var log = StepLog<Pendulum.State>()
        var rng = Xoshiro256(seed: 0)
        let summary = env.runEpisode(&actor, recorder: &log, using: &rng)
        #expect(summary.steps == 200 && !summary.terminated)
        #expect(close(summary.totalReturn, -1067.4522016320407, 1e-9))
        #expect(close(log.nexts[199].theta, 5.07532615043847, 1e-9))
        #expect(close(log.nexts[199].thetaDot, 2.733454412331052, 1e-9))
    }
}

@Suite("Continuous control: diagonal-Gaussian policy")
struct ContinuousGaussianPolicyTests {
    /// A policy with a tanh mean network whose last layer is NOT zero, and the given log-stds.
    static func policy(features: Int = 3, dim: Int, logStd: [Double], seed: UInt64 = 11,
                       low: Double = -2, high: Double = 2) -> GaussianPolicy {
        var rng = Xoshiro256(seed: seed)
        let net = MLP(inputSize: features, hidden: [5, 4], outputSize: dim, activation: .tanh,
                      zeroLastLayer: false, using: &rng)
        return GaussianPolicy(network: net, logStd: logStd, low: [Double](repeating: low, count: dim),
                              high: [Double](repeating: high, count: dim))
    }

    static func logProbability(_ p: GaussianPolicy, _ theta: [Double], _ x: [Double], _ a: [Double]) -> Double {
        let w = GaussianPolicyWorkspace(for: p, capacity: 1)
        var out = [0.0]
        x.withUnsafeBufferPointer { xb in
            a.withUnsafeBufferPointer { ab in
                theta.withUnsafeBufferPointer { t in
                    out.withUnsafeMutableBufferPointer { p.logProbabilities(features: xb, actions: ab, workspace: w, into: $0, parameters: t) }
                }
            }
        }
        return out[0]
    }

    @Test("θ is the network's parameters then the log-stds")
    func layout() {
        var p = Self.policy(dim: 2, logStd: [-0.3, 0.2])
        #expect(p.parameterCount == p.network.parameterCount + 2)
        #expect(p.logStdOffset == p.network.parameterCount)
        #expect(Array(p.parameters[..<p.logStdOffset]) == p.network.parameters)
        #expect(p.logStd == [-0.3, 0.2] && Array(p.parameters.suffix(2)) == [-0.3, 0.2])
        p.logStd = [0.5, -1]
        #expect(Array(p.parameters.suffix(2)) == [0.5, -1] && p.parameters.count == p.parameterCount)
        #expect(p.gradients.count == p.parameterCount && p.gradients.allSatisfy { $0 == 0 })
        var rng = Xoshiro256(seed: 3)
        let fresh = GaussianPolicy(featureCount: 3, hidden: [8], low: [-2], high: [2], initialLogStd: -0.5, using: &rng)
        #expect(fresh.mean(features: [0.3, -0.2, 1.5]) == [0] && fresh.logStd == [-0.5])
    }

    @Test("log π matches the closed-form Gaussian density")
    func closedForm() {
        // Zero mean, σ = 0.5, u = 1: −½·(1/0.5)² − ln 0.5 − ½ ln 2π = −2 + 0.6931471805599453 − 0.9189385332046727.
        var rng = Xoshiro256(seed: 5)
        let zero = GaussianPolicy(featureCount: 3, hidden: [4], low: [-2], high: [2], initialLogStd: log(0.5), using: &rng)
        #expect(close(zero.logProbability(features: [1, 0, 0.3], action: [1]), -2.2257913526447274, 1e-14))
        // Random network, two dimensions: the density from the mean the network computes.
        let p = Self.policy(dim: 2, logStd: [-0.3, 0.2])
        for (x, a) in [([0.6, 0.8, -1.2], [0.4, -0.1]), ([-1, 0, 3.5], [2.7, 1.9]), ([0.1, -0.99, 0], [-3, 0.05])] {
            let m = p.mean(features: x)
            var expected = 0.0
            for i in 0..<2 {
                let sigma = exp(p.logStd[i])
                let z = (a[i] - m[i]) / sigma
                expected += -0.5 * z * z - log(sigma) - 0.5 * log(2 * .pi)
            }
            #expect(close(p.logProbability(features: x, action: a), expected, 1e-13))
        }
    }

    @Test("batched log π and weighted gradients equal the per-row ones")
    func batched() {
        var p = Self.policy(dim: 2, logStd: [-0.3, 0.2])
        let xs: [[Double]] = [[0.6, 0.8, -1.2], [-1, 0, 3.5], [0.1, -0.99, 0], [0.2, 0.3, 0.4]]
        let us: [[Double]] = [[0.4, -0.1], [2.7, 1.9], [-3, 0.05], [0, 0]]
        let ws = [0.5, -1.25, 2.0, 0.75]
        let w = GaussianPolicyWorkspace(for: p, capacity: 1)  // grows on demand
        var batch = [Double](repeating: 0, count: 4)
        let fx = xs.flatMap { $0 }, fu = us.flatMap { $0 }
        fx.withUnsafeBufferPointer { x in
            fu.withUnsafeBufferPointer { u in
                batch.withUnsafeMutableBufferPointer { p.logProbabilities(features: x, actions: u, workspace: w, into: $0) }
            }
        }
        var expectedGradient = [Double](repeating: 0, count: p.parameterCount)
        var expectedTotal = 0.0
        for r in 0..<4 {
            let single = p.logProbability(features: xs[r], action: us[r])
            #expect(close(batch[r], single, 1e-13))
            expectedTotal += ws[r] * single
            let g = p.logProbabilityGradient(features: xs[r], action: us[r])
            for i in g.indices { expectedGradient[i] += ws[r] * g[i] }
        }
        let total = fx.withUnsafeBufferPointer { x in
            fu.withUnsafeBufferPointer { u in
                ws.withUnsafeBufferPointer { p.accumulateLogProbabilityGradient(features: x, actions: u, weights: $0, workspace: w) }
            }
        }
        #expect(close(total, expectedTotal, 1e-13))
        #expect(NeuralTestSupport.maxError(p.gradients, expectedGradient) < 1e-12)
        // It adds: a second call doubles the buffer.
        _ = fx.withUnsafeBufferPointer { x in
            fu.withUnsafeBufferPointer { u in
                ws.withUnsafeBufferPointer { p.accumulateLogProbabilityGradient(features: x, actions: u, weights: $0, workspace: w) }
            }
        }
        #expect(NeuralTestSupport.maxError(p.gradients, expectedGradient.map { 2 * $0 }) < 1e-12)
        p.zeroGradients()
        #expect(p.gradients.allSatisfy { $0 == 0 })
    }

    /// Central differences with h = 1e-5 (truncation and rounding ≈ 1e-10, see
    /// ``NeuralTestSupport/numericalGradient(_:h:_:)``) against the analytic ∇_θ log π: mean part
    /// through the MLP backward pass, log-std part zᵢ² − 1.
    @Test("∇_θ log π matches central finite differences", arguments: [1, 2, 3])
    func gradientFiniteDifferences(dim: Int) {
        let logStd = Array([-0.3, 0.2, -1.1].prefix(dim))
        let p = Self.policy(dim: dim, logStd: logStd, seed: UInt64(20 + dim))
        var rng = Xoshiro256(seed: UInt64(100 + dim))
        for _ in 0..<4 {
            let x = NeuralTestSupport.randomArray(3, &rng)
            // Actions both near and far from the mean (and outside the box: u is unclipped).
            let m = p.mean(features: x)
            let u = (0..<dim).map { m[$0] + 2.5 * rng.normal() }
            let analytic = p.logProbabilityGradient(features: x, action: u)
            let numeric = NeuralTestSupport.numericalGradient(p.parameters) { Self.logProbability(p, $0, x, u) }
            let error = NeuralTestSupport.maxError(analytic, numeric)
            #expect(error < 1e-6, "max mixed error \(error)")
            // The log-std entries have the closed form zᵢ² − 1.
            for i in 0..<dim {
                let z = (u[i] - m[i]) / exp(logStd[i])
                #expect(close(analytic[p.logStdOffset + i], z * z - 1, 1e-12))
            }
        }
    }

    @Test("entropy is Σℓ + ½·dim·(1 + ln 2π), its gradient 1 per log-std")
    func entropy() {
        var p = Self.policy(dim: 2, logStd: [-0.3, 0.2])
        let expected = 0.5 * log(2 * .pi * M_E * exp(-0.6)) + 0.5 * log(2 * .pi * M_E * exp(0.4))
        #expect(close(p.entropy(), expected, 1e-14))
        let numeric = NeuralTestSupport.numericalGradient(p.parameters) { p.entropy(parameters: $0) }
        let h = p.accumulateEntropyGradient(weight: 1.5)
        #expect(close(h, 1.5 * expected, 1e-14))
        #expect(NeuralTestSupport.maxError(p.gradients, numeric.map { 1.5 * $0 }) < 1e-8)
        #expect(Array(p.gradients.suffix(2)) == [1.5, 1.5] && p.gradients.dropLast(2).allSatisfy { $0 == 0 })
    }

    /// N = 20000 unclipped samples at one state. The sample mean of dimension i has standard
    /// error σᵢ/√N and the sample variance ≈ σᵢ²·√(2/N) (Gaussian fourth moment); the bounds are
    /// 5 standard errors (a fixed seed makes the test deterministic; a fresh seed would fail with
    /// probability ≈ 6e-7 per check).
    @Test("sample mean and variance match the policy's mean and std")
    func sampleMoments() {
        let p = Self.policy(dim: 2, logStd: [-0.3, 0.4], low: -100, high: 100)
        let x = [0.6, 0.8, -1.2]
        let m = p.mean(features: x)
        var rng = Xoshiro256(seed: 2024)
        let n = 20_000
        var sum = [0.0, 0.0], sumSq = [0.0, 0.0]
        for _ in 0..<n {
            let u = p.sampleAction(features: x, clipped: false, using: &rng)
            for i in 0..<2 { sum[i] += u[i]; sumSq[i] += u[i] * u[i] }
        }
        for i in 0..<2 {
            let sigma = exp(p.logStd[i])
            let mean = sum[i] / Double(n)
            let variance = (sumSq[i] - Double(n) * mean * mean) / Double(n - 1)
            #expect(abs(mean - m[i]) < 5 * sigma / Double(n).squareRoot())
            #expect(abs(variance - sigma * sigma) < 5 * sigma * sigma * (2 / Double(n)).squareRoot())
        }
    }

    @Test("a sample draws one normal per dimension; clipping clips that same sample")
    func samplingDraws() {
        let p = Self.policy(dim: 3, logStd: [1.5, 1.5, 1.5])  // σ ≈ 4.5 against the box [−2, 2]
        let x = [0.2, -0.4, 0.9]
        let m = p.mean(features: x)
        var clippedCount = 0
        for seed in UInt64(0)..<200 {
            var a = Xoshiro256(seed: seed), b = a, manual = a
            let u = p.sampleAction(features: x, clipped: false, using: &a)
            let c = p.sampleAction(features: x, using: &b)
            #expect(samePosition(a, b))
            for i in 0..<3 {
                #expect(close(u[i], m[i] + exp(1.5) * manual.normal(), 1e-14))
                #expect(c[i] == min(max(u[i], -2), 2))
                if c[i] != u[i] { clippedCount += 1 }
            }
            #expect(samePosition(a, manual))
        }
        #expect(clippedCount > 0)
    }
}

@Suite("Continuous control: Gaussian policies acting in the engine")
struct ContinuousActingTests {
    static func family(logStd: Double, zeroMean: Bool, clips: Bool = true, deterministic: Bool = false) -> GaussianPolicyFamily<Pendulum> {
        var rng = Xoshiro256(seed: 31)
        var f = GaussianPolicyFamily(env: Pendulum(), hidden: [16], initialLogStd: logStd, zeroMeanStart: zeroMean,
                                     clipsActions: clips, using: &rng)
        f.deterministic = deterministic
        return f
    }

    /// Steps Pendulum by hand with zero torque from the reset of `seed`; the summed reward.
    static func zeroTorqueReturn(seed: UInt64) -> Double {
        let env = Pendulum()
        var rng = Xoshiro256(seed: seed)
        var s = env.reset(using: &rng)
        var total = 0.0
        for _ in 0..<200 {
            total += Pendulum.reward(s, torque: 0)
            s = env.advance(s, torque: 0)
        }
        return total
    }

    @Test("a rollout runs 200 steps, returns the summed reward, deterministic per seed")
    func rollout() {
        let family = Self.family(logStd: 0, zeroMean: false)
        #expect(family.parameterCount == family.policy.parameterCount)
        var actor = family.makeActor()
        var log = StepLog<Pendulum.State>()
        var rng = Xoshiro256(seed: 5)
        let summary = Pendulum().runEpisode(&actor, recorder: &log, using: &rng)
        #expect(summary.steps == 200 && !summary.terminated && log.rewards.count == 200)
        #expect(close(summary.totalReturn, log.rewards.reduce(0, +), 1e-12))
        #expect(summary.totalReturn < 0 && summary.totalReturn >= -200 * (Double.pi * Double.pi + 6.4 + 0.004))
        #expect(log.actions.allSatisfy { $0.count == 1 && $0[0] >= -2 && $0[0] <= 2 })
        // Deterministic per seed, different across seeds.
        var again = family.makeActor(), other = family.makeActor()
        var r1 = Xoshiro256(seed: 5), r2 = Xoshiro256(seed: 6)
        #expect(Pendulum().rollout(&again, using: &r1) == summary)
        #expect(Pendulum().rollout(&other, using: &r2).totalReturn != summary.totalReturn)
        #expect(samePosition(r1, rng))
    }

    @Test("a zero-mean policy with a tiny std earns the zero-torque return")
    func zeroMeanTinyStd() {
        for seed in UInt64(1)...3 {
            let expected = Self.zeroTorqueReturn(seed: seed)
            // σ = e^−30 ≈ 9e−14: torques of order 1e−13 move the return by far less than 1e−9.
            var actor = Self.family(logStd: -30, zeroMean: true).makeActor()
            var rng = Xoshiro256(seed: seed)
            let summary = Pendulum().rollout(&actor, using: &rng)
            #expect(summary.steps == 200)
            #expect(close(summary.totalReturn, expected, 1e-9), "\(summary.totalReturn) vs \(expected)")
            // Playing the mean is exactly zero torque.
            var meanActor = Self.family(logStd: 0, zeroMean: true, deterministic: true).makeActor()
            var rng2 = Xoshiro256(seed: seed)
            #expect(Pendulum().rollout(&meanActor, using: &rng2).totalReturn == expected)
        }
    }

    @Test("unclipped actions: the recorder sees u, the environment clips, the return is the clipped actor's")
    func unclippedActions() {
        let clipped = Self.family(logStd: 1.5, zeroMean: false)
        let raw = Self.family(logStd: 1.5, zeroMean: false, clips: false)
        var a = clipped.makeActor(), b = raw.makeActor()
        var la = StepLog<Pendulum.State>(), lb = StepLog<Pendulum.State>()
        var r1 = Xoshiro256(seed: 77), r2 = Xoshiro256(seed: 77)
        let sa = Pendulum().runEpisode(&a, recorder: &la, using: &r1)
        let sb = Pendulum().runEpisode(&b, recorder: &lb, using: &r2)
        #expect(sa == sb)
        #expect(lb.actions.contains { abs($0[0]) > 2 })
        #expect(zip(la.actions, lb.actions).allSatisfy { $0[0] == min(max($1[0], -2), 2) })
    }

    @Test("update rewrites an actor to act as makeActor(θ′)")
    func update() {
        let family = Self.family(logStd: -0.5, zeroMean: false)
        var theta = family.policy.parameters
        for i in theta.indices { theta[i] += 0.1 * Double(i % 3) - 0.05 }
        var updated = family.makeActor()
        theta.withUnsafeBufferPointer { family.update(&updated, to: $0) }
        var fresh = theta.withUnsafeBufferPointer { family.makeActor($0) }
        var r1 = Xoshiro256(seed: 4), r2 = Xoshiro256(seed: 4)
        #expect(Pendulum().rollout(&updated, using: &r1) == Pendulum().rollout(&fresh, using: &r2))
    }

    /// One generic function over ``EpisodicPolicyFamily`` runs a finite and a continuous family.
    static func returnOf<F: EpisodicPolicyFamily, E: EpisodicEnvironment>(_ family: F, in env: E, seed: UInt64) -> EpisodeSummary
    where E.State == F.State, E.Action == F.Action {
        var rng = Xoshiro256(seed: seed)
        let theta = [Double](repeating: 0, count: family.parameterCount)
        var actor = theta.withUnsafeBufferPointer { family.makeActor($0) }
        return env.rollout(&actor, using: &rng)
    }

    @Test("EpisodicPolicyFamily covers finite and box actions")
    func episodicFamily() {
        var rng = Xoshiro256(seed: 1)
        let cart = NeuralFamily(env: CartPole(), policy: NeuralSoftmaxPolicy(featureCount: 4, hidden: [8], actionCount: 2, using: &rng))
        #expect(Self.returnOf(cart, in: CartPole(), seed: 2).steps >= 1)
        // θ = 0: zero mean and σ = 1.
        let pendulum = Self.family(logStd: 0, zeroMean: true)
        let s = Self.returnOf(pendulum, in: Pendulum(), seed: 2)
        #expect(s.steps == 200 && s.totalReturn < 0)
    }
}
