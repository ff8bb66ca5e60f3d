import Testing
@testable import RLHF

/// Tiny MDPs with values worked out by hand.
enum TinyMDPs {
    /// One decision: action 0 pays `r0`, action 1 pays `r1`, and the episode ends. d = 2.
    static func bandit(_ r0: Double, _ r1: Double) -> TabularMDP {
        TabularMDP(actionCount: 2, horizon: 1, startDistribution: [1, 0], isTerminal: [false, true],
                   transitions: [[[(1, 1, r0)], [(1, 1, r1)]], [[], []]])
    }

    /// Two states, two actions, stochastic, horizon 3, with an absorbing terminal state.
    static func chain() -> TabularMDP {
        TabularMDP(
            actionCount: 2, horizon: 3, startDistribution: [0.7, 0.3, 0], isTerminal: [false, false, true],
            transitions: [
                [[(0, 0.5, 0.1), (1, 0.5, -0.2)], [(2, 0.3, 1), (1, 0.7, 0)]],
                [[(0, 1, 0.3)], [(2, 0.6, -1), (1, 0.4, 0.5)]],
                [[], []],
            ])
    }
}

@Suite("Exact evaluation")
struct TabularMDPTests {
    @Test("values of a one-step bandit and a hand-computed chain")
    func handValues() {
        let b = TinyMDPs.bandit(1, -2)
        #expect(b.value(policy: [0.25, 0.75, 0.5, 0.5]) == 0.25 - 1.5)
        #expect(b.optimalValue == 1)
        // Chain, uniform policy, H = 1: state 0: ½(0.5·0.1 + 0.5·(−0.2)) + ½(0.3) = 0.125;
        // state 1: ½·0.3 + ½(−0.6 + 0.2) = −0.05; start: 0.7·0.125 + 0.3·(−0.05) = 0.0725.
        var m = TinyMDPs.chain()
        m = TabularMDP(actionCount: 2, horizon: 1, startDistribution: m.startDistribution, isTerminal: m.isTerminal,
                       transitions: [
                           [[(0, 0.5, 0.1), (1, 0.5, -0.2)], [(2, 0.3, 1), (1, 0.7, 0)]],
                           [[(0, 1, 0.3)], [(2, 0.6, -1), (1, 0.4, 0.5)]], [[], []],
                       ])
        #expect(abs(m.value(policy: m.uniformPolicy) - 0.0725) < 1e-15)
    }

    @Test("evaluate(policy:) agrees with value(policy:) and V_h = Σ π Q_h")
    func evaluationConsistency() throws {
        let g = try GridWorld(preset: #require(GridWorldPreset.named("classic")))
        var rng = Xoshiro256(seed: 4)
        let theta = (0..<92).map { _ in rng.normal() }
        let pi = TabularSoftmax(stateCount: g.stateCount, actionCount: 4).probabilities(theta)
        let e = g.model.evaluate(policy: pi)
        #expect(abs(e.value - g.model.value(policy: pi)) < 1e-14)
        for s in 0..<g.stateCount {
            let v = (0..<4).reduce(0.0) { $0 + pi[s * 4 + $1] * e.q(s, $1, remaining: 7) }
            #expect(abs(v - e.v(s, remaining: 7)) < 1e-14)
        }
    }

    @Test("V* dominates every stationary policy and equals the best deterministic one on a bandit")
    func optimalDominates() throws {
        let g = try GridWorld(preset: #require(GridWorldPreset.named("cliff")))
        var rng = Xoshiro256(seed: 8)
        let family = TabularSoftmax(stateCount: g.stateCount, actionCount: 4)
        for _ in 0..<20 {
            let theta = (0..<family.parameterCount).map { _ in 3 * rng.normal() }
            #expect(g.model.value(policy: family.probabilities(theta)) <= g.model.optimalValue + 1e-12)
        }
    }

    @Test("the exact policy gradient matches central finite differences", arguments: ["chain", "classic"])
    func policyGradient(name: String) throws {
        let model = name == "chain" ? TinyMDPs.chain() : try GridWorld(preset: #require(GridWorldPreset.named(name))).model
        let family = TabularSoftmax(stateCount: model.stateCount, actionCount: model.actionCount)
        var rng = Xoshiro256(seed: 11)
        let theta = (0..<family.parameterCount).map { _ in rng.normal() }
        let grad = model.advantageOccupancy(policy: family.probabilities(theta))
        let h = 1e-5
        for i in 0..<theta.count {
            var plus = theta, minus = theta
            plus[i] += h
            minus[i] -= h
            let fd = (model.value(policy: family.probabilities(plus)) - model.value(policy: family.probabilities(minus))) / (2 * h)
            // Central differences: error O(h²·V''') ≈ 1e-10 here, plus rounding ≈ 1e-16/h.
            #expect(abs(fd - grad[i]) < 1e-8, "coordinate \(i): fd \(fd), exact \(grad[i])")
        }
    }

    @Test("ModelEnvironment samples the model: Monte-Carlo agrees with the exact value")
    func modelEnvironment() async {
        let env = ModelEnvironment(model: TinyMDPs.chain())
        let family = TabularSoftmax(stateCount: 3, actionCount: 2)
        let theta = [0.3, -0.2, 1.0, 0.1, 0, 0]
        let exact = env.model.value(policy: family.probabilities(theta))
        let (mc, _) = await MonteCarlo.evaluate(env, family: family, parameters: theta, episodes: 60_000, seed: 2, threads: 2)
        #expect(abs(mc.mean - exact) < 4 * mc.standardError, "MC \(mc.mean) ± \(mc.standardError), exact \(exact)")
    }
}
