extension MLP {
    /// Backpropagates dL/d(output) (`outputGradient`, batch × outputSize for the batch of the
    /// workspace's last forward pass) through the network run with `parameters`, ADDING dL/dθ to
    /// `gradients` (same flat layout) and writing dL/d(input) to `inputGradient` when given.
    ///
    /// The workspace must still hold that forward pass; `outputGradient` is not modified.
    public func backward(outputGradient: UnsafeBufferPointer<Double>, parameters: UnsafeBufferPointer<Double>,
                         gradients: UnsafeMutableBufferPointer<Double>, workspace: MLPWorkspace,
                         inputGradient: UnsafeMutableBufferPointer<Double>? = nil) {
        MLP.backpropagate(layers: layers, widths: widths, outputGradient: outputGradient, parameters: parameters,
                          gradients: gradients, workspace: workspace, inputGradient: inputGradient)
    }

    @usableFromInline
    static func backpropagate(layers: [DenseLayer], widths: [Int], outputGradient: UnsafeBufferPointer<Double>,
                              parameters: UnsafeBufferPointer<Double>, gradients: UnsafeMutableBufferPointer<Double>,
                              workspace: MLPWorkspace, inputGradient: UnsafeMutableBufferPointer<Double>?) {
        let batch = workspace.batch
        let inputSize = widths[0], outputSize = widths[widths.count - 1]
        let parameterCount = layers[layers.count - 1].endOffset
        precondition(workspace.widths == widths, "MLP.backward: the workspace was made for other widths")
        precondition(outputGradient.count >= batch * outputSize, "MLP.backward: output gradient too small")
        precondition(parameters.count == parameterCount && gradients.count == parameterCount,
                     "MLP.backward: parameter or gradient buffer of the wrong size")
        if let inputGradient {
            precondition(inputGradient.count >= batch * inputSize, "MLP.backward: input gradient buffer too small")
        }
        guard batch > 0 else { return }
        let theta = parameters.baseAddress!
        let grad = gradients.baseAddress!
        // The top layer reads the caller's dL/dy and puts its δ in scratch buffer 0. Every layer
        // l > 0 writes the previous layer's δ (dL/dx fused with that layer's activation
        // derivative) into the other scratch buffer, which the previous layer reads as its δ.
        var upstream = outputGradient.baseAddress!
        var scratch = workspace.gradientBuffer(0)
        var other = workspace.gradientBuffer(1)
        for l in stride(from: layers.count - 1, through: 0, by: -1) {
            let next = l > 0 ? other : inputGradient?.baseAddress
            layers[l].backward(parameters: theta, input: workspace.pointer(l), output: workspace.pointer(l + 1),
                               outputGradient: upstream, scratch: scratch, batch: batch, gradients: grad,
                               inputGradient: next, outputGradientIsDelta: l < layers.count - 1,
                               inputActivation: l > 0 ? layers[l - 1].activation : nil,
                               inputBiasGradient: l > 0 ? grad + layers[l - 1].biasOffset : nil,
                               biasGradientDone: l < layers.count - 1)
            if l > 0 {
                upstream = UnsafePointer(other)
                swap(&scratch, &other)
            }
        }
    }

    /// Backpropagates into the network's own ``gradients`` (adding to them), with its own
    /// ``parameters``; see ``backward(outputGradient:parameters:gradients:workspace:inputGradient:)``.
    public mutating func backward(outputGradient: UnsafeBufferPointer<Double>, workspace: MLPWorkspace,
                                  inputGradient: UnsafeMutableBufferPointer<Double>? = nil) {
        // Copies share storage (no allocation) and keep `self` free for the mutable gradient access.
        let layers = self.layers, widths = self.widths, parameters = self.parameters
        gradients.withUnsafeMutableBufferPointer { g in
            parameters.withUnsafeBufferPointer { p in
                MLP.backpropagate(layers: layers, widths: widths, outputGradient: outputGradient, parameters: p,
                                  gradients: g, workspace: workspace, inputGradient: inputGradient)
            }
        }
    }
}
