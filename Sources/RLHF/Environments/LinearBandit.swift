/// A contextual bandit with linear rewards (spec §2, seed 000's "bandit problem with linear
/// rewards").
///
/// An episode is one step: a context s ∈ 0..<``contextCount`` is drawn from
/// ``contextDistribution`` at reset, the policy picks an action a ∈ 0..<``actionCount``, and the
/// reward is the deterministic r(s, a) = ⟨w, φ(s, a)⟩ with feature vectors φ(s, a) ∈ Rᵏ
/// (k = ``featureDimension``) and weights w ∈ Rᵏ. H = 1 and every step is terminal.
///
/// ## States and the exact model
///
/// The states are the contexts 0..<``contextCount`` plus ONE absorbing terminal state with index
/// ``terminalState`` = ``contextCount``, so ``stateCount`` = ``contextCount`` + 1. The reason is
/// the ``TabularMDP`` convention that entering a terminal state ends the episode: every step moves
/// to ``terminalState`` with probability 1 and reward r(s, a), so the simulator (whose
/// ``step(_:action:using:)`` reports `terminal: true`) and the model agree. The terminal state has
/// start probability 0 and is never acted in; its model rows are empty, like GridWorld's goal.
/// Consequently V(π) = Σ_s p(s) Σ_a π(a|s) r(s, a) and V* = Σ_s p(s) max_a r(s, a) come from
/// `model.value(policy:)` and `model.optimalValue`.
///
/// A tabular softmax policy over ``stateCount`` states has (``contextCount`` + 1)·|A|
/// parameters; the last |A| (the terminal state's) never affect the value and get zero gradient.
/// Zeroth-order methods that perturb all d coordinates spend part of each perturbation on them.
///
/// ## Features
///
/// Neural policies read φ(s, a) for all actions concatenated, φ(s, 0) ‖ φ(s, 1) ‖ …, so
/// ``featureCount`` = |A|·k; the terminal state's features are all zero. ``phi(_:_:)`` gives one
/// action's vector.
public struct LinearBandit: TabularEnvironment {
    /// Number of contexts (non-terminal states).
    public let contextCount: Int
    /// Number of actions, the same in every context.
    public let actionCount: Int
    /// Dimension k of the feature vectors φ(s, a).
    public let featureDimension: Int
    /// The reward weights w (k entries).
    public let weights: [Double]
    /// All feature vectors, φ(s, a)ᵢ at index (s·|A| + a)·k + i.
    public let featureTable: [Double]
    /// Probability of each context at reset (normalized; ``contextCount`` entries).
    public let contextDistribution: [Double]
    /// r(s, a) = ⟨w, φ(s, a)⟩ at index s·|A| + a.
    public let rewardTable: [Double]
    /// The exact model (``contextCount`` + 1 states, H = 1).
    public let model: TabularMDP
    /// Cumulative context probabilities, for sampling.
    @usableFromInline let cumulativeContext: [Double]
    /// Whether contexts are drawn uniformly (sampled by one bounded integer draw).
    @usableFromInline let uniformContexts: Bool

    /// Number of states: the contexts plus the absorbing terminal state.
    public var stateCount: Int { contextCount + 1 }
    /// Index of the absorbing terminal state that every step enters (= ``contextCount``).
    @inlinable public var terminalState: Int { contextCount }
    /// The horizon: one step.
    public var horizon: Int { 1 }
    /// Undiscounted (irrelevant with H = 1).
    public var discount: Double { 1 }
    /// |A|·k: φ(s, a) of all actions, concatenated.
    public var featureCount: Int { actionCount * featureDimension }

    /// Creates a bandit from explicit features and weights.
    ///
    /// - Parameters:
    ///   - features: `features[s][a]` is φ(s, a); at least one context and one action, every
    ///     vector of the same length k ≥ 1 and finite.
    ///   - weights: w, k finite entries.
    ///   - contextDistribution: non-negative finite weights of the contexts, normalized to sum to
    ///     1 (they must not all be zero); `nil` (the default) draws contexts uniformly.
    /// - Throws: ``RLHFError/invalidArgument(name:message:)`` naming the offending input.
    public init(features: [[[Double]]], weights: [Double], contextDistribution: [Double]? = nil) throws {
        let c = features.count
        try Validate.atLeast(c, 1, "number of contexts")
        let m = features[0].count
        try Validate.atLeast(m, 1, "number of actions")
        let k = weights.count
        try Validate.atLeast(k, 1, "feature dimension")
        for w in weights { try Validate.finite(w, "bandit weight") }
        var table = [Double]()
        table.reserveCapacity(c * m * k)
        for (s, row) in features.enumerated() {
            guard row.count == m else {
                throw RLHFError.invalidArgument(
                    name: "bandit features", message: "context \(s) has \(row.count) actions, context 0 has \(m)")
            }
            for (a, phi) in row.enumerated() {
                guard phi.count == k else {
                    throw RLHFError.invalidArgument(
                        name: "bandit features",
                        message: "φ(\(s), \(a)) has \(phi.count) entries, the weights have \(k)")
                }
                for x in phi { try Validate.finite(x, "bandit feature φ(\(s), \(a))") }
                table.append(contentsOf: phi)
            }
        }
        try self.init(contextCount: c, actionCount: m, featureDimension: k,
                      featureTable: table, weights: weights, contextDistribution: contextDistribution)
    }

    /// Creates a random bandit from `seed`.
    ///
    /// Our choice of generator: every entry of every φ(s, a) is an independent standard normal
    /// divided by √k (so E‖φ(s, a)‖² = 1), drawn context by context, action by action, with
    /// ``Xoshiro256/fillNormal(_:)``; then w is drawn uniformly from the unit sphere Sᵏ⁻¹ with
    /// ``Xoshiro256/fillUnitSphere(_:)``, both from one `Xoshiro256(seed: seed)`. Each reward
    /// ⟨w, φ(s, a)⟩ is then exactly N(0, 1/k) given w, independently over (s, a).
    ///
    /// - Parameters:
    ///   - contextCount: number of contexts, ≥ 1.
    ///   - actionCount: number of actions, ≥ 1.
    ///   - featureDimension: k ≥ 1.
    ///   - seed: the generator's seed; the same seed gives the same bandit.
    ///   - contextDistribution: as in ``init(features:weights:contextDistribution:)``.
    /// - Throws: ``RLHFError/invalidArgument(name:message:)`` for a bad size or distribution.
    public init(contextCount: Int, actionCount: Int, featureDimension: Int, seed: UInt64,
                contextDistribution: [Double]? = nil) throws {
        try Validate.atLeast(contextCount, 1, "number of contexts")
        try Validate.atLeast(actionCount, 1, "number of actions")
        try Validate.atLeast(featureDimension, 1, "feature dimension")
        try Validate.product([contextCount, actionCount, featureDimension], atMost: Limits.banditEntries,
                             "bandit size", "contexts × actions × features")
        var rng = Xoshiro256(seed: seed)
        var table = [Double](repeating: 0, count: contextCount * actionCount * featureDimension)
        table.withUnsafeMutableBufferPointer { rng.fillNormal($0) }
        let scale = 1 / Double(featureDimension).squareRoot()
        for i in table.indices { table[i] *= scale }
        let w = rng.unitSphere(dimension: featureDimension)
        try self.init(contextCount: contextCount, actionCount: actionCount, featureDimension: featureDimension,
                      featureTable: table, weights: w, contextDistribution: contextDistribution)
    }

    /// The shared initializer: sizes already validated, `featureTable` in the layout of
    /// ``featureTable``.
    init(contextCount c: Int, actionCount m: Int, featureDimension k: Int,
         featureTable: [Double], weights: [Double], contextDistribution: [Double]?) throws {
        // Context distribution: validate and normalize.
        var p: [Double]
        let uniform: Bool
        if let given = contextDistribution {
            guard given.count == c else {
                throw RLHFError.invalidArgument(
                    name: "context distribution", message: "has \(given.count) entries for \(c) contexts")
            }
            var total = 0.0
            for q in given {
                try Validate.nonNegative(q, "context probability")
                total += q
            }
            guard total > 0, total.isFinite else {
                throw RLHFError.invalidArgument(name: "context distribution", message: "weights sum to \(total)")
            }
            p = given.map { $0 / total }
            uniform = false
        } else {
            p = [Double](repeating: 1 / Double(c), count: c)
            uniform = true
        }
        var cumulative = [Double](repeating: 0, count: c)
        var acc = 0.0
        for s in 0..<c { acc += p[s]; cumulative[s] = acc }
        cumulative[c - 1] = 1

        // Rewards r(s, a) = ⟨w, φ(s, a)⟩.
        var rewards = [Double](repeating: 0, count: c * m)
        for j in 0..<(c * m) {
            var dot = 0.0
            for i in 0..<k { dot += weights[i] * featureTable[j * k + i] }
            rewards[j] = dot
        }

        // Exact model: contexts 0..<c, absorbing terminal state c; every step enters c.
        var transitions = [[[(next: Int, probability: Double, reward: Double)]]]()
        transitions.reserveCapacity(c + 1)
        for s in 0..<c {
            transitions.append((0..<m).map { a in [(next: c, probability: 1.0, reward: rewards[s * m + a])] })
        }
        transitions.append([[(next: Int, probability: Double, reward: Double)]](repeating: [], count: m))
        var isTerminal = [Bool](repeating: false, count: c + 1)
        isTerminal[c] = true
        p.append(0)
        self.model = TabularMDP(actionCount: m, horizon: 1, discount: 1, startDistribution: p,
                                isTerminal: isTerminal, transitions: transitions)
        p.removeLast()

        self.contextCount = c
        self.actionCount = m
        self.featureDimension = k
        self.weights = weights
        self.featureTable = featureTable
        self.contextDistribution = p
        self.rewardTable = rewards
        self.cumulativeContext = cumulative
        self.uniformContexts = uniform
    }

    /// The feature vector φ(`context`, `action`) (k entries).
    public func phi(_ context: Int, _ action: Int) -> [Double] {
        precondition(context >= 0 && context < contextCount, "context \(context) out of range")
        precondition(action >= 0 && action < actionCount, "action \(action) out of range")
        let base = (context * actionCount + action) * featureDimension
        return Array(featureTable[base..<(base + featureDimension)])
    }

    /// The reward r(`context`, `action`) = ⟨w, φ(context, action)⟩.
    @inlinable
    public func reward(_ context: Int, _ action: Int) -> Double {
        precondition(context >= 0 && context < contextCount, "context \(context) out of range")
        precondition(action >= 0 && action < actionCount, "action \(action) out of range")
        return rewardTable[context &* actionCount &+ action]
    }

    /// An action with the highest reward in `context` (the lowest index among ties).
    public func bestAction(_ context: Int) -> Int {
        var best = 0
        for a in 1..<actionCount where reward(context, a) > reward(context, best) { best = a }
        return best
    }

    /// Draws a context from ``contextDistribution`` (one bounded integer draw when uniform, one
    /// uniform draw otherwise).
    @inlinable
    public func reset(using rng: inout Xoshiro256) -> Int {
        if uniformContexts { return rng.index(below: contextCount) }
        return cumulativeContext.withUnsafeBufferPointer { rng.categorical(cumulative: $0) }
    }

    /// Plays `action` in context `state`: reward ⟨w, φ(state, action)⟩, always terminal, next
    /// state ``terminalState``. Draws no random numbers.
    ///
    /// - Precondition: `state` is a context (not ``terminalState``) and `action` is valid.
    @inlinable
    public func step(_ state: Int, action: Int, using rng: inout Xoshiro256) -> StepResult<Int> {
        StepResult(next: contextCount, reward: reward(state, action), terminal: true)
    }

    /// Writes φ(state, 0) ‖ … ‖ φ(state, |A|−1) (|A|·k values); zeros for ``terminalState``.
    public func features(of state: Int, into buffer: UnsafeMutableBufferPointer<Double>) {
        let n = featureCount
        if state == contextCount {
            for i in 0..<n { buffer[i] = 0 }
            return
        }
        precondition(state >= 0 && state < contextCount, "state \(state) out of range")
        let base = state * n
        featureTable.withUnsafeBufferPointer { t in
            for i in 0..<n { buffer[i] = t[base + i] }
        }
    }
}
