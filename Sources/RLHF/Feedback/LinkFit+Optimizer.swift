#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

extension LinkFit {
    /// Where the optimizer went when the data do not pin a parameter down.
    enum Escape: Sendable, Equatable {
        case scaleToZero, scaleToInfinity, shapeToZero, shapeToInfinity
    }

    /// How one link's maximization ended.
    struct Outcome: Sendable {
        /// How it ended.
        enum End: Sendable, Equatable {
            /// The Newton decrement fell below the tolerance at a point where −H is positive definite.
            case converged
            /// An accepted ascent step left the box: the supremum is at a boundary.
            case escaped(Escape)
            /// No ascent step could be found; `decrement` is the last Newton decrement (nil if −H
            /// was not positive definite there).
            case stalled(decrement: Double?)
            /// The iteration limit was reached.
            case iterationLimit
            /// The log-likelihood or its derivatives were not finite anywhere usable.
            case nonFinite
        }

        /// log s and log k (log k unused by the one-parameter links) at the end.
        var logScale: Double
        var logShape: Double
        /// log L and its derivatives there.
        var evaluation: Evaluation
        var iterations: Int
        var end: End
    }

    /// Levenberg-Marquardt-damped Newton ascent of log L in (log s, log k), from the best point
    /// of a start grid, with the step capped at ``Settings/maxLogStep`` and a box whose exit
    /// marks a parameter the data do not identify.
    struct Optimizer {
        let kind: LinkFunction.Kind
        let terms: Terms
        let settings: Settings

        var dimensions: Int { kind == .weibull ? 2 : 1 }
        var scaleBox: ClosedRange<Double> {
            log(terms.medianMagnitude / settings.scaleRange)...log(terms.maxMagnitude * settings.scaleRange)
        }
        var shapeBox: ClosedRange<Double> { log(settings.shapeRange.lowerBound)...log(settings.shapeRange.upperBound) }

        func evaluate(_ p: (Double, Double), derivatives: Bool = true) -> Evaluation {
            LinkFit.evaluate(kind, logScale: p.0, logShape: p.1, terms: terms, derivatives: derivatives)
        }

        /// The best point of the grid s = median|x|·2^j (|j| ≤ ``Settings/scaleGridHalfWidth``)
        /// × ``Settings/shapeGrid``, or nil if log L is nowhere finite on it.
        func start() -> (Double, Double)? {
            let shapes = dimensions == 2 ? settings.shapeGrid.map { log($0) } : [log(2.0)]
            var best: (Double, Double)?
            var bestValue = -Double.infinity
            for j in -settings.scaleGridHalfWidth...settings.scaleGridHalfWidth {
                for phi in shapes {
                    let p = (log(terms.medianMagnitude) + Double(j) * log(2.0), phi)
                    let v = evaluate(p, derivatives: false).value
                    if v.isFinite && v > bestValue { bestValue = v; best = p }
                }
            }
            return best
        }

        /// −H in the optimizer's dimensions: (a, b, c) for [[a, b], [b, c]].
        func negativeHessian(_ e: Evaluation) -> (Double, Double, Double) {
            dimensions == 2 ? (-e.hessian.0, -e.hessian.1, -e.hessian.2) : (-e.hessian.0, 0, 1)
        }

        /// Solves [[a, b], [b, c]]·δ = g if that matrix is positive definite.
        static func solvePositiveDefinite(_ m: (Double, Double, Double), _ g: (Double, Double)) -> (Double, Double)? {
            let (a, b, c) = m
            let det = a * c - b * b
            guard a > 0, c > 0, det > 0, det.isFinite else { return nil }
            return ((c * g.0 - b * g.1) / det, (a * g.1 - b * g.0) / det)
        }

        /// The Newton decrement gᵀ(−H)⁻¹g, or nil if −H is not positive definite.
        func decrement(_ e: Evaluation) -> Double? {
            let g = (e.gradient.0, dimensions == 2 ? e.gradient.1 : 0)
            guard let d = Self.solvePositiveDefinite(negativeHessian(e), g) else { return nil }
            return g.0 * d.0 + g.1 * d.1
        }

        func escape(_ p: (Double, Double)) -> Escape? {
            if p.0 < scaleBox.lowerBound { return .scaleToZero }
            if p.0 > scaleBox.upperBound { return .scaleToInfinity }
            if dimensions == 2 {
                if p.1 < shapeBox.lowerBound { return .shapeToZero }
                if p.1 > shapeBox.upperBound { return .shapeToInfinity }
            }
            return nil
        }

        func run() -> Outcome {
            guard var p = start() else {
                return Outcome(logScale: log(terms.medianMagnitude), logShape: 0, evaluation: Evaluation(),
                               iterations: 0, end: .nonFinite)
            }
            var e = evaluate(p)
            var lambda = 0.0
            for iteration in 0..<settings.maxIterations {
                guard e.isFinite else { return Outcome(logScale: p.0, logShape: p.1, evaluation: e, iterations: iteration, end: .nonFinite) }
                let dec = decrement(e)
                if let dec, dec < settings.decrementTolerance {
                    return Outcome(logScale: p.0, logShape: p.1, evaluation: e, iterations: iteration, end: .converged)
                }
                let n = negativeHessian(e)
                let g = (e.gradient.0, dimensions == 2 ? e.gradient.1 : 0)
                // Marquardt's scaling: damp each coordinate in proportion to its curvature.
                let d0 = max(abs(n.0), 1e-12), d1 = max(abs(n.2), 1e-12)
                var accepted = false
                while !accepted {
                    if lambda > 1e16 {
                        return Outcome(logScale: p.0, logShape: p.1, evaluation: e, iterations: iteration, end: .stalled(decrement: dec))
                    }
                    guard var step = Self.solvePositiveDefinite((n.0 + lambda * d0, n.1, n.2 + lambda * d1), g) else {
                        lambda = lambda == 0 ? 1e-6 : lambda * 10
                        continue
                    }
                    let longest = max(abs(step.0), abs(step.1))
                    if longest > settings.maxLogStep {
                        step = (step.0 * settings.maxLogStep / longest, step.1 * settings.maxLogStep / longest)
                    }
                    let next = (p.0 + step.0, dimensions == 2 ? p.1 + step.1 : p.1)
                    let candidate = evaluate(next)
                    if candidate.isFinite && candidate.value >= e.value {
                        if let direction = escape(next) {
                            return Outcome(logScale: next.0, logShape: next.1, evaluation: candidate,
                                           iterations: iteration + 1, end: .escaped(direction))
                        }
                        p = next
                        e = candidate
                        lambda = lambda < 1e-9 ? 0 : lambda / 10
                        accepted = true
                    } else {
                        // Within rounding of the maximum (the gain dec/2 is below what log L's
                        // rounding resolves), a step can fail to increase log L: stop there.
                        if let dec, dec < settings.stallTolerance {
                            return Outcome(logScale: p.0, logShape: p.1, evaluation: e, iterations: iteration, end: .converged)
                        }
                        lambda = lambda == 0 ? 1e-4 : lambda * 10
                    }
                }
            }
            return Outcome(logScale: p.0, logShape: p.1, evaluation: e, iterations: settings.maxIterations,
                           end: decrement(e).map { $0 < settings.stallTolerance } == true ? .converged : .iterationLimit)
        }
    }
}
