/// Hyperparameters of reward-model fitting, with their defaults.
public struct RewardModelHyperparameters: Sendable, Equatable, Codable {
    /// Hidden widths of the reward network ([] = linear in the features; with one-hot GridWorld
    /// features that is a tabular reward).
    public var hidden: [Int] = [64, 64]
    /// Adam's learning rate.
    public var learningRate: Double = 1e-3
    /// Passes over the data per fit.
    public var epochs: Int = 20
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

    /// Fits the model to `pairs` (a seeded shuffle holds out ``RewardModelHyperparameters/validationFraction``),
    /// continuing from the current φ; returns losses and accuracies after fitting.
    @discardableResult
    public mutating func fit(_ pairs: [FeaturizedPair], seed: UInt64) -> RewardFitReport {
        var rng = Xoshiro256(seed: seed, stream: 0xF17)
        let order = rng.permutation(pairs.count)
        let nValidation = Int((Double(pairs.count) * hyper.validationFraction).rounded(.down))
        let validation = order.prefix(nValidation).map { pairs[$0] }
        var train = order.dropFirst(nValidation).map { pairs[$0] }
        let workspace = MLPWorkspace(for: network, capacity: 256)
        if !train.isEmpty {
            for _ in 0..<hyper.epochs {
                let perm = rng.permutation(train.count)
                train = perm.map { train[$0] }
                var start = 0
                while start < train.count {
                    let end = min(start + hyper.batchSize, train.count)
                    step(on: train[start..<end], workspace: workspace)
                    start = end
                }
            }
        }
        let tr = assess(train), va = assess(validation)
        return RewardFitReport(trainPairs: train.count, validationPairs: validation.count, trainLoss: tr.loss,
                               validationLoss: va.loss, trainAccuracy: tr.accuracy, validationAccuracy: va.accuracy)
    }
}
