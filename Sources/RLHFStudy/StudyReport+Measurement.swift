import Foundation

/// Reports of measurement studies (an estimator's or a critic's error along a swept quantity).
extension StudyReport {
    /// The Markdown report of a measurement study (`report.md`): the question, a one-sentence
    /// answer (how each metric changes from the first to the last swept value, per variant),
    /// and per metric a table with one row per x and one column per variant (median over seeds
    /// with a 95% bootstrap interval when there are several seeds).
    public static func measurement(title: String, question: StudyQuestion, rows: [MeasurementRow], notes: [String] = []) -> String {
        let data = MeasurementData(rows)
        var out = "# \(title)\n\n**Question.** \(question.question)\n\n"
        guard !rows.isEmpty else {
            return out + "**Answer.** No results yet: the study has no finished measurements.\n" + notesSection(notes)
        }
        out += "**Answer.** \(trendAnswer(data))\n\n"
        let seeds = Set(rows.map(\.seed)).sorted()
        out += "## The study\n\n"
        out += "- Variants: \(data.variants.joined(separator: ", ")); metrics: \(data.metrics.joined(separator: ", ")); "
        out += "\(seeds.count) seed\(seeds.count == 1 ? "" : "s") (\(seedList(seeds))).\n\n"

        for metric in data.metrics {
            let xName = data.xName[metric] ?? "x"
            out += "## \(metric)\n\n"
            let manySeeds = data.variants.contains { v in data.xs(metric).contains { data.values(metric, v, $0).count > 1 } }
            out += manySeeds
                ? "Median over seeds [95% bootstrap interval] of \(metric) at each \(xName).\n\n"
                : "\(metric) at each \(xName).\n\n"
            let variants = data.variants.filter { v in data.xs(metric).contains { !data.values(metric, v, $0).isEmpty } }
            var table = MarkdownTable(header: [xName] + variants + (manySeeds ? ["seeds"] : []))
            for x in data.xs(metric) {
                var cells = [ReportFormat.significant(x, digits: 3)]
                var counts: Set<Int> = []
                for v in variants {
                    let values = data.values(metric, v, x)
                    counts.insert(values.count)
                    if values.isEmpty { cells.append("–"); continue }
                    if values.count == 1 { cells.append(ReportFormat.significant(values[0], digits: 3)); continue }
                    let e = data.estimate(metric, v, x)
                    cells.append(ReportFormat.estimateSignificant(e, digits: 3))
                }
                if manySeeds { cells.append(counts.sorted().map(String.init).joined(separator: "/")) }
                table.append(cells)
            }
            out += table.render() + "\n"
        }
        out += "## Plot\n\n![Each metric vs the swept quantity](\(measurementPlotFile))\n\n"
        out += "## How to read this\n\n"
        out += "Each row is one setting of the swept quantity. With several seeds, a cell is the median over seeds "
        out += "and a 95% percentile bootstrap interval (\(resamples) resamples of the seeds, deterministic); with one "
        out += "seed it is the measured value itself. The answer compares each metric's value at the first and the last "
        out += "setting of the sweep.\n"
        return out + notesSection(notes)
    }

    /// The SVG plot of a measurement study: one panel per metric, y vs x (log x when every x is
    /// positive; log y when `logY` and the values are positive), one series per variant with a
    /// 95% bootstrap band when there are several seeds.
    public static func measurementPlot(rows: [MeasurementRow], title: String, logY: Bool) -> String {
        let data = MeasurementData(rows)
        let charts = data.metrics.map { metric -> SVGPlot.Chart in
            let xs = data.xs(metric)
            let logX = !xs.isEmpty && xs.allSatisfy { $0 > 0 }
            var series: [SVGPlot.Series] = []
            var allPositive = true
            for (colorIndex, v) in data.variants.enumerated() {
                var points: [SVGPlot.Point] = []
                for x in xs.sorted() {
                    let values = data.values(metric, v, x)
                    guard !values.isEmpty else { continue }
                    if values.contains(where: { $0 <= 0 }) { allPositive = false }
                    if values.count == 1 {
                        points.append(SVGPlot.Point(x: x, y: values[0]))
                    } else {
                        let e = data.estimate(metric, v, x)
                        points.append(SVGPlot.Point(x: x, y: e.point, lower: e.lower, upper: e.upper))
                    }
                }
                if !points.isEmpty { series.append(SVGPlot.Series(name: v, points: points, colorIndex: colorIndex)) }
            }
            return SVGPlot.Chart(title: metric,
                                 xAxis: SVGPlot.Axis(label: data.xName[metric] ?? "x", scale: logX ? .log10 : .linear),
                                 yAxis: SVGPlot.Axis(label: metric, scale: logY && allPositive ? .log10 : .linear),
                                 series: series)
        }
        return SVGPlot.panels(charts, columns: min(2, max(1, charts.count)), title: title)
    }

    /// "relative_error falls 71-fold from 0.0085 at sigma = 1 to 0.00012 at sigma = 0.01 (variant a)",
    /// for the study's primary metric (the first one measured); the others are in the tables.
    static func trendAnswer(_ data: MeasurementData) -> String {
        var clauses: [String] = []
        for metric in data.metrics.prefix(1) {
            let xs = data.xs(metric)
            let xName = data.xName[metric] ?? "x"
            let variants = data.variants.filter { v in xs.contains { !data.values(metric, v, $0).isEmpty } }
            var parts: [String] = []
            for v in variants {
                let present = xs.filter { !data.values(metric, v, $0).isEmpty }
                guard let first = present.first, let last = present.last else { continue }
                let a = data.estimate(metric, v, first).point, b = data.estimate(metric, v, last).point
                let fa = ReportFormat.significant(a, digits: 2), fb = ReportFormat.significant(b, digits: 2)
                let at = "at \(xName) = \(ReportFormat.significant(first, digits: 3))"
                let to = "at \(xName) = \(ReportFormat.significant(last, digits: 3))"
                var clause: String
                if present.count == 1 {
                    clause = "is \(fa) \(at)"
                } else if a == b || fa == fb {
                    clause = "stays at \(fa) from \(xName) = \(ReportFormat.significant(first, digits: 3)) to \(ReportFormat.significant(last, digits: 3))"
                } else {
                    let verb = b < a ? "falls" : "rises"
                    var fold = ""
                    if a > 0 && b > 0 {
                        let ratio = max(a, b) / min(a, b)
                        if ratio >= 2 { fold = " \(ReportFormat.significant(ratio, digits: 2))-fold" }
                    }
                    clause = "\(verb)\(fold) from \(fa) \(at) to \(fb) \(to)"
                }
                parts.append(variants.count == 1 ? "\(clause) (variant \(v))" : "\(clause) for \(v)")
            }
            if !parts.isEmpty { clauses.append("\(metric) " + parts.joined(separator: ", and ")) }
        }
        guard !clauses.isEmpty else { return "No measurements." }
        let manySeeds = data.metrics.contains { m in data.variants.contains { v in data.xs(m).contains { data.values(m, v, $0).count > 1 } } }
        // Not capitalized: clauses start with a metric's identifier.
        return clauses.joined(separator: "; ") + (manySeeds ? " (medians over seeds)." : ".")
    }

    /// A measurement study's rows grouped by metric, variant and x (sweep order kept).
    struct MeasurementData {
        var metrics: [String] = []
        var variants: [String] = []
        var xName: [String: String] = [:]
        private var xsByMetric: [String: [Double]] = [:]
        private var cells: [String: [UInt64: Double]] = [:]

        init(_ rows: [MeasurementRow]) {
            for r in rows {
                if !metrics.contains(r.metric) { metrics.append(r.metric) }
                if !variants.contains(r.variant) { variants.append(r.variant) }
                if xName[r.metric] == nil { xName[r.metric] = r.xName }
                if !(xsByMetric[r.metric]?.contains(r.x) ?? false) { xsByMetric[r.metric, default: []].append(r.x) }
                cells[MeasurementData.key(r.metric, r.variant, r.x), default: [:]][r.seed] = r.y
            }
        }

        static func key(_ metric: String, _ variant: String, _ x: Double) -> String {
            "\(metric)\u{1F}\(variant)\u{1F}\(x.bitPattern)"
        }

        /// The swept values of `metric`, in the order the rows first give them.
        func xs(_ metric: String) -> [Double] { xsByMetric[metric] ?? [] }

        /// The values of `metric` for `variant` at `x`, one per seed (ascending seed).
        func values(_ metric: String, _ variant: String, _ x: Double) -> [Double] {
            guard let bySeed = cells[MeasurementData.key(metric, variant, x)] else { return [] }
            return bySeed.keys.sorted().map { bySeed[$0]! }
        }

        /// Median over seeds with its bootstrap interval.
        func estimate(_ metric: String, _ variant: String, _ x: Double) -> Bootstrap.Estimate {
            Bootstrap.median(values(metric, variant, x), resamples: StudyReport.resamples,
                             seed: StudyReport.stableSeed(metric, variant, String(x)))
        }
    }
}
