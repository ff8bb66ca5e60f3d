#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The likelihood of EXECUTED actions: a = clip(u, low, high) with u ~ N(m_θ(s), diag(exp(2ℓ))).
///
/// What a recorded trajectory holds (``Trajectory/boxActions``, a dataset, a person's labels) is
/// the clipped action, whose distribution is a censored Gaussian: in each dimension a density
/// inside the box and a point mass at each finite bound. Its log-likelihood, dimension by
/// dimension (σ = exp(ℓ)):
///
///     low < a < high:  log N(a; m, σ²) = −½z² − ℓ − ½ln 2π,  z = (a − m)/σ
///     a ≥ high:        log P(u ≥ high) = log Φ((m − high)/σ)
///     a ≤ low:         log P(u ≤ low)  = log Φ((low − m)/σ)
///
/// DPO compares trajectories by these log-likelihoods (π(τ) is the probability of what was
/// executed). Inside the box they equal ``logProbabilities(features:actions:workspace:into:parameters:)``;
/// at a bound the density of the clipped value would be wrong (it ignores the mass beyond it).
/// Φ's logarithm and its derivative λ = φ/Φ come from ``Loss/logNormalCDF(_:)``, accurate in both tails.
extension GaussianPolicy {
    /// log π(a|s) of one dimension of an executed action and its derivatives with respect to the
    /// mean m and the log-std ℓ.
    @inlinable
    static func executedLogLikelihood(action a: Double, mean m: Double, logStd l: Double,
                                      low: Double, high: Double) -> (value: Double, dMean: Double, dLogStd: Double) {
        let invStd = exp(-l)
        if a >= high {
            let v = (m - high) * invStd
            let (value, lambda, _) = Loss.logNormalCDF(v)
            return (value, lambda * invStd, -lambda * v)
        }
        if a <= low {
            let v = (low - m) * invStd
            let (value, lambda, _) = Loss.logNormalCDF(v)
            return (value, -lambda * invStd, -lambda * v)
        }
        let z = (a - m) * invStd
        return (-0.5 * z * z - l - halfLogTwoPi, z * invStd, z * z - 1)
    }

    /// log π(aᵢ|sᵢ) of executed (clipped) actions into `result`: `features` is batch ×
    /// ``featureCount``, `actions` batch × ``actionDimension``. One batched forward pass of the
    /// mean network, with ``parameters`` or `parameters` when given.
    public func executedLogProbabilities(features: UnsafeBufferPointer<Double>, actions: UnsafeBufferPointer<Double>,
                                         workspace: GaussianPolicyWorkspace, into result: UnsafeMutableBufferPointer<Double>,
                                         parameters theta: UnsafeBufferPointer<Double>? = nil) {
        withParameters(theta) { theta in
            let dim = actionDimension, o = logStdOffset
            let (means, batch) = batchMeans(features: features, actions: actions, resultCount: result.count, parameters: theta,
                                            workspace: workspace, caller: "executedLogProbabilities")
            for r in 0..<batch {
                var total = 0.0
                for i in 0..<dim {
                    total += Self.executedLogLikelihood(action: actions[r * dim + i], mean: means[r * dim + i], logStd: theta[o + i],
                                                        low: low[i], high: high[i]).value
                }
                result[r] = total
            }
        }
    }

    /// Adds Σᵢ wᵢ ∇_θ log π(aᵢ|sᵢ) of executed actions to the policy's own ``gradients`` (own θ)
    /// and returns Σᵢ wᵢ log π(aᵢ|sᵢ); rows as in
    /// ``executedLogProbabilities(features:actions:workspace:into:parameters:)``, one weight a row.
    @discardableResult
    public mutating func accumulateExecutedLogProbabilityGradient(features: UnsafeBufferPointer<Double>,
                                                                  actions: UnsafeBufferPointer<Double>,
                                                                  weights: UnsafeBufferPointer<Double>,
                                                                  workspace: GaussianPolicyWorkspace) -> Double {
        let dim = actionDimension, o = logStdOffset, batch = weights.count
        precondition(actions.count == batch * dim,
                     "accumulateExecutedLogProbabilityGradient: \(actions.count) action values for \(batch) weights")
        guard batch > 0 else { return 0 }
        // Copies share storage (no allocation) and keep `self` free for the mutable gradient access.
        let theta = parameters, network = self.network, low = self.low, high = self.high
        return theta.withUnsafeBufferPointer { t in
            gradients.withUnsafeMutableBufferPointer { gradients in
                let net = UnsafeBufferPointer(rebasing: t[0..<o])
                let means = network.forward(features, batch: batch, parameters: net, workspace: workspace.network)
                workspace.reserve(batch)
                let g = workspace.outputGradientPointer
                var total = 0.0
                for r in 0..<batch {
                    let w = weights[r]
                    for i in 0..<dim {
                        let (value, dMean, dLogStd) = Self.executedLogLikelihood(
                            action: actions[r * dim + i], mean: means[r * dim + i], logStd: t[o + i], low: low[i], high: high[i])
                        total += w * value
                        g[r * dim + i] = w * dMean
                        gradients[o + i] += w * dLogStd
                    }
                }
                network.backward(outputGradient: UnsafeBufferPointer(start: g, count: batch * dim), parameters: net,
                                 gradients: UnsafeMutableBufferPointer(rebasing: gradients[0..<o]), workspace: workspace.network)
                return total
            }
        }
    }
}
