#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The inverted-pendulum swing-up task, exactly as Gymnasium's `Pendulum-v1`: the toolkit's
/// continuous-control environment (an ``ActionSpace/box(low:high:)`` of one torque).
///
/// A pole of mass m = 1 and length l = 1 hangs from a frictionless pivot; θ = 0 is upright and
/// θ grows counter-clockwise. Each step applies a torque u, clipped to [−2, 2], for dt = 0.05 s
/// with Gymnasium's semi-implicit Euler update (the velocity first, then the angle with the NEW
/// velocity):
///
///     θ̇′ = clip(θ̇ + (3g/(2l)·sin θ + 3/(m l²)·u)·dt, −8, 8),   θ′ = θ + θ̇′·dt
///
/// and pays the cost of the state it started from and the clipped torque:
/// r = −(norm(θ)² + 0.1·θ̇² + 0.001·u²), with norm(θ) = ((θ + π) mod 2π) − π in [−π, π) (Python's
/// floored `%`, see ``normalizeAngle(_:)``). The angle itself is never wrapped.
///
/// - Actions are `[Double]` vectors of length 1 (the torque), the type every box-space
///   environment uses (see ``GaussianPolicyFamily``); a longer or shorter vector is a
///   precondition failure. Torques outside [−2, 2] are clipped by the environment, as Gymnasium
///   does, so a policy may hand over an unclipped sample.
/// - The initial state is θ ~ U[−π, π), θ̇ ~ U[−1, 1) (two uniform draws, in that order).
/// - Features are Gymnasium's observation (cos θ, sin θ, θ̇), kept as `Double` (Gymnasium returns
///   `float32`; its internal state is `float64` as here).
/// - No state is terminal: the episode is truncated at the horizon H = 200 (`max_episode_steps`),
///   undiscounted (γ = 1). Rewards lie in [−(π² + 6.4 + 0.004), 0] ≈ [−16.27, 0].
public struct Pendulum: EpisodicEnvironment {
    /// The pendulum's state: its angle and angular velocity.
    public struct State: Sendable, Hashable, Codable {
        /// Angle θ from upright (radians, counter-clockwise; not wrapped to [−π, π)).
        public var theta: Double
        /// Angular velocity θ̇ (radians per second), always in [−8, 8] after a step.
        public var thetaDot: Double

        /// Creates a state.
        @inlinable
        public init(theta: Double, thetaDot: Double) {
            self.theta = theta
            self.thetaDot = thetaDot
        }
    }

    /// A torque vector of length one.
    public typealias Action = [Double]

    /// Largest angular speed, 8 rad/s (`max_speed`); the velocity is clipped to ±8 every step.
    @inlinable public static var maxSpeed: Double { 8 }
    /// Largest torque, 2 (`max_torque`); actions are clipped to ±2.
    @inlinable public static var maxTorque: Double { 2 }
    /// Integration step dt = 0.05 s.
    @inlinable public static var dt: Double { 0.05 }
    /// Mass of the pole, m = 1.
    @inlinable public static var mass: Double { 1 }
    /// Length of the pole, l = 1.
    @inlinable public static var length: Double { 1 }
    /// Gymnasium's default gravitational acceleration, g = 10.
    @inlinable public static var defaultGravity: Double { 10 }
    /// Half-width of the initial angular velocity's uniform range, 1 (Gymnasium's `DEFAULT_Y`).
    @inlinable public static var initialSpeedBound: Double { 1 }

    /// The gravitational acceleration g (Gymnasium's `g` argument; 10 by default).
    public let gravity: Double
    /// The horizon H (truncation); 200 as in `Pendulum-v1`.
    public let horizon: Int

    /// Creates the environment.
    ///
    /// - Precondition: `horizon` ≥ 1 and `gravity` finite (use ``validated(gravity:horizon:)``
    ///   for user input).
    public init(gravity: Double = Pendulum.defaultGravity, horizon: Int = 200) {
        precondition(horizon >= 1, "the horizon must be at least 1")
        precondition(gravity.isFinite, "gravity must be finite")
        self.gravity = gravity
        self.horizon = horizon
    }

    /// Creates the environment, throwing ``RLHFError/invalidArgument(name:message:)`` unless
    /// 1 ≤ `horizon` ≤ ``Limits/horizon`` and `gravity` is finite.
    public static func validated(gravity: Double = Pendulum.defaultGravity, horizon: Int = 200) throws -> Pendulum {
        try Validate.atLeast(horizon, 1, "horizon", atMost: Limits.horizon)
        try Validate.finite(gravity, "gravity")
        return Pendulum(gravity: gravity, horizon: horizon)
    }

    /// One torque in [−2, 2].
    public var actionSpace: ActionSpace { .box(low: [-Pendulum.maxTorque], high: [Pendulum.maxTorque]) }
    /// Undiscounted: γ = 1.
    public var discount: Double { 1 }
    /// Three features: cos θ, sin θ, θ̇.
    public var featureCount: Int { 3 }

    /// Gymnasium's `angle_normalize`: ((x + π) mod 2π) − π with Python's floored modulo, so the
    /// result is in [−π, π) (π itself maps to −π).
    @inlinable
    public static func normalizeAngle(_ x: Double) -> Double {
        let period = 2 * Double.pi
        // Python's float %: fmod, then shifted into the divisor's sign.
        var r = (x + Double.pi).truncatingRemainder(dividingBy: period)
        if r != 0 {
            if r < 0 { r += period }
        } else {
            r = 0
        }
        return r - Double.pi
    }

    /// Clips a torque to [−2, 2].
    @inlinable
    public static func clipTorque(_ u: Double) -> Double {
        min(max(u, -maxTorque), maxTorque)
    }

    /// The reward of applying the (already clipped) torque `u` in `state`:
    /// −(norm(θ)² + 0.1·θ̇² + 0.001·u²).
    @inlinable
    public static func reward(_ state: State, torque u: Double) -> Double {
        let th = normalizeAngle(state.theta)
        let costs = th * th + 0.1 * (state.thetaDot * state.thetaDot) + 0.001 * (u * u)
        return -costs
    }

    /// The state after one step of torque `torque` (clipped to [−2, 2] first); pure and
    /// deterministic, in Gymnasium's order of floating-point operations.
    @inlinable
    public func advance(_ s: State, torque: Double) -> State {
        let u = Pendulum.clipTorque(torque)
        let g = gravity, m = Pendulum.mass, l = Pendulum.length, dt = Pendulum.dt
        var newThetaDot = s.thetaDot + (3 * g / (2 * l) * sin(s.theta) + 3.0 / (m * (l * l)) * u) * dt
        newThetaDot = min(max(newThetaDot, -Pendulum.maxSpeed), Pendulum.maxSpeed)
        let newTheta = s.theta + newThetaDot * dt
        return State(theta: newTheta, thetaDot: newThetaDot)
    }

    /// Draws θ uniformly from [−π, π), then θ̇ uniformly from [−1, 1) (two uniform draws).
    @inlinable
    public func reset(using rng: inout Xoshiro256) -> State {
        let theta = -Double.pi + 2 * Double.pi * rng.uniform()
        let b = Pendulum.initialSpeedBound
        let thetaDot = -b + 2 * b * rng.uniform()
        return State(theta: theta, thetaDot: thetaDot)
    }

    /// One step: the torque `action[0]` is clipped to [−2, 2], the reward is that of `state` and
    /// the clipped torque (``reward(_:torque:)``), the next state that of ``advance(_:torque:)``.
    /// Never terminal; draws no random numbers.
    ///
    /// - Precondition: `action` has exactly one entry.
    @inlinable
    public func step(_ state: State, action: [Double], using rng: inout Xoshiro256) -> StepResult<State> {
        precondition(action.count == 1, "Pendulum actions are one torque, got \(action.count) values")
        let u = Pendulum.clipTorque(action[0])
        return StepResult(next: advance(state, torque: u), reward: Pendulum.reward(state, torque: u), terminal: false)
    }

    /// Writes (cos θ, sin θ, θ̇) into the first three entries of `buffer`.
    @inlinable
    public func features(of state: State, into buffer: UnsafeMutableBufferPointer<Double>) {
        buffer[0] = cos(state.theta)
        buffer[1] = sin(state.theta)
        buffer[2] = state.thetaDot
    }
}
