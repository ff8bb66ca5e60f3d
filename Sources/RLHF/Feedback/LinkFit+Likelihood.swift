#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

extension LinkFit {
    /// The log-likelihood of a link at (θ, φ) = (log s, log k) with its gradient and Hessian in
    /// those coordinates (φ is ignored, and its entries zero, for the one-parameter links).
    struct Evaluation: Sendable, Equatable {
        /// log L.
        var value = 0.0
        /// ∂ log L / ∂θ, ∂ log L / ∂φ.
        var gradient: (Double, Double) = (0, 0)
        /// ∂²/∂θ², ∂²/∂θ∂φ, ∂²/∂φ².
        var hessian: (Double, Double, Double) = (0, 0, 0)

        /// Whether every entry is finite.
        var isFinite: Bool {
            value.isFinite && gradient.0.isFinite && gradient.1.isFinite
                && hessian.0.isFinite && hessian.1.isFinite && hessian.2.isFinite
        }

        static func == (a: Evaluation, b: Evaluation) -> Bool {
            a.value == b.value && a.gradient == b.gradient && a.hessian == b.hessian
        }
    }

    /// The log-likelihood of `link` on `votes` (ties half a vote each way); −∞ if a vote has
    /// probability 0 under the link. Throws ``LinkFitError/tooFewVotes(informative:minimum:)``
    /// for an empty table.
    public static func logLikelihood(of link: LinkFunction, votes: VoteTable) throws -> Double {
        let terms = Terms(votes)
        guard terms.votes > 0 else { throw LinkFitError.tooFewVotes(informative: 0, minimum: 1) }
        return evaluate(link.kind, logScale: log(link.scale), logShape: log(link.shape), terms: terms, derivatives: false).value
    }

    /// log L (and, if `derivatives`, its gradient and Hessian) at θ = log s, φ = log k.
    static func evaluate(_ kind: LinkFunction.Kind, logScale theta: Double, logShape phi: Double,
                         terms: Terms, derivatives: Bool) -> Evaluation {
        var e = Evaluation()
        e.value = terms.constant
        let inverseScale = exp(-theta)
        switch kind {
        case .bradleyTerry, .thurstone:
            var g = 0.0, h = 0.0
            for i in terms.magnitude.indices {
                let u = terms.magnitude[i] * inverseScale
                // The vote for the higher return at +u, the vote against at −u; with
                // θ = log s, du/dθ = −u and d²u/dθ² = u.
                func add(_ w: Double, _ v: Double) {
                    guard w > 0 else { return }
                    let (f, f1, f2) = kind == .bradleyTerry ? logLogistic(v) : Loss.logNormalCDF(v)
                    e.value += w * f
                    if derivatives {
                        g -= w * f1 * v
                        h += w * (f2 * v * v + f1 * v)
                    }
                }
                add(terms.agree[i], u)
                add(terms.disagree[i], -u)
            }
            e.gradient = (g, 0)
            e.hessian = (h, 0, 0)
        case .weibull:
            // σ(|x|) = 1 − ½e^{−A}, σ(−|x|) = ½e^{−A}, A = (|x|/s)^k = exp(k·L), L = log|x| − θ.
            let k = exp(phi)
            var gt = 0.0, gp = 0.0, htt = 0.0, htp = 0.0, hpp = 0.0
            for i in terms.magnitude.indices {
                let L = terms.logMagnitude[i] - theta
                let A = exp(k * L)
                let wa = terms.agree[i], wd = terms.disagree[i]
                if A == .infinity {
                    // σ(|x|) = 1 exactly: a vote for the higher return adds nothing (and no
                    // slope), a vote against has probability 0.
                    if wd > 0 { e.value = -.infinity }
                    continue
                }
                // The vote against: log(½) − A, so d/dA = −1, d²/dA² = 0.
                // The vote for: log(1 − q), q = ½e^{−A}: d/dA = q/(1 − q), d²/dA² = −q/(1 − q)².
                let q = 0.5 * exp(-A)
                var f = 0.0, d1 = 0.0, d2 = 0.0
                if wa > 0 {
                    f += wa * log1p(-q)
                    d1 += wa * q / (1 - q)
                    d2 -= wa * q / ((1 - q) * (1 - q))
                }
                if wd > 0 {
                    f += wd * (-log(2.0) - A)
                    d1 -= wd
                }
                e.value += f
                if derivatives && (d1 != 0 || d2 != 0) {
                    // Derivatives of A in (θ, φ).
                    let aT = -k * A, aP = k * L * A
                    let aTT = k * k * A, aPP = A * (k * k * L * L + k * L), aTP = -k * A * (1 + k * L)
                    gt += d1 * aT
                    gp += d1 * aP
                    htt += d2 * aT * aT + d1 * aTT
                    htp += d2 * aT * aP + d1 * aTP
                    hpp += d2 * aP * aP + d1 * aPP
                }
            }
            e.gradient = (gt, gp)
            e.hessian = (htt, htp, hpp)
        }
        return e
    }

    /// log σ(u) for the standard logistic σ, and its first two derivatives σ(−u) and
    /// −σ(u)σ(−u), accurate in both tails.
    @inlinable
    static func logLogistic(_ u: Double) -> (Double, Double, Double) {
        let e = exp(-abs(u))                     // ≤ 1
        let small = e / (1 + e)                  // σ(−|u|)
        let large = 1 / (1 + e)                  // σ(|u|)
        let value = u >= 0 ? -log1p(e) : u - log1p(e)
        let first = u >= 0 ? small : large       // σ(−u)
        return (value, first, -small * large)
    }
}
