import Foundation

/// Dependency-free SVG line charts: series of points with shaded interval bands, linear or
/// log₁₀ axes with nice ticks, a legend, reference lines, and small multiples in one file.
///
/// Each line series is drawn as exactly one `<path class="series">` (gaps become new `M`
/// segments of the same path); bands are `<polygon>`s, markers `<circle>`s. The output is a
/// standalone SVG 1.1 document that browsers open directly.
public enum SVGPlot {
    /// Tableau 10, then five darker companions: 15 distinguishable colours.
    public static let palette: [String] = [
        "#4e79a7", "#f28e2b", "#e15759", "#76b7b2", "#59a14f",
        "#edc948", "#b07aa1", "#ff9da7", "#9c755f", "#bab0ac",
        "#1f3b73", "#a33b20", "#2d6a2d", "#6b3e75", "#4d4d4d",
    ]

    /// One point of a series, with an optional interval drawn as a shaded band.
    public struct Point: Sendable, Equatable {
        /// Horizontal position (data units).
        public var x: Double
        /// Vertical position (data units); non-finite values leave a gap.
        public var y: Double
        /// Lower end of the interval, if any.
        public var lower: Double?
        /// Upper end of the interval, if any.
        public var upper: Double?

        /// Creates a point.
        public init(x: Double, y: Double, lower: Double? = nil, upper: Double? = nil) {
            self.x = x; self.y = y; self.lower = lower; self.upper = upper
        }
    }

    /// How a series is drawn.
    public enum Style: Sendable, Equatable {
        /// A line through the points, with markers and a band.
        case line
        /// Hollow markers only (no path, no band, not in the legend).
        case markers
    }

    /// A named series of points.
    public struct Series: Sendable, Equatable {
        /// Legend label.
        public var name: String
        /// The points, in drawing order.
        public var points: [Point]
        /// Index into ``SVGPlot/palette`` (modulo its size); nil uses the series' position.
        public var colorIndex: Int?
        /// How it is drawn.
        public var style: Style

        /// Creates a series.
        public init(name: String, points: [Point], colorIndex: Int? = nil, style: Style = .line) {
            self.name = name; self.points = points; self.colorIndex = colorIndex; self.style = style
        }
    }

    /// Axis scale.
    public enum Scale: Sendable, Equatable {
        /// Linear.
        case linear
        /// Base-10 logarithmic; non-positive values are not drawn.
        case log10
    }

    /// An axis: label, scale and optional fixed range.
    public struct Axis: Sendable, Equatable {
        /// Axis title.
        public var label: String
        /// Linear or logarithmic.
        public var scale: Scale
        /// A fixed range; nil fits the data (widened to include all data when given).
        public var range: ClosedRange<Double>?

        /// Creates an axis.
        public init(label: String, scale: Scale = .linear, range: ClosedRange<Double>? = nil) {
            self.label = label; self.scale = scale; self.range = range
        }
    }

    /// A horizontal reference line.
    public struct ReferenceLine: Sendable, Equatable {
        /// Its height (data units).
        public var y: Double
        /// A short label drawn at its right end.
        public var label: String

        /// Creates a reference line.
        public init(y: Double, label: String = "") { self.y = y; self.label = label }
    }

    /// One chart.
    public struct Chart: Sendable, Equatable {
        /// Title above the plot area.
        public var title: String
        /// The horizontal axis.
        public var xAxis: Axis
        /// The vertical axis.
        public var yAxis: Axis
        /// The series.
        public var series: [Series]
        /// Horizontal reference lines (dashed).
        public var referenceLines: [ReferenceLine]
        /// A small note under the plot (e.g. what hollow markers mean).
        public var footnote: String
        /// Width in pixels (including the legend).
        public var width: Double
        /// Height in pixels.
        public var height: Double
        /// Whether to draw the legend.
        public var showsLegend: Bool

        /// Creates a chart.
        public init(title: String, xAxis: Axis, yAxis: Axis, series: [Series],
                    referenceLines: [ReferenceLine] = [], footnote: String = "",
                    width: Double = 560, height: Double = 360, showsLegend: Bool = true) {
            self.title = title; self.xAxis = xAxis; self.yAxis = yAxis; self.series = series
            self.referenceLines = referenceLines; self.footnote = footnote
            self.width = width; self.height = height; self.showsLegend = showsLegend
        }
    }

    /// One chart as a standalone SVG document.
    public static func render(_ chart: Chart) -> String {
        panels([chart], columns: 1)
    }

    /// Several charts laid out in a grid of `columns` columns in one SVG document (small
    /// multiples), with an optional overall title. Cells are as large as the largest chart.
    public static func panels(_ charts: [Chart], columns: Int, title: String = "") -> String {
        let columns = max(1, min(columns, max(1, charts.count)))
        let cellWidth = charts.map(\.width).max() ?? 400
        let cellHeight = charts.map(\.height).max() ?? 300
        let rows = max(1, (charts.count + columns - 1) / columns)
        let top: Double = title.isEmpty ? 0 : 34
        let width = cellWidth * Double(columns)
        let height = top + cellHeight * Double(rows)
        var out = """
        <?xml version="1.0" encoding="UTF-8"?>
        <svg xmlns="http://www.w3.org/2000/svg" version="1.1" width="\(n(width))" height="\(n(height))" \
        viewBox="0 0 \(n(width)) \(n(height))" font-family="Helvetica, Arial, sans-serif" font-size="12">

        """
        out += "<rect x=\"0\" y=\"0\" width=\"\(n(width))\" height=\"\(n(height))\" fill=\"#ffffff\"/>\n"
        if !title.isEmpty {
            out += "<text x=\"\(n(width / 2))\" y=\"22\" text-anchor=\"middle\" font-size=\"16\" font-weight=\"bold\">\(escape(title))</text>\n"
        }
        if charts.isEmpty {
            out += "<text x=\"\(n(width / 2))\" y=\"\(n(top + cellHeight / 2))\" text-anchor=\"middle\">no data</text>\n"
        }
        for (i, chart) in charts.enumerated() {
            let x = Double(i % columns) * cellWidth
            let y = top + Double(i / columns) * cellHeight
            out += "<g transform=\"translate(\(n(x)),\(n(y)))\">\n"
            out += body(chart, id: i)
            out += "</g>\n"
        }
        out += "</svg>\n"
        return out
    }

    /// Escapes text for XML character data and attribute values.
    public static func escape(_ text: String) -> String {
        var out = ""
        out.reserveCapacity(text.count)
        for scalar in text.unicodeScalars {
            switch scalar {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&quot;"
            case "'": out += "&apos;"
            default:
                // Characters XML 1.0 forbids (C0 controls other than tab/newline/CR) are dropped.
                if scalar.value < 0x20 && scalar != "\t" && scalar != "\n" && scalar != "\r" { continue }
                if scalar.value == 0xFFFE || scalar.value == 0xFFFF { continue }
                out.unicodeScalars.append(scalar)
            }
        }
        return out
    }

    // MARK: - Drawing one chart

    /// The chart's elements, in the coordinates of its own cell.
    static func body(_ chart: Chart, id: Int) -> String {
        let legendEntries = chart.series.enumerated().filter { $0.element.style == .line }
        let longest = legendEntries.map { $0.element.name.count }.max() ?? 0
        let legendWidth: Double = chart.showsLegend && !legendEntries.isEmpty ? min(220, Double(longest) * 6.6 + 36) : 0
        let left = 62.0, top = 30.0
        let bottom = chart.footnote.isEmpty ? 46.0 : 62.0
        let right = 14.0 + legendWidth
        let plotW = max(40, chart.width - left - right)
        let plotH = max(40, chart.height - top - bottom)

        let xs = chart.series.flatMap { $0.points.map(\.x) }
        var ys: [Double] = []
        for s in chart.series {
            for p in s.points {
                ys.append(p.y)
                if s.style == .line { if let l = p.lower { ys.append(l) }; if let u = p.upper { ys.append(u) } }
            }
        }
        ys += chart.referenceLines.map(\.y)
        let xMap = AxisMap(axis: chart.xAxis, data: xs, pixels: 0...plotW, flipped: false)
        let yMap = AxisMap(axis: chart.yAxis, data: ys, pixels: 0...plotH, flipped: true)

        var out = ""
        // Title.
        out += "<text x=\"\(n(left + plotW / 2))\" y=\"18\" text-anchor=\"middle\" font-size=\"13\" font-weight=\"bold\">\(escape(chart.title))</text>\n"
        out += "<defs><clipPath id=\"plot-clip-\(id)\"><rect x=\"0\" y=\"0\" width=\"\(n(plotW))\" height=\"\(n(plotH))\"/></clipPath></defs>\n"
        out += "<g transform=\"translate(\(n(left)),\(n(top)))\">\n"
        out += "<rect x=\"0\" y=\"0\" width=\"\(n(plotW))\" height=\"\(n(plotH))\" fill=\"#fafafa\" stroke=\"none\"/>\n"

        // Grid and ticks.
        for t in xMap.minorTicks {
            let px = xMap.pixel(t)
            out += "<line x1=\"\(n(px))\" y1=\"0\" x2=\"\(n(px))\" y2=\"\(n(plotH))\" stroke=\"#eeeeee\" stroke-width=\"0.6\"/>\n"
        }
        for t in yMap.minorTicks {
            let py = yMap.pixel(t)
            out += "<line x1=\"0\" y1=\"\(n(py))\" x2=\"\(n(plotW))\" y2=\"\(n(py))\" stroke=\"#eeeeee\" stroke-width=\"0.6\"/>\n"
        }
        for (t, label) in xMap.ticks {
            let px = xMap.pixel(t)
            out += "<line x1=\"\(n(px))\" y1=\"0\" x2=\"\(n(px))\" y2=\"\(n(plotH))\" stroke=\"#dddddd\" stroke-width=\"0.8\"/>\n"
            out += "<line x1=\"\(n(px))\" y1=\"\(n(plotH))\" x2=\"\(n(px))\" y2=\"\(n(plotH + 5))\" stroke=\"#333333\"/>\n"
            out += "<text x=\"\(n(px))\" y=\"\(n(plotH + 18))\" text-anchor=\"middle\">\(escape(label))</text>\n"
        }
        for (t, label) in yMap.ticks {
            let py = yMap.pixel(t)
            out += "<line x1=\"0\" y1=\"\(n(py))\" x2=\"\(n(plotW))\" y2=\"\(n(py))\" stroke=\"#dddddd\" stroke-width=\"0.8\"/>\n"
            out += "<line x1=\"-5\" y1=\"\(n(py))\" x2=\"0\" y2=\"\(n(py))\" stroke=\"#333333\"/>\n"
            out += "<text x=\"-8\" y=\"\(n(py + 4))\" text-anchor=\"end\">\(escape(label))</text>\n"
        }
        out += "<rect x=\"0\" y=\"0\" width=\"\(n(plotW))\" height=\"\(n(plotH))\" fill=\"none\" stroke=\"#333333\"/>\n"

        // Data, clipped to the plot area.
        out += "<g clip-path=\"url(#plot-clip-\(id))\">\n"
        for r in chart.referenceLines where yMap.isDrawable(r.y) {
            let py = yMap.pixel(r.y)
            out += "<line class=\"reference\" x1=\"0\" y1=\"\(n(py))\" x2=\"\(n(plotW))\" y2=\"\(n(py))\" stroke=\"#555555\" stroke-width=\"1\" stroke-dasharray=\"5,4\"/>\n"
        }
        for (index, s) in chart.series.enumerated() {
            let color = palette[((s.colorIndex ?? index) % palette.count + palette.count) % palette.count]
            let points = s.points.filter { xMap.isDrawable($0.x) }
            switch s.style {
            case .line:
                out += band(points, xMap: xMap, yMap: yMap, color: color)
                var d = ""
                var penDown = false
                for p in points {
                    guard yMap.isDrawable(p.y) else { penDown = false; continue }
                    d += (penDown ? " L" : (d.isEmpty ? "M" : " M")) + "\(n(xMap.pixel(p.x))),\(n(yMap.pixel(p.y)))"
                    penDown = true
                }
                out += "<path class=\"series\" d=\"\(d.isEmpty ? "M0,0" : d)\" fill=\"none\" stroke=\"\(color)\" stroke-width=\"2\" stroke-linejoin=\"round\"\(d.isEmpty ? " visibility=\"hidden\"" : "")><title>\(escape(s.name))</title></path>\n"
            case .markers:
                for p in points where yMap.isDrawable(p.y) {
                    let px = xMap.pixel(p.x)
                    if let l = p.lower, let u = p.upper, yMap.isDrawable(l) || yMap.isDrawable(u) {
                        out += "<line x1=\"\(n(px))\" y1=\"\(n(yMap.pixelClamped(l)))\" x2=\"\(n(px))\" y2=\"\(n(yMap.pixelClamped(u)))\" stroke=\"\(color)\" stroke-width=\"1\"/>\n"
                    }
                }
            }
        }
        out += "</g>\n"
        // Markers outside the clip, so that points on the plot's edge stay whole; points
        // outside the plot area are left out.
        func inside(_ px: Double, _ py: Double) -> Bool { px >= -1 && px <= plotW + 1 && py >= -1 && py <= plotH + 1 }
        for (index, s) in chart.series.enumerated() {
            let color = palette[((s.colorIndex ?? index) % palette.count + palette.count) % palette.count]
            let points = s.points.filter { xMap.isDrawable($0.x) && yMap.isDrawable($0.y) }
            switch s.style {
            case .line:
                let markerEvery = max(1, points.count / 14)
                for (k, p) in points.enumerated() where k % markerEvery == 0 || k == points.count - 1 {
                    let px = xMap.pixel(p.x), py = yMap.pixel(p.y)
                    guard inside(px, py) else { continue }
                    out += "<circle cx=\"\(n(px))\" cy=\"\(n(py))\" r=\"2.8\" fill=\"\(color)\"/>\n"
                }
            case .markers:
                for p in points {
                    let px = xMap.pixel(p.x), py = yMap.pixel(p.y)
                    guard inside(px, py) else { continue }
                    out += "<circle cx=\"\(n(px))\" cy=\"\(n(py))\" r=\"4\" fill=\"#ffffff\" stroke=\"\(color)\" stroke-width=\"1.6\"><title>\(escape(s.name))</title></circle>\n"
                }
            }
        }
        for r in chart.referenceLines where yMap.isDrawable(r.y) && !r.label.isEmpty {
            out += "<text x=\"4\" y=\"\(n(yMap.pixel(r.y) - 4))\" text-anchor=\"start\" font-size=\"10\" fill=\"#555555\">\(escape(r.label))</text>\n"
        }

        // Axis labels and footnote.
        out += "<text x=\"\(n(plotW / 2))\" y=\"\(n(plotH + 36))\" text-anchor=\"middle\">\(escape(chart.xAxis.label))</text>\n"
        out += "<text transform=\"translate(-46,\(n(plotH / 2))) rotate(-90)\" text-anchor=\"middle\">\(escape(chart.yAxis.label))</text>\n"
        if !chart.footnote.isEmpty {
            out += "<text x=\"0\" y=\"\(n(plotH + 54))\" font-size=\"10\" fill=\"#555555\">\(escape(chart.footnote))</text>\n"
        }

        // Legend, right of the plot.
        if legendWidth > 0 {
            let maxChars = Int((legendWidth - 36) / 6.6)
            for (row, entry) in legendEntries.enumerated() {
                let s = entry.element
                let color = palette[((s.colorIndex ?? entry.offset) % palette.count + palette.count) % palette.count]
                let ly = 8 + Double(row) * 18
                let lx = plotW + 12
                var name = s.name
                if name.count > maxChars { name = String(name.prefix(max(1, maxChars - 1))) + "…" }
                out += "<rect x=\"\(n(lx))\" y=\"\(n(ly - 5))\" width=\"18\" height=\"10\" fill=\"\(color)\" fill-opacity=\"0.2\"/>\n"
                out += "<line x1=\"\(n(lx))\" y1=\"\(n(ly))\" x2=\"\(n(lx + 18))\" y2=\"\(n(ly))\" stroke=\"\(color)\" stroke-width=\"2\"/>\n"
                out += "<text x=\"\(n(lx + 24))\" y=\"\(n(ly + 4))\">\(escape(name))</text>\n"
            }
        }
        out += "</g>\n"
        return out
    }

    /// The shaded band between lower and upper, one polygon per run of points that have both.
    static func band(_ points: [Point], xMap: AxisMap, yMap: AxisMap, color: String) -> String {
        var out = ""
        var run: [(Double, Double, Double)] = []
        func flush() {
            if run.count >= 1 {
                var coords: [String] = []
                if run.count == 1 {
                    // A lone interval: a thin vertical band so it stays visible.
                    let (x, lo, hi) = run[0]
                    coords = ["\(n(x - 2)),\(n(lo))", "\(n(x + 2)),\(n(lo))", "\(n(x + 2)),\(n(hi))", "\(n(x - 2)),\(n(hi))"]
                } else {
                    coords = run.map { "\(n($0.0)),\(n($0.2))" } + run.reversed().map { "\(n($0.0)),\(n($0.1))" }
                }
                out += "<polygon class=\"band\" points=\"\(coords.joined(separator: " "))\" fill=\"\(color)\" fill-opacity=\"0.2\" stroke=\"none\"/>\n"
            }
            run.removeAll()
        }
        for p in points {
            guard let l = p.lower, let u = p.upper, !l.isNaN, !u.isNaN,
                  yMap.isDrawable(l) || yMap.isDrawable(u) || (l <= yMap.low && u >= yMap.high) else { flush(); continue }
            run.append((xMap.pixel(p.x), yMap.pixelClamped(l), yMap.pixelClamped(u)))
        }
        flush()
        return out
    }

    /// Formats a pixel coordinate with at most two decimals.
    static func n(_ x: Double) -> String {
        guard x.isFinite else { return "0" }
        let r = (x * 100).rounded() / 100
        if r == r.rounded() { return String(Int(r)) }
        return String(r)
    }
}

/// Maps data values on one axis to pixels and chooses its ticks.
struct AxisMap {
    let scale: SVGPlot.Scale
    /// Axis range in data units.
    let low: Double, high: Double
    let pixels: ClosedRange<Double>
    let flipped: Bool
    /// Labelled ticks (value, label).
    let ticks: [(Double, String)]
    /// Unlabelled minor ticks (log axes: 2…9 × 10^k).
    let minorTicks: [Double]

    init(axis: SVGPlot.Axis, data: [Double], pixels: ClosedRange<Double>, flipped: Bool) {
        scale = axis.scale
        self.pixels = pixels
        self.flipped = flipped
        var values = data.filter { $0.isFinite && (axis.scale == .linear || $0 > 0) }
        if let r = axis.range { values += [r.lowerBound, r.upperBound].filter { axis.scale == .linear || $0 > 0 } }
        var lo = values.min() ?? (axis.scale == .log10 ? 1 : 0)
        var hi = values.max() ?? (axis.scale == .log10 ? 10 : 1)
        switch axis.scale {
        case .log10:
            var a = Foundation.log10(lo).rounded(.down), b = Foundation.log10(hi).rounded(.up)
            if a == b { a -= 0.5; b += 0.5 }
            lo = pow(10, a); hi = pow(10, b)
            low = lo; high = hi
            var major: [(Double, String)] = []
            var minor: [Double] = []
            let first = Int(a.rounded(.down)), last = Int(b.rounded(.up))
            let decades = last - first
            let step = max(1, (decades + 7) / 8)       // at most ~8 labelled decades
            for k in first...last {
                let v = pow(10, Double(k))
                if v >= lo * (1 - 1e-9) && v <= hi * (1 + 1e-9) {
                    if (k - first) % step == 0 { major.append((v, AxisMap.powerLabel(k))) } else { minor.append(v) }
                }
                for m in 2...9 {
                    let w = Double(m) * v
                    guard w > lo && w < hi else { continue }
                    if decades <= 1 && (m == 2 || m == 5) {
                        major.append((w, AxisMap.plainLabel(w)))
                    } else {
                        minor.append(w)
                    }
                }
            }
            ticks = major
            minorTicks = minor
        case .linear:
            if let r = axis.range { lo = min(lo, r.lowerBound); hi = max(hi, r.upperBound) }
            if lo == hi { lo -= 0.5; hi += 0.5 }
            if axis.range == nil {
                let pad = (hi - lo) * 0.04
                lo -= pad; hi += pad
            }
            let step = AxisMap.niceStep((hi - lo) / 6)
            if axis.range == nil {
                lo = (lo / step).rounded(.down) * step
                hi = (hi / step).rounded(.up) * step
            }
            low = lo; high = hi
            var t: [(Double, String)] = []
            var v = (lo / step).rounded(.up) * step
            let decimals = max(0, -Int(Foundation.log10(step).rounded(.down)))
            while v <= hi + step * 1e-9 {
                let clean = abs(v) < step * 1e-9 ? 0 : v
                t.append((clean, String(format: "%.\(decimals)f", clean)))
                v += step
            }
            ticks = t
            minorTicks = []
        }
    }

    /// 1, 2 or 5 times a power of ten, at least `raw`.
    static func niceStep(_ raw: Double) -> Double {
        guard raw > 0 && raw.isFinite else { return 1 }
        let p = pow(10, Foundation.log10(raw).rounded(.down))
        let f = raw / p
        return (f <= 1 ? 1 : f <= 2 ? 2 : f <= 5 ? 5 : 10) * p
    }

    /// `10⁴`, `10⁻²`; `1` and `10` for k = 0, 1.
    static func powerLabel(_ k: Int) -> String {
        switch k {
        case 0: return "1"
        case 1: return "10"
        default: return "10" + ReportFormat.superscript(k)
        }
    }

    static func plainLabel(_ v: Double) -> String {
        if v >= 1e4 || v < 1e-3 { return ReportFormat.queries(v) }
        return ReportFormat.significant(v, digits: 2)
    }

    func transform(_ v: Double) -> Double { scale == .log10 ? Foundation.log10(v) : v }

    /// Whether `v` can be placed on the axis at all (finite; positive on log axes).
    func isDrawable(_ v: Double) -> Bool { v.isFinite && (scale == .linear || v > 0) }

    /// Pixel position of `v` (may lie outside the plot; clipping hides it).
    func pixel(_ v: Double) -> Double {
        let a = transform(low), b = transform(high)
        let f = (transform(v) - a) / (b - a)
        let span = pixels.upperBound - pixels.lowerBound
        return flipped ? pixels.upperBound - f * span : pixels.lowerBound + f * span
    }

    /// Pixel position of `v` clamped to a little beyond the plot (for bands reaching ±∞).
    func pixelClamped(_ v: Double) -> Double {
        let span = pixels.upperBound - pixels.lowerBound
        let lo = pixels.lowerBound - span, hi = pixels.upperBound + span
        if v.isNaN { return flipped ? hi : lo }
        if scale == .log10 && v <= 0 { return flipped ? hi : lo }
        if v == .infinity { return flipped ? lo : hi }
        if v == -.infinity { return flipped ? hi : lo }
        return min(hi, max(lo, pixel(v)))
    }
}
