import Foundation
import Testing
import RLHF
import RLHFTestSupport

@Suite("Neural: checkpoints and determinism")
struct NeuralCheckpointTests {
    static func temporaryPath(_ name: String) -> String {
        NSTemporaryDirectory() + "rlhf-neural-\(name)-\(getpid()).ckpt"
    }

    @Test("parameters and Adam state round-trip exactly")
    func roundTrip() throws {
        var rng = Xoshiro256(seed: 21)
        var net = MLP(inputSize: 4, hidden: [8, 8], outputSize: 3, activation: .leakyReLU(slope: 0.01), using: &rng)
        var adam = Adam(parameterCount: net.parameterCount, learningRate: 3e-4, maxGradientNorm: 5)
        for i in net.gradients.indices { net.gradients[i] = rng.normal() }
        adam.step(&net)
        adam.step(&net)
        let path = Self.temporaryPath("roundtrip")
        defer { unlink(path) }
        try net.save(to: path, optimizer: adam, metadata: ["algorithm": "unit-test", "note": "two\nlines"])

        var fresh = MLP(inputSize: 4, hidden: [8, 8], outputSize: 3, activation: .leakyReLU(slope: 0.01))
        try fresh.load(from: path)
        #expect(fresh.parameters == net.parameters)
        let checkpoint = try NeuralCheckpoint(contentsOf: path)
        var adam2 = Adam(parameterCount: net.parameterCount, learningRate: 3e-4)
        try checkpoint.restore(into: &adam2)
        #expect(adam2.state == adam.state && adam2.stepCount == 2)
        #expect(checkpoint.optimizerHyperparameters["learningRate"] == 3e-4)
        #expect(checkpoint.optimizerHyperparameters["maxGradientNorm"] == 5)
        #expect(checkpoint.metadata["algorithm"] == "unit-test" && checkpoint.metadata["note"] == "two lines")
        #expect(checkpoint.architecture == "mlp 4-8-8-3 leaky-relu(0.01) identity")
        // Bytes round-trip too.
        #expect(try NeuralCheckpoint(bytes: checkpoint.encoded(), source: path) == checkpoint)
    }

    @Test("loading into a different architecture or optimizer throws a clear error")
    func mismatch() throws {
        var rng = Xoshiro256(seed: 22)
        let net = MLP(inputSize: 4, hidden: [8], outputSize: 2, activation: .relu, using: &rng)
        let path = Self.temporaryPath("mismatch")
        defer { unlink(path) }
        try net.save(to: path, optimizer: SGD(parameterCount: net.parameterCount, learningRate: 0.1, momentum: 0.9))
        var wider = MLP(inputSize: 4, hidden: [9], outputSize: 2, activation: .relu)
        do {
            try wider.load(from: path)
            Issue.record("loading into a mismatched architecture did not throw")
        } catch let error as RLHFError {
            let message = error.description
            #expect(message.contains("architecture mismatch") && message.contains("mlp 4-8-2 relu identity")
                    && message.contains("mlp 4-9-2 relu identity") && message.contains(path), "\(message)")
        }
        var otherActivation = MLP(inputSize: 4, hidden: [8], outputSize: 2, activation: .tanh)
        #expect(throws: RLHFError.self) { try otherActivation.load(from: path) }
        var adam = Adam(parameterCount: net.parameterCount)
        #expect(throws: RLHFError.self) { try NeuralCheckpoint(contentsOf: path).restore(into: &adam) }
        var sgd = SGD(parameterCount: net.parameterCount, learningRate: 0.1, momentum: 0.9)
        try NeuralCheckpoint(contentsOf: path).restore(into: &sgd)
        #expect(sgd.state.count == net.parameterCount)
    }

    @Test("corrupt, truncated and missing files are rejected")
    func corruptFiles() throws {
        var rng = Xoshiro256(seed: 23)
        let net = MLP(inputSize: 2, hidden: [3], outputSize: 1, using: &rng)
        let bytes = NeuralCheckpoint(network: net).encoded()
        #expect(throws: RLHFError.self) { try NeuralCheckpoint(bytes: Array(bytes.dropLast(3))) }
        #expect(throws: RLHFError.self) { try NeuralCheckpoint(bytes: Array("NOTACKPT".utf8) + bytes.dropFirst(8)) }
        let future = String(decoding: bytes, as: UTF8.self).replacingOccurrences(of: "format-version: 1", with: "format-version: 9")
        do {
            _ = try NeuralCheckpoint(bytes: Array(future.utf8))
            Issue.record("a future format version was accepted")
        } catch let error as RLHFError {
            #expect(error.description.contains("version 9"))
        }
        #expect(throws: RLHFError.self) { try NeuralCheckpoint(contentsOf: "/nonexistent/dir/x.ckpt") }
    }

    @Test("initialization is deterministic for a seed and follows the schemes")
    func determinism() {
        var a = Xoshiro256(seed: 5), b = Xoshiro256(seed: 5), c = Xoshiro256(seed: 6)
        let n1 = MLP(inputSize: 10, hidden: [32, 32], outputSize: 4, activation: .relu, using: &a)
        let n2 = MLP(inputSize: 10, hidden: [32, 32], outputSize: 4, activation: .relu, using: &b)
        let n3 = MLP(inputSize: 10, hidden: [32, 32], outputSize: 4, activation: .relu, using: &c)
        #expect(n1.parameters == n2.parameters && n1.parameters != n3.parameters)
        // Biases zero; He std √(2/fan_in) on the first layer (320 weights: within 20%).
        let l0 = n1.layers[0]
        let w = n1.parameters[l0.weightOffset..<l0.biasOffset]
        let std = (w.reduce(0) { $0 + $1 * $1 } / Double(w.count)).squareRoot()
        #expect(abs(std / (2.0 / 10).squareRoot() - 1) < 0.2)
        #expect(n1.layers.allSatisfy { l in (0..<l.outputSize).allSatisfy { n1.parameters[l.biasOffset + $0] == 0 } })
        // Xavier uniform bound √(6/(fan_in+fan_out)) for tanh; zeroed last layer.
        var r = Xoshiro256(seed: 7)
        let t = MLP(inputSize: 10, hidden: [32], outputSize: 4, activation: .tanh, zeroLastLayer: true, using: &r)
        let bound = (6.0 / 42).squareRoot()
        #expect(t.parameters[t.layers[0].weightOffset..<t.layers[0].biasOffset].allSatisfy { abs($0) <= bound })
        #expect(t.parameters[t.layers[1].weightOffset...].allSatisfy { $0 == 0 })
        // Forward passes are deterministic and independent of the workspace capacity.
        let x = NeuralTestSupport.randomArray(30, &r)
        let big = MLPWorkspace(for: n1, capacity: 64)
        let y1 = n1.forward(x)
        let y2 = x.withUnsafeBufferPointer { Array(n1.forward($0, batch: 3, workspace: big)) }
        #expect(y1 == y2)
    }

    @Test("layout: layers are consecutive views into one flat buffer")
    func layout() {
        let net = MLP(inputSize: 3, hidden: [4], outputSize: 2)
        #expect(net.parameterCount == (3 * 4 + 4) + (4 * 2 + 2))
        #expect(net.layers[0].weightOffset == 0 && net.layers[0].biasOffset == 12)
        #expect(net.layers[1].weightOffset == 16 && net.layers[1].biasOffset == 24)
        #expect(net.gradients.count == net.parameterCount)
        #expect(Activation(name: "leaky-relu(0.2)") == .leakyReLU(slope: 0.2) && Activation(name: "tanh") == .tanh)
        #expect(Activation(name: "swish") == nil)
    }

    @Test("the benchmark runs and reports a positive time")
    func benchmark() {
        let micros = NeuralBenchmark.forwardBackwardMicros(widths: [8, 8, 8], batch: 16, iterations: 10)
        #expect(micros > 0 && micros.isFinite)
    }
}
