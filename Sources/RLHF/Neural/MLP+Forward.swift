import CKernels

extension MLP {
    /// Runs the network on `batch` rows of `input` (row-major, batch × inputSize) with the given
    /// flat `parameters` (of this architecture's layout; e.g. a perturbed θ + μv or a target
    /// network's), keeping every layer's output in `workspace` for a backward pass.
    ///
    /// Returns the outputs (batch × outputSize), a view into the workspace valid until its next use.
    @discardableResult
    public func forward(_ input: UnsafeBufferPointer<Double>, batch: Int, parameters: UnsafeBufferPointer<Double>,
                        workspace: MLPWorkspace) -> UnsafeBufferPointer<Double> {
        precondition(workspace.widths == widths, "MLP.forward: the workspace was made for other widths")
        precondition(input.count >= batch * inputSize, "MLP.forward: input holds fewer than batch × \(inputSize) values")
        precondition(parameters.count == parameterCount, "MLP.forward: \(parameters.count) parameters, expected \(parameterCount)")
        workspace.reserve(batch)
        workspace.batch = batch
        guard batch > 0 else { return UnsafeBufferPointer(workspace.output) }
        let theta = parameters.baseAddress!
        let x0 = workspace.pointer(0)
        ck_copy(batch * inputSize, input.baseAddress!, x0)
        for (l, layer) in layers.enumerated() {
            layer.forward(parameters: theta, input: workspace.pointer(l), batch: batch, output: workspace.pointer(l + 1))
        }
        return UnsafeBufferPointer(workspace.output)
    }

    /// Runs the network with its own ``parameters``; see ``forward(_:batch:parameters:workspace:)``.
    @discardableResult
    public func forward(_ input: UnsafeBufferPointer<Double>, batch: Int, workspace: MLPWorkspace) -> UnsafeBufferPointer<Double> {
        parameters.withUnsafeBufferPointer { forward(input, batch: batch, parameters: $0, workspace: workspace) }
    }

    /// Convenience: the outputs for `input` (batch = input.count / inputSize) as a new array.
    /// Allocates a workspace; use the workspace form in loops.
    public func forward(_ input: [Double]) -> [Double] {
        precondition(input.count % inputSize == 0, "MLP.forward: input count is not a multiple of \(inputSize)")
        let batch = input.count / inputSize
        let workspace = MLPWorkspace(for: self, capacity: batch)
        return input.withUnsafeBufferPointer { Array(forward($0, batch: batch, workspace: workspace)) }
    }
}
