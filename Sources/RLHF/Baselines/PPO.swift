#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// How PPO treats an episode that reaches the horizon H without terminating (a time limit, not
/// a terminal state of the task).
public enum PPOTruncation: String, Sendable, Equatable, Codable, CaseIterable {
    /// Like a termination: the value after the last step is 0, so the critic's targets are the
    /// finite-horizon returns the objective V(θ) = E[Σ_{t<H} r_t] counts (CleanRL's `ppo.py`,
    /// which ends the episode on `terminated or truncated`).
    case terminal
    /// Partial-episode bootstrapping (Pardo et al. 2018): the value after the last step is
    /// the critic's V(s_H), as if the episode went on (the infinite-horizon discounted target).
    case bootstrap
    /// Like ``terminal``, but the CRITIC (not the policy, which stays stationary) also reads the
    /// remaining time (H − t)/H as an extra input, so its finite-horizon targets are a function
    /// of its input (Pardo et al. 2018, time-aware value).
    case timeAware = "time-aware"
}

/// Hyperparameters of PPO (spec §6), with CleanRL's `ppo.py` defaults unless stated.
///
/// CleanRL runs 4 environments × 128 steps = 512 steps per update, 4 epochs of 4 minibatches,
/// Adam at 2.5·10⁻⁴ (ε = 10⁻⁵) annealed linearly to 0, γ = 0.99, λ = 0.95, clip 0.2 (also for
/// the value loss), entropy 0.01, value coefficient 0.5, gradient norm 0.5, normalized
/// advantages, 64-64 tanh networks. Those defaults solve CartPole; see ``gridWorld`` for the
/// setting tuned on the tabular GridWorlds.
public struct PPOHyperparameters: Sendable, Equatable, Codable {
    /// Adam's step size (its initial value when annealed).
    public var learningRate: Double = 2.5e-4
    /// Adam's ε (PyTorch's default 10⁻⁸ is CleanRL's 10⁻⁵ here, as in the PPO implementation details).
    public var adamEpsilon: Double = 1e-5
    /// Anneal the step size linearly from ``learningRate`` to 0 over the planned number of
    /// updates (update u of U uses lr·(1 − u/U); no annealing when the owner plans none).
    public var annealLearningRate: Bool = true
    /// Environment steps per update (the rollout batch). Whole episodes are collected until at
    /// least this many steps are in the batch, so a batch may exceed it by up to H − 1 steps;
    /// episodes never straddle two updates.
    public var stepsPerUpdate: Int = 512
    /// PPO's discount γ for advantages and value targets (the objective itself is undiscounted).
    public var gamma: Double = 0.99
    /// GAE's λ.
    public var gaeLambda: Double = 0.95
    /// Clip coefficient ε of the surrogate's probability ratio.
    public var clipCoefficient: Double = 0.2
    /// Clip the value loss around the rollout's values with the same ε (CleanRL's `clip_vloss`).
    public var clipValueLoss: Bool = true
    /// Weight of the entropy bonus.
    public var entropyCoefficient: Double = 0.01
    /// Weight of the value loss.
    public var valueCoefficient: Double = 0.5
    /// Clip the global norm of the joint (policy and value) gradient to this (nil: no clipping).
    public var maxGradientNorm: Double? = 0.5
    /// Passes over each rollout batch.
    public var updateEpochs: Int = 4
    /// Minibatches per pass (the shuffled batch is split into this many near-equal parts).
    public var minibatches: Int = 4
    /// Normalize the advantages of every minibatch to mean 0 and standard deviation 1.
    public var normalizeAdvantages: Bool = true
    /// Stop an update's epochs early once the approximate KL (k3 estimator) of the last
    /// minibatch exceeds this (nil: never; CleanRL's default).
    public var targetKL: Double? = nil
    /// Hidden widths of the value network (tanh).
    public var valueHidden: [Int] = [64, 64]
    /// How an episode cut by the horizon enters GAE (see ``PPOTruncation``).
    public var truncation: PPOTruncation = .terminal

    /// The defaults (CleanRL's `ppo.py`).
    public init() {}

    /// The setting for CartPole and other environments without a tabular form: CleanRL's
    /// `ppo.py` with a 10× larger step size, 2.5·10⁻³.
    ///
    /// CleanRL's 2.5·10⁻⁴ goes with its 500,000 environment steps; our runs are budgeted at
    /// about 10⁵ (200 updates of ≥ 512 steps, like rl-zoo's 10⁵ for CartPole-v1). rl-zoo reaches
    /// its result in 10⁵ steps with a 4× larger step (10⁻³) and 5× more gradient steps per
    /// sample (20 epochs of 256-step minibatches over 256-step rollouts) than CleanRL. With
    /// CleanRL's step size our PPO on the true reward reaches only 59.6 after 200 updates
    /// (seed 0); with 10⁻³ 314–336; with 2.5·10⁻³ 474–490 (seeds 0–2) — the default.
    public static var cartPole: PPOHyperparameters {
        var h = PPOHyperparameters()
        h.learningRate = 2.5e-3
        return h
    }

    /// The setting for box actions with a Gaussian policy (continuous control), after rl-zoo's
    /// PPO on Pendulum-v1 (4 × 1024 steps per update, 10 epochs of 64-step minibatches, step
    /// size 10⁻³, γ = 0.9, no entropy bonus) without its state-dependent exploration, and with
    /// partial-episode bootstrapping, since the horizon of these tasks is a time limit.
    public static var continuous: PPOHyperparameters {
        var h = PPOHyperparameters()
        h.learningRate = 1e-3
        h.stepsPerUpdate = 4096
        h.updateEpochs = 10
        h.minibatches = 64
        h.gamma = 0.9
        h.entropyCoefficient = 0
        h.truncation = .bootstrap
        return h
    }

    /// The setting tuned for tabular softmax policies on the GridWorlds (one-hot features, short
    /// horizons): a 100× larger step size (the logits of a tabular policy need to move by
    /// several units, which 2.5·10⁻⁴ takes hundreds of thousands of Adam steps to do), γ = 1
    /// (the task is undiscounted with H = 20) and a time-aware critic. With it PPO reaches 0.95
    /// normalized value on `classic` after ≈ 10–16k environment steps (seeds 1–2).
    public static var gridWorld: PPOHyperparameters {
        var h = PPOHyperparameters()
        h.learningRate = 0.02
        h.gamma = 1
        h.truncation = .timeAware
        return h
    }

    /// Throws ``RLHFError/invalidArgument(name:message:)`` on non-finite, negative or otherwise
    /// meaningless values.
    public func validate() throws {
        try Validate.positive(learningRate, "PPO learning rate")
        try Validate.positive(adamEpsilon, "PPO Adam epsilon")
        try Validate.atLeast(stepsPerUpdate, 1, "PPO steps per update", atMost: Limits.bufferSteps)
        try Validate.inRange(gamma, 0...1, "PPO gamma")
        try Validate.inRange(gaeLambda, 0...1, "GAE lambda")
        try Validate.positive(clipCoefficient, "PPO clip coefficient")
        try Validate.nonNegative(entropyCoefficient, "PPO entropy coefficient")
        try Validate.nonNegative(valueCoefficient, "PPO value coefficient")
        if let c = maxGradientNorm { try Validate.positive(c, "PPO max gradient norm") }
        try Validate.atLeast(updateEpochs, 1, "PPO update epochs")
        try Validate.atLeast(minibatches, 1, "PPO minibatches")
        if let k = targetKL { try Validate.positive(k, "PPO target KL") }
        for w in valueHidden { try Validate.atLeast(w, 1, "PPO value hidden width", atMost: Limits.layerWidth) }
    }
}

/// Where PPO's rewards come from.
public enum PPORewardSource: Sendable {
    /// The environment's true reward (the sanity-check baseline; no human feedback).
    case environment
    /// A learned reward r_φ(s, a): every collected step is relabelled with it in one batched
    /// forward pass before advantages are computed.
    case learned(RewardModel)
}

/// What one PPO update did (CleanRL's logged quantities).
public struct PPOStatistics: Sendable, Equatable, Codable {
    /// Episodes and environment steps in the rollout batch.
    public var episodes: Int
    public var steps: Int
    /// Mean TRUE return and length of the batch's episodes (monitoring only).
    public var meanEpisodeReturn: Double
    public var meanEpisodeLength: Double
    /// Mean return under the rewards PPO trained on (the learned ones for RM + PPO).
    public var meanTrainingReturn: Double
    /// Step size used.
    public var learningRate: Double
    /// Epochs run (fewer than ``PPOHyperparameters/updateEpochs`` after a target-KL stop).
    public var epochs: Int
    /// Of the last minibatch: policy loss, value loss, mean entropy, approximate KL (k3).
    public var policyLoss: Double
    public var valueLoss: Double
    public var entropy: Double
    public var approximateKL: Double
    /// Fraction of all minibatch samples whose ratio left [1 − ε, 1 + ε].
    public var clipFraction: Double
    /// 1 − Var(R − V)/Var(R) of the rollout's value predictions.
    public var explainedVariance: Double
}

/// A rollout batch of whole episodes, with everything PPO's epochs read.
struct PPOBatch<Action> {
    /// Rows of features (count × featureCount).
    var features: [Double] = []
    /// Rows of critic inputs (features, plus the remaining time for a time-aware critic).
    var valueInputs: [Double] = []
    var actions: [Action] = []
    /// True rewards, and the rewards trained on (learned or true).
    var trueRewards: [Double] = []
    var rewards: [Double] = []
    /// Step index t within its episode.
    var times: [Int] = []
    /// Episodes: first row, length, whether it terminated (false: cut at H).
    var episodes: [(start: Int, count: Int, terminated: Bool)] = []
    /// Critic inputs of s_H for the truncated episodes (bootstrap mode only), in episode order.
    var finalInputs: [Double] = []
    var oldLogProbabilities: [Double] = []
    var oldValues: [Double] = []
    var advantages: [Double] = []
    var returns: [Double] = []

    var count: Int { actions.count }
}

/// PPO's acting form: the state's features, then one draw of the policy
/// (``PPOPolicy/rolloutAction(features:workspace:using:)``).
struct PPOActor<E: EpisodicEnvironment, P: PPOPolicy>: EpisodicActor where P.Action == E.Action {
    let env: E
    let policy: P
    let workspace: P.Workspace
    var x: [Double]

    init(env: E, policy: P) {
        self.env = env
        self.policy = policy
        workspace = policy.makeWorkspace(capacity: 1)
        x = [Double](repeating: 0, count: env.featureCount)
    }

    mutating func action(in state: E.State, using rng: inout Xoshiro256) -> E.Action {
        let env = self.env, policy = self.policy, workspace = self.workspace
        x.withUnsafeMutableBufferPointer { env.features(of: state, into: $0) }
        return x.withUnsafeBufferPointer { policy.rolloutAction(features: $0, workspace: workspace, using: &rng) }
    }
}

/// Records PPO's rows (features, action, true reward, time) and the last next state, which a
/// truncated episode bootstraps from.
struct PPORecorder<E: EpisodicEnvironment>: EpisodeRecorder {
    let env: E
    var batch = PPOBatch<E.Action>()
    var lastNext: E.State?
    var x: [Double]

    init(env: E) {
        self.env = env
        x = [Double](repeating: 0, count: env.featureCount)
    }

    mutating func record(time: Int, state: E.State, action: E.Action, result: StepResult<E.State>) {
        let env = self.env
        x.withUnsafeMutableBufferPointer { env.features(of: state, into: $0) }
        batch.features.append(contentsOf: x)
        batch.actions.append(action)
        batch.trueRewards.append(result.reward)
        batch.times.append(time)
        lastNext = result.next
    }
}

/// Proximal policy optimization (Schulman et al. 2017) with GAE, a value baseline and an
/// entropy bonus, following CleanRL's `ppo.py` detail for detail (spec §6).
///
/// Per update u:
/// 1. roll out whole episodes with π_θ until the batch holds ≥ ``PPOHyperparameters/stepsPerUpdate``
///    steps (episode e from stream (seed, u, e));
/// 2. relabel the rewards with r_φ if the reward source is learned;
/// 3. old log-probabilities and values in one batched pass each, then GAE per episode;
/// 4. for each epoch, shuffle and split into minibatches; on each, the loss
///    −clipped surrogate − c_H·entropy + c_V·value loss, one backward pass per network, joint
///    gradient-norm clip, one Adam step each (the same step size: CleanRL's single optimizer).
///
/// The policy is any ``PPOPolicy``: a ``NeuralSoftmaxPolicy`` on finite actions (a tabular
/// softmax with one-hot features and no hidden layer, or an MLP), a ``GaussianPolicy`` on a box
/// (its samples recorded unclipped; run it on ``ActionClipping`` of the environment, as
/// CleanRL's `ppo_continuous_action.py` does). θ is the policy's flat parameter vector. The
/// critic is a separate tanh MLP.
public struct PPO<E: EpisodicEnvironment, Policy: PPOPolicy> where Policy.Action == E.Action {
    /// The environment.
    public let env: E
    /// The hyperparameters.
    public let hyper: PPOHyperparameters
    /// The run's seed.
    public let seed: UInt64
    /// The policy π_θ.
    public var policy: Policy
    /// The critic V_w (input: the features, plus the remaining time when time-aware).
    public var valueNetwork: MLP
    /// The reward the updates maximize.
    public var rewardSource: PPORewardSource
    /// Updates the owner plans, for step-size annealing (nil: no annealing).
    public var plannedUpdates: Int?
    /// Adam state of the policy and of the critic.
    public private(set) var policyOptimizer: Adam
    public private(set) var valueOptimizer: Adam

    /// Stream tags.
    static var rolloutStream: UInt64 { 0x9907_0001 }
    static var shuffleStream: UInt64 { 0x9907_0002 }
    static var initStream: UInt64 { 0x9907_0003 }

    /// Creates PPO for `policy` (θ is its network's parameters); the critic is initialized from
    /// stream (seed, init).
    public init(env: E, policy: Policy, hyper: PPOHyperparameters = .init(), seed: UInt64,
                rewardSource: PPORewardSource = .environment, plannedUpdates: Int? = nil) throws {
        try hyper.validate()
        guard policy.featureCount == env.featureCount else {
            throw RLHFError.invalidArgument(name: "policy", message: "the network has \(policy.featureCount) inputs; the environment has \(env.featureCount) features")
        }
        if let why = policy.mismatch(with: env.actionSpace) {
            throw RLHFError.invalidArgument(name: "policy", message: why)
        }
        if let p = plannedUpdates { try Validate.atLeast(p, 1, "planned PPO updates") }
        self.env = env
        self.hyper = hyper
        self.seed = seed
        self.policy = policy
        self.rewardSource = rewardSource
        self.plannedUpdates = plannedUpdates
        var rng = Xoshiro256(seed: seed, stream: PPO.initStream)
        let valueInputs = env.featureCount + (hyper.truncation == .timeAware ? 1 : 0)
        valueNetwork = MLP(inputSize: valueInputs, hidden: hyper.valueHidden, outputSize: 1, activation: .tanh, using: &rng)
        policyOptimizer = Adam(parameterCount: policy.parameters.count, learningRate: hyper.learningRate, epsilon: hyper.adamEpsilon)
        valueOptimizer = Adam(parameterCount: valueNetwork.parameterCount, learningRate: hyper.learningRate, epsilon: hyper.adamEpsilon)
    }

    /// The step size of update u: annealed linearly, lr·(1 − u/U), when planned.
    public func learningRate(forUpdate u: Int) -> Double {
        guard hyper.annealLearningRate, let total = plannedUpdates else { return hyper.learningRate }
        return hyper.learningRate * max(0, 1 - Double(u) / Double(total))
    }

    /// Performs update `u` (0-based; it selects the random streams and the annealed step size)
    /// and returns what it did. Deterministic in (state, u, seed).
    @discardableResult
    public mutating func update(_ u: Int) -> PPOStatistics {
        // Steps 1–3: rollouts, rewards, advantages.
        var batch = collect(update: u)
        prepare(&batch)
        // Step 4: epochs of minibatch steps.
        let lr = learningRate(forUpdate: u)
        policyOptimizer.learningRate = lr
        valueOptimizer.learningRate = lr
        let n = batch.count
        let parts = min(hyper.minibatches, n)
        var rng = Xoshiro256(seed: seed, stream: PPO.shuffleStream, UInt64(u))
        let scratch = PPOScratch<Policy>(policy: policy, valueNetwork: valueNetwork)
        var last = PPOMinibatchResult()
        var clipped = 0, seen = 0, epochs = 0
        for _ in 0..<hyper.updateEpochs {
            let order = rng.permutation(n)
            for k in 0..<parts {
                let indices = order[(k * n / parts)..<((k + 1) * n / parts)]
                last = lossAndGradients(batch, indices: indices, scratch: scratch)
                clipped += last.clipped
                seen += indices.count
                step()
            }
            epochs += 1
            if let target = hyper.targetKL, last.approximateKL > target { break }
        }
        return statistics(batch, last: last, clipFraction: Double(clipped) / Double(max(seen, 1)), learningRate: lr, epochs: epochs)
    }

    /// Step 1: whole episodes with π_θ until the batch has ≥ stepsPerUpdate steps. Episode e of
    /// update u draws its start, actions and transitions from stream (seed, rollout, u, e).
    func collect(update u: Int) -> PPOBatch<E.Action> {
        let f = env.featureCount, horizon = env.horizon
        var actor = PPOActor(env: env, policy: policy)
        var recorder = PPORecorder(env: env)
        let reserve = hyper.stepsPerUpdate + horizon
        recorder.batch.features.reserveCapacity(reserve * f)
        recorder.batch.actions.reserveCapacity(reserve)
        recorder.batch.trueRewards.reserveCapacity(reserve)
        recorder.batch.times.reserveCapacity(reserve)
        var finalFeatures: [Double] = []
        var x = [Double](repeating: 0, count: f)
        var e: UInt64 = 0
        while recorder.batch.count < hyper.stepsPerUpdate {
            var rng = Xoshiro256(seed: seed, stream: PPO.rolloutStream, UInt64(u), e)
            let start = recorder.batch.count
            let episode = env.runEpisode(&actor, recorder: &recorder, using: &rng)
            if !episode.terminated && hyper.truncation == .bootstrap, let last = recorder.lastNext {
                x.withUnsafeMutableBufferPointer { env.features(of: last, into: $0) }
                finalFeatures.append(contentsOf: x)
            }
            recorder.batch.episodes.append((start, episode.steps, episode.terminated))
            e += 1
        }
        var batch = recorder.batch
        // Critic inputs: the features, plus (H − t)/H for a time-aware critic.
        if hyper.truncation == .timeAware {
            batch.valueInputs.reserveCapacity(batch.count * (f + 1))
            for i in 0..<batch.count {
                batch.valueInputs.append(contentsOf: batch.features[(i * f)..<((i + 1) * f)])
                batch.valueInputs.append(Double(horizon - batch.times[i]) / Double(horizon))
            }
        } else {
            batch.valueInputs = batch.features
        }
        batch.finalInputs = finalFeatures
        return batch
    }

    /// Steps 2–3: training rewards, old log-probabilities, old values, GAE and value targets.
    func prepare(_ batch: inout PPOBatch<E.Action>) {
        let n = batch.count
        // Step 2: the rewards trained on.
        switch rewardSource {
        case .environment:
            batch.rewards = batch.trueRewards
        case let .learned(model):
            guard let r = batch.features.withUnsafeBufferPointer({ policy.learnedRewards(model, features: $0, actions: batch.actions) }) else {
                preconditionFailure("PPO: the learned reward model cannot score the actions of a \(Policy.self)")
            }
            batch.rewards = r
        }
        // Step 3: log π_old(a|s) and V_old(s) in one batched pass each.
        let workspace = policy.makeWorkspace(capacity: n)
        batch.oldLogProbabilities = [Double](repeating: 0, count: n)
        batch.features.withUnsafeBufferPointer { x in
            batch.oldLogProbabilities.withUnsafeMutableBufferPointer { out in
                policy.logProbabilities(features: x, actions: batch.actions, workspace: workspace, into: out)
            }
        }
        let vws = MLPWorkspace(for: valueNetwork, capacity: n)
        batch.oldValues = batch.valueInputs.withUnsafeBufferPointer { Array(valueNetwork.forward($0, batch: n, workspace: vws)) }
        let truncatedCount = batch.finalInputs.count / max(valueNetwork.inputSize, 1)
        let finalValues = batch.finalInputs.withUnsafeBufferPointer {
            Array(valueNetwork.forward($0, batch: truncatedCount, workspace: vws))
        }
        // GAE per episode; the value after the last step is 0 unless bootstrapping a truncation.
        batch.advantages = [Double](repeating: 0, count: n)
        var nextFinal = 0
        for episode in batch.episodes {
            var finalValue = 0.0
            if !episode.terminated && hyper.truncation == .bootstrap {
                finalValue = finalValues[nextFinal]
                nextFinal += 1
            }
            let range = episode.start..<(episode.start + episode.count)
            batch.rewards.withUnsafeBufferPointer { r in
                batch.oldValues.withUnsafeBufferPointer { v in
                    batch.advantages.withUnsafeMutableBufferPointer { adv in
                        PPOLoss.generalizedAdvantages(rewards: UnsafeBufferPointer(rebasing: r[range]),
                                                      values: UnsafeBufferPointer(rebasing: v[range]),
                                                      finalValue: finalValue, gamma: hyper.gamma, lambda: hyper.gaeLambda,
                                                      into: UnsafeMutableBufferPointer(rebasing: adv[range]))
                    }
                }
            }
        }
        batch.returns = zip(batch.advantages, batch.oldValues).map { $0 + $1 }
    }

    /// The PPO loss of one minibatch with its gradients left in the policy's and the critic's
    /// gradient buffers (zeroed first): −mean clipped surrogate − c_H·mean entropy + c_V·value loss.
    mutating func lossAndGradients(_ batch: PPOBatch<E.Action>, indices: ArraySlice<Int>, scratch: PPOScratch<Policy>) -> PPOMinibatchResult {
        let b = indices.count
        let f = policy.featureCount, fv = valueNetwork.inputSize
        scratch.reserve(b)
        var result = PPOMinibatchResult()
        guard b > 0 else { return result }
        // Gather the minibatch, normalizing its advantages (unbiased standard deviation, as torch's std()).
        var mean = 0.0
        var actions: [E.Action] = []
        actions.reserveCapacity(b)
        var oldLogProbabilities = [Double](repeating: 0, count: b)
        for (r, i) in indices.enumerated() {
            for j in 0..<f { scratch.features[r * f + j] = batch.features[i * f + j] }
            for j in 0..<fv { scratch.valueInputs[r * fv + j] = batch.valueInputs[i * fv + j] }
            scratch.advantages[r] = batch.advantages[i]
            actions.append(batch.actions[i])
            oldLogProbabilities[r] = batch.oldLogProbabilities[i]
            mean += batch.advantages[i]
        }
        if hyper.normalizeAdvantages {
            mean /= Double(b)
            var ss = 0.0
            for r in 0..<b { ss += (scratch.advantages[r] - mean) * (scratch.advantages[r] - mean) }
            let std = b > 1 ? (ss / Double(b - 1)).squareRoot() : 0
            for r in 0..<b { scratch.advantages[r] = (scratch.advantages[r] - mean) / (std + 1e-8) }
        }
        let invB = 1 / Double(b)
        let cH = hyper.entropyCoefficient, eps = hyper.clipCoefficient

        // Policy: the clipped surrogate and the entropy bonus, gradients in the policy's buffer.
        let surrogate = scratch.features.withUnsafeBufferPointer { x in
            scratch.advantages.withUnsafeBufferPointer { adv in
                policy.surrogateLossAndGradients(features: UnsafeBufferPointer(rebasing: x[0..<(b * f)]), actions: actions,
                                                 oldLogProbabilities: oldLogProbabilities,
                                                 advantages: UnsafeBufferPointer(rebasing: adv[0..<b]),
                                                 clip: eps, entropyCoefficient: cH, workspace: scratch.policyWorkspace)
            }
        }
        result.policyLoss = surrogate.policyLoss
        result.entropy = surrogate.entropy
        result.approximateKL = surrogate.approximateKL
        result.clipped = surrogate.clipped

        // Critic: (clipped) squared error against the GAE targets.
        let values = scratch.valueInputs.withUnsafeBufferPointer {
            valueNetwork.forward($0, batch: b, workspace: scratch.valueWorkspace)
        }
        let valueClip = hyper.clipValueLoss ? eps : nil
        for (r, i) in indices.enumerated() {
            let (loss, dv) = PPOLoss.valueLoss(value: values[r], oldValue: batch.oldValues[i], target: batch.returns[i], clip: valueClip)
            result.valueLoss += loss * invB
            scratch.valueGradients[r] = hyper.valueCoefficient * dv * invB
        }
        valueNetwork.zeroGradients()
        scratch.valueGradients.withUnsafeBufferPointer {
            valueNetwork.backward(outputGradient: UnsafeBufferPointer(rebasing: $0[0..<b]), workspace: scratch.valueWorkspace)
        }
        result.loss = result.policyLoss - cH * result.entropy + hyper.valueCoefficient * result.valueLoss
        return result
    }

    /// Joint gradient-norm clip over both networks, then one Adam step each.
    mutating func step() {
        if let maxNorm = hyper.maxGradientNorm {
            GradientClipping.clipGlobalNorm(&policy.gradients, &valueNetwork.gradients, maxNorm: maxNorm)
        }
        policy.step(&policyOptimizer)
        valueOptimizer.step(&valueNetwork)
    }

    func statistics(_ batch: PPOBatch<E.Action>, last: PPOMinibatchResult, clipFraction: Double, learningRate: Double,
                    epochs: Int) -> PPOStatistics {
        let episodes = batch.episodes.count
        let trueTotal = batch.trueRewards.reduce(0) { $0 + $1 }
        let trainTotal = batch.rewards.reduce(0) { $0 + $1 }
        var meanR = 0.0, meanE = 0.0
        for i in 0..<batch.count { meanR += batch.returns[i]; meanE += batch.returns[i] - batch.oldValues[i] }
        meanR /= Double(max(batch.count, 1)); meanE /= Double(max(batch.count, 1))
        var varR = 0.0, varE = 0.0
        for i in 0..<batch.count {
            varR += (batch.returns[i] - meanR) * (batch.returns[i] - meanR)
            let e = batch.returns[i] - batch.oldValues[i] - meanE
            varE += e * e
        }
        return PPOStatistics(episodes: episodes, steps: batch.count,
                             meanEpisodeReturn: trueTotal / Double(episodes),
                             meanEpisodeLength: Double(batch.count) / Double(episodes),
                             meanTrainingReturn: trainTotal / Double(episodes), learningRate: learningRate, epochs: epochs,
                             policyLoss: last.policyLoss, valueLoss: last.valueLoss, entropy: last.entropy,
                             approximateKL: last.approximateKL, clipFraction: clipFraction,
                             explainedVariance: varR > 0 ? 1 - varE / varR : .nan)
    }
}

/// The losses of one minibatch (means over it).
struct PPOMinibatchResult {
    var loss = 0.0
    var policyLoss = 0.0
    var valueLoss = 0.0
    var entropy = 0.0
    var approximateKL = 0.0
    var clipped = 0
}

/// Minibatch buffers of one PPO update.
final class PPOScratch<Policy: PPOPolicy> {
    let policyWorkspace: Policy.Workspace
    let valueWorkspace: MLPWorkspace
    let featureCount: Int, valueInputCount: Int
    var features: [Double] = []
    var valueInputs: [Double] = []
    var advantages: [Double] = []
    var valueGradients: [Double] = []
    var capacity = 0

    init(policy: Policy, valueNetwork: MLP) {
        policyWorkspace = policy.makeWorkspace(capacity: 128)
        valueWorkspace = MLPWorkspace(for: valueNetwork, capacity: 128)
        featureCount = policy.featureCount
        valueInputCount = valueNetwork.inputSize
    }

    func reserve(_ rows: Int) {
        guard rows > capacity else { return }
        capacity = rows
        features = [Double](repeating: 0, count: rows * featureCount)
        valueInputs = [Double](repeating: 0, count: rows * valueInputCount)
        advantages = [Double](repeating: 0, count: rows)
        valueGradients = [Double](repeating: 0, count: rows)
    }
}

/// PPO against the TRUE reward as a ``PreferenceOptimizer`` (the sanity check of the RLHF
/// baselines): every iteration is one PPO update, charges 0 queries, and ``iterationLimit`` is
/// the number of updates.
public struct PPOTrueReward<E: EpisodicEnvironment, Policy: PPOPolicy>: PreferenceOptimizer where Policy.Action == E.Action {
    /// The PPO learner.
    public var ppo: PPO<E, Policy>
    /// The number of updates (iterations).
    public let updates: Int
    /// What the last update did.
    public private(set) var lastStatistics: PPOStatistics?
    /// PPO's figures (``DiagnosticAccumulator/addPPO(_:)``).
    var diagnostics = DiagnosticAccumulator()

    /// Creates the optimizer; the step size anneals over `updates` when the hyperparameters ask.
    public init(env: E, policy: Policy, hyper: PPOHyperparameters = .init(), updates: Int, seed: UInt64) throws {
        try Validate.atLeast(updates, 1, "PPO updates")
        ppo = try PPO(env: env, policy: policy, hyper: hyper, seed: seed, rewardSource: .environment, plannedUpdates: updates)
        self.updates = updates
    }

    /// θ, the policy's parameters.
    public var parameters: [Double] {
        get { ppo.policy.parameters }
        set { ppo.policy.parameters = newValue }
    }

    /// No human feedback.
    public func queries(forIteration t: Int) -> Int { 0 }

    /// The number of updates.
    public var iterationLimit: Int? { updates }

    /// One PPO update; returns its environment steps.
    public mutating func iterate(_ t: Int, ledger: inout QueryLedger) throws -> Int {
        let s = ppo.update(t)
        lastStatistics = s
        diagnostics.addPPO(s)
        return s.steps
    }

    public mutating func takeDiagnostics() -> [Diagnostic] { diagnostics.take() }
}

extension DiagnosticAccumulator {
    /// One PPO update's figures (of its last minibatch where per-minibatch, as CleanRL logs
    /// them): `approx_kl` (k3 estimator), `clip_fraction`, `policy_loss`, `value_loss`,
    /// `entropy`, `explained_variance`, `epochs` (fewer after a target-KL stop).
    mutating func addPPO(_ s: PPOStatistics) {
        add("approx_kl", s.approximateKL)
        add("clip_fraction", s.clipFraction)
        add("policy_loss", s.policyLoss)
        add("value_loss", s.valueLoss)
        add("entropy", s.entropy)
        add("explained_variance", s.explainedVariance)
        add("epochs", Double(s.epochs))
    }
}
