import Foundation
import Testing
import RLHF
@testable import RLHFStudy

@Suite("Fixed points of on-policy reward learning")
struct FixedPointMeasurementTests {
    /// One round from the optimal policy (quick: 2 000 pairs): the start is near-optimal, the
    /// reward fitted on its own pairs is a good predictor of those pairs, and yet λ*(φ) of that
    /// reward is far from optimal — the optimal policy is not a fixed point of on-policy reward
    /// learning on `classic`. Measured (seed 1): value 0.92, agreement 0.86, refit value 0.09, G −0.69.
    @Test func optimalPolicyIsNotAFixedPoint() throws {
        let rows = try FixedPointMeasurement.measure(seed: 1, start: "from-optimal", quick: true, rounds: 1)
        func y(_ metric: String) -> Double { rows.first { $0.metric == metric && $0.x == 0 }?.y ?? .nan }
        print("fixed point, one round from the optimal policy:", rows.map { "\($0.metric) \($0.y)" }.joined(separator: ", "))
        #expect(y("value") > 0.9)
        #expect(y("agreement") > 0.7, "the fitted reward should order the policy's own pairs well")
        #expect(y("refit_value") < 0.5, "λ*(φ) of a reward fitted on optimal-policy pairs: \(y("refit_value"))")
        // G is close to log ½: the labels of M = 10 evaluators on classic carry little information.
        #expect(abs(y("log_likelihood") - log(0.5)) < 0.05)
    }
}
