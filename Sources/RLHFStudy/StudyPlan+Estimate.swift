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
        public static let method = "from probe runs per algorithm variant and environment (seed 0, the first link and feedback "
            + "setting): one iteration's queries, then 10× more until the time grows by 0.25 s or the group's smallest budget is "
            + "reached, evaluated at start and end, and that last one again with the runs' evaluation points; fitted as "
            + "t = a + b·queries + c·evaluations and summed over the runs, shared by the workers. A rough guide: timings "
            + "on a busy machine, and costs that do not scale with queries, make it err"
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

    /// The smallest time difference the probes measure a cost from (timer noise is well below).
    static let probeResolution = 0.25

    /// Estimates the study's wall time with `workers` runs at once.
    ///
    /// For each algorithm variant × environment, `probe` runs the group's first cell (seed 0)
    /// evaluated at start and end only: at q₁ = one iteration's queries, then at 10, 100, …
    /// times q₁ until the time exceeds the first by ``probeResolution`` seconds, the group's
    /// smallest budget is reached, or a probe takes `slowProbe` seconds; the last of these
    /// runs again with the run's evaluation points. The fit t = a + b·q + c·E (a, b, c ≥ 0; E
    /// the evaluation points) gives each run of the group a + b·budget + c·E, with E its own
    /// evaluation count (`evaluations`, default 100 exact or 20 Monte-Carlo, at most one per
    /// iteration). When only the first probe ran (it took `slowProbe`), a run's time is taken
    /// as proportional to its iterations, or, for the methods that spend their budget up front
    /// (offline DPO and RM+PPO, PPO on the true reward), as that probe's time. The study takes
    /// max(Σ runs / workers, longest run).
    public func estimate(workers: Int, slowProbe: Double = 5, probe: Probe = StudyPlan.trainProbe) -> Estimate {
        struct Fit { var a = 0.0, b = 0.0, c = 0.0 }
        var fits: [String: (fit: Fit, q1: Int, exact: Bool)] = [:]
        var probes = 0, probeSeconds = 0.0
        var unprobed: [String] = []
        func key(_ c: Cell) -> String { c.variant + "\u{1F}" + c.env }
        func points(_ c: TrainConfiguration, exact: Bool) -> Int { c.evaluationPoints ?? (exact ? 100 : 20) }
        for cell in cells where fits[key(cell)] == nil && !unprobed.contains(key(cell)) {
            var c = cell.configuration
            c.seed = 0
            let tabular = (try? c.environment.resolve())?.isTabular ?? true
            let q1 = max(1, c.minimumBudget(tabular: tabular))
            let cap = max(q1, cells.filter { key($0) == key(cell) }.map(\.configuration.budget).min() ?? q1)
            func time(_ budget: Int, evaluateEvery: Int) throws -> (seconds: Double, evaluations: Int) {
                c.budget = budget
                c.evaluateEvery = evaluateEvery
                let t = try probe(c)
                probes += 1; probeSeconds += t.seconds
                return t
            }
            do {
                let ends = Limits.count   // never reached: evaluated at the start and the end only
                let p1 = try time(q1, evaluateEvery: ends)
                var q = q1, p = p1
                while q < cap && p.seconds - p1.seconds < Self.probeResolution && p.seconds < slowProbe {
                    q = min(cap, q * 10)
                    p = try time(q, evaluateEvery: ends)
                }
                var f = Fit()
                if q == q1 {
                    let upFront: Set<AlgorithmName> = [.dpo, .rmPPOOffline, .ppoTrueReward]
                    if upFront.contains(c.algorithm) { f.a = p1.seconds } else { f.b = p1.seconds / Double(q1) }
                } else {
                    if p.seconds < slowProbe {
                        let every = max(1, (q / q1) / points(c, exact: tabular))
                        let pe = try time(q, evaluateEvery: every)
                        if pe.evaluations > p.evaluations {
                            f.c = max(0, (pe.seconds - p.seconds) / Double(pe.evaluations - p.evaluations))
                        }
                    }
                    f.b = max(0, ((p.seconds - f.c * Double(p.evaluations)) - (p1.seconds - f.c * Double(p1.evaluations))) / Double(q - q1))
                    f.a = max(0, p1.seconds - f.b * Double(q1) - f.c * Double(p1.evaluations))
                }
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
            let evaluations = min(points(cell.configuration, exact: g?.exact ?? true), max(1, iterations)) + 1
            let t = f.a + f.b * Double(budget) + f.c * Double(evaluations)
            total += t
            longest = max(longest, t)
        }
        return Estimate(seconds: max(total / Double(max(1, min(workers, cells.count))), longest), runSeconds: total,
                        longestRun: longest, probes: probes, probeSeconds: probeSeconds,
                        unprobed: unprobed.map { $0.replacingOccurrences(of: "\u{1F}", with: " on ") })
    }
}
