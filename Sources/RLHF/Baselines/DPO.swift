/// The policy whose log-probabilities DPO's log-ratios are measured against.
public enum DPOReference: String, Sendable, Equatable, Codable, CaseIterable {
    /// π_ref = the initial policy, for the whole run (offline DPO always uses it).
    case initial
    /// π_ref = the policy at the start of the round, i.e. the result of the previous round, which
    /// is also the policy the round's pairs were sampled from (online DPO only).
    case previousRound = "previous-round"

    /// Reads the name, and `previousRound`, as files written before the name was
    /// `previous-round` spell it.
    public init(from decoder: Decoder) throws {
        let name = try decoder.singleValueContainer().decode(String.self)
        guard let r = DPOReference(rawValue: name == "previousRound" ? "previous-round" : name) else {
            throw DecodingError.dataCorrupted(.init(codingPath: decoder.codingPath,
                debugDescription: "unknown DPO reference '\(name)' (known: initial, previous-round)"))
        }
        self = r
    }
}

/// Hyperparameters of DPO and online DPO (spec §6), with their defaults.
///
/// ``init()`` gives the values tuned for ONLINE DPO, ``offlineTuned`` those for offline DPO.
/// Both were tuned on `classic` (one-hot features, tabular softmax from the uniform policy,
/// Bradley-Terry feedback with s = 1 and M = 10 evaluators) at 5·10³ … 10⁶ queries, median of
/// 3–5 seeds. Tried: β from 0.001 to 3, learning rates 0.003 … 0.3, minibatches of 32 … 512
/// pairs, 1 … 150 epochs, 50 … 400 pairs a round, both references, constant and decaying
/// learning rates.
/// - Small β wins in both modes. Offline, β ≥ 0.1 stops at ≈ 0.2 normalized value whatever the
///   optimization; at small β the loss's minimizer lies far out and the optimization's reach
///   (step size × steps, ended by the learning-rate decay) is the regularizer, so offline DPO
///   wants a larger learning rate than online DPO.
/// - Online with the initial policy as reference, β = 0.3 stalls at ≈ 0.24 and β = 0.1 reaches
///   ≈ 0.83 at 10⁵ queries where β = 0.01 reaches ≈ 0.99; with the previous round as reference β
///   hardly matters (0.01 … 1 all ≈ 0.98).
/// - Too much optimization per round (learning rate 0.1, β = 0.003, or the previous round as
///   reference with 8 epochs at small budgets) now and then collapses online DPO to a
///   deterministic policy that bumps into a wall forever (≈ 0.15): once both trajectories of a
///   pair are the same, the labels carry no signal.
/// - Online, Adam's ε is 10⁻⁴ (not the usual 10⁻⁸) and the learning rate decays as 1/√t
///   (issue 12 item 19). Before, online DPO collapsed late on single seeds at slip ≥ 0.3 (seed 4
///   at slip 0.3: 0.998 after 8·10⁵ queries, 0.41 one round later, 0.34 at the end; 7 of 10 seeds
///   lost ≥ 0.4 at some point, at slip 0.5 9 of 10 lost ≥ 0.18). Cause: once π(·|s) is nearly
///   deterministic, the gradient of the state's logits is ∝ 1 − π(a|s) and carries only the
///   pairs' noise (both trajectories take the same action there and differ in how often they
///   visit s, a matter of slips), yet Adam divides it by its own tiny √v and steps the logits by
///   ≈ the learning rate anyway; the 8 passes over a round's pairs make the noise point the same
///   way 32 steps in a row, so the logits random-walk by ≈ 1 a round (5 in that round) until
///   another action wins, and the flipped state is saturated again, with no signal to flip it
///   back. An ε above such gradients (≈ 10⁻⁶ … 10⁻⁵ at β = 0.01; the gradient scales with β)
///   gives them plain gradient-descent steps, which barely move a saturated state; the decay
///   shrinks what noise still gets through as the on-policy labels approach coin flips. ε = 10⁻³
///   alone was as stable but slowed the start (10⁴ queries: ≈ 0.2 instead of ≈ 0.95); 10⁻⁴ alone
///   still collapsed now and then at slip 0.5; a constant learning rate of 0.01 only slows the
///   walk down. Gradient clipping cannot help: these gradients are tiny.
public struct DPOHyperparameters: Sendable, Equatable, Codable {
    /// β, the inverse temperature of the implicit reward β·log(π/π_ref).
    public var beta: Double = 0.01
    /// Adam's learning rate.
    public var learningRate: Double = 0.03
    /// Online: passes over each round's fresh pairs.
    public var epochs: Int = 8
    /// Offline: passes over the dataset, one per iteration (so the run has this many iterations).
    /// With the decaying learning rate, 40 is where offline DPO levels off on `classic`.
    public var offlineEpochs: Int = 40
    /// Pairs per minibatch (one Adam step each).
    public var batchSize: Int = 32
    /// Online: fresh pairs sampled from the current policy and labeled per round (M queries each).
    public var pairsPerRound: Int = 100
    /// Online: the reference policy (offline DPO always uses the initial policy).
    public var reference: DPOReference = .initial
    /// Offline: the most pairs to buy (nil: as many as the budget pays for, budget / M).
    public var maxOfflinePairs: Int? = nil
    /// Adam's global gradient-norm clip (nil: none).
    public var maxGradientNorm: Double? = 10
    /// Adam's ε, added to √v before dividing: gradients much smaller than it get plain gradient
    /// descent steps (learningRate·g/ε) instead of steps of ≈ learningRate whatever their size.
    /// 10⁻⁴ online, so that the vanishing, noise-only gradient of a nearly deterministic state
    /// cannot flip its action (see above); offline DPO, tuned with 10⁻⁸, keeps that.
    public var adamEpsilon: Double = 1e-4
    /// Online: round t uses learningRate/√(1 + t/learningRateDecayRounds), so that the noise of
    /// late rounds, when the labels of on-policy pairs are close to coin flips, moves the policy
    /// less and less (nil: constant). 100 rounds (10⁵ queries at M = 10) hardly slows the start.
    public var learningRateDecayRounds: Double? = 100
    /// Offline: the learning rate decays linearly over the epochs, from ``learningRate`` in the
    /// first towards ``learningRate``·finalLearningRateFraction at the end of the last (epoch e
    /// of E uses learningRate·(1 − (e/E)(1 − fraction)); 1: constant). Online DPO uses
    /// ``learningRateDecayRounds`` instead (the budget, not a schedule, ends its run). Decaying to 0 lifted
    /// offline DPO on `classic` from ≈ 0.32 to ≈ 0.38 normalized value at 10⁵ queries.
    public var finalLearningRateFraction: Double = 0

    /// The defaults, tuned for online DPO.
    public init() {}

    /// The defaults with β = 0.003, learning rate 0.1 and Adam's ε = 10⁻⁸, tuned for offline DPO:
    /// on `classic` at 10⁵ queries they reach ≈ 0.44 normalized value where ``init()``'s β and
    /// learning rate reach ≈ 0.38 (β = 0.001 or learning rate 0.3 were no better beyond seed
    /// noise; online DPO with them collapses more often).
    public static var offlineTuned: DPOHyperparameters {
        var h = DPOHyperparameters()
        h.beta = 0.003
        h.learningRate = 0.1
        h.adamEpsilon = 1e-8
        return h
    }

    /// Throws ``RLHFError/invalidArgument(name:message:)`` on non-finite, negative or zero values.
    public func validate() throws {
        try Validate.positive(beta, "DPO beta")
        try Validate.positive(learningRate, "DPO learning rate")
        try Validate.atLeast(epochs, 1, "DPO epochs per round")
        try Validate.atLeast(offlineEpochs, 1, "DPO offline epochs")
        try Validate.atLeast(batchSize, 1, "DPO batch size")
        try Validate.atLeast(pairsPerRound, 1, "DPO pairs per round")
        if let cap = maxOfflinePairs { try Validate.atLeast(cap, 1, "DPO offline pair cap") }
        if let c = maxGradientNorm { try Validate.positive(c, "DPO gradient clip") }
        if let r = learningRateDecayRounds { try Validate.positive(r, "DPO learning-rate decay rounds") }
        try Validate.positive(adamEpsilon, "DPO Adam epsilon")
        try Validate.inRange(finalLearningRateFraction, 0...1, "DPO final learning-rate fraction")
    }
}

extension DPOHyperparameters {
    /// Reads the synthesized form; a file written before ``adamEpsilon`` and
    /// ``learningRateDecayRounds`` existed (a study's `run.json`, a summary) reads as the
    /// settings that ran then: ε = 10⁻⁸ and a constant learning rate.
    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        self.init()
        beta = try c.decode(Double.self, forKey: .beta)
        learningRate = try c.decode(Double.self, forKey: .learningRate)
        epochs = try c.decode(Int.self, forKey: .epochs)
        offlineEpochs = try c.decode(Int.self, forKey: .offlineEpochs)
        batchSize = try c.decode(Int.self, forKey: .batchSize)
        pairsPerRound = try c.decode(Int.self, forKey: .pairsPerRound)
        reference = try c.decode(DPOReference.self, forKey: .reference)
        maxOfflinePairs = try c.decodeIfPresent(Int.self, forKey: .maxOfflinePairs)
        maxGradientNorm = try c.decodeIfPresent(Double.self, forKey: .maxGradientNorm)
        adamEpsilon = try c.decodeIfPresent(Double.self, forKey: .adamEpsilon) ?? 1e-8
        learningRateDecayRounds = try c.decodeIfPresent(Double.self, forKey: .learningRateDecayRounds)
        finalLearningRateFraction = try c.decode(Double.self, forKey: .finalLearningRateFraction)
    }
}

/// The DPO loss of one labeled pair as a function of the log-ratio difference h (spec §6).
public enum DPOLoss {
    /// L(h) = −[p̂ log σ(βh) + (1 − p̂) log σ(−βh)], computed without overflow.
    ///
    /// - Parameters:
    ///   - h: (log π(τ1) − log π_ref(τ1)) − (log π(τ0) − log π_ref(τ0)).
    ///   - label: p̂, the fraction of evaluators preferring τ1.
    ///   - beta: β.
    public static func value(h: Double, label: Double, beta: Double) -> Double {
        -(label * Loss.logSigmoid(beta * h) + (1 - label) * Loss.logSigmoid(-beta * h))
    }

    /// dL/dh = β(σ(βh) − p̂).
    public static func derivative(h: Double, label: Double, beta: Double) -> Double {
        beta * (Loss.sigmoid(beta * h) - label)
    }
}

/// A minibatch of pairs laid out for one batched forward pass: the steps of τ0 then τ1 of each
/// pair, row after row, their executed actions flat (an index, or the box's coordinates, a step).
/// Its arrays keep their capacity, so reusing it allocates nothing.
struct DPOBatch<Policy: DPOPolicy> {
    /// One row of features per step.
    var features: [Double] = []
    /// The executed action of every step, flat.
    var actions: [Policy.ActionValue] = []
    /// T(τ0), T(τ1) of every pair.
    var lengths: [Int] = []
    /// p̂ of every pair.
    var labels: [Double] = []
    /// log π_ref(τ0), log π_ref(τ1) of every pair.
    var references: [Double] = []
    /// log π(a|s) of every step (filled by the forward pass).
    var stepLogProbabilities: [Double] = []
    /// The weight of every step's ∇ log π(a|s) in the gradient.
    var weights: [Double] = []
    /// Steps in the batch (Σ of ``lengths``).
    var rowCount = 0
    /// Of the last loss evaluation: Σ of the implicit-reward margins β·h toward the preferred
    /// trajectory, pairs with a preference (p̂ ≠ ½), and of those the ones whose margin is positive.
    var marginSum = 0.0, decidedPairs = 0, agreeingPairs = 0

    /// Number of pairs.
    var pairCount: Int { labels.count }

    /// Empties the batch, keeping its capacity.
    mutating func removeAll() {
        features.removeAll(keepingCapacity: true)
        actions.removeAll(keepingCapacity: true)
        lengths.removeAll(keepingCapacity: true)
        labels.removeAll(keepingCapacity: true)
        references.removeAll(keepingCapacity: true)
        rowCount = 0
    }

    /// Appends one trajectory's steps, reading each state's features from `env`.
    mutating func append<E: EpisodicEnvironment>(_ trajectory: Trajectory<E.State>, env: E) {
        let f = env.featureCount
        let start = features.count
        features.append(contentsOf: repeatElement(0, count: trajectory.count * f))
        features.withUnsafeMutableBufferPointer { x in
            for (t, s) in trajectory.states.enumerated() {
                let row = start + t * f
                env.features(of: s, into: UnsafeMutableBufferPointer(rebasing: x[row..<(row + f)]))
            }
        }
        Policy.appendExecutedActions(of: trajectory, to: &actions)
        lengths.append(trajectory.count)
        rowCount += trajectory.count
    }

    /// Appends a pair: τ0's steps, τ1's steps, the label and the reference log-probabilities.
    mutating func append<E: EpisodicEnvironment>(_ pair: PreferencePair<E.State>, references r0: Double, _ r1: Double, env: E) {
        append(pair.first, env: env)
        append(pair.second, env: env)
        labels.append(pair.label)
        references.append(r0)
        references.append(r1)
    }

    /// log π(τ) of every trajectory of the batch (2 per pair) under `parameters` (the policy's
    /// own when nil), from one batched forward pass.
    mutating func trajectoryLogProbabilities(policy: Policy, workspace: Policy.Workspace,
                                             parameters: UnsafeBufferPointer<Double>? = nil) -> [Double] {
        forwardSteps(policy: policy, workspace: workspace, parameters: parameters)
        var result = [Double](repeating: 0, count: lengths.count)
        var row = 0
        for (k, t) in lengths.enumerated() {
            for _ in 0..<t { result[k] += stepLogProbabilities[row]; row += 1 }
        }
        return result
    }

    /// Fills ``stepLogProbabilities`` with one forward pass over every step.
    mutating func forwardSteps(policy: Policy, workspace: Policy.Workspace, parameters: UnsafeBufferPointer<Double>? = nil) {
        let rows = rowCount
        if stepLogProbabilities.count < rows {
            stepLogProbabilities.append(contentsOf: repeatElement(0, count: rows - stepLogProbabilities.count))
        }
        features.withUnsafeBufferPointer { x in
            actions.withUnsafeBufferPointer { a in
                stepLogProbabilities.withUnsafeMutableBufferPointer { out in
                    policy.executedLogProbabilities(features: x, actions: a, workspace: workspace,
                                                    into: UnsafeMutableBufferPointer(rebasing: out[0..<rows]), parameters: parameters)
                }
            }
        }
    }
}

extension DPOBatch where Policy.ActionValue == Int {
    /// Appends already featurized trajectories (tests).
    mutating func append(_ pair: FeaturizedPair, references r0: Double, _ r1: Double) {
        for t in [pair.first, pair.second] {
            features.append(contentsOf: t.features)
            actions.append(contentsOf: t.actions)
            lengths.append(t.count)
            rowCount += t.count
        }
        labels.append(pair.label)
        references.append(r0)
        references.append(r1)
    }
}

/// DPO, direct preference optimization (spec §6), offline or online, paying for its labels
/// through the same ``QueryLedger`` as ZPG.
///
/// Loss of a pair (τ0, τ1) with soft label p̂ (the fraction of the M evaluators preferring τ1):
///   L = −[p̂ log σ(βh) + (1 − p̂) log σ(−βh)],
///   h = (log π_θ(τ1) − log π_ref(τ1)) − (log π_θ(τ0) − log π_ref(τ0)),  log π(τ) = Σ_t log π(a_t|s_t),
/// so ∇_θ L = β(σ(βh) − p̂)·(∇ log π_θ(τ1) − ∇ log π_θ(τ0)). The mean loss of a minibatch is
/// minimized by Adam; all the steps of a minibatch go through one forward pass.
///
/// - **Offline** (`online: false`): iteration 0 buys as many pairs as the budget pays for
///   (budget / M, or ``DPOHyperparameters/maxOfflinePairs``), both trajectories from the
///   initial policy, labeled once; every iteration (0 included) is one epoch of minibatch Adam
///   on them against π_ref = the initial policy. Later iterations cost nothing, and the run has
///   ``DPOHyperparameters/offlineEpochs`` iterations.
/// - **Online** (`online: true`): every iteration is a round: ``DPOHyperparameters/pairsPerRound``
///   fresh pairs from the current policy (pairsPerRound·M queries), then
///   ``DPOHyperparameters/epochs`` passes over this round's pairs against π_ref = the initial
///   policy or the round's starting policy (``DPOHyperparameters/reference``). The budget ends it.
///
/// Randomness: pair n of round t is drawn from stream (seed, t, n) (rollouts and answers), the
/// minibatch order of pass e of round t from stream (seed, t, ``shuffleStream``, e). The Adam state
/// persists across rounds.
public struct DPO<E: EpisodicEnvironment, Policy: DPOPolicy>: PreferenceOptimizer
where E.Action == Policy.Action, E.State: Codable & Sendable {
    /// The hyperparameters.
    public let hyper: DPOHyperparameters
    /// The environment rollouts run in.
    public let env: E
    /// The model of the evaluators (M, link, teacher).
    public let panel: EvaluatorPanel
    /// Who answers the comparisons: the panel itself unless another source is given (it gives
    /// the panel's M answers a pair).
    public let source: any PreferenceSource
    /// The run's seed.
    public let seed: UInt64
    /// Online DPO (fresh pairs from the current policy every round) or offline DPO.
    public let online: Bool
    /// The query budget the run was planned for (it sizes the offline dataset).
    public let budget: Int
    /// Segment length L of the labelled pairs (nil: whole trajectories); DPO then trains on
    /// the segments' log-ratios.
    public let segmentLength: Int?
    /// The policy π_θ being trained.
    public private(set) var policy: Policy
    /// The initial θ (the reference of offline DPO and of online DPO with ``DPOReference/initial``).
    public let initialParameters: [Double]
    /// Pairs offline DPO buys at iteration 0 (at least 1, so that a budget below M is reported
    /// as too small by the training loop).
    public let offlinePairs: Int
    /// The Adam state.
    public private(set) var optimizer: Adam
    /// The mean minibatch loss of the last pass (NaN before the first).
    public private(set) var lastLoss: Double = .nan
    /// Per pass over the pairs (means over the pass's minibatches, before each step):
    /// `dpo_loss`; `reward_margin`, the mean implicit-reward margin β·h toward the preferred
    /// trajectory of the pairs with a preference (TRL's rewards/margins); `reward_accuracy`, the
    /// share of those with a positive margin (TRL's rewards/accuracies).
    var diagnostics = DiagnosticAccumulator()

    /// The judged pairs trained on (offline: the whole dataset; online: this round's).
    var pairs: [PreferencePair<E.State>] = []
    /// log π_ref(τ0), log π_ref(τ1) of every pair in ``pairs``.
    var references: [Double] = []
    let workspace: Policy.Workspace
    var batch = DPOBatch<Policy>()

    /// Second coordinate of the minibatch-order streams (pairs use (t, n), two coordinates only).
    public static var shuffleStream: UInt64 { 0x5348_5546 }
    /// Pairs per chunk when reference log-probabilities are computed.
    static var referenceChunk: Int { 256 }

    /// Creates the optimizer for `policy` (its current parameters are the initial θ). Pass
    /// ``DPOHyperparameters/init()`` for online DPO and ``DPOHyperparameters/offlineTuned`` for
    /// offline DPO.
    ///
    /// - Parameter budget: the run's query budget; offline DPO spends it all (up to the pair cap)
    ///   at iteration 0.
    public init(env: E, policy: Policy, panel: EvaluatorPanel, hyper: DPOHyperparameters,
                seed: UInt64, online: Bool, budget: Int, segmentLength: Int? = nil,
                source: (any PreferenceSource)? = nil) throws {
        try hyper.validate()
        self.source = try checkedSource(source, panel: panel)
        try Validate.atLeast(budget, 1, "query budget", atMost: Limits.budget)
        if let l = segmentLength { try Validate.atLeast(l, 1, "segment length", atMost: Limits.horizon) }
        self.segmentLength = segmentLength
        precondition(policy.featureCount == env.featureCount && policy.mismatch(with: env.actionSpace) == nil,
                     "the policy network does not fit the environment's features and actions")
        self.env = env
        self.policy = policy
        self.panel = panel
        self.hyper = hyper
        self.seed = seed
        self.online = online
        self.budget = budget
        initialParameters = policy.parameters
        offlinePairs = max(1, min(hyper.maxOfflinePairs ?? Int.max, budget / panel.queriesPerPair))
        optimizer = Adam(parameterCount: policy.parameterCount, learningRate: hyper.learningRate,
                         epsilon: hyper.adamEpsilon, maxGradientNorm: hyper.maxGradientNorm)
        workspace = policy.makeWorkspace(capacity: 1024)
    }

    /// θ, the policy network's flat parameters.
    public var parameters: [Double] {
        get { policy.parameters }
        set { policy.parameters = newValue }
    }

    /// Offline: the dataset's cost at iteration 0, nothing after. Online: pairsPerRound·M per round.
    public func queries(forIteration t: Int) -> Int {
        if online { return hyper.pairsPerRound * panel.queriesPerPair }
        return t == 0 ? offlinePairs * panel.queriesPerPair : 0
    }

    /// Offline: ``DPOHyperparameters/offlineEpochs`` iterations. Online: none (the budget ends the run).
    public var iterationLimit: Int? { online ? nil : hyper.offlineEpochs }

    public mutating func iterate(_ t: Int, ledger: inout QueryLedger) throws -> Int {
        var steps = 0
        // Buy pairs (offline: once; online: every round) from the current policy.
        if online || t == 0 {
            steps = try collectPairs(online ? hyper.pairsPerRound : offlinePairs, round: t, ledger: &ledger)
            computeReferences()
        }
        // Minimize the DPO loss on them (offline: at this epoch's point of the linear decay;
        // online: at this round's point of the 1/√t decay).
        if online {
            optimizer.learningRate = hyper.learningRate / (1 + Double(t) / (hyper.learningRateDecayRounds ?? .infinity)).squareRoot()
        } else {
            let progress = min(1, Double(t) / Double(hyper.offlineEpochs))
            optimizer.learningRate = hyper.learningRate * (1 - progress * (1 - hyper.finalLearningRateFraction))
        }
        for e in 0..<(online ? hyper.epochs : 1) {
            lastLoss = trainEpoch(round: t, pass: e)
            guard lastLoss.isFinite || pairs.isEmpty else {
                throw RLHFError.diverged(iteration: t, message: "the DPO loss is \(lastLoss)")
            }
        }
        return steps
    }

    /// Replaces ``pairs`` by `count` pairs sampled from the current policy and judged by the panel
    /// (pair n from stream (seed, round, n)); returns the environment steps taken.
    mutating func collectPairs(_ count: Int, round t: Int, ledger: inout QueryLedger) throws -> Int {
        var data = PreferenceDataset<E.State>()
        let steps = try policy.collectPairs(count, into: &data, env: env, panel: panel, source: source,
                                            name: online ? "online-dpo" : "dpo", ledger: &ledger, seed: seed,
                                            stream: UInt64(t), segmentLength: segmentLength)
        pairs = data.pairs
        return steps
    }

    /// log π_ref of both trajectories of every pair, in chunks of batched forward passes.
    mutating func computeReferences() {
        let referenceParameters = (online && hyper.reference == .previousRound) ? policy.parameters : initialParameters
        references = [Double](repeating: 0, count: 2 * pairs.count)
        var start = 0
        while start < pairs.count {
            let end = min(start + Self.referenceChunk, pairs.count)
            batch.removeAll()
            for k in start..<end { batch.append(pairs[k], references: 0, 0, env: env) }
            let logp = referenceParameters.withUnsafeBufferPointer {
                batch.trajectoryLogProbabilities(policy: policy, workspace: workspace, parameters: $0)
            }
            for i in 0..<logp.count { references[2 * start + i] = logp[i] }
            start = end
        }
    }

    /// One pass of minibatch Adam over ``pairs`` in the order of stream (seed, round, shuffleStream,
    /// pass); returns the mean of the minibatch losses (before each step).
    mutating func trainEpoch(round t: Int, pass e: Int) -> Double {
        var rng = Xoshiro256(seed: seed, stream: UInt64(t), Self.shuffleStream, UInt64(e))
        let order = rng.permutation(pairs.count)
        var total = 0.0, batches = 0
        var margins = 0.0, decided = 0, agreeing = 0
        var start = 0
        while start < order.count {
            let end = min(start + hyper.batchSize, order.count)
            batch.removeAll()
            for k in order[start..<end] {
                batch.append(pairs[k], references: references[2 * k], references[2 * k + 1], env: env)
            }
            total += Self.lossAndGradient(&batch, policy: &policy, beta: hyper.beta, workspace: workspace)
            margins += batch.marginSum
            decided += batch.decidedPairs
            agreeing += batch.agreeingPairs
            policy.step(&optimizer)
            batches += 1
            start = end
        }
        let loss = batches > 0 ? total / Double(batches) : .nan
        diagnostics.add("dpo_loss", loss)
        diagnostics.add("reward_margin", decided > 0 ? margins / Double(decided) : .nan)
        diagnostics.add("reward_accuracy", decided > 0 ? Double(agreeing) / Double(decided) : .nan)
        return loss
    }

    public mutating func takeDiagnostics() -> [Diagnostic] { diagnostics.take() }

    /// The mean DPO loss of `batch` under `policy`; its gradient is written into the policy
    /// network's ``MLP/gradients`` (which are zeroed first).
    ///
    /// One forward pass gives log π(a|s) of every step and so h of every pair; then every step of
    /// τ1 is weighted by g = (dL/dh)/n and every step of τ0 by −g, and one backward pass adds
    /// Σ_i w_i ∇ log π(a_i|s_i) = ∇ of the mean loss.
    static func lossAndGradient(_ batch: inout DPOBatch<Policy>, policy: inout Policy, beta: Double,
                                workspace: Policy.Workspace) -> Double {
        policy.zeroGradients()
        let n = batch.pairCount
        guard n > 0 else { return .nan }
        batch.forwardSteps(policy: policy, workspace: workspace)
        batch.weights.removeAll(keepingCapacity: true)
        batch.marginSum = 0
        batch.decidedPairs = 0
        batch.agreeingPairs = 0
        var loss = 0.0, row = 0
        for k in 0..<n {
            let t0 = batch.lengths[2 * k], t1 = batch.lengths[2 * k + 1]
            var logp0 = 0.0, logp1 = 0.0
            for i in row..<(row + t0) { logp0 += batch.stepLogProbabilities[i] }
            for i in (row + t0)..<(row + t0 + t1) { logp1 += batch.stepLogProbabilities[i] }
            let h = (logp1 - batch.references[2 * k + 1]) - (logp0 - batch.references[2 * k])
            let label = batch.labels[k]
            if label != 0.5 {
                let margin = beta * h * (label > 0.5 ? 1 : -1)
                batch.marginSum += margin
                batch.decidedPairs += 1
                if margin > 0 { batch.agreeingPairs += 1 }
            }
            loss += DPOLoss.value(h: h, label: label, beta: beta)
            let g = DPOLoss.derivative(h: h, label: label, beta: beta) / Double(n)
            batch.weights.append(contentsOf: repeatElement(-g, count: t0))
            batch.weights.append(contentsOf: repeatElement(g, count: t1))
            row += t0 + t1
        }
        batch.features.withUnsafeBufferPointer { x in
            batch.actions.withUnsafeBufferPointer { a in
                batch.weights.withUnsafeBufferPointer { w in
                    policy.accumulateExecutedLogProbabilityGradient(features: x, actions: a, weights: w, workspace: workspace)
                }
            }
        }
        return loss / Double(n)
    }
}
