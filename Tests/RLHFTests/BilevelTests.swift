import Foundation
import Testing
@testable import RLHF
import RLHFTestSupport

/// A tabular environment around an explicit ``TabularMDP`` with one-hot features (tests only).
struct BilevelTinyEnv: TabularEnvironment {
    let model: TabularMDP
    var stateCount: Int { model.stateCount }
    var actionCount: Int { model.actionCount }
    var horizon: Int { model.horizon }
    var discount: Double { model.discount }
    var featureCount: Int { model.stateCount }

    func reset(using rng: inout Xoshiro256) -> Int { rng.categorical(weights: model.startDistribution) }

    func step(_ state: Int, action: Int, using rng: inout Xoshiro256) -> StepResult<Int> {
        let k = state * model.actionCount + action
        let u = rng.uniform()
        var acc = 0.0
        var j = model.rowStart[k]
        while j < model.rowStart[k + 1] - 1 {
            acc += model.probability[j]
            if u < acc { break }
            j += 1
        }
        let next = model.successor[j]
        return StepResult(next: next, reward: model.reward[j], terminal: model.isTerminal[next])
    }

    func features(of state: Int, into buffer: UnsafeMutableBufferPointer<Double>) {
        for i in buffer.indices { buffer[i] = 0 }
        buffer[state] = 1
    }

    /// Two non-terminal states that revisit each other, a terminal state, H = 3, γ = 0.9: the
    /// time-dependent Q matters.
    static func chain() -> BilevelTinyEnv {
        BilevelTinyEnv(model: TabularMDP(
            actionCount: 2, horizon: 3, discount: 0.9, startDistribution: [0.7, 0.3, 0], isTerminal: [false, false, true],
            transitions: [
                [[(0, 0.5, 0.1), (1, 0.5, -0.2)], [(2, 0.3, 1), (1, 0.7, 0)]],
                [[(0, 1, 0.3)], [(2, 0.6, -1), (1, 0.4, 0.5)]],
                [[], []],
            ]))
    }

    /// A layered MDP (state 0 at t = 0, states 1 and 2 at t = 1, then terminal 3 or 4), H = 2:
    /// every state occurs at one time only, so the entropy-regularized optimum over stationary
    /// policies is the soft-Bellman one and λ*(φ) is unique as a policy. 12 trajectories.
    static func layered() -> BilevelTinyEnv {
        BilevelTinyEnv(model: TabularMDP(
            actionCount: 2, horizon: 2, startDistribution: [1, 0, 0, 0, 0], isTerminal: [false, false, false, true, true],
            transitions: [
                [[(1, 0.8, 0.1), (2, 0.2, 0.1)], [(1, 0.3, 0), (2, 0.7, 0)]],
                [[(3, 1, 1.0)], [(3, 0.6, 0.5), (4, 0.4, -0.5)]],
                [[(3, 1, -0.2)], [(4, 0.5, 0.8), (3, 0.5, 0)]],
                [[], []], [[], []],
            ]))
    }
}

@Suite("Bilevel online RLHF (spec §5)")
struct BilevelTests {
    /// A tabular softmax policy and a tabular reward (hidden []) on one-hot features, both with
    /// random, non-zero parameters.
    static func networks(states: Int, actions: Int, seed: UInt64, scale: Double = 0.7) -> (NeuralSoftmaxPolicy, MLP) {
        var rng = Xoshiro256(seed: seed)
        var policy = NeuralSoftmaxPolicy(featureCount: states, hidden: [], actionCount: actions, uniformStart: false, using: &rng)
        var reward = MLP(inputSize: states, hidden: [], outputSize: actions, activation: .relu, using: &rng)
        for i in 0..<policy.network.parameterCount { policy.network.parameters[i] = scale * rng.normal() }
        for i in 0..<reward.parameterCount { reward.parameters[i] = scale * rng.normal() }
        return (policy, reward)
    }

    static func perturbed(_ x: [Double], _ i: Int, _ h: Double) -> [Double] { var y = x; y[i] += h; return y }

    static func maxAbsDiff(_ a: [Double], _ b: [Double]) -> Double { zip(a, b).map { abs($0 - $1) }.max() ?? 0 }

    static func norm(_ a: [Double]) -> Double { a.reduce(0) { $0 + $1 * $1 }.squareRoot() }

    // MARK: - Exact quantities

    @Test("exact J, G and their gradients agree with finite differences; soft J with α = 0 is V")
    func exactGradients() throws {
        let env = BilevelTinyEnv.chain()
        let tab = TabularBilevelModel(env: env)
        let panel = try EvaluatorPanel(link: .bradleyTerry, evaluators: 10)
        let en = try #require(TrajectoryEnumeration(tabular: tab, panel: panel))
        var (policy, reward) = Self.networks(states: 3, actions: 2, seed: 1)
        let lambda = policy.network.parameters
        let alpha = 0.3, h = 1e-6

        // With r_φ = the expected true reward and α = 0, J is the true value V(π).
        var rTrue = reward
        for i in 0..<rTrue.parameterCount { rTrue.parameters[i] = 0 }
        let er = env.model.expectedReward
        for s in 0..<3 { for a in 0..<2 { rTrue.parameters[rTrue.layers[0].weightOffset + s * 2 + a] = er[s * 2 + a] } }
        let pi = tab.policyTable(policy, parameters: lambda)
        #expect(abs(tab.lowerObjective(policy: policy, parameters: lambda, reward: rTrue, entropy: 0) - env.model.value(policy: pi)) < 1e-12)
        // The path probabilities sum to 1 and the expected true return is V(π).
        let p = en.probabilities(pi)
        #expect(abs(p.reduce(0, +) - 1) < 1e-12)
        #expect(abs(zip(p, en.paths).map { $0 * $1.trueReturn }.reduce(0, +) - env.model.value(policy: pi)) < 1e-12)

        // ∇_λ J and ∇_λ G against central differences in λ.
        let gJ = tab.policyJGradient(policy: policy, parameters: lambda, reward: reward, entropy: alpha)
        let gG = en.policyGGradient(policy: policy, parameters: lambda, reward: reward)
        for i in 0..<lambda.count {
            let fdJ = (tab.lowerObjective(policy: policy, parameters: Self.perturbed(lambda, i, h), reward: reward, entropy: alpha)
                - tab.lowerObjective(policy: policy, parameters: Self.perturbed(lambda, i, -h), reward: reward, entropy: alpha)) / (2 * h)
            let fdG = (en.upperObjective(policy: policy, parameters: Self.perturbed(lambda, i, h), reward: reward)
                - en.upperObjective(policy: policy, parameters: Self.perturbed(lambda, i, -h), reward: reward)) / (2 * h)
            #expect(abs(gJ[i] - fdJ) < 1e-7, "∇_λ J[\(i)]: \(gJ[i]) vs \(fdJ)")
            #expect(abs(gG[i] - fdG) < 1e-7, "∇_λ G[\(i)]: \(gG[i]) vs \(fdG)")
        }
        // ∇_φ J and ∇_φ G against central differences in φ.
        let phi = reward.parameters
        let gJphi = tab.rewardJGradient(policy: policy, parameters: lambda, reward: reward)
        let gGphi = en.rewardGGradient(policy: policy, parameters: lambda, reward: reward)
        for i in 0..<phi.count {
            reward.parameters = Self.perturbed(phi, i, h)
            let jPlus = tab.lowerObjective(policy: policy, parameters: lambda, reward: reward, entropy: alpha)
            let gPlus = en.upperObjective(policy: policy, parameters: lambda, reward: reward)
            reward.parameters = Self.perturbed(phi, i, -h)
            let jMinus = tab.lowerObjective(policy: policy, parameters: lambda, reward: reward, entropy: alpha)
            let gMinus = en.upperObjective(policy: policy, parameters: lambda, reward: reward)
            #expect(abs(gJphi[i] - (jPlus - jMinus) / (2 * h)) < 1e-7)
            #expect(abs(gGphi[i] - (gPlus - gMinus) / (2 * h)) < 1e-7)
        }
        reward.parameters = phi
        policy.network.parameters = lambda
    }

    // MARK: - Unbiasedness of the sampled estimators

    /// Runs `estimate` for `reps` independent repetitions and checks every coordinate of the
    /// mean against `exact` within `z` standard errors; returns the largest z-score.
    static func checkUnbiased(_ name: String, exact: [Double], reps: Int, z: Double = 4.5,
                              _ estimate: (Int) -> [Double]) -> Double {
        let d = exact.count
        var sum = [Double](repeating: 0, count: d), sum2 = [Double](repeating: 0, count: d)
        for r in 0..<reps {
            let g = estimate(r)
            for j in 0..<d { sum[j] += g[j]; sum2[j] += g[j] * g[j] }
        }
        var worst = 0.0, worstSE = 0.0
        for j in 0..<d {
            let mean = sum[j] / Double(reps)
            let variance = max(sum2[j] / Double(reps) - mean * mean, 0) * Double(reps) / Double(reps - 1)
            let se = (variance / Double(reps)).squareRoot()
            if se < 1e-12 {
                #expect(abs(mean - exact[j]) < 1e-9, "\(name)[\(j)]: deterministic \(mean) vs exact \(exact[j])")
                continue
            }
            let score = abs(mean - exact[j]) / se
            worst = max(worst, score)
            worstSE = max(worstSE, se)
            #expect(score < z, "\(name)[\(j)]: mean \(mean) vs exact \(exact[j]), standard error \(se)")
        }
        // The check has teeth: the standard errors are small next to the gradient itself.
        #expect(worstSE < 0.1 * Self.norm(exact), "\(name): standard error \(worstSE) vs ‖exact‖ \(Self.norm(exact))")
        print("unbiased \(name): largest |z| = \(String(format: "%.2f", worst)), largest SE \(String(format: "%.2e", worstSE)), ‖exact‖ \(String(format: "%.3f", Self.norm(exact)))")
        return worst
    }

    @Test("∇̂_λ J (exact Q), ∇̂_φ J, ∇̂_φ G and ∇̂_λ G (plain and importance-weighted) are unbiased")
    func estimatorsUnbiased() throws {
        let env = BilevelTinyEnv.chain()
        let tab = TabularBilevelModel(env: env)
        let panel = try EvaluatorPanel(link: .bradleyTerry, evaluators: 10)
        let en = try #require(TrajectoryEnumeration(tabular: tab, panel: panel))
        let (policy, reward) = Self.networks(states: 3, actions: 2, seed: 2)
        let lambda = policy.network.parameters
        let alpha = 0.3, reps = 400, batch = 10
        let pi = tab.policyTable(policy, parameters: lambda)
        let soft = tab.softEvaluation(rewardTable: tab.rewardTable(reward), policyTable: pi, entropy: alpha)

        // ∇̂_λ J with the exact time-dependent soft Q, with and without the baseline.
        let exactJ = tab.policyJGradient(policy: policy, parameters: lambda, reward: reward, entropy: alpha)
        for baseline in [true, false] {
            _ = Self.checkUnbiased("∇λJ baseline=\(baseline)", exact: exactJ, reps: reps) { r in
                let steps = env.sampleSteps(policy: policy, parameters: lambda, episodes: batch, seed: 3, stream: [UInt64(r)])
                let q = soft.actionValues(states: steps.states, times: steps.times)
                return BilevelGradients.policyJ(policy: policy, parameters: lambda, steps: steps, actionValues: q,
                                                discount: env.discount, entropy: alpha, baseline: baseline)
            }
        }
        // ∇̂_φ J.
        let exactJphi = tab.rewardJGradient(policy: policy, parameters: lambda, reward: reward)
        _ = Self.checkUnbiased("∇φJ", exact: exactJphi, reps: reps) { r in
            let steps = env.sampleSteps(policy: policy, parameters: lambda, episodes: batch, seed: 4, stream: [UInt64(r)])
            return BilevelGradients.rewardJ(reward: reward, steps: steps, discount: env.discount)
        }
        // Labelled pairs from a policy, as the algorithm collects them (p̂ of M = 10 answers).
        func pairs(_ theta: [Double], _ r: Int) throws -> [FeaturizedPair] {
            let family = NeuralFamily(env: env, policy: policy)
            var a0 = theta.withUnsafeBufferPointer { family.makeActor($0) }
            var a1 = theta.withUnsafeBufferPointer { family.makeActor($0) }
            var data = PreferenceDataset<Int>()
            var ledger = try QueryLedger(budget: 1_000_000)
            try data.collect(batch, env: env, actor0: &a0, actor1: &a1, panel: panel, ledger: &ledger, seed: 5, stream: UInt64(r))
            return data.pairs.map { FeaturizedPair($0, env: env) }
        }
        let exactGphi = en.rewardGGradient(policy: policy, parameters: lambda, reward: reward)
        _ = Self.checkUnbiased("∇φG", exact: exactGphi, reps: reps) { r in
            BilevelGradients.rewardG(reward: reward, pairs: try! pairs(lambda, r), discount: env.discount).gradient
        }
        let exactGlambda = en.policyGGradient(policy: policy, parameters: lambda, reward: reward)
        _ = Self.checkUnbiased("∇λG", exact: exactGlambda, reps: reps) { r in
            BilevelGradients.policyG(policy: policy, parameters: lambda, reward: reward, pairs: try! pairs(lambda, r),
                                     discount: env.discount, baseline: true)
        }
        // Pairs from an older policy, reweighted to the current one (no clipping: unbiased).
        var old = lambda
        for j in 0..<old.count { old[j] += 0.3 * sin(Double(j + 1)) }
        _ = Self.checkUnbiased("∇λG importance-weighted", exact: exactGlambda, reps: reps) { r in
            let ps = try! pairs(old, r)
            let behaviour = BilevelGradients.trajectoryLogProbabilities(policy: policy, parameters: old, pairs: ps)
            return BilevelGradients.policyG(policy: policy, parameters: lambda, reward: reward, pairs: ps, discount: env.discount,
                                            behaviourLogProbabilities: behaviour, importanceClip: nil, baseline: true)
        }
    }

    // MARK: - The critic

    @Test("the DQN critic converges to the exact discounted Q of a fixed policy on classic")
    func criticConverges() throws {
        let env = try Classic.gridWorld()
        let tab = TabularBilevelModel(env: env)
        let n = env.stateCount
        var (policy, reward) = Self.networks(states: n, actions: 4, seed: 3, scale: 0.5)
        // r_φ = the expected true reward, so Q is the true discounted soft Q of π.
        for i in 0..<reward.parameterCount { reward.parameters[i] = 0 }
        let er = env.model.expectedReward
        for k in 0..<(n * 4) { reward.parameters[reward.layers[0].weightOffset + k] = er[k] }
        policy.network.parameters = policy.network.parameters
        let lambda = policy.network.parameters
        let pi = tab.policyTable(policy, parameters: lambda)
        for alpha in [0.05] {  // α > 0 exercises the soft target; α = 0 is the same code with the bonus off
            var hyper = CriticHyperparameters()
            // Enough samples (1000 episodes) and SGD steps (J = 300 refreshes of n = 80) that the
            // minibatch noise (∝ the step size) and the slow entries (rarely visited pairs move
            // by lr·ν(s,a) per step) both fall below the tolerance.
            hyper.episodes = 1000
            hyper.refreshes = 300
            hyper.stepsPerRefresh = 80
            hyper.learningRate = 0.5
            var rng = Xoshiro256(seed: 9)
            var critic = DQNCritic(featureCount: n, actionCount: 4, hyper: hyper, using: &rng)
            let buffer = env.sampleSteps(policy: policy, parameters: lambda, episodes: hyper.episodes, seed: 10, stream: [])
            let r = BilevelGradients.learnedRewards(reward: reward, steps: buffer)
            let ws = PolicyWorkspace(for: policy, capacity: buffer.count)
            let next = buffer.nextFeatures.withUnsafeBufferPointer { Array(policy.probabilities(features: $0, batch: buffer.count, workspace: ws)) }
            let report = critic.evaluate(buffer, rewards: r, nextProbabilities: next, entropy: alpha, using: &rng)
            let exact = tab.discountedQ(rewardTable: tab.rewardTable(reward), policyTable: pi, discount: hyper.discount, entropy: alpha)
            let estimate = critic.values(features: tab.stateFeatures, rows: n)
            let error = tab.relativeError(estimate, exact: exact, policyTable: pi)
            print("critic α = \(alpha): \(report.transitions) transitions, relative ν-error \(String(format: "%.4f", error)), TD loss \(report.tdLoss)")
            #expect(error < 0.05)
        }
    }

    // MARK: - The penalty gradient vs the exact hypergradient

    @Test("∇Φ_σ approaches the exact hypergradient as σ → 0 (layered MDP, α > 0)")
    func penaltyGradientApproachesHypergradient() throws {
        let env = BilevelTinyEnv.layered()
        let tab = TabularBilevelModel(env: env)
        let panel = try EvaluatorPanel(link: .bradleyTerry, evaluators: 10)
        let en = try #require(TrajectoryEnumeration(tabular: tab, panel: panel))
        let (policy, reward) = Self.networks(states: 5, actions: 2, seed: 4, scale: 0.5)
        let alpha = 0.5
        // Φ(φ) = G(φ, π*(φ)) with π* from soft backward induction; its gradient by central differences.
        let hyper = tab.hypergradientByFiniteDifferences(reward: reward, enumeration: en, alpha: alpha)
        // λ* by exact gradient ascent, checked against soft backward induction.
        let start = [Double](repeating: 0, count: policy.parameterCount)
        let star = tab.solveLowerLevel(policy: policy, from: start, reward: reward, entropy: alpha, stepSize: 2, tolerance: 1e-11)
        let piStar = tab.policyTable(policy, parameters: star.parameters)
        let piSoft = tab.softOptimalPolicy(rewardTable: tab.rewardTable(reward), alpha: alpha)
        #expect(Self.maxAbsDiff(Array(piStar[0..<6]), Array(piSoft[0..<6])) < 1e-9)  // the non-terminal states
        let jStar = tab.rewardJGradient(policy: policy, parameters: star.parameters, reward: reward)
        var rows: [String] = []
        var errors: [Double] = []
        for sigma in [1, 0.3, 0.1, 0.03, 0.01] {
            let ls = tab.solveLowerLevel(policy: policy, from: star.parameters, reward: reward, entropy: alpha, sigma: sigma,
                                         enumeration: en, stepSize: 2, tolerance: 1e-11)
            let gG = en.rewardGGradient(policy: policy, parameters: ls.parameters, reward: reward)
            let jSigma = tab.rewardJGradient(policy: policy, parameters: ls.parameters, reward: reward)
            let proxy = (0..<gG.count).map { gG[$0] + (jSigma[$0] - jStar[$0]) / sigma }
            let error = Self.norm(zip(proxy, hyper).map { $0 - $1 }) / Self.norm(hyper)
            errors.append(error)
            rows.append(String(format: "σ = %-5g  ‖∇Φ_σ − ∇Φ‖/‖∇Φ‖ = %.5f  (solver: %d iterations, ‖g‖ %.1e)", sigma, error, ls.iterations, ls.gradientNorm))
        }
        print("‖∇Φ‖ = \(String(format: "%.4f", Self.norm(hyper))), ‖∇_φ G(λ*)‖ = \(String(format: "%.4f", Self.norm(en.rewardGGradient(policy: policy, parameters: star.parameters, reward: reward))))\n" + rows.joined(separator: "\n"))
        for i in 1..<errors.count { #expect(errors[i] < errors[i - 1]) }
        #expect(errors.last! < 0.01)
    }

    // MARK: - Algorithm 1

    /// 5000 queries (50 iterations) from the uniform policy (normalized 0), seed 7. The run's
    /// policy, π_λ' (the tracker of λ*(φ), what a run reports by default), improves in both modes;
    /// measured: sampled 0.0636, exact 0.0393 normalized, so the margin 0.02 is half the exact gain
    /// (with the policy step sizes β = β' = 0 it stays at 0). π_λ, which follows σ∇_λ G more than
    /// ∇_λ J in its first steps at σ = 10, is not checked: sampled 0.025, exact −0.002 (it rises
    /// later; the diagnosis test: 0.31 after 400 iterations). The fitted reward orders fresh pairs
    /// well above chance (0.5): measured 0.774 sampled, 0.776 exact; the true expected reward 0.857.
    @Test("Algorithm 1 improves the true value on classic with a small budget, deterministically")
    func algorithmImproves() throws {
        let (env, panel, policy) = try Classic.fixture()
        let normalized = { (theta: [Double]) in Classic.normalizedValue(theta, env: env, policy: policy) }
        let initial = normalized(policy.network.parameters)
        #expect(abs(initial) < 1e-12, "the fixture's policy starts uniform")
        for exact in [false, true] {
            var runs: [[Double]] = []
            for _ in 0..<(exact ? 1 : 2) {
                var alg = try Bilevel(env: env, policy: policy, panel: panel, seed: 7, exact: exact)
                var ledger = try QueryLedger(budget: 5000)
                var k = 0
                while ledger.canAfford(alg.queries(forIteration: k)) { _ = try alg.iterate(k, ledger: &ledger); k += 1 }
                #expect(ledger.used == 5000 && alg.featurizedPairs.count == 500)
                let v = normalized(alg.parameters), vLower = normalized(alg.lowerLevelParameters)
                let agreement = alg.rewardAgreement(pairs: 300, seed: 1)
                print(String(format: "exact=%@: %d iterations, normalized initial %.4f, λ %.4f, λ' %.4f, agreement %.3f",
                             "\(exact)", k, initial, v, vLower, agreement))
                #expect(vLower - initial >= 0.02, "exact=\(exact): λ' \(vLower), initial \(initial)")
                #expect(agreement > 0.65, "exact=\(exact): agreement \(agreement)")
                runs.append(alg.parameters + alg.lowerLevelParameters + alg.rewardParameters)
            }
            if runs.count == 2 { #expect(runs[0] == runs[1]) }
        }
    }

    @Test("validation rejects bad hyperparameters and exact mode needs a tabular environment")
    func validation() throws {
        var h = BilevelHyperparameters()
        h.sigma = 0
        #expect(throws: RLHFError.self) { try h.validate() }
        h = BilevelHyperparameters()
        h.critic.discount = 1
        #expect(throws: RLHFError.self) { try h.validate() }
        h = BilevelHyperparameters()
        h.sigmaDecay = 0.5
        #expect(abs(h.sigma(at: 3) - h.sigma / 2) < 1e-15)  // p = ½: σ₀/√4
        let cart = CartPole()
        var rng = Xoshiro256(seed: 1)
        let policy = NeuralSoftmaxPolicy(featureCount: cart.featureCount, hidden: [8], actionCount: 2, using: &rng)
        let panel = try EvaluatorPanel(link: .bradleyTerry, evaluators: 10)
        #expect(throws: RLHFError.self) { _ = try Bilevel(env: cart, policy: policy, panel: panel, seed: 1, exact: true) }
        #expect(TabularBilevelModel.of(cart) == nil)
    }
}
