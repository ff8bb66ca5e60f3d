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
    /// product per layer (``GEMM``, on a copy of θ whose layer widths are padded with zeros to
    /// whole 8-column tiles; tanh by ``VectorTanh``), then per row one uniform from the row's
    /// generator against its softmax (the first largest logit when greedy: the uniform is still
    /// drawn, as the single-row actor does).
    ///
    /// Its logits are those of the single-row actor up to rounding: the matrix kernel sums in
    /// another order (with fused multiply-adds) and ``VectorTanh`` is within ≈ 1.5 ulp of libm's
    /// `tanh`, so the two actors take the same action except where u falls within a few ulp of a
    /// cumulative probability. Copies share their buffers (copy-on-write for θ): one actor per
    /// thread.
    public struct BatchActor: BatchEpisodicActor {
        public typealias State = E.State
        public typealias Action = Int
        let env: E
        var network: ActingNetwork
        var probabilities: [Double]
        let greedy: Bool

        public mutating func actions(for states: UnsafeBufferPointer<E.State>, using rngs: UnsafeMutableBufferPointer<Xoshiro256>,
                                     into actions: inout [Int]) {
            let n = states.count
            guard n > 0 else { return }
            let network = self.network, env = self.env, greedy = self.greedy
            network.reserve(n)
            if actions.count < n { actions = [Int](repeating: 0, count: network.capacity) }
            let f = network.inputSize, m = network.outputSize
            let x = network.input
            for r in 0..<n { env.features(of: states[r], into: UnsafeMutableBufferPointer(start: x + r * f, count: f)) }
            let (logits, stride) = network.forward(batch: n)
            probabilities.withUnsafeMutableBufferPointer { p in
                actions.withUnsafeMutableBufferPointer { out in
                    for r in 0..<n {
                        let u = rngs[r].uniform()
                        let row = logits + r * stride
                        out[r] = greedy ? GreedyPolicy.firstMaximum(UnsafeBufferPointer(start: row, count: m))
                            : NeuralFamily.sampleSoftmax(row, count: m, uniform: u, scratch: p.baseAddress!)
                    }
                }
            }
        }
    }

    public func makeBatchActor(_ theta: UnsafeBufferPointer<Double>, capacity: Int) -> BatchActor {
        precondition(theta.count == parameterCount, "NeuralFamily: \(theta.count) parameters, expected \(parameterCount)")
        return BatchActor(env: env, network: ActingNetwork(network: policy.network, theta: theta, capacity: capacity),
                          probabilities: [Double](repeating: 0, count: policy.actionCount), greedy: greedy)
    }

    public func update(_ actor: inout BatchActor, to theta: UnsafeBufferPointer<Double>) {
        precondition(theta.count == parameterCount, "NeuralFamily: \(theta.count) parameters, expected \(parameterCount)")
        if !isKnownUniquelyReferenced(&actor.network) { actor.network = actor.network.copy() }
        actor.network.load(theta)
    }
}

/// An ``MLP`` laid out for batched acting: its own copy of θ with every layer's outputs padded
/// with zeros to a multiple of 8 (so every matrix product runs on whole, 64-byte aligned 8-column
/// tiles read in place, with no packing and no edge tiles; a 4-16-2 network's last layer is
/// computed 8 wide), and one buffer per layer for up to ``capacity`` rows. The padded columns
/// stay 0 (every ``Activation`` has f(0) = 0) and meet zero weights in the next layer, so the
/// real outputs are the unpadded product's.
final class ActingNetwork {
    struct Layer {
        /// Inputs as stored (the previous layer's padded width; the feature count for layer 0).
        let inputs: Int
        /// Outputs, padded to a multiple of 8.
        let outputs: Int
        /// Offsets of W (inputs × outputs) and b (outputs) in ``parameters``.
        let weights: Int, bias: Int
        let activation: Activation
    }

    let network: MLP
    let layers: [Layer]
    let inputSize: Int, outputSize: Int
    private(set) var capacity: Int
    let parameters: UnsafeMutablePointer<Double>
    let parameterStorage: Int
    /// Input rows (capacity × inputSize), then each layer's outputs (capacity × padded width).
    private(set) var buffers: UnsafeMutablePointer<Double>
    private var offsets: [Int] = []

    private static func padded(_ n: Int) -> Int { (n + 7) & ~7 }

    init(network: MLP, theta: UnsafeBufferPointer<Double>, capacity: Int) {
        self.network = network
        inputSize = network.inputSize
        outputSize = network.outputSize
        var layers: [Layer] = []
        var offset = 0, inputs = network.inputSize
        for layer in network.layers {
            let outputs = ActingNetwork.padded(layer.outputSize)
            let w = offset, b = w + ActingNetwork.padded(inputs * outputs)
            layers.append(Layer(inputs: inputs, outputs: outputs, weights: w, bias: b, activation: layer.activation))
            offset = b + outputs
            inputs = outputs
        }
        self.layers = layers
        parameterStorage = max(offset, 8)
        parameters = UnsafeMutableRawPointer.allocate(byteCount: parameterStorage * 8, alignment: 64)
            .bindMemory(to: Double.self, capacity: parameterStorage)
        self.capacity = 0
        buffers = UnsafeMutableRawPointer.allocate(byteCount: 64, alignment: 64).bindMemory(to: Double.self, capacity: 8)
        reserve(max(capacity, 1))
        load(theta)
    }

    deinit {
        parameters.deallocate()
        buffers.deallocate()
    }

    /// A copy with the same parameters and its own buffers.
    func copy() -> ActingNetwork {
        let other = ActingNetwork(network: network, theta: UnsafeBufferPointer(start: nil, count: 0), capacity: capacity)
        other.parameters.update(from: parameters, count: parameterStorage)
        return other
    }

    /// Writes θ (the network's flat layout) into the padded layout; an empty θ leaves zeros.
    func load(_ theta: UnsafeBufferPointer<Double>) {
        parameters.initialize(repeating: 0, count: parameterStorage)
        guard !theta.isEmpty else { return }
        precondition(theta.count == network.parameterCount, "ActingNetwork: \(theta.count) parameters, expected \(network.parameterCount)")
        for (source, layer) in zip(network.layers, layers) {
            let n = source.outputSize
            for i in 0..<source.inputSize {
                for j in 0..<n { parameters[layer.weights + i * layer.outputs + j] = theta[source.weightOffset + i * n + j] }
            }
            for j in 0..<n { parameters[layer.bias + j] = theta[source.biasOffset + j] }
        }
    }

    /// Grows the buffers to hold `rows` rows (contents are lost).
    func reserve(_ rows: Int) {
        guard rows > capacity else { return }
        capacity = max(rows, 2 * capacity)
        var offsets = [0]
        var total = ActingNetwork.padded(capacity * inputSize)
        for layer in layers {
            offsets.append(total)
            total += capacity * layer.outputs
        }
        self.offsets = offsets
        buffers.deallocate()
        buffers = UnsafeMutableRawPointer.allocate(byteCount: total * 8, alignment: 64).bindMemory(to: Double.self, capacity: total)
        buffers.initialize(repeating: 0, count: total)
    }

    /// Where the caller writes the input rows (``capacity`` × ``inputSize``).
    var input: UnsafeMutablePointer<Double> { buffers }

    /// Runs the network on the first `batch` input rows; returns the output rows and their
    /// stride (the padded output width; the first ``outputSize`` values of each row are real).
    func forward(batch n: Int) -> (output: UnsafePointer<Double>, stride: Int) {
        precondition(n <= capacity, "ActingNetwork: \(n) rows, room for \(capacity)")
        var source = UnsafePointer(buffers), stride = inputSize
        for (l, layer) in layers.enumerated() {
            let out = buffers + offsets[l + 1]
            GEMM.multiply(transposeA: false, transposeB: false, m: n, n: layer.outputs, k: layer.inputs,
                          a: source, lda: stride, b: parameters + layer.weights, ldb: layer.outputs,
                          c: out, ldc: layer.outputs, accumulate: false, bias: parameters + layer.bias)
            switch layer.activation {
            case .identity: break
            case .tanh: VectorTanh.apply(out, count: n * layer.outputs, into: out)
            default: layer.activation.apply(out, count: n * layer.outputs)
            }
            source = UnsafePointer(out)
            stride = layer.outputs
        }
        return (source, stride)
    }
}
