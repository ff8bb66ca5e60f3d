import Testing
import RLHF

private func dot(_ a: [Double], _ b: [Double]) -> Double {
    precondition(a.count == b.count)
    var s = 0.0
    for i in a.indices { s += a[i] * b[i] }
    return s
}

/// Brute-force values straight from the definition: V(π) = Σ_s p(s) Σ_a π(a|s) ⟨w, φ(s,a)⟩ and
/// V* = Σ_s p(s) max_a ⟨w, φ(s,a)⟩; `policy` is over the contexts only (|C|·|A| entries).
private func bruteForce(_ bandit: LinearBandit, policy: [Double]) -> (value: Double, optimal: Double) {
    var v = 0.0, vStar = 0.0
    for s in 0..<bandit.contextCount {
        var expected = 0.0, best = -Double.infinity
        for a in 0..<bandit.actionCount {
            let r = dot(bandit.weights, bandit.phi(s, a))
            expected += policy[s * bandit.actionCount + a] * r
            best = max(best, r)
        }
        v += bandit.contextDistribution[s] * expected
        vStar += bandit.contextDistribution[s] * best
    }
    return (v, vStar)
}

/// A model policy (|C|+1 rows) from a context policy, the terminal row uniform (it is never used).
private func modelPolicy(_ bandit: LinearBandit, _ contextPolicy: [Double]) -> [Double] {
    contextPolicy + [Double](repeating: 1 / Double(bandit.actionCount), count: bandit.actionCount)
}

@Suite struct LinearBanditTests {
    /// 2 contexts, 3 actions, k = 2, by hand: w = (1, −2);
    /// r(0,·) = (1, −2, 0.5 − 1 = −0.5), r(1,·) = (3 − 1 = 2, 0, −4 + 2 = −2) with φ(1,2) = (−4, −1); p = (0.25, 0.75).
    /// V(uniform) = 0.25·(−1.5/3) + 0.75·(0/3) = −0.125; V* = 0.25·1 + 0.75·2 = 1.75.
    @Test func handExample() throws {
        let bandit = try LinearBandit(
            features: [[[1, 0], [0, 1], [0.5, 0.5]],
                       [[3, 0.5], [0, 0], [-4, -1]]],
            weights: [1, -2], contextDistribution: [1, 3])
        #expect(bandit.contextCount == 2 && bandit.actionCount == 3 && bandit.featureDimension == 2)
        #expect(bandit.contextDistribution == [0.25, 0.75])
        #expect(bandit.rewardTable == [1, -2, -0.5, 2, 0, -2])
        #expect(abs(bandit.model.value(policy: bandit.model.uniformPolicy) - -0.125) < 1e-15)
        #expect(abs(bandit.model.optimalValue - 1.75) < 1e-15)
        #expect(bandit.bestAction(0) == 0 && bandit.bestAction(1) == 0)
        #expect(bandit.phi(1, 2) == [-4, -1])
    }

    @Test func modelStructure() throws {
        let bandit = try LinearBandit(contextCount: 4, actionCount: 3, featureDimension: 5, seed: 1,
                                      contextDistribution: [0.1, 0.2, 0.3, 0.4])
        let m = bandit.model
        #expect(bandit.stateCount == 5 && m.stateCount == 5)
        #expect(bandit.terminalState == 4)
        #expect(m.actionCount == 3 && m.horizon == 1 && bandit.horizon == 1 && m.discount == 1)
        #expect(m.isTerminal == [false, false, false, false, true])
        #expect(m.startDistribution.count == 5 && m.startDistribution[4] == 0)
        for s in 0..<4 { #expect(abs(m.startDistribution[s] - [0.1, 0.2, 0.3, 0.4][s]) < 1e-15) }
        // Every (context, action) goes to the terminal state with probability 1 and reward r(s, a).
        for s in 0..<4 {
            for a in 0..<3 {
                let k = s * 3 + a
                #expect(m.rowStart[k + 1] - m.rowStart[k] == 1)
                #expect(m.successor[m.rowStart[k]] == 4 && m.probability[m.rowStart[k]] == 1)
                #expect(m.reward[m.rowStart[k]] == bandit.reward(s, a))
            }
        }
        #expect(Array(m.expectedReward.prefix(12)) == bandit.rewardTable)
        #expect(bandit.featureCount == 15)
    }

    @Test(arguments: [nil, [0.5, 0.0, 0.125, 0.375, 0, 0, 0, 0] as [Double]?])
    func exactValuesMatchBruteForce(distribution: [Double]?) throws {
        let bandit = try LinearBandit(contextCount: 8, actionCount: 5, featureDimension: 3, seed: 77,
                                      contextDistribution: distribution)
        let c = bandit.contextCount, m = bandit.actionCount
        // The uniform policy.
        let uniform = [Double](repeating: 1 / Double(m), count: c * m)
        let exact = bruteForce(bandit, policy: uniform)
        #expect(abs(bandit.model.value(policy: bandit.model.uniformPolicy) - exact.value) < 1e-14)
        #expect(abs(bandit.model.optimalValue - exact.optimal) < 1e-14)
        #expect(exact.optimal > exact.value + 0.1, "a random bandit should have a clear gap")
        // A non-uniform policy, random rows.
        var rng = Xoshiro256(seed: 5)
        var policy = [Double]()
        for _ in 0..<c {
            var row = (0..<m).map { _ in rng.uniform() + 0.01 }
            let total = row.reduce(0, +)
            row = row.map { $0 / total }
            policy += row
        }
        #expect(abs(bandit.model.value(policy: modelPolicy(bandit, policy)) - bruteForce(bandit, policy: policy).value) < 1e-14)
        // The greedy policy attains V*.
        var greedy = [Double](repeating: 0, count: c * m)
        for s in 0..<c { greedy[s * m + bandit.bestAction(s)] = 1 }
        #expect(abs(bandit.model.value(policy: modelPolicy(bandit, greedy)) - exact.optimal) < 1e-14)
        // The full evaluation agrees, and Q_1(s, a) = r(s, a).
        let eval = bandit.model.evaluate(policy: bandit.model.uniformPolicy)
        #expect(abs(eval.value - exact.value) < 1e-14)
        for s in 0..<c { for a in 0..<m { #expect(eval.q(s, a, remaining: 1) == bandit.reward(s, a)) } }
    }

    @Test func rewardIsInnerProductAndEveryStepTerminates() throws {
        let bandit = try LinearBandit(contextCount: 6, actionCount: 4, featureDimension: 7, seed: 3)
        var rng = Xoshiro256(seed: 1)
        for s in 0..<bandit.contextCount {
            for a in 0..<bandit.actionCount {
                let before = rng
                let result = bandit.step(s, action: a, using: &rng)
                #expect(abs(result.reward - dot(bandit.weights, bandit.phi(s, a))) < 1e-15)
                #expect(result.reward == bandit.reward(s, a))
                #expect(result.terminal)
                #expect(result.next == bandit.terminalState)
                var copy = before
                #expect(copy.next() == rng.next(), "step must draw no random numbers")
                rng = before
            }
        }
    }

    @Test func featuresConcatenatePhi() throws {
        let bandit = try LinearBandit(contextCount: 3, actionCount: 4, featureDimension: 2, seed: 9)
        #expect(bandit.featureCount == 8)
        var buffer = [Double](repeating: .nan, count: bandit.featureCount)
        for s in 0..<bandit.contextCount {
            buffer.withUnsafeMutableBufferPointer { bandit.features(of: s, into: $0) }
            #expect(buffer == (0..<4).flatMap { bandit.phi(s, $0) })
        }
        buffer.withUnsafeMutableBufferPointer { bandit.features(of: bandit.terminalState, into: $0) }
        #expect(buffer == [Double](repeating: 0, count: 8))
    }

    /// Uniform policy, 20 000 one-step episodes: the sample mean reward is within 4 standard
    /// errors (from the sample's own standard deviation) of the exact V(uniform).
    @Test(arguments: [nil, [0.05, 0.6, 0.0, 0.35] as [Double]?])
    func monteCarloMatchesExactValue(distribution: [Double]?) throws {
        let bandit = try LinearBandit(contextCount: 4, actionCount: 6, featureDimension: 4, seed: 21,
                                      contextDistribution: distribution)
        let exact = bandit.model.value(policy: bandit.model.uniformPolicy)
        var rng = Xoshiro256(seed: 99)
        let n = 20_000
        var sum = 0.0, sumSq = 0.0
        for _ in 0..<n {
            let s = bandit.reset(using: &rng)
            let r = bandit.step(s, action: rng.index(below: bandit.actionCount), using: &rng).reward
            sum += r; sumSq += r * r
        }
        let mean = sum / Double(n)
        let se = ((sumSq - Double(n) * mean * mean) / Double(n - 1) / Double(n)).squareRoot()
        #expect(se > 0)
        #expect(abs(mean - exact) < 4 * se, "MC \(mean) ± \(se) vs exact \(exact)")
    }

    @Test func contextsFollowTheDistribution() throws {
        let p = [0.5, 0.0, 0.2, 0.3]
        let bandit = try LinearBandit(contextCount: 4, actionCount: 2, featureDimension: 2, seed: 4,
                                      contextDistribution: p)
        let uniformBandit = try LinearBandit(contextCount: 4, actionCount: 2, featureDimension: 2, seed: 4)
        var rng = Xoshiro256(seed: 8)
        let n = 20_000
        var counts = [0, 0, 0, 0], uniformCounts = [0, 0, 0, 0]
        for _ in 0..<n {
            counts[bandit.reset(using: &rng)] += 1
            uniformCounts[uniformBandit.reset(using: &rng)] += 1
        }
        #expect(counts[1] == 0)
        for s in 0..<4 {
            for (q, count) in [(p[s], counts[s]), (0.25, uniformCounts[s])] {
                let se = (q * (1 - q) / Double(n)).squareRoot()
                #expect(abs(Double(count) / Double(n) - q) <= 4 * se, "context \(s): \(count) of \(n), p = \(q)")
            }
        }
    }

    /// The documented generator: the same seed gives the same bandit, ‖w‖ = 1, and the φ entries
    /// have mean 0 and variance 1/k (checked within 4 standard errors on 16 000 entries).
    @Test func seededGeneration() throws {
        let a = try LinearBandit(contextCount: 200, actionCount: 10, featureDimension: 8, seed: 123)
        let b = try LinearBandit(contextCount: 200, actionCount: 10, featureDimension: 8, seed: 123)
        let c = try LinearBandit(contextCount: 200, actionCount: 10, featureDimension: 8, seed: 124)
        #expect(a.featureTable == b.featureTable && a.weights == b.weights)
        #expect(a.featureTable != c.featureTable && a.weights != c.weights)
        #expect(abs(dot(a.weights, a.weights) - 1) < 1e-12)
        let n = Double(a.featureTable.count)
        #expect(n == 16_000)
        let k = 8.0
        let mean = a.featureTable.reduce(0, +) / n
        let meanSq = a.featureTable.reduce(0) { $0 + $1 * $1 } / n
        #expect(abs(mean) < 4 * (1 / k / n).squareRoot())
        // E x² = 1/k; Var x² = 2/k² for a normal with variance 1/k.
        #expect(abs(meanSq - 1 / k) < 4 * (2 / (k * k) / n).squareRoot())
        // Rewards are N(0, 1/k) given w: their mean square is 1/k (2000 rewards).
        let rewardMeanSq = a.rewardTable.reduce(0) { $0 + $1 * $1 } / Double(a.rewardTable.count)
        #expect(abs(rewardMeanSq - 1 / k) < 4 * (2 / (k * k) / Double(a.rewardTable.count)).squareRoot())
    }

    @Test func invalidInputsAreRejected() {
        #expect(throws: RLHFError.self) { try LinearBandit(contextCount: 0, actionCount: 2, featureDimension: 2, seed: 1) }
        #expect(throws: RLHFError.self) { try LinearBandit(contextCount: 2, actionCount: 0, featureDimension: 2, seed: 1) }
        #expect(throws: RLHFError.self) { try LinearBandit(contextCount: 2, actionCount: 2, featureDimension: 0, seed: 1) }
        #expect(throws: RLHFError.self) {
            try LinearBandit(contextCount: 2, actionCount: 2, featureDimension: 2, seed: 1, contextDistribution: [1])
        }
        #expect(throws: RLHFError.self) {
            try LinearBandit(contextCount: 2, actionCount: 2, featureDimension: 2, seed: 1, contextDistribution: [1, -0.5])
        }
        #expect(throws: RLHFError.self) {
            try LinearBandit(contextCount: 2, actionCount: 2, featureDimension: 2, seed: 1, contextDistribution: [0, 0])
        }
        #expect(throws: RLHFError.self) { try LinearBandit(features: [], weights: [1]) }
        #expect(throws: RLHFError.self) { try LinearBandit(features: [[[1, 2]], [[1, 2], [3, 4]]], weights: [1, 1]) }
        #expect(throws: RLHFError.self) { try LinearBandit(features: [[[1, 2], [3]]], weights: [1, 1]) }
        #expect(throws: RLHFError.self) { try LinearBandit(features: [[[1, .nan]]], weights: [1, 1]) }
        #expect(throws: RLHFError.self) { try LinearBandit(features: [[[1, 2]]], weights: [1, .infinity]) }
        #expect(throws: RLHFError.self) { try LinearBandit(features: [[[1, 2]]], weights: []) }
    }
}
