#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Loss functions with their gradients with respect to the network's outputs.
///
/// Every loss is a MEAN over the batch (and, for MSE, over outputs), so learning rates do not
/// depend on the batch size. Gradients are written (not added) into the `gradient` buffer when
/// one is given; pass that buffer to ``MLP/backward(outputGradient:workspace:inputGradient:)``.
public enum Loss {
    /// log σ(x) = −log(1 + e^{−x}), computed without overflow or cancellation.
    @inlinable
    public static func logSigmoid(_ x: Double) -> Double {
        x >= 0 ? -log1p(exp(-x)) : x - log1p(exp(x))
    }

    /// σ(x) = 1 / (1 + e^{−x}), computed without overflow.
    @inlinable
    public static func sigmoid(_ x: Double) -> Double {
        if x >= 0 { return 1 / (1 + exp(-x)) }
        let e = exp(x)
        return e / (1 + e)
    }

    /// log Φ(u) and its first two derivatives λ = φ(u)/Φ(u) and −λ(u + λ), accurate in both
    /// tails: below u = −30 from the asymptotic series of Mills' ratio (relative error < 10⁻¹⁵).
    public static func logNormalCDF(_ u: Double) -> (Double, Double, Double) {
        let halfLog2Pi = 0.5 * log(2 * Double.pi)
        if u < -30 {
            // Φ(u) = φ(u)·R(t), t = −u, R(t) = (1/t)·Σ (−1)ⁿ (2n − 1)!! / t²ⁿ.
            let t = -u, t2 = t * t
            var term = 1.0, sum = 1.0
            for n in 1...9 {
                term *= -Double(2 * n - 1) / t2
                sum += term
            }
            let mills = sum / t
            let lambda = 1 / mills
            return (-0.5 * t2 - halfLog2Pi + log(mills), lambda, -lambda * (u + lambda))
        }
        let density = exp(-0.5 * u * u - halfLog2Pi)
        let cdf = 0.5 * erfc(-u / 2.0.squareRoot())
        let value = u > 0 ? log1p(-0.5 * erfc(u / 2.0.squareRoot())) : log(cdf)
        let lambda = density / cdf
        return (value, lambda, -lambda * (u + lambda))
    }

    /// Mean squared error (1/n) Σ (prediction − target)² over all n = batch × outputs values
    /// (PyTorch's `MSELoss` convention); gradient 2(prediction − target)/n.
    public static func meanSquaredError(prediction: UnsafeBufferPointer<Double>, target: UnsafeBufferPointer<Double>,
                                        gradient: UnsafeMutableBufferPointer<Double>?) -> Double {
        precondition(prediction.count == target.count, "meanSquaredError: prediction and target sizes differ")
        let n = prediction.count
        guard n > 0 else { return 0 }
        if let gradient { precondition(gradient.count >= n, "meanSquaredError: gradient buffer too small") }
        let scale = 2 / Double(n)
        var total = 0.0
        for i in 0..<n {
            let d = prediction[i] - target[i]
            total += d * d
            gradient?[i] = scale * d
        }
        return total / Double(n)
    }

    /// Softmax cross-entropy with class-index targets: mean over the rows of −log softmax(z)[y];
    /// gradient (softmax(z) − onehot(y)) / batch. `logits` is batch × classCount, row-major.
    public static func softmaxCrossEntropy(logits: UnsafeBufferPointer<Double>, classes: UnsafeBufferPointer<Int>,
                                           classCount m: Int, gradient: UnsafeMutableBufferPointer<Double>?) -> Double {
        precondition(m > 0 && logits.count == classes.count * m, "softmaxCrossEntropy: logits must be batch × classCount")
        let batch = classes.count
        guard batch > 0 else { return 0 }
        if let gradient { precondition(gradient.count >= logits.count, "softmaxCrossEntropy: gradient buffer too small") }
        let invBatch = 1 / Double(batch)
        var total = 0.0
        for r in 0..<batch {
            let y = classes[r]
            precondition(y >= 0 && y < m, "softmaxCrossEntropy: class \(y) outside 0..<\(m)")
            let base = r * m
            let (mx, logZ) = logSumExp(logits, base: base, count: m)
            total += logZ - (logits[base + y] - mx)
            if let gradient {
                for j in 0..<m { gradient[base + j] = exp(logits[base + j] - mx - logZ) * invBatch }
                gradient[base + y] -= invBatch
            }
        }
        return total * invBatch
    }

    /// Softmax cross-entropy with probability-vector targets: mean over rows of −Σ_j t_j log softmax(z)_j;
    /// gradient (softmax(z)·Σ_j t_j − t) / batch (= (softmax(z) − t)/batch when each target row sums to 1).
    public static func softmaxCrossEntropy(logits: UnsafeBufferPointer<Double>, targetProbabilities t: UnsafeBufferPointer<Double>,
                                           classCount m: Int, gradient: UnsafeMutableBufferPointer<Double>?) -> Double {
        precondition(m > 0 && logits.count % m == 0 && t.count == logits.count,
                     "softmaxCrossEntropy: logits and targets must both be batch × classCount")
        let batch = logits.count / m
        guard batch > 0 else { return 0 }
        if let gradient { precondition(gradient.count >= logits.count, "softmaxCrossEntropy: gradient buffer too small") }
        let invBatch = 1 / Double(batch)
        var total = 0.0
        for r in 0..<batch {
            let base = r * m
            let (mx, logZ) = logSumExp(logits, base: base, count: m)
            var mass = 0.0
            for j in 0..<m {
                let tj = t[base + j]
                mass += tj
                if tj != 0 { total -= tj * (logits[base + j] - mx - logZ) }
            }
            if let gradient {
                for j in 0..<m {
                    gradient[base + j] = (exp(logits[base + j] - mx - logZ) * mass - t[base + j]) * invBatch
                }
            }
        }
        return total * invBatch
    }

    /// Bradley-Terry negative log-likelihood of soft preference labels, mean over pairs:
    /// −[y log σ(Δ) + (1−y) log σ(−Δ)], Δ = score1 − score0, y ∈ [0, 1] the probability that item 1
    /// is preferred. dL/dΔ = (σ(Δ) − y)/pairs, so dL/dscore1 = +that and dL/dscore0 = −that.
    /// Gradients are written into `gradient1` / `gradient0` when given (either may be nil).
    public static func bradleyTerry(scores0: UnsafeBufferPointer<Double>, scores1: UnsafeBufferPointer<Double>,
                                    labels: UnsafeBufferPointer<Double>,
                                    gradient0: UnsafeMutableBufferPointer<Double>?,
                                    gradient1: UnsafeMutableBufferPointer<Double>?) -> Double {
        let n = labels.count
        precondition(scores0.count == n && scores1.count == n, "bradleyTerry: scores and labels sizes differ")
        guard n > 0 else { return 0 }
        let inv = 1 / Double(n)
        var total = 0.0
        for i in 0..<n {
            let y = labels[i]
            precondition(y >= 0 && y <= 1, "bradleyTerry: label \(y) outside [0, 1]")
            let delta = scores1[i] - scores0[i]
            total -= y * logSigmoid(delta) + (1 - y) * logSigmoid(-delta)
            let g = (sigmoid(delta) - y) * inv
            gradient1?[i] = g
            gradient0?[i] = -g
        }
        return total * inv
    }

    /// (row max, log Σ exp(z − max)) of `count` logits starting at `base`.
    @inlinable
    static func logSumExp(_ z: UnsafeBufferPointer<Double>, base: Int, count m: Int) -> (max: Double, logSum: Double) {
        var mx = -Double.infinity
        for j in 0..<m { mx = Swift.max(mx, z[base + j]) }
        var s = 0.0
        for j in 0..<m { s += exp(z[base + j] - mx) }
        return (mx, log(s))
    }
}

extension Loss {
    /// Array form of ``meanSquaredError(prediction:target:gradient:)``.
    public static func meanSquaredError(prediction: [Double], target: [Double]) -> (loss: Double, gradient: [Double]) {
        var g = [Double](repeating: 0, count: prediction.count)
        let loss = prediction.withUnsafeBufferPointer { p in
            target.withUnsafeBufferPointer { t in g.withUnsafeMutableBufferPointer { meanSquaredError(prediction: p, target: t, gradient: $0) } }
        }
        return (loss, g)
    }

    /// Array form of ``softmaxCrossEntropy(logits:classes:classCount:gradient:)``.
    public static func softmaxCrossEntropy(logits: [Double], classes: [Int], classCount: Int) -> (loss: Double, gradient: [Double]) {
        var g = [Double](repeating: 0, count: logits.count)
        let loss = logits.withUnsafeBufferPointer { z in
            classes.withUnsafeBufferPointer { c in g.withUnsafeMutableBufferPointer { softmaxCrossEntropy(logits: z, classes: c, classCount: classCount, gradient: $0) } }
        }
        return (loss, g)
    }

    /// Array form of ``softmaxCrossEntropy(logits:targetProbabilities:classCount:gradient:)``.
    public static func softmaxCrossEntropy(logits: [Double], targetProbabilities: [Double], classCount: Int) -> (loss: Double, gradient: [Double]) {
        var g = [Double](repeating: 0, count: logits.count)
        let loss = logits.withUnsafeBufferPointer { z in
            targetProbabilities.withUnsafeBufferPointer { t in
                g.withUnsafeMutableBufferPointer { softmaxCrossEntropy(logits: z, targetProbabilities: t, classCount: classCount, gradient: $0) }
            }
        }
        return (loss, g)
    }

    /// Array form of ``bradleyTerry(scores0:scores1:labels:gradient0:gradient1:)``.
    public static func bradleyTerry(scores0: [Double], scores1: [Double], labels: [Double])
        -> (loss: Double, gradient0: [Double], gradient1: [Double]) {
        var g0 = [Double](repeating: 0, count: labels.count), g1 = g0
        let loss = scores0.withUnsafeBufferPointer { s0 in
            scores1.withUnsafeBufferPointer { s1 in
                labels.withUnsafeBufferPointer { y in
                    g0.withUnsafeMutableBufferPointer { p0 in
                        g1.withUnsafeMutableBufferPointer { p1 in
                            bradleyTerry(scores0: s0, scores1: s1, labels: y, gradient0: p0, gradient1: p1)
                        }
                    }
                }
            }
        }
        return (loss, g0, g1)
    }
}
