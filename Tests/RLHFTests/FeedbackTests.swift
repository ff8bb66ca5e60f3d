import Foundation
import Testing
@testable import RLHF

@Suite("Link functions, panels, teachers and the query ledger")
struct FeedbackTests {
    static let links: [LinkFunction] = [
        try! LinkFunction(.bradleyTerry), try! LinkFunction(.bradleyTerry, scale: 0.3),
        try! LinkFunction(.weibull), try! LinkFunction(.weibull, scale: 2, shape: 1), try! LinkFunction(.weibull, shape: 3.5),
        try! LinkFunction(.thurstone), try! LinkFunction(.thurstone, scale: 0.5),
    ]

    @Test("known values of σ")
    func knownValues() throws {
        #expect(abs(LinkFunction.bradleyTerry.probability(1) - 1 / (1 + exp(-1))) < 1e-15)
        #expect(abs(try LinkFunction(.bradleyTerry, scale: 2).probability(1) - 1 / (1 + exp(-0.5))) < 1e-15)
        #expect(abs(try LinkFunction(.thurstone).probability(1) - 0.8413447460685429) < 1e-15)
        #expect(abs(try LinkFunction(.thurstone).probability(-1.959963984540054) - 0.025) < 1e-15)
        // Weibull k = 2, s = 1: σ(1) = ½ + ½(1 − e^{−1}).
        #expect(abs(try LinkFunction(.weibull).probability(1) - (0.5 + 0.5 * (1 - exp(-1)))) < 1e-15)
        // k = 1 is the Laplace link: σ(−x) = ½ e^{−x/s}.
        #expect(abs(try LinkFunction(.weibull, scale: 2, shape: 1).probability(-3) - 0.5 * exp(-1.5)) < 1e-15)
    }

    @Test("σ(x) + σ(−x) = 1 and σ increases", arguments: links)
    func symmetryAndMonotonicity(link: LinkFunction) {
        var previous = -1.0
        for i in -400...400 {
            let x = Double(i) / 50
            let p = link.probability(x)
            #expect(abs(p + link.probability(-x) - 1) < 1e-14)
            #expect(p >= previous)
            if abs(x) < 2 { #expect(p > previous) }
            previous = p
        }
        #expect(link.probability(0) == 0.5)
    }

    @Test("σ⁻¹(σ(x)) = x wherever σ is not flat, and σ(σ⁻¹(p)) = p", arguments: links)
    func inverse(link: LinkFunction) {
        for i in -300...300 {
            let x = Double(i) / 50 * link.scale
            let p = link.probability(x)
            guard p > 1e-12 && p < 1 - 1e-12 else { continue }
            // Relative accuracy is limited by the slope of σ: |dx| ≈ ulp(p)/σ'(x).
            let h = 1e-6 * link.scale
            let slope = (link.probability(x + h) - link.probability(x - h)) / (2 * h)
            let tolerance = 1e-14 / max(slope, 1e-300) + 1e-12 * abs(x)
            #expect(abs(link.inverse(p) - x) <= max(tolerance, 1e-9), "x = \(x)")
        }
        for i in 1..<1000 {
            let p = Double(i) / 1000
            #expect(abs(link.probability(link.inverse(p)) - p) < 1e-13)
        }
        #expect(link.inverse(0.5) == 0)
        #expect(link.inverse(1) == .infinity)
        #expect(link.inverse(0) == -.infinity)
    }

    @Test("the normal quantile is accurate in the tails")
    func normalQuantile() {
        #expect(abs(LinkFunction.normalQuantile(0.975) - 1.959963984540054) < 1e-14)
        #expect(abs(LinkFunction.normalQuantile(1e-10) - -6.361340902404056) < 1e-12)
        #expect(abs(LinkFunction.normalQuantile(0.8413447460685429) - 1) < 1e-13)
    }

    @Test("links reject non-finite or non-positive scales and shapes")
    func linkValidation() {
        #expect(throws: RLHFError.self) { try LinkFunction(.bradleyTerry, scale: 0) }
        #expect(throws: RLHFError.self) { try LinkFunction(.thurstone, scale: -1) }
        #expect(throws: RLHFError.self) { try LinkFunction(.weibull, scale: .nan) }
        #expect(throws: RLHFError.self) { try LinkFunction(.weibull, shape: .infinity) }
    }

    @Test("a panel's p̂ has mean σ(ΔR) and binomial variance")
    func panelRates() throws {
        let panel = try EvaluatorPanel(link: .bradleyTerry, evaluators: 10)
        #expect(panel.trim == 0.05)
        var g = Xoshiro256(seed: 5)
        let t0 = ShownTrajectory(totalReturn: -0.3, myopicReturn: 0)
        let t1 = ShownTrajectory(totalReturn: 0.5, myopicReturn: 0)
        let p = LinkFunction.bradleyTerry.probability(0.8)
        var m = RunningMoments()
        let n = 50_000
        for _ in 0..<n { m.add(panel.preferenceRate(t0, t1, using: &g)!) }
        let variance = p * (1 - p) / 10
        #expect(abs(m.mean - p) < 4 * (variance / Double(n)).squareRoot())
        #expect(abs(m.variance - variance) < 0.05 * variance)
    }

    @Test("trimming clamps p̂ to [ε, 1−ε] and keeps Δ̂ finite")
    func trimming() throws {
        let panel = try EvaluatorPanel(link: .bradleyTerry, evaluators: 4)
        #expect(panel.trim == 0.125)
        #expect(panel.trimmed(1) == 0.875)
        #expect(panel.trimmed(0) == 0.125)
        #expect(panel.trimmed(0.5) == 0.5)
        #expect(abs(panel.estimatedDifference(rate: 1) - log(0.875 / 0.125)) < 1e-12)
        let untrimmed = try EvaluatorPanel(link: .bradleyTerry, evaluators: 4, trim: 0)
        #expect(untrimmed.estimatedDifference(rate: 1) == .infinity)
        #expect(throws: RLHFError.self) { try EvaluatorPanel(link: .bradleyTerry, evaluators: 4, trim: 0.5) }
        #expect(throws: RLHFError.self) { try EvaluatorPanel(link: .bradleyTerry, evaluators: 4, trim: -0.1) }
        #expect(throws: RLHFError.self) { try EvaluatorPanel(link: .bradleyTerry, evaluators: 0) }
    }

    @Test("noisy teachers: mistakes, equal, skip and myopic")
    func teachers() throws {
        let t0 = ShownTrajectory(totalReturn: 0, myopicReturn: 2)
        let t1 = ShownTrajectory(totalReturn: 3, myopicReturn: 0)
        let ideal = try EvaluatorPanel(link: .bradleyTerry, evaluators: 5)
        let p = LinkFunction.bradleyTerry.probability(3)
        #expect(ideal.answerProbability(t0, t1) == p)
        let alwaysWrong = try EvaluatorPanel(link: .bradleyTerry, evaluators: 5, teacher: Teacher(mistakeRate: 1))
        #expect(abs(alwaysWrong.answerProbability(t0, t1)! - (1 - p)) < 1e-15)
        let mistaken = try EvaluatorPanel(link: .bradleyTerry, evaluators: 5, teacher: Teacher(mistakeRate: 0.2))
        #expect(abs(mistaken.answerProbability(t0, t1)! - (0.8 * p + 0.2 * (1 - p))) < 1e-15)
        let equal = try EvaluatorPanel(link: .bradleyTerry, evaluators: 5, teacher: Teacher(equalThreshold: 3.5))
        #expect(equal.answerProbability(t0, t1) == 0.5)
        let skip = try EvaluatorPanel(link: .bradleyTerry, evaluators: 5, teacher: Teacher(skipThreshold: 3.5))
        var g = Xoshiro256(seed: 1)
        #expect(skip.preferenceRate(t0, t1, using: &g) == nil)
        let myopic = try EvaluatorPanel(link: .bradleyTerry, evaluators: 5, teacher: Teacher(myopicDiscount: 0.5))
        #expect(myopic.answerProbability(t0, t1) == LinkFunction.bradleyTerry.probability(-2))
        #expect(throws: RLHFError.self) { try Teacher(mistakeRate: 1.5) }
        #expect(throws: RLHFError.self) { try Teacher(myopicDiscount: .nan) }
    }

    @Test("the ledger charges, refuses to overspend, and spends nothing when it refuses")
    func ledger() throws {
        var ledger = try QueryLedger(budget: 100)
        try ledger.charge(80, for: "a test")
        #expect(ledger.used == 80 && ledger.remaining == 20)
        #expect(!ledger.canAfford(21))
        #expect(throws: RLHFError.budgetTooSmall(budget: 100, needed: 101, what: "more")) { try ledger.charge(21, for: "more") }
        #expect(ledger.used == 80)
        try ledger.charge(20, for: "the rest")
        #expect(ledger.remaining == 0)
        #expect(throws: RLHFError.self) { try QueryLedger(budget: 0) }
    }
}
