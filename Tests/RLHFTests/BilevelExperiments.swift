import Foundation
import Testing
@testable import RLHF

/// Calibration and measurement runs of Algorithm 1 on `classic` (release build; enabled only when
/// BILEVEL_EXPERIMENT is set): `BILEVEL_EXPERIMENT=1 swift test -c release --filter BilevelExperiments`.
/// Optional: BILEVEL_BUDGETS (comma-separated), BILEVEL_SEEDS (count), BILEVEL_SET (k=v,… overrides;
/// several settings separated by `;` run one after the other, each ending with a median line),
/// BILEVEL_EXACT=1 (exact mode), BILEVEL_TRUE_REWARD=1 (φ starts at the true expected reward; with
/// eta≈0 this checks the lower level alone), BILEVEL_VERBOSE=1 (per-iteration statistics),
/// BILEVEL_DUMP=1 (seed 0: the learned reward table beside the true expected reward, π_λ, and the
/// value of λ*(φ) solved exactly for the final φ: whether the reward or the policy is what fails).
@Suite("Bilevel experiments", .enabled(if: ProcessInfo.processInfo.environment["BILEVEL_EXPERIMENT"] != nil))
struct BilevelExperiments {
    static func override(_ h: inout BilevelHyperparameters, _ spec: String) {
        for item in spec.split(separator: ",") {
            let kv = item.split(separator: "=")
            guard kv.count == 2, let v = Double(kv[1]) else { continue }
            switch kv[0] {
            case "B": h.pairsPerIteration = Int(v)
            case "eta": h.rewardStepSize = v
            case "rsteps": h.rewardStepsPerIteration = Int(v)
            case "replay": h.replayPairs = Int(v)
            case "sigma": h.sigma = v
            case "p": h.sigmaDecay = v
            case "T": h.innerSteps = Int(v)
            case "beta": h.policyStepSize = v
            case "betaL": h.lowerStepSize = v
            case "alpha": h.entropy = v
            case "N": h.actorEpisodes = Int(v)
            case "NR": h.rewardEpisodes = Int(v)
            case "clip": h.gradientClip = v > 0 ? v : nil
            case "cJ": h.critic.refreshes = Int(v)
            case "cn": h.critic.stepsPerRefresh = Int(v)
            case "cE": h.critic.episodes = Int(v)
            case "clr": h.critic.learningRate = v
            case "cg": h.critic.discount = v
            case "adam": h.rewardOptimizer = v != 0 ? .adam : .sgd
            case "W": h.warmupPairs = Int(v)
            case "Wsteps": h.warmupRewardSteps = Int(v)
            default: print("unknown key \(kv[0])")
            }
        }
    }

    @Test func classicRuns() throws {
        let envVars = ProcessInfo.processInfo.environment
        let budgets = (envVars["BILEVEL_BUDGETS"] ?? "10000,100000").split(separator: ",").compactMap { Int($0) }
        let seeds = Int(envVars["BILEVEL_SEEDS"] ?? "3") ?? 3
        let exact = !(envVars["BILEVEL_EXACT"] ?? "").isEmpty
        for setting in (envVars["BILEVEL_SET"] ?? "").split(separator: ";", omittingEmptySubsequences: false) {
            var hyper = BilevelHyperparameters()
            Self.override(&hyper, String(setting))
            try run(hyper, setting: String(setting), budgets: budgets, seeds: seeds, exact: exact)
        }
    }

    func run(_ hyper: BilevelHyperparameters, setting: String, budgets: [Int], seeds: Int, exact: Bool) throws {
        let envVars = ProcessInfo.processInfo.environment
        var env = try GridWorld(preset: GridWorldPreset.named("classic")!)
        env.featureMode = .oneHot
        let panel = try EvaluatorPanel(link: .bradleyTerry, evaluators: 10)
        let family0: NeuralTabularFamily
        do {
            var rng = Xoshiro256(seed: 5)
            family0 = NeuralTabularFamily(env: env, policy: NeuralSoftmaxPolicy(featureCount: env.featureCount, hidden: [], actionCount: 4, using: &rng))
        }
        let uniform = env.model.value(policy: env.model.uniformPolicy), best = env.model.optimalValue
        func norm(_ theta: [Double]) -> Double { (env.model.value(policy: family0.probabilities(theta)) - uniform) / (best - uniform) }
        print("setting:", setting)
        for budget in budgets {
            var finals: [Double] = []
            for s in 0..<seeds {
                var rng = Xoshiro256(seed: UInt64(100 + s))
                let policy = NeuralSoftmaxPolicy(featureCount: env.featureCount, hidden: [], actionCount: 4, using: &rng)
                var alg = try Bilevel(env: env, policy: policy, rewardHidden: [], panel: panel, hyper: hyper, seed: UInt64(s + 1), exact: exact)
                if !(envVars["BILEVEL_TRUE_REWARD"] ?? "").isEmpty {
                    var phi = alg.rewardParameters
                    for i in 0..<phi.count { phi[i] = 0 }
                    let er = env.model.expectedReward
                    for k in 0..<er.count { phi[k] = er[k] }
                    alg.rewardParameters = phi
                }
                var ledger = try QueryLedger(budget: budget)
                let start = Date()
                var k = 0
                var trace: [String] = []
                let every = max(1, budget / alg.queries(forIteration: 1) / 8)
                while ledger.canAfford(alg.queries(forIteration: k)) {
                    _ = try alg.iterate(k, ledger: &ledger)
                    if envVars["BILEVEL_VERBOSE"] != nil, let st = alg.lastStatistics {
                        func mx(_ x: [Double]) -> Double { x.map { abs($0) }.max() ?? 0 }
                        print(String(format: "k %d |λ|∞ %.2f |λ'|∞ %.2f |φ|∞ %.2f  G %.3f |gG| %.3f |pen| %.3f  crit %.4f %.4f  V %.3f %.3f", k, mx(alg.parameters), mx(alg.lowerLevelParameters), mx(alg.rewardParameters), st.upperLogLikelihood, st.upperGradientNorm, st.penaltyGradientNorm, st.lowerCriticLoss, st.criticLoss, norm(alg.parameters), norm(alg.lowerLevelParameters)))
                    }
                    k += 1
                    if k % every == 0 { trace.append(String(format: "%.2f", norm(alg.parameters))) }
                }
                let secs = Date().timeIntervalSince(start)
                if envVars["BILEVEL_DUMP"] != nil, s == 0, let tab = alg.tabular {
                    // The learned reward table next to the true expected reward, and π_λ, state by state.
                    let r = tab.rewardTable(alg.rewardModel.network), er = env.model.expectedReward
                    let pi = tab.policyTable(alg.policy, parameters: alg.parameters)
                    let d = env.model.stateOccupancy(policy: pi)
                    let star = tab.solveLowerLevel(policy: alg.policy, from: alg.parameters, reward: alg.rewardModel.network,
                                                   entropy: max(hyper.entropy, 1e-3), stepSize: 1, tolerance: 1e-6, maxIterations: 20_000)
                    print(String(format: "λ*(φ) from λ: normalized %.3f (|∇| %.1e after %d steps)", norm(star.parameters), star.gradientNorm, star.iterations))
                    for st in 0..<env.stateCount {
                        var visits = 0.0
                        for t in 0..<env.horizon { visits += d[t * env.stateCount + st] }
                        print(String(format: "s %2d visits %5.2f  r_φ %@  true %@  π %@", st, visits,
                                     (0..<4).map { String(format: "%6.2f", r[st * 4 + $0]) }.joined(separator: " "),
                                     (0..<4).map { String(format: "%6.2f", er[st * 4 + $0]) }.joined(separator: " "),
                                     (0..<4).map { String(format: "%4.2f", pi[st * 4 + $0]) }.joined(separator: " ")))
                    }
                }
                let st = alg.lastStatistics!
                print(String(format: "budget %7d seed %d: iters %5d  λ %.3f  λ' %.3f  agree(λ) %.3f agree(unif) %.3f  G %.3f |gG| %.3f |pen| %.3f  %.1fs  trace %@",
                             budget, s, k, norm(alg.parameters), norm(alg.lowerLevelParameters),
                             alg.rewardAgreement(pairs: 1000, seed: 77), alg.rewardAgreement(pairs: 1000, seed: 78, parameters: [Double](repeating: 0, count: alg.parameters.count)),
                             st.upperLogLikelihood, st.upperGradientNorm, st.penaltyGradientNorm, secs, trace.joined(separator: " ")))
                finals.append(norm(alg.parameters))
            }
            let sorted = finals.sorted()
            print(String(format: "SUMMARY [%@] budget %d: median %.3f  min %.3f  max %.3f  (%@)", setting, budget,
                         sorted[sorted.count / 2], sorted.first!, sorted.last!, finals.map { String(format: "%.3f", $0) }.joined(separator: " ")))
        }
    }
}
