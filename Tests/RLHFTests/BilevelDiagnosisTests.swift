import Foundation
import Testing
@testable import RLHF
import RLHFTestSupport

/// The diagnosis of the stall of Algorithm 1 on `classic` (see ``BilevelHyperparameters``), as
/// checks that fail if it comes back: with the old lower-level steps (β = β' = 2, clip 5, α = 0.002, σ = 1)
/// the exact-mode run sits on the wall-bumping policy (normalized ≈ 0.15, softmax saturated) from
/// the first iterations on; with the defaults it leaves it.
@Suite("Bilevel diagnosis (classic, exact mode)")
struct BilevelDiagnosisTests {
    /// Runs `iterations` outer iterations in exact mode; returns the normalized value of λ and
    /// the largest |λ| entry (a saturated softmax has entries of 8 and more).
    static func run(_ hyper: BilevelHyperparameters, iterations: Int, seed: UInt64) throws -> (value: Double, maxLogit: Double) {
        let (env, panel, policy) = try Classic.fixture()
        let normalized = { (theta: [Double]) in Classic.normalizedValue(theta, env: env, policy: policy) }
        var alg = try Bilevel(env: env, policy: policy, panel: panel, hyper: hyper, seed: seed, exact: true)
        var ledger = try QueryLedger(budget: iterations * alg.queries(forIteration: 1))
        for k in 0..<iterations { _ = try alg.iterate(k, ledger: &ledger) }
        return (normalized(alg.parameters), alg.parameters.map { abs($0) }.max() ?? 0)
    }

    @Test("the old lower-level steps saturate on the stall; the defaults leave it")
    func stallAndEscape() throws {
        var old = BilevelHyperparameters()
        old.lowerStepSize = 2
        old.policyStepSize = 2
        old.gradientClip = 5
        old.entropy = 0.002
        old.sigma = 1
        let stalled = try Self.run(old, iterations: 30, seed: 3)
        // Measured: 0.150 after 30 iterations, |λ|∞ ≈ 7.7 (the stall is ≈ 0.14–0.155).
        #expect(abs(stalled.value - 0.15) < 0.02 && stalled.maxLogit > 5)
        let fixed = try Self.run(BilevelHyperparameters(), iterations: 400, seed: 3)
        print(String(format: "old steps: normalized %.3f, |λ|∞ %.1f; defaults: normalized %.3f, |λ|∞ %.1f",
                     stalled.value, stalled.maxLogit, fixed.value, fixed.maxLogit))
        // Measured: 0.309 after 400 iterations, |λ|∞ ≈ 1.0 (σ = 1 with the small steps: 0.441;
        // the old steps: 0.150, |λ|∞ ≈ 7.7).
        #expect(fixed.value > 0.2)
    }
}
