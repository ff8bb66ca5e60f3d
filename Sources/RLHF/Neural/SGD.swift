/// Stochastic gradient descent with optional (heavy-ball) momentum and global gradient-norm clipping.
///
/// With momentum μ: v ← μ·v + g, θ ← θ − lr·v (PyTorch's convention; v starts at 0, so the first
/// step is plain SGD). Without momentum (μ = 0): θ ← θ − lr·g. State: v (d values).
public struct SGD: Optimizer {
    /// Step size.
    public var learningRate: Double
    /// Momentum coefficient μ ∈ [0, 1).
    public var momentum: Double
    /// When set, gradients are rescaled to at most this global norm before each step.
    public var maxGradientNorm: Double?
    /// Ascend instead of descend.
    public var maximize: Bool
    /// Number of steps taken.
    public private(set) var stepCount = 0
    /// The velocity v.
    public private(set) var velocity: [Double]

    /// Creates the optimizer for `parameterCount` parameters.
    public init(parameterCount: Int, learningRate: Double, momentum: Double = 0, maxGradientNorm: Double? = nil,
                maximize: Bool = false) {
        precondition(momentum >= 0 && momentum < 1, "SGD momentum must lie in [0, 1)")
        self.learningRate = learningRate
        self.momentum = momentum
        self.maxGradientNorm = maxGradientNorm
        self.maximize = maximize
        self.velocity = [Double](repeating: 0, count: parameterCount)
    }

    /// `sgd`.
    public var kind: String { "sgd" }
    /// Number of parameters.
    public var parameterCount: Int { velocity.count }
    /// learningRate, momentum, maxGradientNorm (0 = none), maximize (0/1).
    public var hyperparameters: [(name: String, value: Double)] {
        [("learningRate", learningRate), ("momentum", momentum), ("maxGradientNorm", maxGradientNorm ?? 0),
         ("maximize", maximize ? 1 : 0)]
    }
    /// The velocity (d values).
    public var state: [Double] { velocity }

    /// Restores step count and velocity.
    public mutating func restore(stepCount: Int, state: [Double]) throws {
        guard state.count == velocity.count else {
            throw RLHFError.invalidArgument(name: "optimizer state",
                                            message: "SGD state has \(state.count) values, expected \(velocity.count)")
        }
        self.stepCount = stepCount
        velocity = state
    }

    /// One SGD step.
    public mutating func step(parameters: UnsafeMutableBufferPointer<Double>, gradients: UnsafeMutableBufferPointer<Double>) {
        let d = velocity.count
        precondition(parameters.count == d && gradients.count == d, "SGD.step: buffers of \(parameters.count)/\(gradients.count) values, expected \(d)")
        if let maxGradientNorm { GradientClipping.clipGlobalNorm(gradients, maxNorm: maxGradientNorm) }
        let lr = maximize ? -learningRate : learningRate
        let mu = momentum
        if mu == 0 {
            for i in 0..<d { parameters[i] -= lr * gradients[i] }
        } else {
            velocity.withUnsafeMutableBufferPointer { v in
                for i in 0..<d {
                    v[i] = mu * v[i] + gradients[i]
                    parameters[i] -= lr * v[i]
                }
            }
        }
        stepCount += 1
    }
}
