import Foundation
import Testing
import RLHF
import RLHFTestSupport

@Suite("Neural: gradients against finite differences")
struct NeuralGradientTests {
    static let activations: [Activation] = [.identity, .relu, .tanh, .leakyReLU(slope: 0.1)]

    /// L(θ, x) = Σ c ⊙ MLP_θ(x) for a fixed random c, so dL/d(output) = c.
    static func check(widths: [Int], activation: Activation, batch: Int, seed: UInt64) {
        var rng = Xoshiro256(seed: seed)
        var net = MLP(inputSize: widths[0], hidden: Array(widths.dropFirst().dropLast()), outputSize: widths.last!,
                      activation: activation, using: &rng)
        // Non-zero biases so that every parameter matters.
        for l in net.layers { for j in 0..<l.outputSize { net.parameters[l.biasOffset + j] = 0.3 * rng.normal() } }
        let x = NeuralTestSupport.randomArray(batch * net.inputSize, &rng)
        let c = NeuralTestSupport.randomArray(batch * net.outputSize, &rng)
        let ws = MLPWorkspace(for: net, capacity: 2)   // smaller than the batch: must grow
        var inputGradient = [Double](repeating: 0, count: x.count)
        _ = x.withUnsafeBufferPointer { net.forward($0, batch: batch, workspace: ws) }
        net.zeroGradients()
        c.withUnsafeBufferPointer { cp in
            inputGradient.withUnsafeMutableBufferPointer { net.backward(outputGradient: cp, workspace: ws, inputGradient: $0) }
        }
        func loss(_ theta: [Double], _ input: [Double]) -> Double {
            var n = net
            n.parameters = theta
            let y = n.forward(input)
            return zip(y, c).reduce(0) { $0 + $1.0 * $1.1 }
        }
        let numericTheta = NeuralTestSupport.numericalGradient(net.parameters) { loss($0, x) }
        let numericX = NeuralTestSupport.numericalGradient(x) { loss(net.parameters, $0) }
        let e1 = NeuralTestSupport.maxError(net.gradients, numericTheta)
        let e2 = NeuralTestSupport.maxError(inputGradient, numericX)
        #expect(e1 < 1e-6, "widths \(widths) \(activation.name): parameter gradient error \(e1)")
        #expect(e2 < 1e-6, "widths \(widths) \(activation.name): input gradient error \(e2)")
    }

    @Test("a single dense layer, every activation", arguments: activations)
    func denseLayer(activation: Activation) {
        Self.check(widths: [5, 4], activation: activation, batch: 3, seed: 1)
        // A one-layer MLP uses the output activation; check the hidden-activation path too.
        var rng = Xoshiro256(seed: 2)
        var net = MLP(inputSize: 3, hidden: [], outputSize: 4, activation: .relu, outputActivation: activation, using: &rng)
        let x = NeuralTestSupport.randomArray(6, &rng)
        let c = NeuralTestSupport.randomArray(8, &rng)
        let ws = MLPWorkspace(for: net)
        _ = x.withUnsafeBufferPointer { net.forward($0, batch: 2, workspace: ws) }
        c.withUnsafeBufferPointer { net.backward(outputGradient: $0, workspace: ws) }
        let numeric = NeuralTestSupport.numericalGradient(net.parameters) { theta in
            var n = net; n.parameters = theta
            return zip(n.forward(x), c).reduce(0) { $0 + $1.0 * $1.1 }
        }
        #expect(NeuralTestSupport.maxError(net.gradients, numeric) < 1e-6)
    }

    @Test("whole MLPs of random shapes, every activation", arguments: activations)
    func randomMLPs(activation: Activation) {
        var rng = Xoshiro256(seed: 99)
        for trial in 0..<4 {
            let depth = 1 + rng.index(below: 3)
            let widths = (0...depth).map { _ in 1 + rng.index(below: 9) }
            Self.check(widths: widths, activation: activation, batch: 1 + rng.index(below: 8), seed: UInt64(trial + 10))
        }
        // Wide enough to cross the kernels' 6×8 tiles and their edges.
        Self.check(widths: [13, 17, 9], activation: activation, batch: 14, seed: 5)
    }

    @Test("backward accumulates: two passes give twice the gradient")
    func accumulation() {
        var rng = Xoshiro256(seed: 3)
        var net = MLP(inputSize: 4, hidden: [6], outputSize: 2, activation: .tanh, using: &rng)
        let x = NeuralTestSupport.randomArray(12, &rng), c = NeuralTestSupport.randomArray(6, &rng)
        let ws = MLPWorkspace(for: net)
        _ = x.withUnsafeBufferPointer { net.forward($0, batch: 3, workspace: ws) }
        c.withUnsafeBufferPointer { net.backward(outputGradient: $0, workspace: ws) }
        let once = net.gradients
        c.withUnsafeBufferPointer { net.backward(outputGradient: $0, workspace: ws) }
        #expect(NeuralTestSupport.maxError(net.gradients, once.map { 2 * $0 }) < 1e-14)
        net.zeroGradients()
        #expect(net.gradients.allSatisfy { $0 == 0 })
    }

    @Test("mean squared error: value and gradient")
    func mse() {
        var rng = Xoshiro256(seed: 4)
        let p = NeuralTestSupport.randomArray(10, &rng), t = NeuralTestSupport.randomArray(10, &rng)
        let (loss, g) = Loss.meanSquaredError(prediction: p, target: t)
        #expect(abs(loss - zip(p, t).reduce(0) { $0 + ($1.0 - $1.1) * ($1.0 - $1.1) } / 10) < 1e-14)
        let numeric = NeuralTestSupport.numericalGradient(p) { Loss.meanSquaredError(prediction: $0, target: t).loss }
        #expect(NeuralTestSupport.maxError(g, numeric) < 1e-7)
    }

    @Test("softmax cross-entropy with class indices and with probability targets")
    func crossEntropy() {
        var rng = Xoshiro256(seed: 5)
        let (batch, m) = (4, 5)
        let z = NeuralTestSupport.randomArray(batch * m, &rng, scale: 3)
        let classes = (0..<batch).map { _ in rng.index(below: m) }
        let (loss, g) = Loss.softmaxCrossEntropy(logits: z, classes: classes, classCount: m)
        var direct = 0.0
        for r in 0..<batch {
            let row = z[(r * m)..<((r + 1) * m)]
            direct -= z[r * m + classes[r]] - log(row.map { exp($0) }.reduce(0, +))
        }
        #expect(abs(loss - direct / Double(batch)) < 1e-12)
        let numeric = NeuralTestSupport.numericalGradient(z) { Loss.softmaxCrossEntropy(logits: $0, classes: classes, classCount: m).loss }
        #expect(NeuralTestSupport.maxError(g, numeric) < 1e-7)
        // One-hot probability targets give the same loss and gradient.
        var onehot = [Double](repeating: 0, count: batch * m)
        for r in 0..<batch { onehot[r * m + classes[r]] = 1 }
        let (loss2, g2) = Loss.softmaxCrossEntropy(logits: z, targetProbabilities: onehot, classCount: m)
        #expect(abs(loss2 - loss) < 1e-12 && NeuralTestSupport.maxError(g2, g) < 1e-12)
        // Soft targets.
        let soft = (0..<batch).flatMap { _ -> [Double] in
            let w = (0..<m).map { _ in rng.uniform() }; let s = w.reduce(0, +); return w.map { $0 / s }
        }
        let (_, g3) = Loss.softmaxCrossEntropy(logits: z, targetProbabilities: soft, classCount: m)
        let numeric3 = NeuralTestSupport.numericalGradient(z) { Loss.softmaxCrossEntropy(logits: $0, targetProbabilities: soft, classCount: m).loss }
        #expect(NeuralTestSupport.maxError(g3, numeric3) < 1e-7)
        // Huge logits stay finite.
        let (big, _) = Loss.softmaxCrossEntropy(logits: [1000, -1000], classes: [1], classCount: 2)
        #expect(abs(big - 2000) < 1e-9)
    }

    @Test("Bradley-Terry soft-label loss: value, gradient, numerical stability")
    func bradleyTerry() {
        var rng = Xoshiro256(seed: 6)
        let s0 = NeuralTestSupport.randomArray(6, &rng, scale: 2), s1 = NeuralTestSupport.randomArray(6, &rng, scale: 2)
        let y = (0..<6).map { _ in rng.uniform() }
        let (loss, g0, g1) = Loss.bradleyTerry(scores0: s0, scores1: s1, labels: y)
        var direct = 0.0
        for i in 0..<6 {
            let d = s1[i] - s0[i]
            direct -= y[i] * log(1 / (1 + exp(-d))) + (1 - y[i]) * log(1 / (1 + exp(d)))
        }
        #expect(abs(loss - direct / 6) < 1e-12)
        let n0 = NeuralTestSupport.numericalGradient(s0) { Loss.bradleyTerry(scores0: $0, scores1: s1, labels: y).loss }
        let n1 = NeuralTestSupport.numericalGradient(s1) { Loss.bradleyTerry(scores0: s0, scores1: $0, labels: y).loss }
        #expect(NeuralTestSupport.maxError(g0, n0) < 1e-7 && NeuralTestSupport.maxError(g1, n1) < 1e-7)
        // Δ = ±800: log σ would underflow naively; the loss must be finite and exact.
        let (extreme, e0, e1) = Loss.bradleyTerry(scores0: [0, 0], scores1: [800, -800], labels: [0, 1])
        #expect(abs(extreme - 800) < 1e-9)
        #expect(abs(e1[0] - 0.5) < 1e-12 && abs(e1[1] + 0.5) < 1e-12 && abs(e0[0] + 0.5) < 1e-12)
        #expect(abs(Loss.logSigmoid(-800) + 800) < 1e-9 && Loss.logSigmoid(800) == 0)
    }

    @Test("a whole training step: MLP + softmax cross-entropy gradient matches finite differences")
    func mlpWithLoss() {
        var rng = Xoshiro256(seed: 7)
        var net = MLP(inputSize: 3, hidden: [5, 4], outputSize: 3, activation: .leakyReLU(slope: 0.05), using: &rng)
        let x = NeuralTestSupport.randomArray(15, &rng)
        let classes = (0..<5).map { _ in rng.index(below: 3) }
        let ws = MLPWorkspace(for: net)
        let out = x.withUnsafeBufferPointer { Array(net.forward($0, batch: 5, workspace: ws)) }
        let (_, g) = Loss.softmaxCrossEntropy(logits: out, classes: classes, classCount: 3)
        g.withUnsafeBufferPointer { net.backward(outputGradient: $0, workspace: ws) }
        let numeric = NeuralTestSupport.numericalGradient(net.parameters) { theta in
            var n = net; n.parameters = theta
            return Loss.softmaxCrossEntropy(logits: n.forward(x), classes: classes, classCount: 3).loss
        }
        #expect(NeuralTestSupport.maxError(net.gradients, numeric) < 1e-6)
    }
}
