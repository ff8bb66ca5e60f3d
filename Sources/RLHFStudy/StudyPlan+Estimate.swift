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
        public static let method = "from two probe runs per algorithm variant and environment (seed 0, the first link and "
            + "feedback setting, one and three iterations' worth of queries), fitted as t = a + b·queries and summed over the "
            + "runs, shared by the workers; a rough guide (costs that do not grow with queries, such as evaluations, are "
            + "only partly seen by short probes)"
    }

    /// A probe: the configuration to time (its `budget` set to the probe's queries).
    public typealias Probe = @Sendable (TrainConfiguration) throws -> Double

    /// Times a configuration by training it (the default probe).
    public static let trainProbe: Probe = { configuration in
        let start = Date()
        _ = try Trainer.run(configuration)
        return Date().timeIntervalSince(start)
    }

    /// Estimates the study's wall time with `workers` runs at once: for each algorithm variant
    /// × environment, `probe` times the group's first cell (seed 0) at q₁ = one iteration's
    /// queries and q₂ = 3·q₁; the fit t = a + b·q (a, b ≥ 0) gives every run of the group
    /// a + b·budget. The study takes max(Σ runs / workers, longest run). A probe slower than
    /// `slowProbe` seconds is not repeated (its time is taken as b·q₁ alone).
    public func estimate(workers: Int, slowProbe: Double = 5, probe: Probe = StudyPlan.trainProbe) -> Estimate {
        struct Fit { var a: Double; var b: Double }
        var fits: [String: Fit] = [:]
        var probes = 0, probeSeconds = 0.0
        var unprobed: [String] = []
        func key(_ c: Cell) -> String { c.variant + "\u{1F}" + c.env }
        for cell in cells where fits[key(cell)] == nil && !unprobed.contains(key(cell)) {
            var c = cell.configuration
            c.seed = 0
            let tabular = (try? c.environment.resolve())?.isTabular ?? true
            let q1 = max(1, c.minimumBudget(tabular: tabular)), q2 = 3 * q1
            do {
                c.budget = q1
                let t1 = try probe(c)
                probes += 1; probeSeconds += t1
                if t1 > slowProbe {
                    fits[key(cell)] = Fit(a: 0, b: t1 / Double(q1))
                    continue
                }
                c.budget = q2
                let t2 = try probe(c)
                probes += 1; probeSeconds += t2
                let b = max(0, (t2 - t1) / Double(q2 - q1))
                fits[key(cell)] = Fit(a: max(0, t1 - b * Double(q1)), b: b)
            } catch {
                unprobed.append(key(cell))
            }
        }
        // Groups without a probe: the mean seconds per query of the probed ones.
        let probed = Array(fits.values)
        let fallback = probed.isEmpty ? Fit(a: 0, b: 0) : Fit(a: probed.map(\.a).reduce(0, +) / Double(probed.count),
                                                               b: probed.map(\.b).reduce(0, +) / Double(probed.count))
        var total = 0.0, longest = 0.0
        for cell in cells {
            let f = fits[key(cell)] ?? fallback
            let t = f.a + f.b * Double(cell.configuration.budget)
            total += t
            longest = max(longest, t)
        }
        return Estimate(seconds: max(total / Double(max(1, min(workers, cells.count))), longest), runSeconds: total,
                        longestRun: longest, probes: probes, probeSeconds: probeSeconds,
                        unprobed: unprobed.map { $0.replacingOccurrences(of: "\u{1F}", with: " on ") })
    }
}
