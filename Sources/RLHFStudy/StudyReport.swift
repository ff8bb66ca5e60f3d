import RLHF
import Foundation

/// The report layer of a study: pure functions from result rows to `report.md`, SVG plots and
/// `results.csv`. No I/O: every function returns a string.
///
/// Training studies (``ResultRow``) are reported per panel — one environment × link × feedback
/// cell — with medians over seeds and 95% percentile bootstrap intervals; measurement studies
/// (``MeasurementRow``) per metric along the swept quantity. Every report opens with the
/// study's question and a one-sentence answer computed from the numbers.
public enum StudyReport {
    /// File name of the training plot that ``training(title:question:rows:notes:)`` links to.
    public static let trainingPlotFile = "normalized_vs_queries.svg"
    /// File name of the measurement plot that ``measurement(title:question:rows:notes:)`` links to.
    public static let measurementPlotFile = "measurements.svg"
    /// The normalized values whose first-passage query counts are tabulated.
    public static let thresholds: [Double] = [0.5, 0.9]
    /// Bootstrap resamples used throughout the reports.
    public static let resamples = 2000

    // MARK: - Training report

    /// The Markdown report of a training study (`report.md`).
    ///
    /// - Parameters:
    ///   - title: the report's `#` heading.
    ///   - question: the question and the rule that turns the numbers into the answer sentence.
    ///   - rows: every row of `results.csv`.
    ///   - notes: extra lines listed at the end (e.g. wall time of the whole study, machine).
    public static func training(title: String, question: StudyQuestion, rows: [ResultRow], notes: [String] = []) -> String {
        let data = TrainingData(rows)
        var out = "# \(title)\n\n"
        out += "**Question.** \(question.question)\n\n"
        guard !rows.isEmpty else {
            out += "**Answer.** No results yet: the study has no finished runs.\n"
            return out + notesSection(notes)
        }
        let unreached = unreachedNote(data)
        switch question.answer {
        case .best, .trend:
            out += "**Answer.** \(bestAnswer(data, margin: question.margin))\(unreached)\n\n"
        case .threshold(let t):
            out += "**Answer.** \(thresholdAnswer(data, threshold: t))\(unreached)\n\n"
        case let .compare(groupA, nameA, groupB, nameB):
            let comparisons = compare(data, groupA: groupA, groupB: groupB, margin: question.margin)
            out += "**Answer.** \(compareAnswer(comparisons, data: data, nameA: nameA, nameB: nameB))\(unreached)\n\n"
            out += compareTable(comparisons, data: data, nameA: nameA, nameB: nameB, margin: question.margin)
        }

        out += "## The study\n\n"
        let seeds = Set(rows.map(\.seed)).sorted()
        let runs = Set(rows.map(\.run)).count
        out += "- \(runs) runs: \(data.variants.count) variants (\(data.variants.joined(separator: ", "))), "
        out += "\(seeds.count) seed\(seeds.count == 1 ? "" : "s") (\(seedList(seeds))), "
        out += "budgets \(ReportFormat.list(data.budgets.map { ReportFormat.queries($0) })) queries.\n"
        out += "- Environments: \(data.envs.joined(separator: ", ")); links: \(data.links.joined(separator: ", "))"
        out += data.feedbacks.count > 1 || data.feedbacks.first != "default"
            ? "; feedback: \(data.feedbacks.joined(separator: ", ")).\n" : ".\n"
        let totalWall = data.finalRows.reduce(0) { $0 + $1.wallSeconds }
        out += "- Sum of the runs' wall times: \(ReportFormat.seconds(totalWall)).\n\n"

        for panel in data.panels {
            out += panelSection(panel, data: data)
        }

        out += "## Plot\n\n"
        out += "![Normalized value vs queries: median over seeds with 95% bootstrap band](\(trainingPlotFile))\n\n"
        out += "## How to read this\n\n"
        out += "Each run is one variant on one environment, link, feedback setting and seed, trained to one query budget. "
        out += "The normalized value is (V(π) − V(uniform)) / (V* − V(uniform)): 0 is the uniform policy, 1 the optimal one. "
        out += "Tables give the median over seeds of each run's final value and a 95% percentile bootstrap interval "
        out += "(\(resamples) resamples of the seeds, deterministic), so with few seeds the interval is wide and "
        out += "at most as wide as the range of the seeds. Two variants differ clearly when their intervals do not overlap "
        out += "and their medians differ by at least the study's practical-difference margin, "
        out += "\(ReportFormat.significant(question.margin, digits: 2)) in normalized value (`margin:` in the study file); "
        out += "closer medians are a tie in practice, whatever the intervals. "
        out += "Queries to reach a threshold are read from each seed's largest-budget run (the first evaluation point at "
        out += "or above it; ∞ when never reached), then summarized the same way; \"> N\" means beyond the largest budget N. "
        out += "In the plot, each seed's curve is stepped onto a common grid of query counts (the last evaluation at or "
        out += "before each grid point) before taking the median and the interval at each point. **Bold**: highest median "
        out += "in its column.\n"
        return out + notesSection(notes)
    }

    /// The SVG plot of a training study: normalized value vs queries (log x), one panel per
    /// environment × link (× feedback when there are several), one series per variant (median
    /// over seeds of the largest-budget runs, with a 95% bootstrap band), a reference line at 0.9.
    public static func trainingPlot(rows: [ResultRow], title: String) -> String {
        let data = TrainingData(rows)
        let charts = data.panels.map { panel -> SVGPlot.Chart in
            var series: [SVGPlot.Series] = []
            var markers: [SVGPlot.Series] = []
            for (colorIndex, variant) in data.variants.enumerated() {
                let curves = data.curves(panel, variant)
                guard !curves.isEmpty else { continue }
                let points = medianCurve(curves.map(\.rows), seed: stableSeed(panel.label, variant, "curve"))
                series.append(SVGPlot.Series(name: variant, points: points, colorIndex: colorIndex))
                if let m = smallBudgetMarkers(panel, variant, data: data, curves: curves) {
                    markers.append(SVGPlot.Series(name: "\(variant) (smaller budgets)", points: m,
                                                  colorIndex: colorIndex, style: .markers))
                }
            }
            let footnote = markers.isEmpty
                ? "Lines: median over seeds; bands: 95% bootstrap intervals."
                : "Lines: largest-budget runs; hollow markers: final values of smaller-budget runs."
            return SVGPlot.Chart(title: panel.label.isEmpty ? panel.setting : panel.label,
                                 xAxis: SVGPlot.Axis(label: "queries", scale: .log10),
                                 yAxis: SVGPlot.Axis(label: "normalized value", range: -0.1...1.05),
                                 series: series + markers,
                                 referenceLines: [SVGPlot.ReferenceLine(y: 0.9, label: "0.9")],
                                 footnote: footnote)
        }
        return SVGPlot.panels(charts, columns: min(2, max(1, charts.count)), title: title)
    }

    /// The first `queries` of `curve` (one run's rows, any order) whose normalized value is at
    /// least `threshold`; `+∞` when no evaluation point reaches it.
    public static func queriesToReach(_ threshold: Double, curve: [ResultRow]) -> Double {
        let sorted = curve.sorted { $0.queries < $1.queries }
        if let hit = sorted.first(where: { $0.normalizedValue >= threshold }) { return Double(hit.queries) }
        return .infinity
    }

    // MARK: - Panel section

    static func panelSection(_ panel: Panel, data: TrainingData) -> String {
        var out = panel.label.isEmpty ? "## Results: \(panel.setting)\n\n" : "## \(panel.label)\n\n"
        let budgets = data.budgets(in: panel)
        let variants = data.variants.filter { v in budgets.contains { !data.finals(panel, v, $0).isEmpty } }

        // Final values.
        out += "### Normalized value at each budget\n\n"
        out += "Median over seeds of the final normalized value [95% bootstrap interval].\n\n"
        var table = MarkdownTable(header: ["variant"] + budgets.map { ReportFormat.queries($0) + " queries" } + ["seeds"])
        var estimates: [[Bootstrap.Estimate?]] = []
        for v in variants {
            estimates.append(budgets.map { b in
                finalEstimate(data, panel, v, b)
            })
        }
        let bestPerColumn = budgets.indices.map { j -> Double in
            estimates.compactMap { $0[j]?.point }.filter { !$0.isNaN }.max() ?? .nan
        }
        for (i, v) in variants.enumerated() {
            var cells = [v]
            for (j, e) in estimates[i].enumerated() {
                guard let e else { cells.append("–"); continue }
                let text = ReportFormat.estimate(e)
                cells.append(e.point == bestPerColumn[j] && variants.count > 1 ? bold(text) : text)
            }
            let counts = estimates[i].compactMap { $0?.count }
            cells.append(Set(counts).count == 1 ? String(counts[0]) : counts.map(String.init).joined(separator: "/"))
            table.append(cells)
        }
        out += table.render() + "\n"
        let ses = budgets.flatMap { b in variants.flatMap { data.finals(panel, $0, b).compactMap(\.valueStandardError) } }
        if !ses.isEmpty {
            out += "Values are Monte-Carlo estimates: the median standard error of a run's final value is "
            out += "\(ReportFormat.significant(Bootstrap.median(of: ses), digits: 2)) (in value units, before normalization), "
            out += "which adds to the spread over seeds.\n\n"
        }

        // Queries to reach the thresholds.
        out += "### Queries to reach normalized \(thresholds.map { ReportFormat.significant($0, digits: 2) }.joined(separator: " / "))\n\n"
        out += "From each seed's largest-budget run: the first evaluation point at or above the threshold; median over seeds [95% bootstrap interval].\n\n"
        var header = ["variant"]
        for t in thresholds { header += ["to \(ReportFormat.significant(t, digits: 2))", "seeds reaching \(ReportFormat.significant(t, digits: 2))"] }
        var reach = MarkdownTable(header: header)
        for v in variants {
            let curves = data.curves(panel, v)
            guard !curves.isEmpty else { continue }
            let budget = curves.map(\.budget).max() ?? 0
            var cells = [v]
            for t in thresholds {
                let firsts = curves.map { queriesToReach(t, curve: $0.rows) }
                let e = Bootstrap.median(firsts, resamples: resamples, seed: stableSeed(panel.label, v, "reach", String(t)))
                cells.append(formatReach(e, reached: firsts.filter(\.isFinite).count, budget: budget))
                cells.append("\(firsts.filter(\.isFinite).count)/\(firsts.count)")
            }
            reach.append(cells)
        }
        out += reach.render() + "\n"
        if let t = unreachedThreshold(panel, data: data) {
            out += "No variant reached normalized \(ReportFormat.significant(t, digits: 2)) in any seed in this setting.\n\n"
        }

        // Wall time.
        out += "### Wall time per run\n\n"
        out += "Median over seeds of each run's wall seconds (runs share the machine's cores, so these include contention).\n\n"
        var wall = MarkdownTable(header: ["variant"] + budgets.map { ReportFormat.queries($0) + " queries" })
        for v in variants {
            wall.append([v] + budgets.map { b in
                let finals = data.finals(panel, v, b)
                return finals.isEmpty ? "–" : ReportFormat.seconds(Bootstrap.median(of: finals.map(\.wallSeconds)))
            })
        }
        out += wall.render() + "\n"
        return out
    }

    /// A queries-to-threshold estimate: `3.2·10⁴ [1.0·10⁴, > 10⁶]`, `> 10⁶`, or `not reached`.
    static func formatReach(_ e: Bootstrap.Estimate, reached: Int, budget: Int) -> String {
        func q(_ x: Double) -> String { x.isFinite ? ReportFormat.queries(x) : ReportFormat.beyond(budget) }
        if reached == 0 { return "not reached (\(ReportFormat.beyond(budget)))" }
        if e.lower == e.upper && e.point == e.lower { return q(e.point) }
        return "\(q(e.point)) [\(q(e.lower)), \(q(e.upper))]"
    }

    // MARK: - Answers

    /// `.best`: per panel, the variant with the highest median final value at the panel's
    /// largest budget, and whether its interval lies above the runner-up's.
    /// The median final normalized value of `variant` at `budget` in `panel` with its bootstrap
    /// interval (seeded by panel, variant and budget, so every table and answer agrees), or nil
    /// when no run of it finished.
    static func finalEstimate(_ data: TrainingData, _ panel: Panel, _ variant: String, _ budget: Int) -> Bootstrap.Estimate? {
        let finals = data.finals(panel, variant, budget)
        guard !finals.isEmpty else { return nil }
        return Bootstrap.median(finals.map(\.normalizedValue), resamples: resamples,
                                seed: stableSeed(panel.label, variant, String(budget)))
    }

    /// The variants with finished runs at `budget` in `panel`, highest median first.
    static func ranked(_ data: TrainingData, _ panel: Panel, _ budget: Int) -> [(String, Bootstrap.Estimate)] {
        data.variants.compactMap { v in finalEstimate(data, panel, v, budget).map { (v, $0) } }
            .sorted { $0.1.point > $1.1.point }
    }

    static func bestAnswer(_ data: TrainingData, margin: Double = StudyQuestion.defaultMargin) -> String {
        if data.panels.count > 3 { return bestAnswerSummary(data, margin: margin) }
        var clauses: [String] = []
        var seedCounts: Set<Int> = []
        for panel in data.panels {
            guard let budget = data.budgets(in: panel).last else { continue }
            let ranked = self.ranked(data, panel, budget)
            guard let best = ranked.first else { continue }
            seedCounts.insert(best.1.count)
            var clause = panel.phrase.isEmpty ? "" : panel.phrase + ", "
            clause += "\(best.0) is best at \(ReportFormat.queries(budget)) queries (\(ReportFormat.estimate(best.1)))"
            if ranked.count > 1 {
                let second = ranked[1]
                seedCounts.insert(second.1.count)
                if best.1.lower > second.1.upper && best.1.point - second.1.point >= margin {
                    clause += ", its interval above that of the runner-up \(second.0) (\(ReportFormat.estimate(second.1)))"
                } else if best.1.lower > second.1.upper {
                    clause += ", its interval above that of the runner-up \(second.0) (\(ReportFormat.estimate(second.1))) but its "
                        + "median less than the margin \(ReportFormat.significant(margin, digits: 2)) higher: a tie in practice"
                } else {
                    clause += ", but its interval overlaps that of the runner-up \(second.0) (\(ReportFormat.estimate(second.1)))"
                }
            }
            clauses.append(clause)
        }
        guard !clauses.isEmpty else { return "No run has finished." }
        return capitalized(clauses.joined(separator: "; ")) + " " + seedsNote(seedCounts) + "."
    }

    /// The `best` answer of a study with many panels (env × link × feedback), in one sentence: how
    /// often each variant is best at the panel's largest budget, how often clearly (its interval
    /// above the runner-up's), and the range of each variant's median over the panels.
    static func bestAnswerSummary(_ data: TrainingData, margin: Double = StudyQuestion.defaultMargin) -> String {
        var wins: [String: (all: Int, clear: Int)] = [:]
        var medians: [String: [(Double, Panel)]] = [:]
        var seedCounts: Set<Int> = []
        var budgets: Set<Int> = []
        var panels = 0
        for panel in data.panels {
            guard let budget = data.budgets(in: panel).last else { continue }
            let ranked = self.ranked(data, panel, budget)
            guard let best = ranked.first else { continue }
            panels += 1
            budgets.insert(budget)
            for (v, e) in ranked { medians[v, default: []].append((e.point, panel)); seedCounts.insert(e.count) }
            let clear = ranked.count > 1 && best.1.lower > ranked[1].1.upper && best.1.point - ranked[1].1.point >= margin
            let w = wins[best.0] ?? (0, 0)
            wins[best.0] = (w.all + 1, w.clear + (clear ? 1 : 0))
        }
        guard panels > 0 else { return "No run has finished." }
        let at = budgets.count == 1 ? "at \(ReportFormat.queries(budgets.first!)) queries" : "at each setting's largest budget"
        let winners = data.variants.filter { wins[$0] != nil }.sorted { wins[$0]!.all > wins[$1]!.all }
        let best = winners.map { v in
            "\(v) is best in \(wins[v]!.all) of the \(panels) settings (clearly, its interval above the runner-up's and its median at least the margin \(ReportFormat.significant(margin, digits: 2)) higher, in \(wins[v]!.clear))"
        }.joined(separator: ", ")
        let ranges = data.variants.compactMap { v -> String? in
            guard let m = medians[v], let lo = m.min(by: { $0.0 < $1.0 }), let hi = m.max(by: { $0.0 < $1.0 }) else { return nil }
            return "\(v) from \(ReportFormat.fixed(lo.0, digits: 3)) (\(lo.1.label)) to \(ReportFormat.fixed(hi.0, digits: 3)) (\(hi.1.label))"
        }.joined(separator: ", ")
        return "Of the \(panels) settings \(at), \(best); the medians range over the settings for \(ranges) \(seedsNote(seedCounts))."
    }

    /// The smallest budget at which each variant's median final normalized value reaches
    /// `threshold`, per panel, variants ordered by that budget.
    static func thresholdAnswer(_ data: TrainingData, threshold: Double) -> String {
        var clauses: [String] = []
        var seedCounts: Set<Int> = []
        let t = ReportFormat.fixed(threshold, digits: 3)
        for panel in data.panels {
            var reached: [(variant: String, budget: Int, estimate: Bootstrap.Estimate)] = []
            var missed: [(variant: String, budget: Int, estimate: Bootstrap.Estimate, largest: Int)] = []
            for v in data.variants {
                var best: (Int, Bootstrap.Estimate)?
                var first: (Int, Bootstrap.Estimate)?
                var largest = 0
                for budget in data.budgets(in: panel) {
                    guard let e = finalEstimate(data, panel, v, budget) else { continue }
                    largest = budget
                    seedCounts.insert(e.count)
                    if first == nil && e.point >= threshold { first = (budget, e) }
                    if best == nil || e.point > best!.1.point { best = (budget, e) }
                }
                if let first { reached.append((v, first.0, first.1)) } else if let best { missed.append((v, best.0, best.1, largest)) }
            }
            guard !reached.isEmpty || !missed.isEmpty else { continue }
            reached.sort { $0.budget < $1.budget }
            var clause = panel.phrase.isEmpty ? "" : panel.phrase + ", "
            if reached.isEmpty {
                clause += "no variant's median reaches \(t)"
            } else {
                clause += "the median reaches \(t) first at " + reached.map {
                    "\(ReportFormat.queries($0.budget)) queries for \($0.variant) (\(ReportFormat.estimate($0.estimate)))"
                }.joined(separator: ", ")
            }
            if !missed.isEmpty {
                clause += "; " + missed.map { m in
                    "\(m.variant) does not by \(ReportFormat.queries(m.largest)) (best \(ReportFormat.estimate(m.estimate)) at \(ReportFormat.queries(m.budget)))"
                }.joined(separator: ", ")
            }
            clauses.append(clause)
        }
        guard !clauses.isEmpty else { return "No run has finished." }
        return capitalized(clauses.joined(separator: "; ")) + " " + seedsNote(seedCounts) + "."
    }

    /// A verdict of group A against group B at one budget in one panel.
    enum Verdict: String { case beats, loses, ties }

    /// Best of A vs best of B in one panel at one budget.
    struct Comparison {
        var panel: Panel
        var budget: Int
        var bestA: (variant: String, estimate: Bootstrap.Estimate)?
        var bestB: (variant: String, estimate: Bootstrap.Estimate)?
        /// Medians closer than this are a tie whatever the intervals.
        var margin: Double = StudyQuestion.defaultMargin
        var verdict: Verdict? {
            guard let a = bestA?.estimate, let b = bestB?.estimate else { return nil }
            if a.lower > b.upper && a.point - b.point >= margin { return .beats }
            if a.upper < b.lower && b.point - a.point >= margin { return .loses }
            return .ties
        }
    }

    /// Membership of a group: a row's variant label or its algorithm name.
    static func inGroup(_ group: [String], variant: String, data: TrainingData) -> Bool {
        group.contains(variant) || group.contains(data.algorithm[variant] ?? "")
    }

    static func compare(_ data: TrainingData, groupA: [String], groupB: [String],
                        margin: Double = StudyQuestion.defaultMargin) -> [Comparison] {
        var result: [Comparison] = []
        for panel in data.panels {
            for budget in data.budgets(in: panel) {
                func best(_ group: [String]) -> (String, Bootstrap.Estimate)? {
                    data.variants.filter { inGroup(group, variant: $0, data: data) }.compactMap { v -> (String, Bootstrap.Estimate)? in
                        finalEstimate(data, panel, v, budget).map { (v, $0) }
                    }.max { $0.1.point < $1.1.point }
                }
                let a = best(groupA), b = best(groupB)
                result.append(Comparison(panel: panel, budget: budget,
                                         bestA: a.map { (variant: $0.0, estimate: $0.1) },
                                         bestB: b.map { (variant: $0.0, estimate: $0.1) }, margin: margin))
            }
        }
        return result
    }

    /// `.compare`: one clause per panel — "under weibull, the best of A loses to the best of B
    /// at 10⁴ and 10⁵ queries and ties with it at 10⁶ queries".
    static func compareAnswer(_ comparisons: [Comparison], data: TrainingData, nameA: String, nameB: String) -> String {
        var clauses: [String] = []
        var seedCounts: Set<Int> = []
        for panel in data.panels {
            let here = comparisons.filter { $0.panel == panel && $0.verdict != nil }
            guard !here.isEmpty else { continue }
            for c in here { seedCounts.insert(c.bestA!.estimate.count); seedCounts.insert(c.bestB!.estimate.count) }
            // Group budgets by verdict, in order of first appearance.
            var groups: [(Verdict, [Int])] = []
            for c in here {
                if let i = groups.firstIndex(where: { $0.0 == c.verdict! }) { groups[i].1.append(c.budget) }
                else { groups.append((c.verdict!, [c.budget])) }
            }
            var parts: [String] = []
            for (k, (verdict, budgets)) in groups.enumerated() {
                let at = budgets.count == here.count && here.count > 1
                    ? "at every budget (\(ReportFormat.list(budgets.map { ReportFormat.queries($0) })) queries)"
                    : "at \(ReportFormat.list(budgets.map { ReportFormat.queries($0) })) queries"
                let object = k == 0 ? "the best of \(nameB)" : "it"
                switch verdict {
                case .beats: parts.append("beats \(object) \(at)")
                case .loses: parts.append("loses to \(object) \(at)")
                case .ties: parts.append("ties with \(object) \(at)")
                }
            }
            let prefix = panel.phrase.isEmpty ? "" : panel.phrase + ", "
            clauses.append(prefix + "the best of \(nameA) " + ReportFormat.list(parts))
        }
        guard !clauses.isEmpty else {
            return "No panel has finished runs of both \(nameA) and \(nameB), so they cannot be compared yet."
        }
        let missing = comparisons.filter { $0.verdict == nil }.count
        var sentence = capitalized(clauses.joined(separator: "; ")) + " " + seedsNote(seedCounts)
        if missing > 0 { sentence += "; \(missing) panel-budget cell\(missing == 1 ? " lacks" : "s lack") runs of one group" }
        return sentence + "."
    }

    static func compareTable(_ comparisons: [Comparison], data: TrainingData, nameA: String, nameB: String,
                             margin: Double = StudyQuestion.defaultMargin) -> String {
        var header: [String] = []
        if data.panels.count > 1 || !(data.panels.first?.label.isEmpty ?? true) { header.append("panel") }
        let showsPanel = !header.isEmpty
        header += ["queries", "best of \(nameA)", "median [95% CI]", "best of \(nameB)", "median [95% CI]", "\(nameA) vs \(nameB)"]
        var table = MarkdownTable(header: header, alignments: header.map { _ in .left })
        for c in comparisons {
            var cells = showsPanel ? [c.panel.label] : []
            cells.append(ReportFormat.queries(c.budget))
            cells += [c.bestA?.variant ?? "–", c.bestA.map { ReportFormat.estimate($0.estimate) } ?? "–"]
            cells += [c.bestB?.variant ?? "–", c.bestB.map { ReportFormat.estimate($0.estimate) } ?? "–"]
            cells.append(c.verdict?.rawValue ?? "no data")
            table.append(cells)
        }
        return "How the answer was read: at each budget, the variant of each group with the highest median final "
            + "normalized value; \"beats\" when its interval lies entirely above the other's and its median is at least "
            + "the margin \(ReportFormat.significant(margin, digits: 2)) higher, \"loses\" when the same holds the other way, "
            + "\"ties\" otherwise (intervals that overlap, or medians closer than the margin).\n\n" + table.render() + "\n"
    }

    // MARK: - Thresholds no variant reached

    /// The lowest of ``thresholds`` that no seed of any variant reached in `panel` (read from
    /// each seed's largest-budget run), or nil when every threshold was reached by some run.
    static func unreachedThreshold(_ panel: Panel, data: TrainingData) -> Double? {
        let curves = data.variants.flatMap { data.curves(panel, $0) }
        guard !curves.isEmpty else { return nil }
        return thresholds.first { t in curves.allSatisfy { queriesToReach(t, curve: $0.rows) == .infinity } }
    }

    /// " No variant reached normalized 0.9 in any seed (on …)." for the answer, or "".
    static func unreachedNote(_ data: TrainingData) -> String {
        var byThreshold: [(Double, [Panel])] = []
        for panel in data.panels {
            guard let t = unreachedThreshold(panel, data: data) else { continue }
            if let i = byThreshold.firstIndex(where: { $0.0 == t }) { byThreshold[i].1.append(panel) } else { byThreshold.append((t, [panel])) }
        }
        return byThreshold.sorted { $0.0 < $1.0 }.map { t, panels in
            let t = ReportFormat.significant(t, digits: 2)
            let where_ = panels.count == data.panels.count
                ? (data.panels.count == 1 ? "" : " in any setting")
                : " " + ReportFormat.list(panels.map(\.phrase))
            return " No variant reached normalized \(t) in any seed\(where_): the ranking is among methods short of it."
        }.joined()
    }

    // MARK: - Curves for the plot

    /// Median and bootstrap band across seeds of step-interpolated curves on a common grid.
    static func medianCurve(_ curves: [[ResultRow]], seed: UInt64) -> [SVGPlot.Point] {
        let sortedCurves = curves.map { $0.sorted { $0.queries < $1.queries } }.filter { !$0.isEmpty }
        let grid = queryGrid(sortedCurves.flatMap { $0.map(\.queries) })
        var points: [SVGPlot.Point] = []
        for (k, g) in grid.enumerated() {
            var values: [Double] = []
            for curve in sortedCurves {
                guard let first = curve.first, let last = curve.last, first.queries <= g, g <= last.queries else { continue }
                if let row = curve.last(where: { $0.queries <= g }) { values.append(row.normalizedValue) }
            }
            guard !values.isEmpty else { continue }
            let e = Bootstrap.median(values, resamples: resamples, seed: seed &+ UInt64(k))
            points.append(SVGPlot.Point(x: Double(g), y: e.point, lower: e.lower, upper: e.upper))
        }
        return points
    }

    /// The positive query counts in `queries`, thinned to about `target` log-spaced points
    /// (each snapped down to an actual evaluation point; the largest is always kept).
    static func queryGrid(_ queries: [Int], target: Int = 40) -> [Int] {
        let union = Array(Set(queries.filter { $0 > 0 })).sorted()
        guard union.count > target, let lo = union.first, let hi = union.last, hi > lo else { return union }
        var grid: [Int] = []
        let a = log10(Double(lo)), b = log10(Double(hi))
        for i in 0..<target {
            let q = pow(10, a + (b - a) * Double(i) / Double(target - 1))
            // Largest evaluation point at or below q (with a little slack for rounding).
            var lowIdx = 0, highIdx = union.count - 1
            while lowIdx < highIdx {
                let mid = (lowIdx + highIdx + 1) / 2
                if Double(union[mid]) <= q * (1 + 1e-9) { lowIdx = mid } else { highIdx = mid - 1 }
            }
            if grid.last != union[lowIdx] { grid.append(union[lowIdx]) }
        }
        if grid.last != hi { grid.append(hi) }
        return grid
    }

    /// Final values of a variant's smaller-budget runs, when they differ from its largest-budget
    /// curves at the same query count (e.g. schedules that depend on the budget).
    static func smallBudgetMarkers(_ panel: Panel, _ variant: String, data: TrainingData,
                                   curves: [TrainingData.Curve]) -> [SVGPlot.Point]? {
        let budgets = data.budgets(in: panel).filter { b in !data.finals(panel, variant, b).isEmpty }
        guard let largest = curves.map(\.budget).max() else { return nil }
        let smaller = budgets.filter { $0 < largest }
        guard !smaller.isEmpty else { return nil }
        var differs = false
        for b in smaller {
            for final in data.finals(panel, variant, b) {
                guard let curve = curves.first(where: { $0.seed == final.seed }),
                      let row = curve.rows.last(where: { $0.queries <= final.queries }) else { continue }
                if abs(row.normalizedValue - final.normalizedValue) > 1e-9 { differs = true }
            }
        }
        guard differs else { return nil }
        return smaller.compactMap { b in
            guard let e = finalEstimate(data, panel, variant, b) else { return nil }
            let finals = data.finals(panel, variant, b)
            let x = Bootstrap.median(of: finals.map { Double($0.queries) })
            return SVGPlot.Point(x: x > 0 ? x : Double(b), y: e.point, lower: e.lower, upper: e.upper)
        }
    }

    // MARK: - Small helpers

    static func notesSection(_ notes: [String]) -> String {
        guard !notes.isEmpty else { return "" }
        return "\n## Notes\n\n" + notes.map { "- \($0)\n" }.joined()
    }

    static func bold(_ s: String) -> String {
        guard let space = s.firstIndex(of: " ") else { return "**\(s)**" }
        return "**\(s[..<space])**\(s[space...])"
    }

    /// Capitalizes a sentence that opens with an English word (`under …`, `with …`, `on …`), and
    /// leaves one that opens with a variant label (`zbcpg-k16 is best …`) as the label is written.
    static func capitalized(_ s: String) -> String {
        guard let first = s.first else { return s }
        let opening = s.prefix { $0 != " " }
        guard ["under", "with", "on", "at", "the", "in"].contains(String(opening)) else { return s }
        return first.uppercased() + s.dropFirst()
    }

    static func seedsNote(_ counts: Set<Int>) -> String {
        let sorted = counts.sorted()
        let n = sorted.count == 1 ? "\(sorted[0])" : "\(sorted.first ?? 0)–\(sorted.last ?? 0)"
        return "(medians over \(n) seed\(n == "1" ? "" : "s"), 95% bootstrap intervals)"
    }

    static func seedList(_ seeds: [UInt64]) -> String {
        guard let first = seeds.first, let last = seeds.last else { return "" }
        if seeds.count > 3 && last - first == UInt64(seeds.count - 1) { return "\(first)–\(last)" }
        return seeds.map(String.init).joined(separator: ", ")
    }

    /// A stable 64-bit seed from labels (FNV-1a), so each table cell resamples differently but
    /// reproducibly across processes (Swift's `hashValue` is randomized per process).
    static func stableSeed(_ parts: String...) -> UInt64 {
        parts.reduce(Checksum.offsetBasis) { h, part in
            Checksum.fnv1a64(CollectionOfOne(0x1F), continuing: Checksum.fnv1a64(part.utf8, continuing: h))
        }
    }
}

// MARK: - Grouping rows

extension StudyReport {
    /// One environment × link × feedback cell of a study, with its labels.
    struct Panel: Hashable {
        var env: String
        var link: String
        var feedback: String
        /// Heading, naming only the dimensions that vary in the study (`classic · weibull`).
        var label: String
        /// Sentence prefix (`on classic under weibull`), same rule.
        var phrase: String

        /// The full setting, whatever varies (`classic · bradley-terry`, with the feedback
        /// setting unless it is `default`): the title of a study's only panel.
        var setting: String {
            ([env, link] + (feedback == "default" ? [] : [feedback])).joined(separator: " · ")
        }
    }

    /// A training study's rows grouped for the report.
    struct TrainingData {
        /// One seed's run: all its rows, sorted by queries.
        struct Curve {
            var seed: UInt64
            var budget: Int
            var rows: [ResultRow]
        }

        var variants: [String] = []
        var envs: [String] = []
        var links: [String] = []
        var feedbacks: [String] = []
        var budgets: [Int] = []
        var panels: [Panel] = []
        var algorithm: [String: String] = [:]
        var finalRows: [ResultRow] = []
        private var finalsByCell: [String: [ResultRow]] = [:]
        private var runsByCell: [String: [String: [ResultRow]]] = [:]
        private var budgetsByPanel: [Panel: [Int]] = [:]

        init(_ rows: [ResultRow]) {
            func appendUnique<T: Equatable>(_ list: inout [T], _ x: T) { if !list.contains(x) { list.append(x) } }
            for r in rows {
                appendUnique(&variants, r.variant); appendUnique(&envs, r.env); appendUnique(&links, r.link)
                appendUnique(&feedbacks, r.feedback)
                if algorithm[r.variant] == nil { algorithm[r.variant] = r.algorithm }
            }
            budgets = Array(Set(rows.map(\.budget))).sorted()
            let (varyEnv, varyLink, varyFeedback) = (envs.count > 1, links.count > 1, feedbacks.count > 1)
            var panelOf: [String: Panel] = [:]
            for r in rows {
                let key = TrainingData.key(r.env, r.link, r.feedback)
                if panelOf[key] == nil {
                    var labels: [String] = [], phrase: [String] = []
                    if varyEnv { labels.append(r.env); phrase.append("on \(r.env)") }
                    if varyLink { labels.append(r.link); phrase.append("under \(r.link)") }
                    if varyFeedback { labels.append(r.feedback); phrase.append("with feedback \(r.feedback)") }
                    let p = Panel(env: r.env, link: r.link, feedback: r.feedback,
                                  label: labels.joined(separator: " · "), phrase: phrase.joined(separator: " "))
                    panelOf[key] = p
                    panels.append(p)
                }
            }
            // Panels in env, link, feedback order of first appearance.
            panels.sort { a, b in
                let ka = (envs.firstIndex(of: a.env)!, links.firstIndex(of: a.link)!, feedbacks.firstIndex(of: a.feedback)!)
                let kb = (envs.firstIndex(of: b.env)!, links.firstIndex(of: b.link)!, feedbacks.firstIndex(of: b.feedback)!)
                return ka < kb
            }
            var finals: [String: [UInt64: ResultRow]] = [:]
            for r in rows {
                let panelKey = TrainingData.key(r.env, r.link, r.feedback)
                runsByCell[TrainingData.key(panelKey, r.variant), default: [:]][r.run, default: []].append(r)
                if r.isFinal {
                    finals[TrainingData.key(panelKey, r.variant, String(r.budget)), default: [:]][r.seed] = r
                }
            }
            for (k, bySeed) in finals {
                finalsByCell[k] = bySeed.keys.sorted().map { bySeed[$0]! }
            }
            finalRows = finalsByCell.keys.sorted().flatMap { finalsByCell[$0]! }
            for p in panels {
                let key = TrainingData.key(p.env, p.link, p.feedback)
                budgetsByPanel[p] = budgets.filter { b in variants.contains { finalsByCell[TrainingData.key(key, $0, String(b))] != nil } }
            }
        }

        static func key(_ parts: String...) -> String { parts.joined(separator: "\u{1F}") }

        /// Budgets with at least one finished run in `panel`, ascending.
        func budgets(in panel: Panel) -> [Int] { budgetsByPanel[panel] ?? [] }

        /// The final rows (one per seed, ascending seed) of `variant` at `budget` in `panel`.
        func finals(_ panel: Panel, _ variant: String, _ budget: Int) -> [ResultRow] {
            finalsByCell[TrainingData.key(TrainingData.key(panel.env, panel.link, panel.feedback), variant, String(budget))] ?? []
        }

        /// Per seed, the curve of its largest-budget run of `variant` in `panel` (ascending seed).
        func curves(_ panel: Panel, _ variant: String) -> [Curve] {
            guard let runs = runsByCell[TrainingData.key(TrainingData.key(panel.env, panel.link, panel.feedback), variant)] else { return [] }
            var bySeed: [UInt64: Curve] = [:]
            for (_, rows) in runs {
                guard let first = rows.first else { continue }
                let curve = Curve(seed: first.seed, budget: first.budget, rows: rows.sorted { $0.queries < $1.queries })
                if let existing = bySeed[first.seed], existing.budget >= curve.budget { continue }
                bySeed[first.seed] = curve
            }
            return bySeed.keys.sorted().map { bySeed[$0]! }
        }
    }
}
