import Foundation

extension LinkFit {
    /// Whether a link's fit produced estimates.
    public enum Status: String, Codable, Sendable, Equatable {
        /// Estimates, standard errors and the likelihood are all finite and at an interior maximum.
        case fitted
        /// The data do not pin a parameter down (s → 0 or ∞, k → 0 or ∞, a flat maximum).
        case notIdentified = "not-identified"
        /// The optimizer stopped without reaching the maximum.
        case notConverged = "not-converged"
    }

    /// One link's fit. Every number is finite; those that do not apply are nil (absent in JSON).
    public struct Result: Codable, Sendable, Equatable {
        /// The link.
        public var link: LinkFunction.Kind
        /// Whether it was fitted.
        public var status: Status
        /// Why not, when it was not.
        public var message: String?
        /// ŝ, the maximum-likelihood scale.
        public var scale: Double?
        /// Its standard error √[(−H)⁻¹]_ss, H the Hessian of log L in (s, k).
        public var scaleStandardError: Double?
        /// k̂, the maximum-likelihood Weibull shape (Weibull only).
        public var shape: Double?
        /// Its standard error.
        public var shapeStandardError: Double?
        /// The estimated correlation of ŝ and k̂ (Weibull only).
        public var scaleShapeCorrelation: Double?
        /// The maximized log-likelihood log L̂ (natural log; ties half a vote each way).
        public var logLikelihood: Double?
        /// Number of fitted parameters p (1, or 2 for Weibull).
        public var parameters: Int
        /// AIC = 2p − 2 log L̂.
        public var aic: Double?
        /// BIC = p·ln(n) − 2 log L̂, n the votes used.
        public var bic: Double?
        /// AIC minus the smallest AIC of the fitted links.
        public var deltaAic: Double?
        /// BIC minus the smallest BIC of the fitted links.
        public var deltaBic: Double?
        /// Akaike weight exp(−ΔAIC/2) / Σ exp(−ΔAIC/2): the relative support among the links fitted.
        public var akaikeWeight: Double?
        /// Whether this link has the smallest AIC.
        public var chosen = false
        /// Votes used n (a tie counts one; x = 0 included).
        public var votes: Double
        /// Optimizer iterations.
        public var iterations = 0

        /// The fitted link, when fitted.
        public var fittedLink: LinkFunction? {
            guard status == .fitted, let scale else { return nil }
            return try? LinkFunction(link, scale: scale, shape: shape ?? 2)
        }

        /// A result without estimates.
        init(kind: LinkFunction.Kind, status: Status, parameters: Int, votes: Double, message: String) {
            link = kind
            self.status = status
            self.parameters = parameters
            self.votes = votes
            self.message = message
        }

        /// The result of an optimizer run: estimates and standard errors from the observed
        /// information at an interior maximum, else the reason there are none.
        init(kind: LinkFunction.Kind, outcome: Outcome, terms: Terms, parameters: Int, settings: Settings) {
            self.init(kind: kind, status: .notIdentified, parameters: parameters, votes: terms.votes, message: "")
            iterations = outcome.iterations
            let s = exp(outcome.logScale), k = exp(outcome.logShape)
            let sText = String(format: "%.3g", s), kText = String(format: "%.3g", k)
            switch outcome.end {
            case .converged:
                break
            case .stalled(let decrement?) where decrement < settings.stallTolerance:
                break    // at the maximum to rounding: the step that would improve is below resolution
            case .stalled:
                status = .notConverged
                message = "no ascent step found after \(outcome.iterations) iterations (s = \(sText)\(kind == .weibull ? ", k = \(kText)" : ""))"
                return
            case .iterationLimit:
                status = .notConverged
                message = "no convergence in \(outcome.iterations) iterations (s = \(sText)\(kind == .weibull ? ", k = \(kText)" : ""))"
                return
            case .nonFinite:
                status = .notConverged
                message = "the log-likelihood is not finite at the parameters tried"
                return
            case .escaped(.scaleToZero):
                message = "the scale is not identified: the likelihood grows as s → 0 (s = \(sText) when stopped); the votes are (nearly) noiseless at these return differences"
                return
            case .escaped(.scaleToInfinity):
                message = "the scale is not identified: the likelihood grows as s → ∞ (s = \(sText) when stopped); the votes do not favour the higher return"
                return
            case .escaped(.shapeToZero):
                message = "the shape is not identified: the likelihood grows as k → 0 (k = \(kText) when stopped): the rate of agreement does not grow with |x|, as with a constant mistake rate"
                return
            case .escaped(.shapeToInfinity):
                message = "the shape is not identified: the likelihood grows as k → ∞ (k = \(kText) when stopped): the votes jump from chance to certainty at one |x|"
                return
            }
            // The Hessian of log L in the natural parameters (s, k), from the one in
            // (θ, φ) = (log s, log k): ∂²/∂s² = (ℓ_θθ − ℓ_θ)/s², ∂²/∂s∂k = ℓ_θφ/(sk),
            // ∂²/∂k² = (ℓ_φφ − ℓ_φ)/k². At the maximum ℓ_θ = ℓ_φ = 0, so this is the delta
            // method applied to the log-space covariance.
            let e = outcome.evaluation
            let a = -(e.hessian.0 - e.gradient.0) / (s * s)
            var variance: (Double, Double, Double)?     // var s, cov, var k
            if kind == .weibull {
                let b = -e.hessian.1 / (s * k), c = -(e.hessian.2 - e.gradient.1) / (k * k)
                let det = a * c - b * b
                if a > 0, c > 0, det > 0 { variance = (c / det, -b / det, a / det) }
            } else if a > 0 {
                variance = (1 / a, 0, 0)
            }
            guard let v = variance, v.0 > 0, v.0.isFinite, v.2 >= 0, v.2.isFinite, e.value.isFinite else {
                message = "the likelihood is flat at its maximum (the observed information is singular): the parameters are not identified"
                return
            }
            // A maximum where the link is ½ at every x observed is the limit s → ∞ reached to
            // rounding (a flat likelihood with an enormous, meaningless standard error).
            let link = try? LinkFunction(kind, scale: s, shape: kind == .weibull ? k : 2)
            if let link, link.probability(terms.maxMagnitude) - 0.5 < settings.flatLinkTolerance {
                message = "the scale is not identified: the likelihood grows as s → ∞ (s = \(sText)\(kind == .weibull ? ", k = \(kText)" : "") when stopped, where σ is ½ at every x); the votes do not favour the higher return"
                return
            }
            let logSE = (v.0.squareRoot() / s, v.2.squareRoot() / k)
            if logSE.0 > settings.maxLogStandardError || (kind == .weibull && logSE.1 > settings.maxLogStandardError) {
                message = "the parameters are not identified: the standard error of log s is \(String(format: "%.3g", logSE.0))\(kind == .weibull ? " and of log k \(String(format: "%.3g", logSE.1))" : "") (above \(String(format: "%g", settings.maxLogStandardError))), the likelihood is nearly flat"
                return
            }
            status = .fitted
            message = nil
            scale = s
            scaleStandardError = v.0.squareRoot()
            if kind == .weibull {
                shape = k
                shapeStandardError = v.2.squareRoot()
                scaleShapeCorrelation = v.1 / (v.0 * v.2).squareRoot()
            }
            logLikelihood = e.value
            aic = 2 * Double(parameters) - 2 * e.value
            bic = Double(parameters) * log(terms.votes) - 2 * e.value
        }
    }

    /// The fits of several links to one set of votes and their comparison by AIC.
    ///
    /// The links are not nested, so there is no likelihood-ratio test between them; AIC
    /// (Akaike's information criterion, 2p − 2 log L̂) estimates each link's expected
    /// out-of-sample log-likelihood and the smallest wins. ΔAIC < 2 means the data do not
    /// distinguish two links, ΔAIC > 10 that the worse one has essentially no support
    /// (Burnham & Anderson). BIC, with its heavier penalty p·ln n, is reported alongside.
    public struct Report: Codable, Sendable, Equatable {
        /// Votes used (a tie counts one).
        public var votes: Double
        /// Votes at x ≠ 0.
        public var informativeVotes: Double
        /// Ties among the votes (when the source says).
        public var ties: Double
        /// Distinct return differences x.
        public var differences: Int
        /// Each link's fit, in the order asked.
        public var links: [Result]
        /// The link with the smallest AIC among those fitted.
        public var best: LinkFunction.Kind?
        /// The next-best fitted link and its ΔAIC.
        public var runnerUp: LinkFunction.Kind?
        /// ΔAIC of the runner-up.
        public var runnerUpDeltaAic: Double?
        /// One sentence on what the comparison shows.
        public var verdict: String

        /// The result of `kind`, if it was fitted or tried.
        public func result(_ kind: LinkFunction.Kind) -> Result? { links.first { $0.link == kind } }

        init(votes table: VoteTable, results: [Result], settings: Settings) {
            votes = table.votes
            informativeVotes = table.informativeVotes
            ties = table.ties
            differences = table.points.count
            links = results
            verdict = ""
            let fitted = links.indices.filter { links[$0].status == .fitted }
                .sorted { links[$0].aic! < links[$1].aic! }
            guard let first = fitted.first else {
                verdict = "no link could be fitted: " + links.map { "\($0.link.rawValue): \($0.message ?? "")" }.joined(separator: "; ")
                return
            }
            let minAIC = links[first].aic!
            let minBIC = fitted.map { links[$0].bic! }.min()!
            let total = fitted.reduce(0.0) { $0 + exp(-(links[$1].aic! - minAIC) / 2) }
            for i in fitted {
                links[i].deltaAic = links[i].aic! - minAIC
                links[i].deltaBic = links[i].bic! - minBIC
                links[i].akaikeWeight = exp(-links[i].deltaAic! / 2) / total
            }
            links[first].chosen = true
            best = links[first].link
            let name = links[first].link.rawValue
            let weight = String(format: "%.3f", links[first].akaikeWeight!)
            guard fitted.count > 1 else {
                verdict = "only \(name) could be fitted (" + links.filter { $0.status != .fitted }.map { "\($0.link.rawValue): \($0.message ?? "")" }.joined(separator: "; ") + ")"
                return
            }
            let second = fitted[1]
            runnerUp = links[second].link
            runnerUpDeltaAic = links[second].deltaAic
            let delta = links[second].deltaAic!
            let d = String(format: "%.1f", delta), other = links[second].link.rawValue
            defer {
                let left = links.filter { $0.status != .fitted }.map(\.link.rawValue)
                if !left.isEmpty { verdict += " (not compared: \(left.joined(separator: ", ")), not fitted)" }
            }
            if delta < settings.indistinctDeltaAIC {
                verdict = "\(name) has the lowest AIC, but \(other) is within ΔAIC = \(d) < \(String(format: "%g", settings.indistinctDeltaAIC)): these votes do not distinguish them (more votes, or pairs over a wider range of return differences, would)"
            } else if delta < settings.decisiveDeltaAIC {
                verdict = "\(name) is favoured by AIC over \(other) (ΔAIC = \(d), Akaike weight \(weight)); not decisive (ΔAIC < \(String(format: "%g", settings.decisiveDeltaAIC)))"
            } else {
                verdict = "\(name) is strongly favoured by AIC: \(other), the next, is ΔAIC = \(d) behind (Akaike weight of \(name) \(weight))"
            }
        }
    }
}
