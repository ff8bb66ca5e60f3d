/// A recorded episode: the states visited, the actions taken and the true rewards received.
///
/// The rewards are the simulator's; learners that must not see them (DPO, reward learning) read
/// only ``states`` and ``actions`` and the panel's labels. They are kept so that analyses can
/// compare learned rewards with true ones.
public struct Trajectory<State: Codable & Sendable>: Codable, Sendable {
    /// s_0 … s_{T−1}.
    public var states: [State]
    /// a_0 … a_{T−1}.
    public var actions: [Int]
    /// r_0 … r_{T−1} (true rewards).
    public var rewards: [Double]
    /// R(τ) = Σ_t γ^t r_t.
    public var totalReturn: Double
    /// Σ_t γ_m^{T−1−t} r_t for the myopic discount it was recorded with.
    public var myopicReturn: Double

    /// Creates a trajectory from its parts.
    public init(states: [State], actions: [Int], rewards: [Double], totalReturn: Double, myopicReturn: Double) {
        precondition(states.count == actions.count && actions.count == rewards.count, "a trajectory's arrays differ in length")
        self.states = states
        self.actions = actions
        self.rewards = rewards
        self.totalReturn = totalReturn
        self.myopicReturn = myopicReturn
    }

    /// Number of steps T.
    public var count: Int { actions.count }

    /// What an evaluator is shown.
    public var shown: ShownTrajectory { ShownTrajectory(totalReturn: totalReturn, myopicReturn: myopicReturn) }
}

extension Environment where State: Codable {
    /// Samples one episode with `actor` and records it.
    public func sampleTrajectory<A: PolicyActor>(_ actor: inout A, myopicDiscount: Double = 1,
                                                 using rng: inout Xoshiro256) -> Trajectory<State> where A.State == State {
        var states: [State] = [], actions: [Int] = [], rewards: [Double] = []
        states.reserveCapacity(horizon)
        var state = reset(using: &rng)
        var total = 0.0, myopic = 0.0, weight = 1.0
        for _ in 0..<horizon {
            let a = actor.action(in: state, using: &rng)
            let result = step(state, action: a, using: &rng)
            states.append(state)
            actions.append(a)
            rewards.append(result.reward)
            total += weight * result.reward
            myopic = myopicDiscount * myopic + result.reward
            weight *= discount
            if result.terminal { break }
            state = result.next
        }
        return Trajectory(states: states, actions: actions, rewards: rewards, totalReturn: total, myopicReturn: myopic)
    }
}
