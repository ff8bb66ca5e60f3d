extension MLP {
    /// The forward pass for ONE input row, in plain loops: for the per-step policies of rollouts,
    /// where a batch of one makes the matrix kernels' call and packing overhead dominate.
    ///
    /// - Parameters:
    ///   - input: ``inputSize`` values.
    ///   - parameters: θ in this network's layout.
    ///   - scratch: at least 2 × (widest layer) values, overwritten.
    /// - Returns: the output row, a view into `scratch` (valid until its next use).
    @inlinable
    public func forwardSingle(_ input: UnsafeBufferPointer<Double>, parameters: UnsafeBufferPointer<Double>,
                              scratch: UnsafeMutableBufferPointer<Double>) -> UnsafeBufferPointer<Double> {
        let widest = widths.max()!
        precondition(scratch.count >= 2 * widest, "forwardSingle: scratch holds fewer than \(2 * widest) values")
        var source = input
        var half = 0
        for layer in layers {
            let out = UnsafeMutableBufferPointer(rebasing: scratch[(half * widest)..<(half * widest + layer.outputSize)])
            let n = layer.outputSize
            let b = layer.biasOffset
            for j in 0..<n { out[j] = parameters[b + j] }
            var w = layer.weightOffset
            for i in 0..<layer.inputSize {
                let x = source[i]
                if x != 0 {
                    for j in 0..<n { out[j] += x * parameters[w + j] }
                }
                w += n
            }
            let activation = layer.activation
            if activation != .identity {
                for j in 0..<n { out[j] = activation.value(out[j]) }
            }
            source = UnsafeBufferPointer(out)
            half = 1 - half
        }
        return source
    }
}
