import Foundation
import RLHF

extension StudyPlan {
    /// A rough estimate of a study's running time (`rlhf study --dry-run`).
    public struct Estimate: Sendable, Equatable {
        /// Estimated wall seconds of the whole study with the given workers.
        public var seconds: Double
        /// Estimated sum of the runs' wall seconds.
        public var runSeconds: Double
        /// Estimated wall seconds of the longest run.
        public var longestRun: Double
        /// Probe runs made.
        public var probes: Int
        /// Their total wall seconds.
        public var probeSeconds: Double
        /// Groups (variant × environment) whose probes failed; their runs are estimated from the
        /// others' seconds per query.
        public var unprobed: [String]

        /// How the estimate is made, for the reader.
        public static let method = "from three probe runs per algorithm variant and environment (seed 0, the first link and "
            + "feedback setting: one and three iterations' worth of queries evaluated at start and end, and three iterations "
            + "evaluated after each), fitted as t = a + b·queries + c·evaluations and summed over the runs, shared by the "
            + "workers; a rough guide"
    }

    /// A probe: times a configuration (its `budget` and `evaluateEvery` set for the probe) and
    /// counts its evaluation points.
    public typealias Probe = @Sendable (TrainConfiguration) throws -> (seconds: Double, evaluations: Int)

    /// Times a configuration by training it (the default probe).
    public static let trainProbe: Probe = { configuration in
        let start = Date()
        let result = try Trainer.run(configuration)
        return (Date().timeIntervalSince(start), result.state.records.count)
    }

    /// Estimates the study's wall time with `workers` runs at once.
    ///
    /// For each algorithm variant × environment, `probe` runs the group's first cell (seed 0)
    /// three times: at q₁ = one iteration's queries and at q₂ = 3·q₁ with evaluations only at
    /// start and end, and at q₂ evaluated after every iteration. The fit t = a + b·q + c·E
    /// (a, b, c ≥ 0; E the evaluation points) gives each run of the group a + b·budget + c·E,
    /// with E its own evaluation count (about `evaluations`, default 100 exact or 20
    /// Monte-Carlo, or one per iteration when it has fewer iterations). The study takes
    /// max(Σ runs / workers, longest run). After a probe slower than `slowProbe` seconds the
    /// group is not probed again (its seconds per query are taken from that probe alone).
    public func estimate(workers: Int, slowProbe: Double = 5, probe: Probe = StudyPlan.trainProbe) -> Estimate {
        struct Fit { var a = 0.0, b = 0.0, c = 0.0 }
        var fits: [String: (fit: Fit, q1: Int, exact: Bool)] = [:]
        var probes = 0, probeSeconds = 0.0
        var unprobed: [String] = []
        func key(_ c: Cell) -> String { c.variant + "\u{1F}" + c.env }
        for cell in cells where fits[key(cell)] == nil && !unprobed.contains(key(cell)) {
            var c = cell.configuration
            c.seed = 0
            let tabular = (try? c.environment.resolve())?.isTabular ?? true
            let q1 = max(1, c.minimumBudget(tabular: tabular)), q2 = 3 * q1
            func time(_ budget: Int, evaluateEvery: Int) throws -> (seconds: Double, evaluations: Int) {
                c.budget = budget
                c.evaluateEvery = evaluateEvery
                let t = try probe(c)
                probes += 1; probeSeconds += t.seconds
                return t
            }
            do {
                let p1 = try time(q1, evaluateEvery: Int.max / 2)
                if p1.seconds > slowProbe {
                    fits[key(cell)] = (Fit(b: p1.seconds / Double(q1)), q1, tabular)
                    continue
                }
                let p2 = try time(q2, evaluateEvery: Int.max / 2)
                let p3 = p2.seconds > slowProbe ? p2 : try time(q2, evaluateEvery: 1)
                var f = Fit()
                if p3.evaluations > p2.evaluations { f.c = max(0, (p3.seconds - p2.seconds) / Double(p3.evaluations - p2.evaluations)) }
                f.b = max(0, ((p2.seconds - f.c * Double(p2.evaluations)) - (p1.seconds - f.c * Double(p1.evaluations))) / Double(q2 - q1))
                f.a = max(0, p1.seconds - f.b * Double(q1) - f.c * Double(p1.evaluations))
                fits[key(cell)] = (f, q1, tabular)
            } catch {
                unprobed.append(key(cell))
            }
        }
        // Groups without a probe: the mean fit of the probed ones.
        let probed = fits.values.map(\.fit)
        let n = Double(max(1, probed.count))
        let fallback = Fit(a: probed.map(\.a).reduce(0, +) / n, b: probed.map(\.b).reduce(0, +) / n, c: probed.map(\.c).reduce(0, +) / n)
        var total = 0.0, longest = 0.0
        for cell in cells {
            let g = fits[key(cell)]
            let f = g?.fit ?? fallback
            let budget = cell.configuration.budget
            let iterations = budget / max(1, g?.q1 ?? budget)
            let points = cell.configuration.evaluationPoints ?? ((g?.exact ?? true) ? 100 : 20)
            let evaluations = min(points, max(1, iterations)) + 1
            let t = f.a + f.b * Double(budget) + f.c * Double(evaluations)
            total += t
            longest = max(longest, t)
        }
        return Estimate(seconds: max(total / Double(max(1, min(workers, cells.count))), longest), runSeconds: total,
                        longestRun: longest, probes: probes, probeSeconds: probeSeconds,
                        unprobed: unprobed.map { $0.replacingOccurrences(of: "\u{1F}", with: " on ") })
    }
}
