/// An explicit finite-horizon MDP: the exact model of a tabular environment (spec §1).
///
/// Transitions are stored in compressed rows: for each (state, action) pair a run of
/// successors with their probability and the reward of that transition r(s, a, s').
/// Terminal states end the episode on entry; their own rows are never used.
public struct TabularMDP: Sendable {
    /// Number of states.
    public let stateCount: Int
    /// Number of actions.
    public let actionCount: Int
    /// The horizon H.
    public let horizon: Int
    /// The discount γ.
    public let discount: Double
    /// Probability of starting in each state.
    public let startDistribution: [Double]
    /// Whether entering a state ends the episode.
    public let isTerminal: [Bool]
    /// Offsets into the successor arrays: the successors of pair `k = s·|A| + a` are
    /// `rowStart[k]..<rowStart[k+1]`.
    public let rowStart: [Int]
    /// Successor state of each transition.
    public let successor: [Int]
    /// Probability of each transition.
    public let probability: [Double]
    /// Reward r(s, a, s') of each transition.
    public let reward: [Double]

    /// Creates a model from per-pair successor lists `transitions[s][a] = [(next, p, r)]`.
    ///
    /// - Precondition: every list's probabilities sum to 1 (within 1e-9) for non-terminal states.
    public init(
        actionCount: Int, horizon: Int, discount: Double = 1,
        startDistribution: [Double], isTerminal: [Bool],
        transitions: [[[(next: Int, probability: Double, reward: Double)]]]
    ) {
        let n = startDistribution.count
        precondition(horizon >= 1, "the horizon must be at least 1")
        precondition(isTerminal.count == n && transitions.count == n, "inconsistent state counts")
        var rowStart = [0], successor = [Int](), probability = [Double](), reward = [Double]()
        for s in 0..<n {
            precondition(transitions[s].count == actionCount, "state \(s) lacks actions")
            for a in 0..<actionCount {
                var total = 0.0
                for t in transitions[s][a] {
                    successor.append(t.next); probability.append(t.probability); reward.append(t.reward)
                    total += t.probability
                }
                precondition(isTerminal[s] || abs(total - 1) < 1e-9, "probabilities of (\(s), \(a)) sum to \(total)")
                rowStart.append(successor.count)
            }
        }
        self.stateCount = n
        self.actionCount = actionCount
        self.horizon = horizon
        self.discount = discount
        self.startDistribution = startDistribution
        self.isTerminal = isTerminal
        self.rowStart = rowStart
        self.successor = successor
        self.probability = probability
        self.reward = reward
    }

    /// Number of policy parameters of a tabular softmax policy, |S|·|A|.
    public var tabularDimension: Int { stateCount * actionCount }

    /// Expected immediate reward r(s, a) = Σ_{s'} P(s'|s,a) r(s,a,s'), indexed s·|A| + a.
    public var expectedReward: [Double] {
        var r = [Double](repeating: 0, count: stateCount * actionCount)
        for k in 0..<r.count {
            var acc = 0.0
            for j in rowStart[k]..<rowStart[k + 1] { acc += probability[j] * reward[j] }
            r[k] = acc
        }
        return r
    }
}
