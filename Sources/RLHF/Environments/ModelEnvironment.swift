/// Any ``TabularMDP`` as an environment that samples from it: user-built MDPs, and the tiny
/// MDPs on which estimators are checked against exact values.
public struct ModelEnvironment: TabularEnvironment {
    /// The model sampled from.
    public let model: TabularMDP

    /// Wraps a model.
    public init(model: TabularMDP) { self.model = model }

    public var stateCount: Int { model.stateCount }
    public var actionCount: Int { model.actionCount }
    public var horizon: Int { model.horizon }
    public var discount: Double { model.discount }
    public var featureCount: Int { model.stateCount }

    public func reset(using rng: inout Xoshiro256) -> Int {
        rng.categorical(weights: model.startDistribution)
    }

    public func step(_ state: Int, action: Int, using rng: inout Xoshiro256) -> StepResult<Int> {
        let k = state * model.actionCount + action
        let u = rng.uniform()
        var acc = 0.0
        let last = model.rowStart[k + 1] - 1
        var j = model.rowStart[k]
        while j < last {
            acc += model.probability[j]
            if u < acc { break }
            j += 1
        }
        let next = model.successor[j]
        return StepResult(next: next, reward: model.reward[j], terminal: model.isTerminal[next])
    }

    /// One-hot features.
    public func features(of state: Int, into buffer: UnsafeMutableBufferPointer<Double>) {
        for i in buffer.indices { buffer[i] = 0 }
        buffer[state] = 1
    }
}
