#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Maximum-likelihood fits of the three link functions to labeled comparisons whose return
/// difference x = R(τ1) − R(τ0) is known: which link do the evaluators follow?
///
/// The data are votes: one evaluator's answer on one pair, for τ1 (probability σ(x)), for τ0
/// (1 − σ(x)), or a tie. A tie counts as half a vote each way, so its log-likelihood term is
/// ½ log σ(x) + ½ log(1 − σ(x)) — the "can't tell" of the labeling service, whose label p̂
/// counts a tie as half a preference the same way. Skips carry no preference and are dropped.
///
/// Each link is fitted on its own: Bradley-Terry and Thurstone have the scale s, Weibull the
/// scale s and the shape k. The optimizer works on log s and log k (Levenberg-Marquardt-damped
/// Newton on analytic gradients and Hessians, started from a grid); the standard errors come
/// from the observed Fisher information, the inverse Hessian of −log L in the natural
/// parameters (s, k) at the maximum, which is the delta method from log space.
///
/// The links are not nested (no value of k makes the Weibull link logistic or probit), so a
/// likelihood-ratio test does not apply; they are compared by AIC = 2p − 2 log L (and BIC,
/// Akaike weights), see ``Report``.
///
/// ```swift
/// let votes = try LinkFit.simulate(panel: EvaluatorPanel(link: .bradleyTerry, evaluators: 10),
///                                  pairs: 2000, seed: 1)
/// let report = try LinkFit.fit(votes)
/// print(report.best, report.verdict)
/// ```
public enum LinkFit {
    /// The fit's tolerances and limits, in one place.
    public struct Settings: Sendable, Equatable {
        /// Fewest votes at x ≠ 0 a fit accepts (votes at x = 0 say nothing about the link).
        public var minimumVotes: Double = 10
        /// Most optimizer iterations per link.
        public var maxIterations = 500
        /// Convergence: the Newton decrement gᵀ(−H)⁻¹g in log space, the squared distance to the
        /// maximum in units of its standard error, is below this.
        public var decrementTolerance = 1e-14
        /// A run that finds no ascent step counts as converged if its Newton decrement is below
        /// this (the maximum is then known to rounding, 10⁻⁴ standard errors).
        public var stallTolerance = 1e-8
        /// A maximum at which the fitted σ(max|x|) − ½ is below this is the limit s → ∞ (σ ≡ ½),
        /// reported as not identified.
        public var flatLinkTolerance = 1e-6
        /// A fit whose standard error of log s or log k exceeds this (a 95% interval wider than
        /// a factor e^±4) is reported as not identified rather than with meaningless numbers.
        public var maxLogStandardError = 2.0
        /// Largest step of one iteration in log s or log k (a factor e² at most).
        public var maxLogStep = 2.0
        /// The scale is declared not identified when the optimizer leaves
        /// [median|x| / scaleRange, max|x| · scaleRange] (s → 0 or s → ∞).
        public var scaleRange = 1e6
        /// The Weibull shape is declared not identified outside this interval (k → 0 or ∞).
        public var shapeRange: ClosedRange<Double> = 0.01...100
        /// The start grid: s = median|x| · 2^j for |j| ≤ this.
        public var scaleGridHalfWidth = 12
        /// The start grid of the Weibull shape.
        public var shapeGrid: [Double] = [0.5, 1, 2, 4]
        /// ΔAIC to the runner-up below which the data do not distinguish two links
        /// (Burnham & Anderson: 0–2 is "substantial support" for both).
        public var indistinctDeltaAIC = 2.0
        /// ΔAIC to the runner-up above which the runner-up has "essentially no support"
        /// (Burnham & Anderson).
        public var decisiveDeltaAIC = 10.0

        /// The defaults.
        public init() {}

        /// The defaults.
        public static let `default` = Settings()
    }

    /// Fits every link in `links` to the votes and compares them.
    ///
    /// Throws ``LinkFitError`` for data no link can be fitted to (too few votes, all at x = 0,
    /// perfectly separated or perfectly reversed). A link whose parameters the data do not
    /// identify (the optimizer runs to s → ∞, k → 0 or ∞, a flat maximum, no convergence) is
    /// reported with status ``Status/notIdentified`` or ``Status/notConverged`` and a message,
    /// never with non-finite numbers, and takes no part in the comparison.
    public static func fit(_ votes: VoteTable, links: [LinkFunction.Kind] = LinkFunction.Kind.allCases,
                           settings: Settings = .default) throws -> Report {
        guard !links.isEmpty else { throw LinkFitError.noLinks }
        let terms = try Terms(votes, settings: settings)
        let results = links.map { fit($0, terms: terms, settings: settings) }
        return Report(votes: votes, results: results, settings: settings)
    }

    /// Fits one link (see ``fit(_:links:settings:)``).
    public static func fit(_ kind: LinkFunction.Kind, to votes: VoteTable, settings: Settings = .default) throws -> Result {
        let terms = try Terms(votes, settings: settings)
        return fit(kind, terms: terms, settings: settings)
    }

    /// Fits one link to checked data.
    static func fit(_ kind: LinkFunction.Kind, terms: Terms, settings: Settings) -> Result {
        let parameters = kind == .weibull ? 2 : 1
        if kind == .weibull && terms.distinctMagnitudes < 2 {
            return Result(kind: kind, status: .notIdentified, parameters: parameters, votes: terms.votes,
                          message: "the Weibull link's scale and shape need votes at two or more different |x|; all votes are at |x| = \(terms.magnitude[0])")
        }
        let outcome = Optimizer(kind: kind, terms: terms, settings: settings).run()
        return Result(kind: kind, outcome: outcome, terms: terms, parameters: parameters, settings: settings)
    }
}

/// Why a link fit could not be made at all.
public enum LinkFitError: Error, Equatable, Sendable, CustomStringConvertible {
    /// Vote `index` (0-based, in the order given) has a non-finite return difference or weight.
    case invalidVote(index: Int, message: String)
    /// Fewer votes at x ≠ 0 than ``LinkFit/Settings/minimumVotes``.
    case tooFewVotes(informative: Double, minimum: Double)
    /// Every vote is at x = 0, where every link gives ½ whatever its parameters.
    case noReturnDifferences(votes: Double)
    /// Every vote agrees with the sign of x: the likelihood grows without bound as s → 0.
    case separated(votes: Double)
    /// Every vote disagrees with the sign of x: the likelihood grows as s → ∞.
    case reversed(votes: Double)
    /// No link was asked for.
    case noLinks

    public var description: String {
        switch self {
        case let .invalidVote(index, message):
            return "vote \(index): \(message)"
        case let .tooFewVotes(informative, minimum):
            return "only \(LinkFit.count(informative)) votes on pairs whose returns differ; a link fit needs at least \(LinkFit.count(minimum))"
        case let .noReturnDifferences(votes):
            return "all \(LinkFit.count(votes)) votes are on pairs with equal returns (x = 0), where every link gives ½: the scale is not identified"
        case let .separated(votes):
            return "the data are perfectly separated: all \(LinkFit.count(votes)) votes on pairs whose returns differ prefer the higher return, so the likelihood grows as s → 0 and the scale is not identified (the evaluators look noiseless at these return differences: show pairs with smaller differences)"
        case let .reversed(votes):
            return "all \(LinkFit.count(votes)) votes on pairs whose returns differ prefer the lower return: no increasing link fits (s → ∞); check that first/second or left/right are not swapped"
        case .noLinks:
            return "no link to fit"
        }
    }
}

extension LinkFit {
    /// A vote count as people read it: `12`, `12.5`.
    static func count(_ x: Double) -> String {
        x == x.rounded() && abs(x) < 1e15 ? String(Int(x)) : String(x)
    }
}
