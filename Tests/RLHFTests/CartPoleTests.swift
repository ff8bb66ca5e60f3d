import Foundation
import Testing
import RLHF

/// Gymnasium CartPole-v1's step, written out independently of the library (constants as
/// literals, the formulas of `gymnasium/envs/classic_control/cartpole.py`).
private func gymnasiumStep(_ s: (x: Double, xDot: Double, theta: Double, thetaDot: Double), action: Int)
    -> (x: Double, xDot: Double, theta: Double, thetaDot: Double, terminated: Bool) {
    let gravity = 9.8, masscart = 1.0, masspole = 0.1
    let totalMass = masspole + masscart
    let length = 0.5
    let polemassLength = masspole * length
    let forceMag = 10.0, tau = 0.02
    let thetaThresholdRadians = 12 * 2 * Double.pi / 360, xThreshold = 2.4
    let force = action == 1 ? forceMag : -forceMag
    let costheta = cos(s.theta), sintheta = sin(s.theta)
    let temp = (force + polemassLength * pow(s.thetaDot, 2) * sintheta) / totalMass
    let thetaacc = (gravity * sintheta - costheta * temp)
        / (length * (4.0 / 3.0 - masspole * pow(costheta, 2) / totalMass))
    let xacc = temp - polemassLength * thetaacc * costheta / totalMass
    let x = s.x + tau * s.xDot
    let xDot = s.xDot + tau * xacc
    let theta = s.theta + tau * s.thetaDot
    let thetaDot = s.thetaDot + tau * thetaacc
    let terminated = x < -xThreshold || x > xThreshold || theta < -thetaThresholdRadians || theta > thetaThresholdRadians
    return (x, xDot, theta, thetaDot, terminated)
}

/// A linear state-feedback controller that balances the pole for well over 500 steps from every
/// initial state (checked on 10⁴ initial states with an independent NumPy simulation).
private func balancingAction(_ s: CartPole.State) -> Int {
    0.1 * s.x + 0.5 * s.xDot + 10 * s.theta + 2 * s.thetaDot > 0 ? 1 : 0
}

/// A policy given by a function, for the episode engine.
private struct FunctionActor: PolicyActor {
    let choose: (CartPole.State, inout Xoshiro256) -> Int
    mutating func action(in state: CartPole.State, using rng: inout Xoshiro256) -> Int { choose(state, &rng) }
}

/// Runs one episode of at most `env.horizon` steps with the library's episode engine; returns
/// (steps, return, last step terminal).
private func runEpisode(_ env: CartPole, rng: inout Xoshiro256,
                        policy: @escaping (CartPole.State, inout Xoshiro256) -> Int) -> (steps: Int, total: Double, terminal: Bool) {
    var actor = FunctionActor(choose: policy)
    let episode = env.rollout(&actor, using: &rng)
    return (episode.steps, episode.totalReturn, episode.terminated)
}

@Suite struct CartPoleTests {
    @Test func constantsAreGymnasiums() {
        #expect(CartPole.gravity == 9.8)
        #expect(CartPole.massCart == 1.0)
        #expect(CartPole.massPole == 0.1)
        #expect(CartPole.totalMass == 1.1)
        #expect(CartPole.length == 0.5)
        #expect(CartPole.poleMassLength == 0.05)
        #expect(CartPole.forceMagnitude == 10)
        #expect(CartPole.tau == 0.02)
        #expect(abs(CartPole.thetaThreshold - 0.20943951023931953) < 1e-15)
        #expect(CartPole.xThreshold == 2.4)
        let env = CartPole()
        #expect(env.horizon == 500)
        #expect(env.actionCount == 2)
        #expect(env.featureCount == 4)
        #expect(env.discount == 1)
        #expect(CartPole(horizon: 50).horizon == 50)
        #expect(throws: RLHFError.self) { try CartPole.validated(horizon: 0) }
    }

    /// From rest, pushing right: temp = 100/11, θ̈ = −600/41, ẍ = 400/41 (exact fractions).
    @Test func stepFromRestMatchesClosedForm() {
        var rng = Xoshiro256(seed: 1)
        let env = CartPole()
        let zero = CartPole.State(x: 0, xDot: 0, theta: 0, thetaDot: 0)
        let right = env.step(zero, action: 1, using: &rng)
        #expect(right.next.x == 0 && right.next.theta == 0)
        #expect(abs(right.next.xDot - 0.02 * 400 / 41) < 1e-15)
        #expect(abs(right.next.thetaDot - -0.02 * 600 / 41) < 1e-15)
        let left = env.step(zero, action: 0, using: &rng)
        #expect(abs(left.next.xDot - -0.02 * 400 / 41) < 1e-15)
        #expect(abs(left.next.thetaDot - 0.02 * 600 / 41) < 1e-15)
    }

    @Test(arguments: [
        (0.0, 0.0, 0.0, 0.0),
        (0.01, -0.02, 0.03, -0.04),
        (0.1, -0.2, 0.05, 0.3),
        (-1.3, 0.7, -0.15, -1.1),
        (2.0, 1.5, 0.19, 2.0),
        (-2.35, -3.0, -0.2, 2.5),
    ])
    func stepMatchesEquations(x: Double, xDot: Double, theta: Double, thetaDot: Double) {
        var rng = Xoshiro256(seed: 7)
        let env = CartPole()
        let state = CartPole.State(x: x, xDot: xDot, theta: theta, thetaDot: thetaDot)
        for action in 0..<2 {
            let expected = gymnasiumStep((x, xDot, theta, thetaDot), action: action)
            let result = env.step(state, action: action, using: &rng)
            #expect(abs(result.next.x - expected.x) < 1e-12)
            #expect(abs(result.next.xDot - expected.xDot) < 1e-12)
            #expect(abs(result.next.theta - expected.theta) < 1e-12)
            #expect(abs(result.next.thetaDot - expected.thetaDot) < 1e-12)
            #expect(result.terminal == expected.terminated)
            #expect(result.reward == 1)
            // Euler: positions advance with the OLD velocities.
            #expect(result.next.x == x + 0.02 * xDot)
            #expect(result.next.theta == theta + 0.02 * thetaDot)
        }
        // The two pushes differ only in sign of the force: the velocities move apart.
        let l = env.step(state, action: 0, using: &rng).next, r = env.step(state, action: 1, using: &rng).next
        #expect(r.xDot > l.xDot)
        #expect(r.thetaDot < l.thetaDot)
    }

    @Test func stepDrawsNoRandomNumbers() {
        var a = Xoshiro256(seed: 3), b = Xoshiro256(seed: 3)
        _ = CartPole().step(CartPole.State(x: 0.1, xDot: 0, theta: 0.02, thetaDot: 0), action: 1, using: &a)
        #expect(a.next() == b.next())
    }

    /// Each threshold in turn: a state exactly on it continues, one just past it terminates,
    /// and the terminating step still pays +1.
    @Test func terminationAtEachThreshold() {
        var rng = Xoshiro256(seed: 1)
        let env = CartPole()
        let thr = 12 * 2 * Double.pi / 360
        // Zero velocities keep the positions exactly where they are for one step.
        for (x, theta) in [(2.4, 0.0), (-2.4, 0.0), (0.0, thr), (0.0, -thr)] {
            let on = env.step(CartPole.State(x: x, xDot: 0, theta: theta, thetaDot: 0), action: 0, using: &rng)
            #expect(on.next.x == x && on.next.theta == theta)
            #expect(!on.terminal, "exactly on the threshold (x \(x), θ \(theta)) must not terminate")
            let past = CartPole.State(x: x == 0 ? 0 : (x > 0 ? x.nextUp : x.nextDown), xDot: 0,
                                      theta: theta == 0 ? 0 : (theta > 0 ? theta.nextUp : theta.nextDown), thetaDot: 0)
            let beyond = env.step(past, action: 1, using: &rng)
            #expect(beyond.terminal, "just past the threshold (x \(past.x), θ \(past.theta)) must terminate")
            #expect(beyond.reward == 1)
        }
        // Crossing during the step: the NEW state decides.
        #expect(env.step(.init(x: 2.39, xDot: 1, theta: 0, thetaDot: 0), action: 0, using: &rng).terminal)
        #expect(!env.step(.init(x: 2.39, xDot: 0.4, theta: 0, thetaDot: 0), action: 0, using: &rng).terminal)
        #expect(env.step(.init(x: -2.39, xDot: -1, theta: 0, thetaDot: 0), action: 1, using: &rng).terminal)
        #expect(env.step(.init(x: 0, xDot: 0, theta: 0.2, thetaDot: 1), action: 1, using: &rng).terminal)
        #expect(!env.step(.init(x: 0, xDot: 0, theta: 0.2, thetaDot: 0.4), action: 1, using: &rng).terminal)
        #expect(env.step(.init(x: 0, xDot: 0, theta: -0.2, thetaDot: -1), action: 0, using: &rng).terminal)
        #expect(CartPole.isTerminal(.init(x: 0, xDot: 0, theta: 0.21, thetaDot: 0)))
        #expect(!CartPole.isTerminal(.init(x: 2.4, xDot: 100, theta: -thr, thetaDot: -100)))
    }

    /// A balancing controller never terminates, so the episode is cut by the horizon: exactly
    /// 500 steps and a return of 500.
    @Test func truncationAtHorizon() {
        let env = CartPole()
        for seed in 0..<5 as Range<UInt64> {
            var rng = Xoshiro256(seed: seed)
            let episode = runEpisode(env, rng: &rng) { s, _ in balancingAction(s) }
            #expect(episode.steps == 500)
            #expect(episode.total == 500)
            #expect(!episode.terminal)
        }
        // The controller keeps going past 500 steps: only the horizon ended the episodes above.
        var rng = Xoshiro256(seed: 11)
        let long = runEpisode(CartPole(horizon: 1500), rng: &rng) { s, _ in balancingAction(s) }
        #expect(long.steps == 1500 && !long.terminal)
    }

    @Test func initialStatesAreUniformInTheBox() {
        var rng = Xoshiro256(seed: 42)
        let env = CartPole()
        let n = 20_000
        var lo = [Double](repeating: 1, count: 4), hi = [Double](repeating: -1, count: 4)
        var sum = [Double](repeating: 0, count: 4), sumSq = [Double](repeating: 0, count: 4)
        for _ in 0..<n {
            let s = env.reset(using: &rng)
            #expect(!CartPole.isTerminal(s))
            for (i, v) in s.components.enumerated() {
                lo[i] = min(lo[i], v); hi[i] = max(hi[i], v)
                sum[i] += v; sumSq[i] += v * v
            }
        }
        for i in 0..<4 {
            #expect(lo[i] >= -0.05 && hi[i] < 0.05)
            #expect(lo[i] < -0.0499 && hi[i] > 0.0499, "component \(i) does not fill the box")
            // Uniform on [−0.05, 0.05): mean 0, variance 0.1²/12.
            let se = 0.1 / 12.0.squareRoot() / Double(n).squareRoot()
            #expect(abs(sum[i] / Double(n)) < 4 * se)
            let variance = sumSq[i] / Double(n)
            // Var of x² for uniform on [−b, b]: b⁴/5 − b⁴/9 = 4b⁴/45.
            let seVar = (4 * pow(0.05, 4) / 45).squareRoot() / Double(n).squareRoot()
            #expect(abs(variance - 0.01 / 12) < 4 * seVar)
        }
        // The components are drawn independently: they differ from one another.
        let s = env.reset(using: &rng)
        #expect(Set(s.components).count == 4)
    }

    @Test func deterministicForASeed() {
        let env = CartPole()
        func trajectory(seed: UInt64) -> [CartPole.State] {
            var rng = Xoshiro256(seed: seed)
            var s = env.reset(using: &rng)
            var states = [s]
            for _ in 0..<env.horizon {
                let r = env.step(s, action: rng.index(below: 2), using: &rng)
                states.append(r.next)
                if r.terminal { break }
                s = r.next
            }
            return states
        }
        #expect(trajectory(seed: 5) == trajectory(seed: 5))
        #expect(trajectory(seed: 5) != trajectory(seed: 6))
        var a = Xoshiro256(seed: 9), b = Xoshiro256(seed: 9)
        #expect(env.reset(using: &a) == env.reset(using: &b))
    }

    @Test func featuresAreTheState() {
        let env = CartPole()
        let s = CartPole.State(x: 0.5, xDot: -1.25, theta: 0.125, thetaDot: 3)
        var buffer = [Double](repeating: .nan, count: env.featureCount)
        buffer.withUnsafeMutableBufferPointer { env.features(of: s, into: $0) }
        #expect(buffer == [0.5, -1.25, 0.125, 3])
        #expect(s.components == buffer)
    }

    /// The uniformly random policy lasts 22.26 steps on average (sd 11.87): an independent NumPy
    /// re-implementation of Gymnasium's CartPole-v1 over 2·10⁶ episodes gave 22.2606 ± 0.0084,
    /// in line with the ≈ 22 usually reported for Gymnasium. With n = 4000 episodes the standard
    /// error here is ≈ 0.19; the test allows 4 of them (plus the reference's own, negligible).
    @Test func randomPolicyEpisodeLength() {
        let env = CartPole()
        var rng = Xoshiro256(seed: 2024)
        let n = 4000
        var sum = 0.0, sumSq = 0.0
        for _ in 0..<n {
            let episode = runEpisode(env, rng: &rng) { _, r in r.index(below: 2) }
            #expect(episode.terminal && episode.total == Double(episode.steps))
            let len = Double(episode.steps)
            sum += len; sumSq += len * len
        }
        let mean = sum / Double(n)
        let sd = ((sumSq - Double(n) * mean * mean) / Double(n - 1)).squareRoot()
        let se = sd / Double(n).squareRoot()
        #expect(sd > 9 && sd < 15, "episode-length sd \(sd)")
        #expect(abs(mean - 22.26) < 4 * se + 4 * 0.0084, "mean episode length \(mean) ± \(se)")
    }
}
