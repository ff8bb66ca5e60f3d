#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A parametrized family of policies π_θ over any kind of action, θ one flat vector: the
/// acting side of ``PolicyFamily`` without its restriction to finite actions.
///
/// ``PolicyFamily`` refines it to finite actions (``TabularSoftmax``, ``NeuralTabularFamily``,
/// ``NeuralFamily``); the continuous ``GaussianPolicyFamily`` conforms directly, so code that
/// only makes and updates actors (ZPG, ZBCPG, Monte-Carlo evaluation) is written once for both.
public protocol EpisodicPolicyFamily: Sendable {
    /// The state type the policies read.
    associatedtype State
    /// The action type the policies choose.
    associatedtype Action
    /// The acting form of one parameter vector.
    associatedtype Actor: EpisodicActor where Actor.State == State, Actor.Action == Action

    /// The number of parameters d.
    var parameterCount: Int { get }
    /// Creates the actor of θ.
    func makeActor(_ theta: UnsafeBufferPointer<Double>) -> Actor
    /// Rewrites `actor` to act as π_θ.
    func update(_ actor: inout Actor, to theta: UnsafeBufferPointer<Double>)
}

/// A ``GaussianPolicy`` acting in a box-action environment: every step reads the state's
/// features, runs the mean network on them (``MLP/forwardSingle(_:parameters:scratch:)``) and
/// draws u = m_θ(s) + exp(ℓ)⊙ε, one ``Xoshiro256/normal()`` per action dimension.
///
/// The executed action is clip(u, low, high) by default (``clipsActions``); a learner that
/// records actions to score them with ``GaussianPolicy/logProbabilities(features:actions:workspace:into:parameters:)``
/// (the density of the UNCLIPPED sample) turns clipping off and lets the environment clip, as
/// ``Pendulum`` does (CleanRL's continuous PPO: the buffer keeps u, the environment clips).
/// With ``deterministic`` the actor plays the mean (clipped likewise) and draws nothing.
public struct GaussianPolicyFamily<E: EpisodicEnvironment>: EpisodicPolicyFamily where E.Action == [Double] {
    /// The environment's state type.
    public typealias State = E.State
    /// A real vector in the environment's box.
    public typealias Action = [Double]

    /// The environment whose features the policy reads.
    public let env: E
    /// The policy's architecture and box (its own parameters are the initial θ).
    public let policy: GaussianPolicy
    /// Clip each sample into the box before returning it (default); otherwise return u as drawn.
    public var clipsActions: Bool
    /// Play the mean m_θ(s) instead of sampling (``EvaluationMode/deterministic``).
    public var deterministic: Bool

    /// Creates the family.
    ///
    /// - Precondition: the policy reads `env`'s features and its box is `env`'s action space.
    public init(env: E, policy: GaussianPolicy, clipsActions: Bool = true, deterministic: Bool = false) {
        precondition(policy.featureCount == env.featureCount, "the policy network does not read the environment's features")
        precondition(env.actionSpace == .box(low: policy.low, high: policy.high),
                     "the policy's box is not the environment's action space")
        self.env = env
        self.policy = policy
        self.clipsActions = clipsActions
        self.deterministic = deterministic
    }

    /// A family for `env` with a fresh ``GaussianPolicy`` on its box (see
    /// ``GaussianPolicy/init(featureCount:hidden:low:high:activation:initialLogStd:zeroMeanStart:using:)``).
    ///
    /// - Precondition: `env`'s action space is a box.
    public init(env: E, hidden: [Int], activation: Activation = .tanh, initialLogStd: Double = 0,
                zeroMeanStart: Bool = true, clipsActions: Bool = true, using rng: inout Xoshiro256) {
        guard case let .box(low, high) = env.actionSpace else {
            preconditionFailure("a Gaussian policy needs a box action space")
        }
        let policy = GaussianPolicy(featureCount: env.featureCount, hidden: hidden, low: low, high: high,
                                    activation: activation, initialLogStd: initialLogStd,
                                    zeroMeanStart: zeroMeanStart, using: &rng)
        self.init(env: env, policy: policy, clipsActions: clipsActions)
    }

    /// d = the mean network's parameters plus one log-std per action dimension.
    public var parameterCount: Int { policy.parameterCount }

    /// The acting form: θ and scratch buffers; allocation-free per step once the caller has
    /// released the previous action (the returned array reuses the actor's storage).
    public struct Actor: EpisodicActor {
        /// The environment's state type.
        public typealias State = E.State
        /// A real vector in the environment's box.
        public typealias Action = [Double]
        let env: E
        let policy: GaussianPolicy
        /// θ of the policy the actor plays.
        public internal(set) var theta: [Double]
        var features: [Double]
        var scratch: [Double]
        var action: [Double]
        let clipsActions: Bool
        let deterministic: Bool

        /// Samples (or, deterministic, takes the mean of) the action in `state`.
        public mutating func action(in state: E.State, using rng: inout Xoshiro256) -> [Double] {
            let env = self.env, policy = self.policy, clips = clipsActions, mean = deterministic
            features.withUnsafeMutableBufferPointer { env.features(of: state, into: $0) }
            features.withUnsafeBufferPointer { x in
                theta.withUnsafeBufferPointer { t in
                    scratch.withUnsafeMutableBufferPointer { s in
                        action.withUnsafeMutableBufferPointer { a in
                            if mean {
                                policy.mean(features: x, parameters: t, scratch: s, into: a)
                                if clips { policy.clip(a) }
                            } else {
                                policy.sampleAction(features: x, parameters: t, scratch: s, into: a, clipped: clips, using: &rng)
                            }
                        }
                    }
                }
            }
            return action
        }
    }

    /// Creates the actor of θ.
    public func makeActor(_ theta: UnsafeBufferPointer<Double>) -> Actor {
        precondition(theta.count == parameterCount, "GaussianPolicyFamily: \(theta.count) parameters, expected \(parameterCount)")
        return Actor(env: env, policy: policy, theta: Array(theta), features: [Double](repeating: 0, count: env.featureCount),
                     scratch: [Double](repeating: 0, count: policy.scratchCount),
                     action: [Double](repeating: 0, count: policy.actionDimension),
                     clipsActions: clipsActions, deterministic: deterministic)
    }

    /// Rewrites `actor` to act as π_θ (no allocation).
    public func update(_ actor: inout Actor, to theta: UnsafeBufferPointer<Double>) {
        precondition(theta.count == parameterCount, "GaussianPolicyFamily: \(theta.count) parameters, expected \(parameterCount)")
        for i in 0..<theta.count { actor.theta[i] = theta[i] }
    }

    /// Convenience: the actor of the policy's own θ.
    public func makeActor() -> Actor {
        policy.parameters.withUnsafeBufferPointer { makeActor($0) }
    }
}
