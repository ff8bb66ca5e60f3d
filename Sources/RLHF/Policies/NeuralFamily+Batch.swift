import CKernels
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

extension NeuralFamily {
    /// The inverse-CDF draw from softmax(`logits`) with the uniform `u`: the first action a with
    /// u·Σ_b e^{z_b − max z} < Σ_{b ≤ a} e^{z_b − max z} (the last one if none), `scratch` holding
    /// m values. Shared by the single-row and the batched actor so that equal logits give equal
    /// actions. The largest logits' terms are exp(0) = 1 and skip the call to `exp`; two actions
    /// (CartPole) take one `exp` and no scratch, with the same arithmetic.
    @inlinable @inline(__always)
    static func sampleSoftmax(_ logits: UnsafePointer<Double>, count m: Int, uniform u: Double,
                              scratch p: UnsafeMutablePointer<Double>) -> Int {
        var mx = -Double.infinity
        for a in 0..<m { mx = max(mx, logits[a]) }
        if m == 2 {
            let z0 = logits[0], z1 = logits[1]
            let p0 = z0 == mx ? 1 : exp(z0 - mx)
            let p1 = z1 == mx ? 1 : exp(z1 - mx)
            let total = 0 + p0 + p1
            return u * total < 0 + p0 ? 0 : 1
        }
        var total = 0.0
        for a in 0..<m {
            let z = logits[a]
            p[a] = z == mx ? 1 : exp(z - mx)
            total += p[a]
        }
        let target = u * total
        var acc = 0.0
        for a in 0..<(m - 1) {
            acc += p[a]
            if target < acc { return a }
        }
        return m - 1
    }
}

extension NeuralFamily: BatchPolicyFamily {
    /// The batched acting form of θ: the states' features gathered into one matrix, one matrix
    /// product per layer (``GEMM``, tanh by the vectorized `ck_tanh`), then per row one uniform
    /// from the row's generator against its softmax (the first largest logit when greedy: the
    /// uniform is still drawn, as the single-row actor does).
    ///
    /// Its logits are those of the single-row actor up to rounding: the matrix kernel sums in
    /// another order (with fused multiply-adds) and `ck_tanh` is within ≈ 1.5 ulp of libm's
    /// `tanh`, so the two actors take the same action except where u falls within a few ulp of a
    /// cumulative probability.
    public struct BatchActor: BatchEpisodicActor {
        public typealias State = E.State
        public typealias Action = Int
        let env: E
        let network: MLP
        var theta: [Double]
        let workspace: MLPWorkspace
        var probabilities: [Double]
        let greedy: Bool

        public mutating func actions(for states: UnsafeBufferPointer<E.State>, using rngs: UnsafeMutableBufferPointer<Xoshiro256>,
                                     into actions: inout [Int]) {
            let n = states.count
            guard n > 0 else { return }
            if actions.count < n { actions = [Int](repeating: 0, count: Swift.max(n, workspace.capacity)) }
            let env = self.env, network = self.network, workspace = self.workspace, greedy = self.greedy
            workspace.reserve(n)
            let f = network.inputSize, m = network.outputSize
            let x = workspace.pointer(0)
            for r in 0..<n { env.features(of: states[r], into: UnsafeMutableBufferPointer(start: x + r * f, count: f)) }
            let logits = theta.withUnsafeBufferPointer { network.forwardForActing(batch: n, parameters: $0, workspace: workspace) }
            probabilities.withUnsafeMutableBufferPointer { p in
                actions.withUnsafeMutableBufferPointer { out in
                    for r in 0..<n {
                        let u = rngs[r].uniform()
                        let row = logits + r * m
                        out[r] = greedy ? GreedyPolicy.firstMaximum(UnsafeBufferPointer(start: row, count: m))
                            : NeuralFamily.sampleSoftmax(row, count: m, uniform: u, scratch: p.baseAddress!)
                    }
                }
            }
        }
    }

    public func makeBatchActor(_ theta: UnsafeBufferPointer<Double>, capacity: Int) -> BatchActor {
        precondition(theta.count == parameterCount, "NeuralFamily: \(theta.count) parameters, expected \(parameterCount)")
        return BatchActor(env: env, network: policy.network, theta: Array(theta),
                          workspace: MLPWorkspace(for: policy.network, capacity: Swift.max(capacity, 1)),
                          probabilities: [Double](repeating: 0, count: policy.actionCount), greedy: greedy)
    }

    public func update(_ actor: inout BatchActor, to theta: UnsafeBufferPointer<Double>) {
        precondition(theta.count == parameterCount, "NeuralFamily: \(theta.count) parameters, expected \(parameterCount)")
        for i in 0..<theta.count { actor.theta[i] = theta[i] }
    }
}

extension MLP {
    /// The forward pass of acting: `batch` rows already written to the workspace's input
    /// buffer (layer 0), one matrix product per layer, tanh through the vectorized `ck_tanh`
    /// (within ≈ 1.5 ulp of libm's) instead of ``Activation/apply(_:count:)``'s scalar loop.
    /// Returns the output rows (batch × outputSize) in the workspace.
    func forwardForActing(batch: Int, parameters: UnsafeBufferPointer<Double>, workspace: MLPWorkspace) -> UnsafePointer<Double> {
        precondition(parameters.count == parameterCount, "MLP.forward: \(parameters.count) parameters, expected \(parameterCount)")
        precondition(batch <= workspace.capacity && workspace.widths.count == widths.count, "MLP.forward: workspace too small or for other widths")
        workspace.batch = batch
        let theta = parameters.baseAddress!
        for l in 0..<layers.count {
            let layer = layers[l]
            let input = workspace.pointer(l), output = workspace.pointer(l + 1)
            if layer.activation == .tanh {
                GEMM.multiply(transposeA: false, transposeB: false, m: batch, n: layer.outputSize, k: layer.inputSize,
                              a: input, lda: layer.inputSize, b: theta + layer.weightOffset, ldb: layer.outputSize,
                              c: output, ldc: layer.outputSize, accumulate: false, bias: theta + layer.biasOffset)
                VectorTanh.apply(output, count: batch * layer.outputSize, into: output)
            } else {
                layer.forward(parameters: theta, input: input, batch: batch, output: output)
            }
        }
        return UnsafePointer(workspace.pointer(layers.count))
    }
}
