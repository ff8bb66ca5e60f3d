import CKernels

/// One dense (fully connected) layer y = f(x·W + b), as a view into a model's flat parameter
/// buffer: W (inputSize × outputSize, row-major, W[i, o] at `weightOffset + i·outputSize + o`)
/// followed by b (outputSize values at ``biasOffset``). Gradients use the same layout.
///
/// Batches are row-major: `batch` rows of `inputSize` (input) or `outputSize` (output) values.
public struct DenseLayer: Sendable, Equatable {
    /// Number of inputs (columns of the input batch).
    public let inputSize: Int
    /// Number of outputs (columns of the output batch).
    public let outputSize: Int
    /// Index of W[0, 0] in the flat parameter buffer.
    public let weightOffset: Int
    /// The elementwise activation applied after the affine map.
    public let activation: Activation

    /// Creates the view of a layer whose weights start at `weightOffset`.
    public init(inputSize: Int, outputSize: Int, weightOffset: Int, activation: Activation) {
        precondition(inputSize > 0 && outputSize > 0, "a dense layer needs positive sizes")
        self.inputSize = inputSize
        self.outputSize = outputSize
        self.weightOffset = weightOffset
        self.activation = activation
    }

    /// Index of b[0] in the flat parameter buffer (just after W).
    @inlinable
    public var biasOffset: Int { weightOffset + inputSize * outputSize }

    /// Number of parameters: inputSize·outputSize weights and outputSize biases.
    @inlinable
    public var parameterCount: Int { (inputSize + 1) * outputSize }

    /// One past the layer's last parameter.
    @inlinable
    public var endOffset: Int { weightOffset + parameterCount }

    /// output = f(input·W + b) for `batch` rows. `parameters` is the model's whole flat buffer.
    ///
    /// ReLU and leaky ReLU are applied by the matrix kernel to each finished tile (one sweep over
    /// the output); tanh afterwards.
    public func forward(parameters: UnsafePointer<Double>, input: UnsafePointer<Double>, batch: Int,
                        output: UnsafeMutablePointer<Double>) {
        #if BLAS
        GEMM.multiply(transposeA: false, transposeB: false, m: batch, n: outputSize, k: inputSize,
                      a: input, lda: inputSize, b: parameters + weightOffset, ldb: outputSize,
                      c: output, ldc: outputSize, accumulate: false, bias: parameters + biasOffset)
        activation.apply(output, count: batch * outputSize)
        #else
        let code = activation.kernelCode
        ck_dgemm_activation(batch, outputSize, inputSize, input, inputSize, parameters + weightOffset, outputSize,
                            output, outputSize, parameters + biasOffset, code.kind, code.slope)
        if activation == .tanh { activation.apply(output, count: batch * outputSize) }
        #endif
    }

    /// Backward pass of the last ``forward(parameters:input:batch:output:)`` with these `input`
    /// and `output` rows.
    ///
    /// `outputGradient` holds dL/dy (batch × outputSize), or already δ = dL/d(pre-activation) when
    /// `outputGradientIsDelta`. Otherwise δ goes to `scratch` (same size, may be `outputGradient`
    /// itself) unless the activation is the identity. dL/dW and dL/db are ADDED to `gradients` (the
    /// model's flat gradient buffer, same layout as the parameters). When `inputGradient` is given
    /// it receives dL/dx — or, when `inputActivation` (the activation whose outputs are this
    /// layer's `input`) is given, dL/dx ⊙ f′, i.e. the previous layer's δ, fused into the same
    /// sweep. It must not overlap `outputGradient` or `scratch`. When `inputBiasGradient` is given
    /// (with `inputActivation`), the column sums of that δ — the previous layer's bias gradient —
    /// are added there in the same sweep; `biasGradientDone` says this layer's own bias gradient
    /// was already added that way by the layer above.
    public func backward(parameters: UnsafePointer<Double>, input: UnsafePointer<Double>,
                         output: UnsafePointer<Double>, outputGradient: UnsafePointer<Double>,
                         scratch: UnsafeMutablePointer<Double>, batch: Int,
                         gradients: UnsafeMutablePointer<Double>, inputGradient: UnsafeMutablePointer<Double>?,
                         outputGradientIsDelta: Bool = false, inputActivation: Activation? = nil,
                         inputBiasGradient: UnsafeMutablePointer<Double>? = nil, biasGradientDone: Bool = false) {
        let n = outputSize
        let delta: UnsafePointer<Double>
        if outputGradientIsDelta || activation == .identity {
            delta = outputGradient
        } else {
            activation.backpropagate(output: output, gradient: outputGradient, into: scratch, count: batch * n)
            delta = UnsafePointer(scratch)
        }
        // dW += xᵀ·δ
        GEMM.multiply(transposeA: true, transposeB: false, m: inputSize, n: n, k: batch,
                      a: input, lda: inputSize, b: delta, ldb: n,
                      c: gradients + weightOffset, ldc: n, accumulate: true)
        // db += Σ_rows δ
        if !biasGradientDone { ck_column_sums_add(batch, n, delta, n, gradients + biasOffset) }
        // dx = δ·Wᵀ (⊙ f′ of the input's activation)
        if let inputGradient {
            #if BLAS
            GEMM.multiply(transposeA: false, transposeB: true, m: batch, n: inputSize, k: n,
                          a: delta, lda: n, b: parameters + weightOffset, ldb: n,
                          c: inputGradient, ldc: inputSize)
            if let inputActivation {
                inputActivation.backpropagate(output: input, gradient: inputGradient, into: inputGradient,
                                              count: batch * inputSize)
            }
            if let inputBiasGradient {
                ck_column_sums_add(batch, inputSize, inputGradient, inputSize, inputBiasGradient)
            }
            #else
            let code = (inputActivation ?? .identity).kernelCode
            ck_dgemm_nt_masked(batch, inputSize, n, delta, n, parameters + weightOffset, n,
                               inputGradient, inputSize, code.kind, input, inputSize, code.slope, inputBiasGradient)
            #endif
        }
    }
}
