/// The outcome of one environment step.
public struct StepResult<State> {
    /// The state the step ends in.
    public var next: State
    /// The true reward of the step (known to the simulator and the simulated evaluators only).
    public var reward: Double
    /// Whether the episode ends with this step.
    public var terminal: Bool

    /// Creates a step result.
    @inlinable
    public init(next: State, reward: Double, terminal: Bool) {
        self.next = next
        self.reward = reward
        self.terminal = terminal
    }
}

/// An episodic environment with a horizon (spec §1), over any kind of action.
///
/// The episode engine (``runEpisode(_:recorder:myopicDiscount:using:)``) runs on this protocol;
/// ``Environment`` refines it to a finite action set (every algorithm of the toolkit today), and
/// a continuous-control task declares a ``ActionSpace/box(low:high:)`` space with real-vector
/// actions.
public protocol EpisodicEnvironment: Sendable {
    /// The environment's state between steps.
    associatedtype State: Sendable
    /// What a policy chooses each step: an index for a finite space, a vector of reals for a box.
    associatedtype Action: Sendable

    /// The set of actions, the same in every state.
    var actionSpace: ActionSpace { get }
    /// The horizon H: an episode has at most H steps.
    var horizon: Int { get }
    /// The discount γ applied to step rewards in returns (1 for finite-horizon tasks).
    var discount: Double { get }
    /// Length of the feature vector that neural policies read (see ``features(of:into:)``).
    var featureCount: Int { get }

    /// Draws an initial state.
    func reset(using rng: inout Xoshiro256) -> State
    /// Takes `action` in `state`.
    func step(_ state: State, action: Action, using rng: inout Xoshiro256) -> StepResult<State>
    /// Writes the features of `state` (``featureCount`` values) into `buffer`.
    func features(of state: State, into buffer: UnsafeMutableBufferPointer<Double>)
}

/// An episodic environment with a finite action set 0..<``actionCount`` (spec §1).
///
/// Tabular environments (``GridWorld``) and continuous-state ones (``CartPole``) fit the same
/// protocol: a state is whatever the environment needs to continue an episode, and policies see
/// it either by its index (``TabularEnvironment``) or through ``features(of:into:)``.
public protocol Environment: EpisodicEnvironment where Action == Int {
    /// Number of actions, the same in every state.
    var actionCount: Int { get }
}

extension Environment {
    /// ``ActionSpace/finite(_:)`` of ``actionCount`` actions.
    @inlinable public var actionSpace: ActionSpace { .finite(actionCount) }
}

/// An environment with finitely many states, indexed 0..<stateCount, whose exact model is known.
///
/// Its ``model`` gives the transition probabilities and rewards, so values, Q-functions, the
/// optimal value and exact policy gradients are computed by dynamic programming.
public protocol TabularEnvironment: Environment where State == Int {
    /// Number of states.
    var stateCount: Int { get }
    /// The exact model: transitions, rewards, terminal states, start distribution, horizon.
    var model: TabularMDP { get }
}
