import Foundation
import Testing
import RLHF
import RLHFTestSupport

@Suite("Neural: optimizers and clipping")
struct NeuralOptimizerTests {
    @Test("Adam matches hand-computed steps, bias correction included")
    func adamByHand() {
        var adam = Adam(parameterCount: 2, learningRate: 0.1, beta1: 0.9, beta2: 0.999, epsilon: 1e-8)
        var theta = [1.0, -2.0]
        var g = [0.5, -4.0]
        adam.step(parameters: &theta, gradients: &g)
        // Step 1: m = 0.1 g, v = 0.001 g², m̂ = g, v̂ = g², update = lr·g/(|g| + ε) = ±lr (almost).
        #expect(abs(theta[0] - (1 - 0.1 * 0.5 / (0.5 + 1e-8))) < 1e-15)
        #expect(abs(theta[1] - (-2 + 0.1 * 4 / (4 + 1e-8))) < 1e-15)
        g = [1.0, 2.0]
        adam.step(parameters: &theta, gradients: &g)
        // Step 2 by hand for coordinate 0: m = 0.9·0.05 + 0.1·1 = 0.145, v = 0.999·0.00025 + 0.001·1 = 0.00124975,
        // m̂ = 0.145/(1−0.81) = 0.763157…, v̂ = 0.00124975/(1−0.998001) = 0.625187…
        let m0 = 0.9 * 0.05 + 0.1 * 1.0, v0 = 0.999 * 0.00025 + 0.001 * 1.0
        let mHat = m0 / (1 - 0.81), vHat = v0 / (1 - 0.999 * 0.999)
        let expected0 = (1 - 0.1 * 0.5 / (0.5 + 1e-8)) - 0.1 * mHat / (vHat.squareRoot() + 1e-8)
        #expect(abs(theta[0] - expected0) < 1e-14)
        #expect(abs(mHat - 0.7631578947368421) < 1e-12 && abs(vHat - 0.6251875937968984) < 1e-12)
        #expect(adam.stepCount == 2)
        #expect(adam.state.count == 4 && abs(adam.state[0] - m0) < 1e-15 && abs(adam.state[2] - v0) < 1e-15)
    }

    @Test("Adam minimizes a quadratic and maximize flips the direction")
    func adamConverges() {
        var adam = Adam(parameterCount: 3, learningRate: 0.05)
        var theta = [3.0, -1.0, 0.5]
        for _ in 0..<2000 {
            var g = theta.map { 2 * $0 }
            adam.step(parameters: &theta, gradients: &g)
        }
        #expect(theta.allSatisfy { abs($0) < 1e-3 })
        var up = Adam(parameterCount: 1, learningRate: 0.1, maximize: true)
        var x = [0.0], gx = [1.0]
        up.step(parameters: &x, gradients: &gx)
        #expect(x[0] > 0.099)
    }

    @Test("SGD with momentum follows v ← μv + g, θ ← θ − lr·v")
    func sgdMomentum() {
        var sgd = SGD(parameterCount: 1, learningRate: 0.1, momentum: 0.9)
        var theta = [1.0]
        var g = [2.0]
        sgd.step(parameters: &theta, gradients: &g)       // v = 2, θ = 0.8
        #expect(abs(theta[0] - 0.8) < 1e-15)
        g = [1.0]
        sgd.step(parameters: &theta, gradients: &g)       // v = 2.8, θ = 0.52
        #expect(abs(theta[0] - 0.52) < 1e-15 && abs(sgd.state[0] - 2.8) < 1e-15)
        var plain = SGD(parameterCount: 2, learningRate: 0.5)
        var p = [1.0, 1.0], q = [1.0, -2.0]
        plain.step(parameters: &p, gradients: &q)
        #expect(p == [0.5, 2.0])
    }

    @Test("global norm clipping rescales only when the norm exceeds the limit")
    func clipping() {
        var g = [3.0, 4.0]
        #expect(GradientClipping.clipGlobalNorm(&g, maxNorm: 1) == 5)
        #expect(abs(g[0] - 0.6) < 1e-15 && abs(g[1] - 0.8) < 1e-15)
        var small = [0.3, 0.4]
        GradientClipping.clipGlobalNorm(&small, maxNorm: 1)
        #expect(small == [0.3, 0.4])
        // No overflow for huge components.
        var huge = [1e200, 1e200]
        #expect(abs(GradientClipping.clipGlobalNorm(&huge, maxNorm: 2) / (1e200 * 2.0.squareRoot()) - 1) < 1e-12)
        #expect(abs(huge[0] - 2.0.squareRoot()) < 1e-12)
        // Optimizers clip before stepping.
        var sgd = SGD(parameterCount: 2, learningRate: 1, maxGradientNorm: 1)
        var theta = [0.0, 0.0], grad = [30.0, 40.0]
        sgd.step(parameters: &theta, gradients: &grad)
        #expect(abs(theta[0] + 0.6) < 1e-15 && abs(theta[1] + 0.8) < 1e-15)
    }

    @Test("Adam trains a small MLP regression (loss falls by 10×)")
    func trainsRegression() {
        var rng = Xoshiro256(seed: 8)
        var net = MLP(inputSize: 2, hidden: [16, 16], outputSize: 1, activation: .tanh, using: &rng)
        let x = NeuralTestSupport.randomArray(64 * 2, &rng)
        let y = (0..<64).map { sin(x[2 * $0]) + 0.5 * x[2 * $0 + 1] }
        var adam = Adam(parameterCount: net.parameterCount, learningRate: 0.01)
        let ws = MLPWorkspace(for: net, capacity: 64)
        var grad = [Double](repeating: 0, count: 64)
        var first = 0.0, last = 0.0
        for it in 0..<300 {
            let out = x.withUnsafeBufferPointer { net.forward($0, batch: 64, workspace: ws) }
            let loss = y.withUnsafeBufferPointer { t in grad.withUnsafeMutableBufferPointer { Loss.meanSquaredError(prediction: out, target: t, gradient: $0) } }
            if it == 0 { first = loss }
            last = loss
            net.zeroGradients()
            grad.withUnsafeBufferPointer { net.backward(outputGradient: $0, workspace: ws) }
            adam.step(&net)
        }
        #expect(last < first / 10, "loss \(first) → \(last)")
    }
}
