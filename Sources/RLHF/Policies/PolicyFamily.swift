/// A policy ready to act in an environment whose states are of type `State`, with actions of
/// any kind (an index, a vector of reals): what the episode engine runs.
public protocol EpisodicActor {
    /// The state type the policy reads.
    associatedtype State
    /// The action type it chooses.
    associatedtype Action
    /// Samples an action in `state`.
    mutating func action(in state: State, using rng: inout Xoshiro256) -> Action
}

/// A policy over a finite action set, ready to act in an environment whose states are of type
/// `State`.
public protocol PolicyActor: EpisodicActor where Action == Int {}

/// A parametrized family of stationary policies π_θ over a finite action set, θ one flat
/// vector (spec §4): an ``EpisodicPolicyFamily`` whose actions are indices.
///
/// Zeroth-order methods only need two things of it: the dimension d, and a way to turn a
/// parameter vector into something that acts. Actors are updated in place so that the hot loop
/// allocates nothing.
public protocol PolicyFamily: EpisodicPolicyFamily where Action == Int, Actor: PolicyActor {}

extension TabularActor: PolicyActor {
    public typealias State = Int
}

extension TabularSoftmax: PolicyFamily {
    public typealias State = Int

    public func makeActor(_ theta: UnsafeBufferPointer<Double>) -> TabularActor {
        var actor = TabularActor(logits: [Double](repeating: 0, count: parameterCount), actionCount: actionCount)
        actor.update(logits: theta)
        return actor
    }

    public func update(_ actor: inout TabularActor, to theta: UnsafeBufferPointer<Double>) {
        actor.update(logits: theta)
    }
}
