#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The classic cart-pole balancing task, exactly as Gymnasium's `CartPole-v1` (spec §2).
///
/// A pole is hinged on a cart that moves along a frictionless track. Action 0 pushes the cart
/// left with a force of −10 N, action 1 pushes it right with +10 N. The dynamics are those of
/// Gymnasium (Barto, Sutton & Anderson 1983, with Florian's 2007 equations) integrated by the
/// explicit Euler scheme with step τ = 0.02 s: positions advance with the OLD velocities, then the
/// velocities with the accelerations computed at the old state.
///
/// - Every step, including the one that ends the episode, has reward +1 (Gymnasium's default,
///   `sutton_barto_reward=False`).
/// - The episode terminates when |x| > 2.4 or |θ| > 12° (strict inequalities, so a state exactly
///   on a threshold continues). Truncation is the horizon H (500 for `CartPole-v1`), which the
///   rollout loop enforces: ``step(_:action:using:)`` itself knows nothing of time.
/// - The initial state is uniform on [−0.05, 0.05)⁴.
/// - Features are the four state values (x, ẋ, θ, θ̇), unscaled. Gymnasium returns them as
///   `float32`; here they stay `Double`, and the internal state is `Double` in both.
///
/// There is no exact value: returns are Monte-Carlo estimates (spec §1). A uniformly random policy
/// lasts about 22 steps on average.
public struct CartPole: Environment {
    /// The physical state of the cart and pole.
    public struct State: Sendable, Hashable, Codable {
        /// Cart position x (metres; 0 is the centre of the track).
        public var x: Double
        /// Cart velocity ẋ (metres per second).
        public var xDot: Double
        /// Pole angle θ from the vertical (radians; positive leans right).
        public var theta: Double
        /// Pole angular velocity θ̇ (radians per second).
        public var thetaDot: Double

        /// Creates a state from its four components.
        @inlinable
        public init(x: Double, xDot: Double, theta: Double, thetaDot: Double) {
            self.x = x
            self.xDot = xDot
            self.theta = theta
            self.thetaDot = thetaDot
        }

        /// The components in Gymnasium's observation order (x, ẋ, θ, θ̇).
        @inlinable
        public var components: [Double] { [x, xDot, theta, thetaDot] }
    }

    /// Gravitational acceleration g = 9.8 m/s².
    @inlinable public static var gravity: Double { 9.8 }
    /// Mass of the cart, 1.0 kg.
    @inlinable public static var massCart: Double { 1.0 }
    /// Mass of the pole, 0.1 kg.
    @inlinable public static var massPole: Double { 0.1 }
    /// Total mass, masspole + masscart.
    @inlinable public static var totalMass: Double { massPole + massCart }
    /// HALF the pole's length, 0.5 m (Gymnasium's `length`).
    @inlinable public static var length: Double { 0.5 }
    /// masspole · length.
    @inlinable public static var poleMassLength: Double { massPole * length }
    /// Magnitude of the push, 10 N.
    @inlinable public static var forceMagnitude: Double { 10.0 }
    /// Integration step τ = 0.02 s.
    @inlinable public static var tau: Double { 0.02 }
    /// Pole angle beyond which the episode terminates: 12·2·π/360 rad (12°).
    @inlinable public static var thetaThreshold: Double { 12 * 2 * Double.pi / 360 }
    /// Cart position beyond which the episode terminates: 2.4 m.
    @inlinable public static var xThreshold: Double { 2.4 }
    /// Half-width of the uniform initial-state box, 0.05.
    @inlinable public static var initialBound: Double { 0.05 }
    /// Action names, in index order.
    public static let actionNames = ["left", "right"]

    /// The horizon H (truncation); 500 as in `CartPole-v1`.
    public let horizon: Int

    /// Creates the environment with horizon `horizon` (default 500, `CartPole-v1`).
    ///
    /// - Precondition: `horizon` ≥ 1 (use ``validated(horizon:)`` for user input).
    public init(horizon: Int = 500) {
        precondition(horizon >= 1, "the horizon must be at least 1")
        self.horizon = horizon
    }

    /// Creates the environment, throwing ``RLHFError/invalidArgument(name:message:)`` unless
    /// `horizon` ≥ 1.
    public static func validated(horizon: Int) throws -> CartPole {
        try Validate.atLeast(horizon, 1, "horizon", atMost: Limits.horizon)
        return CartPole(horizon: horizon)
    }

    /// Two actions: 0 pushes left, 1 pushes right.
    public var actionCount: Int { 2 }
    /// Undiscounted: γ = 1.
    public var discount: Double { 1 }
    /// Four features: x, ẋ, θ, θ̇.
    public var featureCount: Int { 4 }

    /// Draws each of the four components uniformly from [−0.05, 0.05), in the order x, ẋ, θ, θ̇
    /// (four uniform draws).
    @inlinable
    public func reset(using rng: inout Xoshiro256) -> State {
        let b = CartPole.initialBound
        let x = -b + 2 * b * rng.uniform()
        let xDot = -b + 2 * b * rng.uniform()
        let theta = -b + 2 * b * rng.uniform()
        let thetaDot = -b + 2 * b * rng.uniform()
        return State(x: x, xDot: xDot, theta: theta, thetaDot: thetaDot)
    }

    /// Whether `state` is outside the track or the angle limit (|x| > 2.4 or |θ| > 12°).
    @inlinable
    public static func isTerminal(_ state: State) -> Bool {
        state.x < -xThreshold || state.x > xThreshold
            || state.theta < -thetaThreshold || state.theta > thetaThreshold
    }

    /// The state after one Euler step of τ under the push of `action`; pure and deterministic.
    ///
    /// - Precondition: `action` is 0 (left) or 1 (right).
    @inlinable
    public static func advance(_ s: State, action: Int) -> State {
        precondition(action == 0 || action == 1, "CartPole actions are 0 (left) and 1 (right)")
        let force = action == 1 ? forceMagnitude : -forceMagnitude
        let cosTheta = cos(s.theta)
        let sinTheta = sin(s.theta)
        let temp = (force + poleMassLength * (s.thetaDot * s.thetaDot) * sinTheta) / totalMass
        let thetaAcc = (gravity * sinTheta - cosTheta * temp)
            / (length * (4.0 / 3.0 - massPole * (cosTheta * cosTheta) / totalMass))
        let xAcc = temp - poleMassLength * thetaAcc * cosTheta / totalMass
        // Euler: positions with the old velocities, then velocities.
        return State(x: s.x + tau * s.xDot,
                     xDot: s.xDot + tau * xAcc,
                     theta: s.theta + tau * s.thetaDot,
                     thetaDot: s.thetaDot + tau * thetaAcc)
    }

    /// One step: the Euler update of ``advance(_:action:)``, reward +1, terminal when the new
    /// state is past a threshold (``isTerminal(_:)``). Draws no random numbers.
    @inlinable
    public func step(_ state: State, action: Int, using rng: inout Xoshiro256) -> StepResult<State> {
        let next = CartPole.advance(state, action: action)
        return StepResult(next: next, reward: 1, terminal: CartPole.isTerminal(next))
    }

    /// Writes (x, ẋ, θ, θ̇) into the first four entries of `buffer`.
    @inlinable
    public func features(of state: State, into buffer: UnsafeMutableBufferPointer<Double>) {
        buffer[0] = state.x
        buffer[1] = state.xDot
        buffer[2] = state.theta
        buffer[3] = state.thetaDot
    }
}
