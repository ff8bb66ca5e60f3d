import Foundation
import Testing
import RLHF
import RLHFTestSupport

@Suite("Neural: softmax policy")
struct NeuralPolicyTests {
    static func policy(seed: UInt64) -> NeuralSoftmaxPolicy {
        var rng = Xoshiro256(seed: seed)
        var p = NeuralSoftmaxPolicy(featureCount: 3, hidden: [6], actionCount: 4, activation: .tanh, uniformStart: false, using: &rng)
        for i in p.network.parameters.indices { p.network.parameters[i] += 0.2 * rng.normal() }
        return p
    }

    @Test("uniform start; probabilities sum to one")
    func uniformStart() {
        var rng = Xoshiro256(seed: 1)
        let p = NeuralSoftmaxPolicy(featureCount: 3, hidden: [8], actionCount: 5, using: &rng)
        let probs = p.probabilities(features: [0.3, -1, 2])
        #expect(probs.allSatisfy { abs($0 - 0.2) < 1e-15 })
        let q = Self.policy(seed: 2).probabilities(features: [0.3, -1, 2])
        #expect(abs(q.reduce(0, +) - 1) < 1e-14)
    }

    @Test("∇ log π(a|s) with weights matches finite differences")
    func logProbabilityGradient() {
        var policy = Self.policy(seed: 3)
        var rng = Xoshiro256(seed: 4)
        let batch = 7
        let features = NeuralTestSupport.randomArray(batch * 3, &rng)
        let actions = (0..<batch).map { _ in rng.index(below: 4) }
        let weights = NeuralTestSupport.randomArray(batch, &rng)
        let ws = PolicyWorkspace(for: policy, capacity: 2)
        policy.network.zeroGradients()
        let value = policy.accumulateLogProbabilityGradient(features: features, actions: actions, weights: weights, workspace: ws)
        func objective(_ theta: [Double]) -> Double {
            var p = policy; p.network.parameters = theta
            var total = 0.0
            for i in 0..<batch {
                let probs = p.probabilities(features: Array(features[(3 * i)..<(3 * i + 3)]))
                total += weights[i] * log(probs[actions[i]])
            }
            return total
        }
        #expect(abs(value - objective(policy.network.parameters)) < 1e-12)
        let numeric = NeuralTestSupport.numericalGradient(policy.network.parameters, objective)
        #expect(NeuralTestSupport.maxError(policy.network.gradients, numeric) < 1e-6)
    }

    @Test("∇ log π(τ) is the sum over the trajectory's steps; log-probabilities agree")
    func trajectoryGradient() {
        var policy = Self.policy(seed: 5)
        var rng = Xoshiro256(seed: 6)
        let steps = 5
        let features = NeuralTestSupport.randomArray(steps * 3, &rng)
        let actions = (0..<steps).map { _ in rng.index(below: 4) }
        let ws = PolicyWorkspace(for: policy)
        policy.network.zeroGradients()
        let logPi = features.withUnsafeBufferPointer { f in
            actions.withUnsafeBufferPointer { a in
                policy.accumulateTrajectoryLogProbabilityGradient(features: f, actions: a, weight: -0.5, workspace: ws)
            }
        }
        let trajectoryGradient = policy.network.gradients
        policy.network.zeroGradients()
        _ = policy.accumulateLogProbabilityGradient(features: features, actions: actions,
                                                    weights: [Double](repeating: -0.5, count: steps), workspace: ws)
        #expect(NeuralTestSupport.maxError(trajectoryGradient, policy.network.gradients) < 1e-14)
        var logs = [Double](repeating: 0, count: steps)
        features.withUnsafeBufferPointer { f in
            actions.withUnsafeBufferPointer { a in
                logs.withUnsafeMutableBufferPointer { policy.logProbabilities(features: f, actions: a, workspace: ws, into: $0) }
            }
        }
        #expect(abs(-0.5 * logs.reduce(0, +) - logPi) < 1e-12)
    }

    @Test("entropy and its gradient match finite differences")
    func entropyGradient() {
        var policy = Self.policy(seed: 7)
        var rng = Xoshiro256(seed: 8)
        let features = NeuralTestSupport.randomArray(4 * 3, &rng)
        let weights = [1.0, 0.5, -2.0, 0.25]
        let ws = PolicyWorkspace(for: policy)
        policy.network.zeroGradients()
        let h = features.withUnsafeBufferPointer { f in
            weights.withUnsafeBufferPointer { policy.accumulateEntropyGradient(features: f, weights: $0, workspace: ws) }
        }
        func objective(_ theta: [Double]) -> Double {
            var p = policy; p.network.parameters = theta
            var total = 0.0
            for i in 0..<4 {
                let probs = p.probabilities(features: Array(features[(3 * i)..<(3 * i + 3)]))
                total -= weights[i] * probs.reduce(0) { $0 + $1 * log($1) }
            }
            return total
        }
        #expect(abs(h - objective(policy.network.parameters)) < 1e-12)
        let numeric = NeuralTestSupport.numericalGradient(policy.network.parameters, objective)
        #expect(NeuralTestSupport.maxError(policy.network.gradients, numeric) < 1e-6)
    }

    @Test("sampling is deterministic for a seed and follows the probabilities")
    func sampling() {
        let policy = Self.policy(seed: 9)
        let features = [0.5, -0.2, 1.0]
        let probs = policy.probabilities(features: features)
        let ws = PolicyWorkspace(for: policy)
        func draw(_ seed: UInt64, _ n: Int) -> [Int] {
            var rng = Xoshiro256(seed: seed)
            return features.withUnsafeBufferPointer { f in (0..<n).map { _ in policy.sampleAction(features: f, workspace: ws, using: &rng) } }
        }
        #expect(draw(1, 50) == draw(1, 50))
        let n = 20000
        var counts = [Int](repeating: 0, count: 4)
        for a in draw(2, n) { counts[a] += 1 }
        for a in 0..<4 {
            let p = probs[a]
            let se = (p * (1 - p) / Double(n)).squareRoot()
            #expect(abs(Double(counts[a]) / Double(n) - p) < 5 * se, "action \(a): \(counts[a]) of \(n), p = \(p)")
        }
    }

    @Test("probabilities with explicit parameters use them, not the network's")
    func explicitParameters() {
        let policy = Self.policy(seed: 10)
        let zeros = [Double](repeating: 0, count: policy.parameterCount)
        let ws = PolicyWorkspace(for: policy)
        let probs = [0.1, 0.2, 0.3].withUnsafeBufferPointer { f in
            zeros.withUnsafeBufferPointer { Array(policy.probabilities(features: f, batch: 1, workspace: ws, parameters: $0)) }
        }
        #expect(probs.allSatisfy { abs($0 - 0.25) < 1e-15 })
    }
}
