/// A multilayer perceptron whose parameters live in ONE flat contiguous buffer.
///
/// Layer l maps widths[l] → widths[l+1] with the hidden ``activation`` (the last layer with
/// ``outputActivation``, identity by default). Each layer is a ``DenseLayer`` view (offset and
/// shape) into ``parameters``; ``gradients`` has the same layout, so zeroth-order perturbations,
/// optimizers and checkpoints are plain vector operations on the two buffers.
///
/// Forward and backward passes run on row-major batches in an ``MLPWorkspace`` (preallocated,
/// one per thread); see `MLP+Forward.swift` and `MLP+Backward.swift`.
public struct MLP: Sendable, Equatable {
    /// Layer widths: input size, hidden widths, output size.
    public let widths: [Int]
    /// Activation of the hidden layers.
    public let activation: Activation
    /// Activation of the output layer (identity for logits, values and scores).
    public let outputActivation: Activation
    /// The layers, in order, as views into ``parameters``.
    public let layers: [DenseLayer]
    /// The flat parameter vector θ (all weights and biases, layer by layer).
    public var parameters: [Double]
    /// The flat gradient buffer, same layout as ``parameters``; backward passes ADD to it.
    public var gradients: [Double]

    /// Creates an MLP with all parameters zero (call ``initialize(_:zeroLastLayer:using:)``).
    public init(inputSize: Int, hidden: [Int], outputSize: Int, activation: Activation = .relu,
                outputActivation: Activation = .identity) {
        precondition(inputSize > 0 && outputSize > 0 && hidden.allSatisfy { $0 > 0 }, "MLP widths must be positive")
        if case let .leakyReLU(slope) = activation { precondition(slope >= 0, "leaky ReLU slope must be ≥ 0") }
        if case let .leakyReLU(slope) = outputActivation { precondition(slope >= 0, "leaky ReLU slope must be ≥ 0") }
        let widths = [inputSize] + hidden + [outputSize]
        var layers: [DenseLayer] = []
        var offset = 0
        for l in 0..<(widths.count - 1) {
            let layer = DenseLayer(inputSize: widths[l], outputSize: widths[l + 1], weightOffset: offset,
                                   activation: l == widths.count - 2 ? outputActivation : activation)
            layers.append(layer)
            offset = layer.endOffset
        }
        self.widths = widths
        self.activation = activation
        self.outputActivation = outputActivation
        self.layers = layers
        self.parameters = [Double](repeating: 0, count: offset)
        self.gradients = [Double](repeating: 0, count: offset)
    }

    /// Creates an MLP and initializes it (He for ReLU-like, Xavier for tanh/identity; see
    /// ``WeightInitialization``).
    public init(inputSize: Int, hidden: [Int], outputSize: Int, activation: Activation = .relu,
                outputActivation: Activation = .identity, initialization: WeightInitialization = .automatic,
                zeroLastLayer: Bool = false, using rng: inout Xoshiro256) {
        self.init(inputSize: inputSize, hidden: hidden, outputSize: outputSize, activation: activation,
                  outputActivation: outputActivation)
        initialize(initialization, zeroLastLayer: zeroLastLayer, using: &rng)
    }

    /// Number of inputs.
    @inlinable public var inputSize: Int { widths[0] }
    /// Number of outputs.
    @inlinable public var outputSize: Int { widths[widths.count - 1] }
    /// Hidden widths.
    public var hidden: [Int] { Array(widths.dropFirst().dropLast()) }
    /// Number of parameters d.
    @inlinable public var parameterCount: Int { parameters.count }

    /// A description of the architecture that checkpoints compare, e.g. `mlp 4-64-64-2 relu identity`.
    public var architecture: String {
        "mlp \(widths.map(String.init).joined(separator: "-")) \(activation.name) \(outputActivation.name)"
    }

    /// Sets every gradient to zero.
    public mutating func zeroGradients() {
        gradients.withUnsafeMutableBufferPointer { $0.update(repeating: 0) }
    }
}
