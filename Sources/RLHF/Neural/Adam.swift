#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Adam (Kingma & Ba, 2015) with bias correction and optional global gradient-norm clipping.
///
/// At step t (from 1): m ← β₁m + (1−β₁)g, v ← β₂v + (1−β₂)g², m̂ = m/(1−β₁ᵗ), v̂ = v/(1−β₂ᵗ),
/// θ ← θ − lr·m̂/(√v̂ + ε). State: m then v (2d values).
public struct Adam: Optimizer {
    /// Step size lr.
    public var learningRate: Double
    /// Decay of the first-moment estimate.
    public var beta1: Double
    /// Decay of the second-moment estimate.
    public var beta2: Double
    /// Added to √v̂ in the denominator.
    public var epsilon: Double
    /// When set, gradients are rescaled to at most this global norm before each step.
    public var maxGradientNorm: Double?
    /// Ascend instead of descend.
    public var maximize: Bool
    /// Number of steps taken (t).
    public private(set) var stepCount = 0
    /// First moments m and second moments v, concatenated.
    @usableFromInline var moments: [Double]

    /// Creates the optimizer for `parameterCount` parameters.
    public init(parameterCount: Int, learningRate: Double = 1e-3, beta1: Double = 0.9, beta2: Double = 0.999,
                epsilon: Double = 1e-8, maxGradientNorm: Double? = nil, maximize: Bool = false) {
        precondition(beta1 >= 0 && beta1 < 1 && beta2 >= 0 && beta2 < 1, "Adam betas must lie in [0, 1)")
        self.learningRate = learningRate
        self.beta1 = beta1
        self.beta2 = beta2
        self.epsilon = epsilon
        self.maxGradientNorm = maxGradientNorm
        self.maximize = maximize
        self.moments = [Double](repeating: 0, count: 2 * parameterCount)
    }

    /// `adam`.
    public var kind: String { "adam" }
    /// Number of parameters.
    public var parameterCount: Int { moments.count / 2 }
    /// learningRate, beta1, beta2, epsilon, maxGradientNorm (0 = none), maximize (0/1).
    public var hyperparameters: [(name: String, value: Double)] {
        [("learningRate", learningRate), ("beta1", beta1), ("beta2", beta2), ("epsilon", epsilon),
         ("maxGradientNorm", maxGradientNorm ?? 0), ("maximize", maximize ? 1 : 0)]
    }
    /// m then v (2d values).
    public var state: [Double] { moments }
    /// The first-moment estimate m.
    public var firstMoment: ArraySlice<Double> { moments[0..<parameterCount] }
    /// The second-moment estimate v.
    public var secondMoment: ArraySlice<Double> { moments[parameterCount...] }

    /// Restores step count and moments.
    public mutating func restore(stepCount: Int, state: [Double]) throws {
        guard state.count == moments.count else {
            throw RLHFError.invalidArgument(name: "optimizer state",
                                            message: "Adam state has \(state.count) values, expected \(moments.count) (2 × \(parameterCount))")
        }
        self.stepCount = stepCount
        moments = state
    }

    /// One Adam step.
    public mutating func step(parameters: UnsafeMutableBufferPointer<Double>, gradients: UnsafeMutableBufferPointer<Double>) {
        let d = parameterCount
        precondition(parameters.count == d && gradients.count == d, "Adam.step: buffers of \(parameters.count)/\(gradients.count) values, expected \(d)")
        if let maxGradientNorm { GradientClipping.clipGlobalNorm(gradients, maxNorm: maxGradientNorm) }
        stepCount += 1
        let t = Double(stepCount)
        let b1 = beta1, b2 = beta2, eps = epsilon
        let c1 = 1 / (1 - pow(b1, t)), c2 = 1 / (1 - pow(b2, t))
        let lr = maximize ? -learningRate : learningRate
        moments.withUnsafeMutableBufferPointer { mv in
            let m = mv.baseAddress!, v = mv.baseAddress! + d
            for i in 0..<d {
                let g = gradients[i]
                let mi = b1 * m[i] + (1 - b1) * g
                let vi = b2 * v[i] + (1 - b2) * g * g
                m[i] = mi
                v[i] = vi
                parameters[i] -= lr * (mi * c1) / ((vi * c2).squareRoot() + eps)
            }
        }
    }
}
