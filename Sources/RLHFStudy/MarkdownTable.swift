import Foundation

/// A GitHub-flavoured Markdown table: a header, a column alignment, and rows of cells.
///
/// Cells are escaped (`|` becomes `\|`, line breaks become spaces); short rows are padded
/// with empty cells. Columns are padded to a common width so that the source reads well too.
public struct MarkdownTable: Sendable, Equatable {
    /// How a column's cells are aligned.
    public enum Alignment: Sendable, Equatable {
        /// Left-aligned (`:---`).
        case left
        /// Right-aligned (`---:`), for numbers.
        case right
        /// Centred (`:---:`).
        case center
    }

    /// The header cells.
    public var header: [String]
    /// One alignment per column.
    public var alignments: [Alignment]
    /// The body rows.
    public var rows: [[String]]

    /// Creates an empty table; `alignments` defaults to left for the first column and right for
    /// the others (labels, then numbers).
    public init(header: [String], alignments: [Alignment]? = nil, rows: [[String]] = []) {
        self.header = header
        self.alignments = alignments ?? header.indices.map { $0 == 0 ? .left : .right }
        self.rows = rows
    }

    /// Appends a row.
    public mutating func append(_ row: [String]) { rows.append(row) }

    /// The table as Markdown, ending with a newline.
    public func render() -> String {
        let columns = max(header.count, rows.map(\.count).max() ?? 0)
        guard columns > 0 else { return "" }
        func cells(_ row: [String]) -> [String] {
            (0..<columns).map { $0 < row.count ? MarkdownTable.escape(row[$0]) : "" }
        }
        let head = cells(header)
        let body = rows.map(cells)
        var widths = head.map(\.count)
        for row in body { for (i, c) in row.enumerated() { widths[i] = max(widths[i], c.count) } }
        widths = widths.map { max($0, 3) }
        func alignment(_ i: Int) -> Alignment { i < alignments.count ? alignments[i] : .left }
        func pad(_ s: String, _ i: Int) -> String {
            let fill = String(repeating: " ", count: widths[i] - s.count)
            return alignment(i) == .right ? fill + s : s + fill
        }
        func line(_ row: [String]) -> String {
            "| " + row.enumerated().map { pad($0.element, $0.offset) }.joined(separator: " | ") + " |"
        }
        let rule = "|" + (0..<columns).map { i -> String in
            let dashes = String(repeating: "-", count: widths[i])
            switch alignment(i) {
            case .left: return ":" + dashes + "-"
            case .right: return "-" + dashes + ":"
            case .center: return ":" + String(dashes.dropLast()) + "-:"
            }
        }.joined(separator: "|") + "|"
        return ([line(head), rule] + body.map(line)).joined(separator: "\n") + "\n"
    }

    /// Escapes a cell's text for a Markdown table.
    public static func escape(_ text: String) -> String {
        text.replacingOccurrences(of: "|", with: "\\|")
            .replacingOccurrences(of: "\r\n", with: " ")
            .replacingOccurrences(of: "\n", with: " ")
            .replacingOccurrences(of: "\r", with: " ")
    }
}

/// Number formatting for reports: values with intervals, query counts in powers of ten.
public enum ReportFormat {
    /// `x` with `digits` decimals (`0.967`); `∞`, `−∞` and `–` (NaN) spelled out.
    public static func fixed(_ x: Double, digits: Int = 3) -> String {
        if let special = special(x) { return special }
        let s = String(format: "%.\(digits)f", x)
        // Avoid "-0.000".
        if s.hasPrefix("-"), s.dropFirst().allSatisfy({ $0 == "0" || $0 == "." }) { return String(s.dropFirst()) }
        return s
    }

    /// `x` with `digits` significant digits, without exponent for moderate magnitudes
    /// (`0.0085`, `0.00012`, `1.2e-07`, `3.5e+06`).
    public static func significant(_ x: Double, digits: Int = 2) -> String {
        if let special = special(x) { return special }
        if x == 0 { return "0" }
        let magnitude = abs(x)
        if magnitude >= 1e-4 && magnitude < 1e6 {
            let exponent = Int(log10(magnitude).rounded(.down))
            let decimals = max(0, digits - 1 - exponent)
            var s = String(format: "%.\(decimals)f", x)
            if s.contains(".") {
                while s.hasSuffix("0") { s.removeLast() }
                if s.hasSuffix(".") { s.removeLast() }
            }
            return s
        }
        return String(format: "%.\(max(0, digits - 1))e", x)
    }

    /// A value with its interval: `0.967 [0.942, 0.972]`; just the value when the interval is a point.
    public static func estimate(_ e: Bootstrap.Estimate, digits: Int = 3) -> String {
        let point = fixed(e.point, digits: digits)
        let lower = fixed(e.lower, digits: digits), upper = fixed(e.upper, digits: digits)
        if lower == upper && lower == point { return point }
        return "\(point) [\(lower), \(upper)]"
    }

    /// Like ``estimate(_:digits:)`` with significant digits, for metrics spanning decades.
    public static func estimateSignificant(_ e: Bootstrap.Estimate, digits: Int = 2) -> String {
        let point = significant(e.point, digits: digits)
        let lower = significant(e.lower, digits: digits), upper = significant(e.upper, digits: digits)
        if lower == upper && lower == point { return point }
        return "\(point) [\(lower), \(upper)]"
    }

    /// A query count: plain below 10⁴ (`500`, `2000`), otherwise a power of ten (`10⁴`) or two
    /// significant digits times one (`3.2·10⁵`); `∞` for infinity.
    public static func queries(_ q: Double) -> String {
        if let special = special(q) { return special }
        if q < 0 { return "−" + queries(-q) }
        if q < 10_000 {
            let r = q.rounded()
            return abs(q - r) < 1e-9 ? String(Int(r)) : significant(q, digits: 3)
        }
        var exponent = Int(log10(q).rounded(.down))
        var mantissa = (q / pow(10, Double(exponent)) * 10).rounded() / 10
        if mantissa >= 10 { mantissa /= 10; exponent += 1 }
        let power = "10" + superscript(exponent)
        if mantissa == 1 { return power }
        return String(format: "%.1f", mantissa) + "·" + power
    }

    /// ``queries(_:)`` for an integer count.
    public static func queries(_ q: Int) -> String { queries(Double(q)) }

    /// `> 10⁶`: a count known only to exceed `budget`.
    public static func beyond(_ budget: Int) -> String { "> " + queries(budget) }

    /// Seconds, to two significant digits with a unit (`0.12 s`, `45 s`, `3.2 min`).
    public static func seconds(_ s: Double) -> String {
        if let special = special(s) { return special }
        if s >= 120 { return significant(s / 60, digits: 2) + " min" }
        return significant(s, digits: 2) + " s"
    }

    /// An integer in Unicode superscript digits (`4` → `⁴`, `-3` → `⁻³`).
    public static func superscript(_ n: Int) -> String {
        let digits: [Character] = ["⁰", "¹", "²", "³", "⁴", "⁵", "⁶", "⁷", "⁸", "⁹"]
        let body = String(abs(n)).map { digits[Int(String($0))!] }
        return (n < 0 ? "⁻" : "") + String(body)
    }

    /// `a, b and c`.
    public static func list(_ items: [String]) -> String {
        switch items.count {
        case 0: return ""
        case 1: return items[0]
        default: return items.dropLast().joined(separator: ", ") + " and " + items.last!
        }
    }

    private static func special(_ x: Double) -> String? {
        if x.isNaN { return "–" }
        if x == .infinity { return "∞" }
        if x == -.infinity { return "−∞" }
        return nil
    }
}
