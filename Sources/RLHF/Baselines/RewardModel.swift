/// Hyperparameters of reward-model fitting, with their defaults.
public struct RewardModelHyperparameters: Sendable, Equatable, Codable {
    /// Hidden widths of the reward network ([] = linear in the features; with one-hot GridWorld
    /// features that is a tabular reward).
    public var hidden: [Int] = [64, 64]
    /// Adam's learning rate.
    public var learningRate: Double = 1e-3
    /// Passes over the data per fit (a fit from scratch: offline RM + PPO's one fit, online RM +
    /// PPO's first; and every online refit when ``stepsPerRound`` is nil).
    public var epochs: Int = 20
    /// Online RM + PPO's refits after the first: at most this many Adam steps per round, each on
    /// ``batchSize`` pairs drawn uniformly (with replacement) from a replay of every training
    /// pair so far, continuing from the previous round's φ and Adam state. A round makes as many
    /// steps as ``epochs`` passes over the replay would (the former refit's work while the data
    /// are few), capped here, so a round's reward-model work stops growing with the data and a
    /// run's cost grows linearly with its rounds.
    /// nil: ``epochs`` passes over all the pairs so far every round (the refit before issue 13,
    /// whose cost grows with the data, quadratically in the budget over a fixed-round run; also
    /// what a settings file written before this field existed ran). Offline RM + PPO and the
    /// other users of the reward model ignore it. RM + PPO's default:
    /// ``RewardModelPPOHyperparameters/defaultRewardModel``.
    public var stepsPerRound: Int? = nil
    /// Pairs per minibatch.
    public var batchSize: Int = 32
    /// Fraction of pairs held out for validation.
    public var validationFraction: Double = 0.1
    /// Global gradient-norm clip.
    public var maxGradientNorm: Double? = 10
    /// Discount γ applied to rewards in learned returns (1 for finite-horizon tasks).
    public var discount: Double = 1

    /// The defaults.
    public init() {}

    /// Throws on bad values.
    public func validate() throws {
        for h in hidden { try Validate.atLeast(h, 1, "reward hidden width", atMost: Limits.layerWidth) }
        try Validate.positive(learningRate, "reward learning rate")
        try Validate.atLeast(epochs, 1, "reward epochs")
        if let n = stepsPerRound { try Validate.atLeast(n, 1, "reward steps per round", atMost: Limits.count) }
        try Validate.atLeast(batchSize, 1, "reward batch size")
        try Validate.inRange(validationFraction, 0...0.9, "validation fraction")
        if let c = maxGradientNorm { try Validate.positive(c, "reward gradient clip") }
        try Validate.inRange(discount, 0...1, "reward discount")
    }
}

/// How well a fitted reward model explains preferences.
public struct RewardFitReport: Sendable, Equatable, Codable {
    /// Pairs trained on and held out.
    public var trainPairs: Int
    public var validationPairs: Int
    /// Mean Bradley-Terry cross-entropy with the soft labels, after fitting.
    public var trainLoss: Double
    public var validationLoss: Double
    /// Fraction of pairs whose learned return difference has the sign of the TRUE return
    /// difference (pairs with equal true returns left out): does the model recover the true
    /// reward's preferences?
    public var trainAccuracy: Double
    public var validationAccuracy: Double
    /// Adam steps the fit made.
    public var steps: Int = 0
}

/// A learned reward r_φ(s, a) (spec §6): an MLP from the state's features to one output per
/// action, r_φ(s, a) = MLP_φ(φ(s))_a, fitted by Bradley-Terry cross-entropy on learned return
/// differences R_φ(τ1) − R_φ(τ0) = Σ_t γ^t r_φ(s¹_t, a¹_t) − Σ_t γ^t r_φ(s⁰_t, a⁰_t) against
/// the panels' soft labels p̂.
public struct RewardModel: Sendable {
    /// The network (its parameters are φ).
    public var network: MLP
    /// The hyperparameters.
    public let hyper: RewardModelHyperparameters
    /// Adam state, kept across fits (the model is refitted as data arrives).
    public var optimizer: Adam

    /// A reward model for `featureCount` features and `actionCount` actions, initialized from `rng`.
    public init(featureCount: Int, actionCount: Int, hyper: RewardModelHyperparameters = .init(),
                using rng: inout Xoshiro256) {
        self.hyper = hyper
        network = MLP(inputSize: featureCount, hidden: hyper.hidden, outputSize: actionCount, activation: .relu,
                      using: &rng)
        optimizer = Adam(parameterCount: network.parameterCount, learningRate: hyper.learningRate,
                         maxGradientNorm: hyper.maxGradientNorm)
    }

    /// r_φ(s, a) for every step of `trajectory`, into an array.
    public func rewards(_ trajectory: FeaturizedTrajectory, workspace: MLPWorkspace? = nil) -> [Double] {
        let ws = workspace ?? MLPWorkspace(for: network, capacity: max(trajectory.count, 1))
        let out = trajectory.features.withUnsafeBufferPointer { network.forward($0, batch: trajectory.count, workspace: ws) }
        let m = network.outputSize
        return trajectory.actions.enumerated().map { out[$0.offset * m + $0.element] }
    }

    /// R_φ(τ) = Σ_t γ^t r_φ(s_t, a_t).
    public func learnedReturn(_ trajectory: FeaturizedTrajectory, workspace: MLPWorkspace? = nil) -> Double {
        var total = 0.0, w = 1.0
        for r in rewards(trajectory, workspace: workspace) { total += w * r; w *= hyper.discount }
        return total
    }

    /// Mean loss and true-preference accuracy on `pairs` without changing the model.
    public func assess(_ pairs: [FeaturizedPair]) -> (loss: Double, accuracy: Double) {
        guard !pairs.isEmpty else { return (.nan, .nan) }
        let ws = MLPWorkspace(for: network, capacity: 64)
        var loss = 0.0, agree = 0, counted = 0
        for p in pairs {
            let delta = learnedReturn(p.second, workspace: ws) - learnedReturn(p.first, workspace: ws)
            loss -= p.label * Loss.logSigmoid(delta) + (1 - p.label) * Loss.logSigmoid(-delta)
            let truth = p.second.trueReturn - p.first.trueReturn
            if truth != 0 {
                counted += 1
                if (delta > 0) == (truth > 0) && delta != 0 { agree += 1 }
            }
        }
        return (loss / Double(pairs.count), counted > 0 ? Double(agree) / Double(counted) : .nan)
    }

    /// One Adam step on the mean Bradley-Terry loss of `batch`; returns the loss before the step.
    ///
    /// All steps of all trajectories of the batch go through one forward and one backward pass:
    /// dL/dΔ = σ(Δ) − y per pair, spread to the chosen action's output at each step with weight
    /// ±γ^t / |batch|.
    @discardableResult
    public mutating func step(on batch: ArraySlice<FeaturizedPair>, workspace: MLPWorkspace) -> Double {
        let m = network.outputSize, f = network.inputSize
        var rows = 0
        for p in batch { rows += p.first.count + p.second.count }
        var x = [Double](repeating: 0, count: rows * f)
        var offsets: [(Int, Int)] = []
        var r = 0
        for p in batch {
            for t in [p.first, p.second] {
                offsets.append((r, t.count))
                for i in 0..<t.features.count { x[r * f + i] = t.features[i] }
                r += t.count
            }
        }
        let out = x.withUnsafeBufferPointer { Array(network.forward($0, batch: rows, workspace: workspace)) }
        var grad = [Double](repeating: 0, count: rows * m)
        var loss = 0.0
        let n = Double(batch.count)
        for (k, p) in batch.enumerated() {
            var ret = [0.0, 0.0]
            for side in 0..<2 {
                let (start, count) = offsets[2 * k + side]
                let actions = side == 0 ? p.first.actions : p.second.actions
                var w = 1.0
                for t in 0..<count { ret[side] += w * out[(start + t) * m + actions[t]]; w *= hyper.discount }
            }
            let delta = ret[1] - ret[0]
            loss -= p.label * Loss.logSigmoid(delta) + (1 - p.label) * Loss.logSigmoid(-delta)
            let g = (Loss.sigmoid(delta) - p.label) / n
            for side in 0..<2 {
                let (start, count) = offsets[2 * k + side]
                let actions = side == 0 ? p.first.actions : p.second.actions
                var w = side == 0 ? -g : g
                for t in 0..<count { grad[(start + t) * m + actions[t]] += w; w *= hyper.discount }
            }
        }
        network.zeroGradients()
        grad.withUnsafeBufferPointer { network.backward(outputGradient: $0, workspace: workspace) }
        optimizer.step(&network)
        return loss / n
    }

    /// Splits `count` pairs by a shuffle drawn from `rng`: the first ⌊count · fraction⌋ of the
    /// shuffled order are held out for validation, the rest train (in shuffled order).
    static func holdOut(_ count: Int, fraction: Double, using rng: inout Xoshiro256) -> (validation: [Int], train: [Int]) {
        let order = rng.permutation(count)
        let nValidation = Int((Double(count) * fraction).rounded(.down))
        return (Array(order.prefix(nValidation)), Array(order.dropFirst(nValidation)))
    }

    /// Fits the model to `pairs` (a seeded shuffle holds out ``RewardModelHyperparameters/validationFraction``),
    /// continuing from the current φ; returns losses and accuracies after fitting.
    @discardableResult
    public mutating func fit(_ pairs: [FeaturizedPair], seed: UInt64) -> RewardFitReport {
        var rng = Xoshiro256(seed: seed, stream: 0xF17)
        let split = Self.holdOut(pairs.count, fraction: hyper.validationFraction, using: &rng)
        let validation = split.validation.map { pairs[$0] }
        var train = split.train.map { pairs[$0] }
        let workspace = MLPWorkspace(for: network, capacity: 256)
        var steps = 0
        if !train.isEmpty {
            for _ in 0..<hyper.epochs {
                let perm = rng.permutation(train.count)
                train = perm.map { train[$0] }
                var start = 0
                while start < train.count {
                    let end = min(start + hyper.batchSize, train.count)
                    step(on: train[start..<end], workspace: workspace)
                    steps += 1
                    start = end
                }
            }
        }
        var report = Self.report(self, train: train, validation: validation)
        report.steps = steps
        return report
    }

    /// One incremental refit (online RM + PPO after its first fit): `steps` Adam steps from the
    /// current φ and Adam state, each on ``RewardModelHyperparameters/batchSize`` pairs drawn
    /// uniformly with replacement from `pairs` at the indices `replay` (every training pair so
    /// far), from stream (seed, 0xF17) continued after the caller's draws. The work is
    /// `steps` minibatches whatever the size of the replay. Returns losses and accuracies on
    /// `assessTrain` and `assessValidation` (the round's new pairs, so the report costs the
    /// round's data, not all of it).
    @discardableResult
    public mutating func refit(_ pairs: [FeaturizedPair], replay: [Int], steps: Int, using rng: inout Xoshiro256,
                               assessTrain: [Int], assessValidation: [Int]) -> RewardFitReport {
        let workspace = MLPWorkspace(for: network, capacity: 256)
        var made = 0
        if !replay.isEmpty {
            var batch: [FeaturizedPair] = []
            batch.reserveCapacity(hyper.batchSize)
            for _ in 0..<steps {
                batch.removeAll(keepingCapacity: true)
                for _ in 0..<hyper.batchSize { batch.append(pairs[replay[rng.index(below: replay.count)]]) }
                step(on: batch[...], workspace: workspace)
                made += 1
            }
        }
        var report = Self.report(self, train: assessTrain.map { pairs[$0] }, validation: assessValidation.map { pairs[$0] })
        report.steps = made
        return report
    }

    /// The fit report of `model` on `train` and `validation`.
    static func report(_ model: RewardModel, train: [FeaturizedPair], validation: [FeaturizedPair]) -> RewardFitReport {
        let tr = model.assess(train), va = model.assess(validation)
        return RewardFitReport(trainPairs: train.count, validationPairs: validation.count, trainLoss: tr.loss,
                               validationLoss: va.loss, trainAccuracy: tr.accuracy, validationAccuracy: va.accuracy)
    }
}
