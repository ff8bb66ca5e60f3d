/// A first-order optimizer over a flat parameter buffer and its flat gradient buffer; its own
/// state (momentum, moment estimates) is flat too, so it is saved and restored as one vector.
///
/// Optimizers MINIMIZE by default (θ ← θ − step); set `maximize` to ascend (θ ← θ + step),
/// e.g. for the value or log-likelihood objectives of the spec.
public protocol Optimizer: Sendable {
    /// A short name stored in checkpoints: `sgd` or `adam`.
    var kind: String { get }
    /// Number of steps taken.
    var stepCount: Int { get }
    /// Number of parameters the state is sized for.
    var parameterCount: Int { get }
    /// The hyperparameters, by name, as stored in checkpoints.
    var hyperparameters: [(name: String, value: Double)] { get }
    /// The flat optimizer state (layout documented by each optimizer).
    var state: [Double] { get }
    /// Replaces step count and state (from a checkpoint); throws if the state has the wrong size.
    mutating func restore(stepCount: Int, state: [Double]) throws
    /// One update of `parameters` from `gradients` (same layout). Clipping, when configured,
    /// rescales `gradients` in place first.
    mutating func step(parameters: UnsafeMutableBufferPointer<Double>, gradients: UnsafeMutableBufferPointer<Double>)
}

extension Optimizer {
    /// One update of a network's ``MLP/parameters`` from its ``MLP/gradients`` (which are not zeroed).
    public mutating func step(_ network: inout MLP) {
        step(parameters: &network.parameters, gradients: &network.gradients)
    }

    /// One update of the `parameters` array from the `gradients` array.
    public mutating func step(parameters: inout [Double], gradients: inout [Double]) {
        precondition(parameters.count == gradients.count, "Optimizer.step: parameter and gradient counts differ")
        parameters.withUnsafeMutableBufferPointer { p in
            gradients.withUnsafeMutableBufferPointer { g in step(parameters: p, gradients: g) }
        }
    }
}
