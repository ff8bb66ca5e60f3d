/// A policy family whose policies can also act for many episodes at once (the lock-step engine,
/// ``EpisodicEnvironment/runEpisodes(_:generators:width:recorders:myopicDiscount:)``, and
/// ``MonteCarlo/evaluateBatched(_:family:parameters:episodes:seed:threads:width:)``).
///
/// The batch actor of θ takes, row by row, the actions the single actor of θ would take from the
/// same generator, up to the rounding of the probabilities (exactly for the tabular families).
public protocol BatchPolicyFamily: PolicyFamily {
    /// The batch acting form of one parameter vector.
    associatedtype BatchActor: BatchEpisodicActor where BatchActor.State == State, BatchActor.Action == Int
    /// Creates the batch actor of θ, with room for batches of `capacity` rows (a larger batch
    /// grows it once).
    func makeBatchActor(_ theta: UnsafeBufferPointer<Double>, capacity: Int) -> BatchActor
    /// Rewrites `actor` to act as π_θ.
    func update(_ actor: inout BatchActor, to theta: UnsafeBufferPointer<Double>)
}

extension TabularActor: BatchEpisodicActor {
    /// One draw per row from the row's generator, as ``action(in:using:)``.
    @inlinable
    public mutating func actions(for states: UnsafeBufferPointer<Int>, using rngs: UnsafeMutableBufferPointer<Xoshiro256>,
                                 into actions: inout [Int]) {
        let n = states.count
        if actions.count < n { actions = [Int](repeating: 0, count: n) }
        actions.withUnsafeMutableBufferPointer { out in
            for i in 0..<n { out[i] = action(in: states[i], using: &rngs[i]) }
        }
    }
}

extension TabularSoftmax: BatchPolicyFamily {
    /// The tabular actor itself: sampling from its table is already one draw and a short scan.
    public func makeBatchActor(_ theta: UnsafeBufferPointer<Double>, capacity: Int) -> TabularActor {
        makeActor(theta)
    }
}

extension NeuralTabularFamily.Actor: BatchEpisodicActor {
    /// One draw per row from the precomputed table, as ``action(in:using:)``.
    public mutating func actions(for states: UnsafeBufferPointer<Int>, using rngs: UnsafeMutableBufferPointer<Xoshiro256>,
                                 into actions: inout [Int]) {
        table.actions(for: states, using: rngs, into: &actions)
    }
}

extension NeuralTabularFamily: BatchPolicyFamily {
    /// The table actor itself: the network ran once on every state when it was made.
    public func makeBatchActor(_ theta: UnsafeBufferPointer<Double>, capacity: Int) -> Actor {
        makeActor(theta)
    }
}
