#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A link function σ: the probability that an evaluator prefers τ1 to τ0 given the return
/// difference x = R(τ1) − R(τ0) (spec §3).
///
/// Every link satisfies σ(x) + σ(−x) = 1, is strictly increasing, and has a scale s > 0.
/// ``inverse(_:)`` turns a preference rate back into a return difference; it is what the
/// zeroth-order methods use to estimate value differences.
public struct LinkFunction: Sendable, Equatable, Codable {
    /// The family of the link.
    public enum Kind: String, Sendable, CaseIterable, Codable {
        /// Logistic: σ(x) = 1 / (1 + exp(−x/s)).
        case bradleyTerry = "bradley-terry"
        /// Symmetric Weibull-CDF link with shape k: σ(x) = ½ + ½·sgn(x)·(1 − exp(−(|x|/s)^k)).
        case weibull
        /// Probit: σ(x) = Φ(x/s).
        case thurstone
    }

    /// The family.
    public var kind: Kind
    /// The scale s > 0.
    public var scale: Double
    /// The Weibull shape k > 0 (ignored by the other links). Default 2; k = 1 is the Laplace link.
    public var shape: Double

    /// Creates a link; throws unless scale and shape are finite and positive.
    public init(_ kind: Kind, scale: Double = 1, shape: Double = 2) throws {
        try Validate.positive(scale, "link scale")
        try Validate.positive(shape, "Weibull shape")
        self.kind = kind
        self.scale = scale
        self.shape = shape
    }

    /// The Bradley-Terry link with scale 1.
    public static let bradleyTerry = try! LinkFunction(.bradleyTerry)

    /// σ(x), the probability of preferring τ1 when R(τ1) − R(τ0) = x.
    @inlinable
    public func probability(_ x: Double) -> Double {
        let z = x / scale
        switch kind {
        case .bradleyTerry:
            // Stable in both tails.
            if z >= 0 { return 1 / (1 + exp(-z)) }
            let e = exp(z)
            return e / (1 + e)
        case .weibull:
            let tail = 0.5 * exp(-pow(abs(z), shape))
            return z >= 0 ? 1 - tail : tail
        case .thurstone:
            return 0.5 * erfc(-z / 2.0.squareRoot())
        }
    }

    /// σ⁻¹(p), the return difference at which the preference probability is `p` ∈ [0, 1].
    ///
    /// Numerically safe: computed from the tail nearer to p, so that it inverts
    /// ``probability(_:)`` to near machine precision wherever that map is not flat.
    /// Returns ±∞ at p = 1 and p = 0 (trim p first to keep it finite).
    @inlinable
    public func inverse(_ p: Double) -> Double {
        precondition(p >= 0 && p <= 1, "a preference rate lies in [0, 1], got \(p)")
        switch kind {
        case .bradleyTerry:
            return scale * (log(p) - log1p(-p))
        case .weibull:
            if p == 0.5 { return 0 }
            let tail = p > 0.5 ? 2 * (1 - p) : 2 * p     // = 1 − |2p − 1|
            let magnitude = scale * pow(-log(tail), 1 / shape)
            return p > 0.5 ? magnitude : -magnitude
        case .thurstone:
            return scale * LinkFunction.normalQuantile(p)
        }
    }

    /// Φ⁻¹(p), the standard normal quantile.
    ///
    /// Starts from Abramowitz & Stegun 26.2.23 (error < 4.5·10⁻⁴) and polishes with three
    /// Halley steps on Φ computed by `erfc`, which gives full double precision in both tails.
    @inlinable
    public static func normalQuantile(_ p: Double) -> Double {
        if p <= 0 { return -.infinity }
        if p >= 1 { return .infinity }
        if p == 0.5 { return 0 }
        // Work in the lower tail, q ≤ ½, and reflect.
        let q = min(p, 1 - p)
        let t = (-2 * log(q)).squareRoot()
        var x = -(t - (2.515517 + 0.802853 * t + 0.010328 * t * t)
                  / (1 + 1.432788 * t + 0.189269 * t * t + 0.001308 * t * t * t))
        let invSqrt2 = 1 / 2.0.squareRoot()
        let invSqrt2Pi = 1 / (2 * Double.pi).squareRoot()
        for _ in 0..<3 {
            let cdf = 0.5 * erfc(-x * invSqrt2)
            let pdf = invSqrt2Pi * exp(-0.5 * x * x)
            if pdf == 0 { break }
            let u = (cdf - q) / pdf
            x -= u / (1 + 0.5 * x * u)
        }
        return p < 0.5 ? x : -x
    }
}

extension LinkFunction: CustomStringConvertible {
    public var description: String {
        switch kind {
        case .bradleyTerry, .thurstone: return "\(kind.rawValue)(s=\(scale))"
        case .weibull: return "weibull(s=\(scale), k=\(shape))"
        }
    }
}
