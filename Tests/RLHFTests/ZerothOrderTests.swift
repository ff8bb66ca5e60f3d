import Foundation
import Testing
@testable import RLHF
import RLHFTestSupport

@Suite("ZPG and ZBCPG")
struct ZerothOrderTests {
    /// Mean and standard error of each coordinate of many gradient estimates.
    static func moments(_ samples: Int, _ draw: (Int) -> [Double]) -> [RunningMoments] {
        var m: [RunningMoments] = []
        for i in 0..<samples {
            let g = draw(i)
            if m.isEmpty { m = Array(repeating: RunningMoments(), count: g.count) }
            for j in 0..<g.count { m[j].add(g[j]) }
        }
        return m
    }

    /// ĝ of ZPG at iteration t from θ: with α = 1, ĝ is the parameter change.
    static func zpgEstimates<E: Environment>(_ zpg: inout ZPG<E, TabularSoftmax>, theta: [Double], count: Int) throws -> [RunningMoments] {
        var ledger = try QueryLedger(budget: Limits.budget)
        var failure: Error?
        let m = moments(count) { t in
            zpg.parameters = theta
            do { _ = try zpg.iterate(t, ledger: &ledger) } catch { failure = error }
            return zip(zpg.parameters, theta).map { $0 - $1 }
        }
        if let failure { throw failure }
        return m
    }

    @Test("on a one-step bandit, E[ĝ] equals the gradient of the μ-smoothed value (by quadrature)")
    func unbiasedOnBandit() throws {
        let (r0, r1) = (1.0, -0.5)
        let env = ModelEnvironment(model: TinyMDPs.bandit(r0, r1))
        let family = TabularSoftmax(stateCount: 2, actionCount: 2)   // d = 4; θ₂, θ₃ never matter
        let panel = try EvaluatorPanel(link: .bradleyTerry, evaluators: 10, trim: 0, noiseless: true)
        var hyper = ZPGHyperparameters()
        hyper.mu = 3
        hyper.alpha = 1
        hyper.pairs = 1
        let theta = [0.4, -0.3, 0.0, 0.0]
        var zpg = try ZPG(env: env, family: family, panel: panel, hyper: hyper, seed: 21)
        let m = try Self.zpgEstimates(&zpg, theta: theta, count: 60_000)

        // V depends on θ only through x = θ₀ − θ₁: V(x) = r1 + (r0 − r1)·logistic(x). For v uniform
        // on S³, u = (v₀ − v₁)/√2 has density ∝ (1 − u²)^{1/2}, and ∇V_μ = (d/μ)·e·E[V(x + √2 μ u) u]
        // with e = (1, −1, 0, 0)/√2. Substitute u = cos φ: density ∝ sin²φ on [0, π].
        let d = 4.0, mu = hyper.mu, x = theta[0] - theta[1]
        func value(_ x: Double) -> Double { r1 + (r0 - r1) / (1 + exp(-x)) }
        let n = 20_000
        var num = 0.0, den = 0.0
        for i in 0..<n {
            let phi = (Double(i) + 0.5) / Double(n) * Double.pi
            let w = sin(phi) * sin(phi)
            num += w * value(x + 2.0.squareRoot() * mu * cos(phi)) * cos(phi)
            den += w
        }
        let projected = d / mu * num / den
        let exact = [projected / 2.0.squareRoot(), -projected / 2.0.squareRoot(), 0, 0]
        for j in 0..<4 {
            let e = m[j].estimate
            #expect(abs(e.mean - exact[j]) < 4 * e.standardError, "coordinate \(j): \(e.mean) ± \(e.standardError), exact \(exact[j])")
        }
        // The smoothed gradient differs from the plain one at this μ, so the check has teeth.
        let plain = (r0 - r1) * exp(-x) / pow(1 + exp(-x), 2)
        #expect(abs(exact[0] - plain) > 10 * m[0].estimate.standardError)
    }

    @Test("on a small GridWorld, E[ĝ] matches the smoothed gradient from exact values, and that tends to ∇V as μ → 0")
    func unbiasedOnGridWorld() throws {
        let env = try GridWorld(map: "S.\n.G", options: .init(slip: 0.2, horizon: 4, stepReward: -0.1))
        let family = TabularSoftmax(stateCount: env.stateCount, actionCount: 4)
        let d = family.parameterCount
        var rng = Xoshiro256(seed: 5)
        let theta = (0..<d).map { _ in 0.5 * rng.normal() }
        let panel = try EvaluatorPanel(link: .bradleyTerry, evaluators: 10, trim: 0, noiseless: true)
        var hyper = ZPGHyperparameters()
        hyper.mu = 2
        hyper.alpha = 1
        hyper.pairs = 2
        var zpg = try ZPG(env: env, family: family, panel: panel, hyper: hyper, seed: 8)
        let estimator = try Self.zpgEstimates(&zpg, theta: theta, count: 40_000)

        // Reference: (d/μ)·½(V(θ + μv) − V(θ − μv))·v with exact V has the same mean, ∇V_μ.
        func exactValue(_ t: [Double]) -> Double { env.model.value(policy: family.probabilities(t)) }
        func smoothed(mu: Double, samples: Int, seed: UInt64) -> [RunningMoments] {
            var g = Xoshiro256(seed: seed)
            return Self.moments(samples) { _ in
                let v = g.unitSphere(dimension: d)
                let plus = zip(theta, v).map { $0 + mu * $1 }, minus = zip(theta, v).map { $0 - mu * $1 }
                let scale = Double(d) / mu * 0.5 * (exactValue(plus) - exactValue(minus))
                return v.map { scale * $0 }
            }
        }
        let reference = smoothed(mu: hyper.mu, samples: 40_000, seed: 99)
        for j in 0..<d {
            let a = estimator[j].estimate, b = reference[j].estimate
            let se = (a.standardError * a.standardError + b.standardError * b.standardError).squareRoot()
            #expect(abs(a.mean - b.mean) < 4 * se, "coordinate \(j): ZPG \(a.mean), smoothed \(b.mean) ± \(se)")
        }
        // As μ → 0 the smoothed gradient is the policy gradient.
        let tiny = smoothed(mu: 1e-4, samples: 20_000, seed: 7)
        let exactGradient = env.model.advantageOccupancy(policy: family.probabilities(theta))
        for j in 0..<d {
            let e = tiny[j].estimate
            #expect(abs(e.mean - exactGradient[j]) < 4 * e.standardError + 1e-9, "coordinate \(j)")
        }
    }

    @Test("ZBCPG with one block reproduces ZPG exactly")
    func zbcpgOneBlockIsZPG() throws {
        let env = try Classic.gridWorld()
        let family = TabularSoftmax(stateCount: env.stateCount, actionCount: 4)
        let panel = try EvaluatorPanel(link: try LinkFunction(.weibull), evaluators: 10)
        var zpg = try ZPG(env: env, family: family, panel: panel, seed: 31)
        var h = ZBCPGHyperparameters()
        h.blocks = 1
        var zb = try ZBCPG(env: env, family: family, panel: panel, hyper: h, seed: 31)
        var l1 = try QueryLedger(budget: 100_000), l2 = try QueryLedger(budget: 100_000)
        var steps1 = 0, steps2 = 0
        for t in 0..<300 {
            steps1 += try zpg.iterate(t, ledger: &l1)
            steps2 += try zb.iterate(t, ledger: &l2)
        }
        #expect(zpg.parameters == zb.parameters)
        #expect(steps1 == steps2 && l1 == l2)
        #expect(zpg.parameters != [Double](repeating: 0, count: 92))
    }

    @Test("ZBCPG gives the same numbers on 1, 2 and 5 threads", arguments: [ZBCPGHyperparameters.BlockMode.partition, .random])
    func threadIndependence(mode: ZBCPGHyperparameters.BlockMode) throws {
        let env = try Classic.gridWorld()
        let family = TabularSoftmax(stateCount: env.stateCount, actionCount: 4)
        let panel = try EvaluatorPanel(link: .bradleyTerry, evaluators: 5)
        var results: [[Double]] = []
        for threads in [1, 2, 5] {
            var h = ZBCPGHyperparameters()
            h.blocks = 6
            h.mode = mode
            h.threads = threads
            var z = try ZBCPG(env: env, family: family, panel: panel, hyper: h, seed: 4)
            var ledger = try QueryLedger(budget: 1_000_000)
            for t in 0..<100 { _ = try z.iterate(t, ledger: &ledger) }
            results.append(z.parameters)
        }
        #expect(results[0] == results[1] && results[1] == results[2])
    }

    @Test("a partition covers every coordinate once, in blocks whose sizes differ by at most one")
    func partition() {
        let blocks = ZBCPG<GridWorld, TabularSoftmax>.partition(dimension: 92, blocks: 5, seed: 3)
        #expect(blocks.count == 5)
        #expect(blocks.flatMap { $0 }.sorted() == Array(0..<92))
        #expect(Set(blocks.map(\.count)) == [18, 19])
        #expect(blocks.allSatisfy { $0 == $0.sorted() })
    }

    @Test("a block's update touches only its coordinates")
    func randomBlockTouchesOnlyItsBlock() throws {
        let env = try Classic.gridWorld()
        let family = TabularSoftmax(stateCount: env.stateCount, actionCount: 4)
        var h = ZBCPGHyperparameters()
        h.mode = .random
        h.blockSize = 10
        var z = try ZBCPG(env: env, family: family, panel: try EvaluatorPanel(link: .bradleyTerry, evaluators: 10), hyper: h, seed: 2)
        var ledger = try QueryLedger(budget: 1000)
        _ = try z.iterate(0, ledger: &ledger)
        #expect(z.parameters.filter { $0 != 0 }.count <= 10)
        #expect(ledger.used == 80)
    }

    @Test("the ledger is charged N·M (ZPG) and K·N·M (ZBCPG) a iteration and the run stops at the budget")
    func queryAccounting() throws {
        var c = TrainConfiguration()
        c.budget = 10_000
        c.evaluators = 7
        c.pairs = 3
        let r = try Trainer.run(c)
        #expect(r.summary.iterations == 10_000 / 21)
        #expect(r.summary.queriesUsed == 21 * (10_000 / 21))
        c.algorithm = .zbcpg
        c.blocks = 4
        let z = try Trainer.run(c)
        #expect(z.summary.iterations == 10_000 / 84)
        #expect(z.summary.queriesUsed <= 10_000)
    }

    @Test("a run resumed from a checkpoint ends exactly where an uninterrupted run does")
    func resume() throws {
        var c = TrainConfiguration()
        c.budget = 40_000
        c.evaluateEvery = 50
        c.algorithm = .zbcpg
        let full = try Trainer.run(c)
        var saved: TrainingState?
        _ = try? Trainer.run(c, checkpoint: { state in
            if state.iteration == 50 { saved = state }
            if state.iteration == 100 { throw RLHFError.io(path: "-", message: "simulated stop") }
        })
        let state = try #require(saved)
        var c2 = c
        c2.threads = 1
        let resumed = try Trainer.run(c2, resume: state)
        #expect(resumed.state.parameters == full.state.parameters)
        #expect(resumed.state.records.map(\.value) == full.state.records.map(\.value))
        #expect(resumed.summary.queriesUsed == full.summary.queriesUsed && resumed.summary.envSteps == full.summary.envSteps)
    }

    @Test("ZPG with default hyperparameters reaches normalized 0.9 on classic within 10⁶ queries", arguments: [
        LinkFunction.Kind.bradleyTerry, .weibull,
    ])
    func learnsClassic(link: LinkFunction.Kind) throws {
        var c = TrainConfiguration()
        c.link = try LinkFunction(link)
        c.seed = 1
        let r = try Trainer.run(c)
        #expect(r.summary.normalizedValue >= 0.9, "normalized \(r.summary.normalizedValue)")
        #expect(r.summary.queriesUsed == 1_000_000)
        #expect(r.summary.finalValue > r.summary.initialValue)
    }

    @Test("bad configurations fail before running, saying what is wrong")
    func badInput() throws {
        func expectFailure(_ edit: (inout TrainConfiguration) throws -> Void, _ fragment: String,
                           sourceLocation: SourceLocation = #_sourceLocation) {
            var c = TrainConfiguration()
            do {
                try edit(&c)
                _ = try Trainer.run(c)
                Issue.record("accepted", sourceLocation: sourceLocation)
            } catch {
                #expect("\(error)".contains(fragment), "\(error)", sourceLocation: sourceLocation)
            }
        }
        expectFailure({ $0.environment.name = "nowhere" }, "unknown environment 'nowhere'")
        expectFailure({ $0.evaluators = 0 }, "evaluators (M)")
        expectFailure({ $0.budget = 79 }, "query budget 79")
        expectFailure({ $0.mu = .nan }, "mu")
        expectFailure({ $0.alpha = -0.1 }, "alpha")
        expectFailure({ $0.alpha = .infinity }, "not finite")
        expectFailure({ $0.pairs = 0 }, "pairs")
        expectFailure({ $0.algorithm = .zbcpg; $0.blocks = 0 }, "blocks")
        expectFailure({ $0.algorithm = .zbcpg; $0.blocks = 93; $0.budget = 10_000_000 }, "exceed")
        expectFailure({ $0.environment.slip = 2 }, "slip")
        expectFailure({ $0.gradientClip = 0 }, "gradient clip")
        expectFailure({ $0.trim = 0; $0.budget = 100_000 }, "diverged")
        expectFailure({ $0.link = try LinkFunction(.weibull, shape: -1) }, "Weibull shape")
    }
}
