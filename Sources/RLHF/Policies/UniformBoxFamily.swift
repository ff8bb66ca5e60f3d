/// The uniform random policy on a box of actions: each value low[i] + (high[i] − low[i])·U, one
/// ``Xoshiro256/uniform()`` per value in order (the "random policy" by which continuous-control
/// values are normalized, as ``UniformFamily`` on finite actions).
public struct UniformBoxFamily<E: EpisodicEnvironment>: EpisodicPolicyFamily where E.Action == [Double] {
    public typealias State = E.State
    public typealias Action = [Double]
    /// The box.
    public let low: [Double]
    public let high: [Double]

    /// The uniform policy on `env`'s box.
    ///
    /// - Precondition: `env`'s action space is a box.
    public init(env: E) {
        guard case let .box(low, high) = env.actionSpace else { preconditionFailure("UniformBoxFamily needs a box action space") }
        self.low = low
        self.high = high
    }

    public var parameterCount: Int { 0 }

    /// Draws a uniform point of the box.
    public struct Actor: EpisodicActor {
        public typealias State = E.State
        let low: [Double], high: [Double]
        public mutating func action(in state: E.State, using rng: inout Xoshiro256) -> [Double] {
            var a = [Double](repeating: 0, count: low.count)
            for i in 0..<low.count { a[i] = low[i] + (high[i] - low[i]) * rng.uniform() }
            return a
        }
    }

    public func makeActor(_ theta: UnsafeBufferPointer<Double>) -> Actor { Actor(low: low, high: high) }
    public func update(_ actor: inout Actor, to theta: UnsafeBufferPointer<Double>) {}
}
