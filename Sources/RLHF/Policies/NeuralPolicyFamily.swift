#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A policy family whose exact probability table can be computed: what exact evaluation on a
/// ``TabularEnvironment`` needs.
public protocol TabularPolicyFamily: PolicyFamily where State == Int {
    /// π_θ(a|s) at s·|A| + a.
    func probabilities(_ theta: [Double]) -> [Double]
}

extension TabularSoftmax: TabularPolicyFamily {}

/// A neural softmax policy on a ``TabularEnvironment``: π_θ(·|s) = softmax(MLP_θ(φ(s))).
///
/// Because the states are few, the actor evaluates the network once on every state's features
/// (one batched forward pass) and then samples from the table: a rollout step costs what a
/// tabular one does, and the exact value comes from the same table.
public struct NeuralTabularFamily: TabularPolicyFamily {
    public typealias State = Int

    /// The policy's architecture (its own parameters are the initial θ).
    public let policy: NeuralSoftmaxPolicy
    /// Features of every state, |S| rows of ``NeuralSoftmaxPolicy/featureCount``.
    public let features: [Double]
    /// Number of states.
    public let stateCount: Int

    /// Builds the family for `env`, reading each state's features from the environment.
    public init<E: TabularEnvironment>(env: E, policy: NeuralSoftmaxPolicy) {
        precondition(policy.featureCount == env.featureCount && policy.actionCount == env.actionCount,
                     "the policy network does not fit the environment's features and actions")
        var table = [Double](repeating: 0, count: env.stateCount * env.featureCount)
        let f = env.featureCount
        table.withUnsafeMutableBufferPointer { t in
            for s in 0..<env.stateCount {
                env.features(of: s, into: UnsafeMutableBufferPointer(rebasing: t[(s * f)..<((s + 1) * f)]))
            }
        }
        self.policy = policy
        self.features = table
        self.stateCount = env.stateCount
    }

    public var parameterCount: Int { policy.parameterCount }

    /// The acting form: the probability table of every state, and the workspace that fills it.
    public struct Actor: PolicyActor {
        public typealias State = Int
        /// Sampling table.
        public var table: TabularActor
        let workspace: PolicyWorkspace
        var logits: [Double]

        public mutating func action(in state: Int, using rng: inout Xoshiro256) -> Int {
            table.action(in: state, using: &rng)
        }
    }

    /// Writes the logits of every state under θ into `logits`.
    func fillLogits(_ theta: UnsafeBufferPointer<Double>, workspace: PolicyWorkspace, into logits: inout [Double]) {
        features.withUnsafeBufferPointer { x in
            let out = policy.network.forward(x, batch: stateCount, parameters: theta, workspace: workspace.network)
            for i in 0..<logits.count { logits[i] = out[i] }
        }
    }

    public func makeActor(_ theta: UnsafeBufferPointer<Double>) -> Actor {
        let workspace = PolicyWorkspace(for: policy, capacity: stateCount)
        var logits = [Double](repeating: 0, count: stateCount * policy.actionCount)
        fillLogits(theta, workspace: workspace, into: &logits)
        return Actor(table: TabularActor(logits: logits, actionCount: policy.actionCount), workspace: workspace, logits: logits)
    }

    public func update(_ actor: inout Actor, to theta: UnsafeBufferPointer<Double>) {
        fillLogits(theta, workspace: actor.workspace, into: &actor.logits)
        actor.logits.withUnsafeBufferPointer { actor.table.update(logits: $0) }
    }

    public func probabilities(_ theta: [Double]) -> [Double] {
        let workspace = PolicyWorkspace(for: policy, capacity: stateCount)
        var logits = [Double](repeating: 0, count: stateCount * policy.actionCount)
        theta.withUnsafeBufferPointer { fillLogits($0, workspace: workspace, into: &logits) }
        return TabularSoftmax(stateCount: stateCount, actionCount: policy.actionCount).probabilities(logits)
    }
}

/// A neural softmax policy on any environment: every step reads the state's features and runs
/// the network on them (CartPole, and any environment without a small state set).
public struct NeuralFamily<E: EpisodicEnvironment>: PolicyFamily where E.Action == Int {
    public typealias State = E.State

    /// The environment whose features the policy reads.
    public let env: E
    /// The policy's architecture (its own parameters are the initial θ).
    public let policy: NeuralSoftmaxPolicy
    /// Act greedily (the first most probable action; ``EvaluationMode/deterministic``) instead of sampling.
    public var greedy: Bool

    /// Creates the family.
    public init(env: E, policy: NeuralSoftmaxPolicy, greedy: Bool = false) {
        precondition(policy.featureCount == env.featureCount && env.actionSpace == .finite(policy.actionCount),
                     "the policy network does not fit the environment's features and actions")
        self.env = env
        self.policy = policy
        self.greedy = greedy
    }

    public var parameterCount: Int { policy.parameterCount }

    /// The acting form: θ and scratch buffers. One state at a time through
    /// ``MLP/forwardSingle(_:parameters:scratch:)``, then one uniform draw against the softmax.
    public struct Actor: PolicyActor {
        public typealias State = E.State
        let env: E
        let network: MLP
        var theta: [Double]
        var features: [Double]
        var scratch: [Double]
        var probabilities: [Double]
        let greedy: Bool

        public mutating func action(in state: E.State, using rng: inout Xoshiro256) -> Int {
            let env = self.env, network = self.network
            features.withUnsafeMutableBufferPointer { env.features(of: state, into: $0) }
            let m = network.outputSize
            let u = rng.uniform()
            if greedy {
                return features.withUnsafeBufferPointer { x in
                    theta.withUnsafeBufferPointer { t in
                        scratch.withUnsafeMutableBufferPointer { s in
                            GreedyPolicy.firstMaximum(network.forwardSingle(x, parameters: t, scratch: s))
                        }
                    }
                }
            }
            return features.withUnsafeBufferPointer { x in
                theta.withUnsafeBufferPointer { t in
                    scratch.withUnsafeMutableBufferPointer { s in
                        probabilities.withUnsafeMutableBufferPointer { p in
                            // Inverse CDF with one uniform, as the other actors do.
                            let logits = network.forwardSingle(x, parameters: t, scratch: s)
                            return NeuralFamily.sampleSoftmax(logits.baseAddress!, count: m, uniform: u, scratch: p.baseAddress!)
                        }
                    }
                }
            }
        }
    }

    public func makeActor(_ theta: UnsafeBufferPointer<Double>) -> Actor {
        Actor(env: env, network: policy.network, theta: Array(theta), features: [Double](repeating: 0, count: env.featureCount),
              scratch: [Double](repeating: 0, count: 2 * policy.network.widths.max()!),
              probabilities: [Double](repeating: 0, count: policy.actionCount), greedy: greedy)
    }

    public func update(_ actor: inout Actor, to theta: UnsafeBufferPointer<Double>) {
        for i in 0..<theta.count { actor.theta[i] = theta[i] }
    }
}
