/// A tabular environment seen through one-hot state features: how a "tabular" policy, reward or
/// critic is built from the neural layer (an MLP with no hidden layer on one-hot features is a
/// table of logits plus a per-action bias).
public struct OneHotView<Base: TabularEnvironment>: TabularEnvironment {
    /// The wrapped environment.
    public let base: Base

    /// Wraps `base`.
    public init(_ base: Base) { self.base = base }

    public var stateCount: Int { base.stateCount }
    public var model: TabularMDP { base.model }
    public var actionCount: Int { base.actionCount }
    public var horizon: Int { base.horizon }
    public var discount: Double { base.discount }
    public var featureCount: Int { base.stateCount }

    @inlinable
    public func reset(using rng: inout Xoshiro256) -> Int { base.reset(using: &rng) }

    @inlinable
    public func step(_ state: Int, action: Int, using rng: inout Xoshiro256) -> StepResult<Int> {
        base.step(state, action: action, using: &rng)
    }

    public func features(of state: Int, into buffer: UnsafeMutableBufferPointer<Double>) {
        for i in buffer.indices { buffer[i] = 0 }
        buffer[state] = 1
    }
}
