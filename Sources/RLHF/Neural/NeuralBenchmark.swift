#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Micro-benchmarks of the neural layer, for `rlhf bench`.
public enum NeuralBenchmark {
    /// Microseconds per training step of an MLP with the given `widths` (input, hidden…, output):
    /// forward pass on `batch` rows plus the full backward pass into the flat gradient buffer
    /// (all weight and bias gradients; no input gradient, no optimizer step), single-threaded.
    ///
    /// Random inputs and output gradients are fixed up front (seed 1). After `iterations / 10`
    /// warm-up steps the steps are timed in `rounds` rounds of `iterations / rounds` steps; the
    /// fastest round's mean is returned (the least disturbed by other processes). On a busy
    /// machine more, shorter rounds (up to one step each) find undisturbed stretches more often.
    public static func forwardBackwardMicros(widths: [Int], batch: Int = 256, iterations: Int = 200,
                                             rounds: Int = 5, activation: Activation = .relu) -> Double {
        precondition(widths.count >= 2 && batch > 0 && iterations > 0 && rounds > 0, "forwardBackwardMicros: bad arguments")
        var rng = Xoshiro256(seed: 1)
        var network = MLP(inputSize: widths[0], hidden: Array(widths.dropFirst().dropLast()),
                          outputSize: widths[widths.count - 1], activation: activation, using: &rng)
        let workspace = MLPWorkspace(for: network, capacity: batch)
        let input = (0..<(batch * widths[0])).map { _ in rng.normal() }
        let outputGradient = (0..<(batch * network.outputSize)).map { _ in rng.normal() / Double(batch) }
        func step() {
            input.withUnsafeBufferPointer { x in
                _ = network.forward(x, batch: batch, workspace: workspace)
            }
            outputGradient.withUnsafeBufferPointer { g in
                network.backward(outputGradient: g, workspace: workspace)
            }
        }
        for _ in 0..<max(iterations / 10, 1) { step() }
        let perRound = max(iterations / rounds, 1)
        var best = Double.infinity
        for _ in 0..<rounds {
            let start = monotonicSeconds()
            for _ in 0..<perRound { step() }
            best = min(best, (monotonicSeconds() - start) / Double(perRound))
        }
        network.zeroGradients()
        return best * 1e6
    }

    /// ``forwardBackwardMicros(widths:batch:iterations:rounds:activation:)`` for `layers` weight layers
    /// all of `width` (default: input, two hidden and output all `width`, i.e. 3 dense layers).
    public static func forwardBackwardMicros(width: Int, layers: Int = 3, batch: Int = 256, iterations: Int = 200,
                                             rounds: Int = 5) -> Double {
        forwardBackwardMicros(widths: [Int](repeating: width, count: layers + 1), batch: batch, iterations: iterations,
                              rounds: rounds)
    }

    /// The matrix kernel in use (see ``GEMM/kernelName``; `RLHF_KERNEL` selects another available one).
    public static var kernel: String { GEMM.kernelName }

    /// The matrix kernels this machine can run, best first (see ``GEMM/availableKernels``).
    public static var availableKernels: [String] { GEMM.availableKernels.map(\.description) }

    static func monotonicSeconds() -> Double {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return Double(ts.tv_sec) + Double(ts.tv_nsec) * 1e-9
    }
}
