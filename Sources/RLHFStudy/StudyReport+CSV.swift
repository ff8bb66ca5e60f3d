import Foundation
import RLHF

/// `results.csv`: writing result rows, and reading them back (the runner does when resuming).
extension StudyReport {
    /// The columns of a training study's `results.csv`, in order.
    public static let resultColumns = ["run", "variant", "algorithm", "env", "link", "feedback", "seed", "budget",
                                       "queries", "env_steps", "value", "value_se", "normalized_value",
                                       "wall_seconds", "final"]
    /// The columns of a measurement study's `results.csv`, in order.
    public static let measurementColumns = ["variant", "x_name", "x", "seed", "metric", "y"]

    /// A malformed `results.csv`, with the (1-based) line where the problem starts.
    public struct CSVError: Error, CustomStringConvertible, Equatable {
        /// The line of the offending record (1 = the header).
        public var line: Int
        /// What is wrong.
        public var message: String

        /// Creates an error.
        public init(line: Int, message: String) { self.line = line; self.message = message }

        /// `results.csv:12: …`.
        public var description: String { "results.csv:\(line): \(message)" }
    }

    /// A training study's `results.csv`: a header, one line per row, doubles written in full
    /// precision (Swift's shortest round-tripping form), an empty field for a nil standard
    /// error, `true`/`false` for `final`; fields with commas, quotes or line breaks are quoted.
    /// After ``resultColumns`` come the algorithms' diagnostics (``ResultRow/diagnostics``), one
    /// column per name in the order the rows first name them, empty in rows without it.
    public static func csv(_ rows: [ResultRow]) -> String {
        var names: [String] = []
        for r in rows { for d in r.diagnostics where !names.contains(d.name) { names.append(d.name) } }
        var out = (resultColumns + names).joined(separator: ",") + "\n"
        for r in rows {
            var fields = [r.run, r.variant, r.algorithm, r.env, r.link, r.feedback, "\(r.seed)", "\(r.budget)",
                          "\(r.queries)", "\(r.envSteps)", "\(r.value)", r.valueStandardError.map { "\($0)" } ?? "",
                          "\(r.normalizedValue)", "\(r.wallSeconds)", r.isFinal ? "true" : "false"]
            for name in names {
                let d = r.diagnostics.first { $0.name == name }
                fields.append(d.map { "\($0.value)" } ?? "")
            }
            out += fields.map(csvField).joined(separator: ",") + "\n"
        }
        return out
    }

    /// A measurement study's `results.csv` (columns ``measurementColumns``).
    public static func csv(_ rows: [MeasurementRow]) -> String {
        var out = measurementColumns.joined(separator: ",") + "\n"
        for r in rows {
            out += [r.variant, r.xName, "\(r.x)", "\(r.seed)", r.metric, "\(r.y)"].map(csvField).joined(separator: ",") + "\n"
        }
        return out
    }

    /// Reads a training study's `results.csv` back. Columns are found by name (any order); every
    /// column of ``resultColumns`` must be present; every other column is a diagnostic (a
    /// finite number, or empty where the row has none).
    ///
    /// - Throws: ``CSVError`` naming the line of a missing header, a missing column, a record
    ///   with the wrong number of fields, an unparsable number or flag, or an unterminated quote.
    public static func parseCSV(_ text: String) throws -> [ResultRow] {
        let table = try CSVTable(text, required: resultColumns)
        return try table.records.map { record in
            let f = try table.fields(record, resultColumns)
            let se = f[11].isEmpty ? nil : try number(f[11], "value_se", record.line, Double.init)
            return ResultRow(run: f[0], variant: f[1], algorithm: f[2], env: f[3], link: f[4], feedback: f[5],
                             seed: try number(f[6], "seed", record.line, { UInt64($0) }),
                             budget: try number(f[7], "budget", record.line, { Int($0) }),
                             queries: try number(f[8], "queries", record.line, { Int($0) }),
                             envSteps: try number(f[9], "env_steps", record.line, { Int($0) }),
                             value: try number(f[10], "value", record.line, Double.init),
                             valueStandardError: se,
                             normalizedValue: try number(f[12], "normalized_value", record.line, Double.init),
                             wallSeconds: try number(f[13], "wall_seconds", record.line, Double.init),
                             isFinal: try flag(f[14], record.line),
                             diagnostics: try table.extraColumns.compactMap { name, k in
                                 let text = record.fields[k]
                                 if text.isEmpty { return nil }
                                 return Diagnostic(name: name, value: try number(text, name, record.line, { Double($0).flatMap { $0.isFinite ? $0 : nil } }))
                             })
        }
    }

    /// Reads a measurement study's `results.csv` back (columns ``measurementColumns``, by name).
    ///
    /// - Throws: ``CSVError`` as ``parseCSV(_:)`` does.
    public static func parseMeasurementCSV(_ text: String) throws -> [MeasurementRow] {
        let table = try CSVTable(text, required: measurementColumns)
        return try table.records.map { record in
            let f = try table.fields(record, measurementColumns)
            return MeasurementRow(variant: f[0], xName: f[1], x: try number(f[2], "x", record.line, Double.init),
                                  seed: try number(f[3], "seed", record.line, { UInt64($0) }), metric: f[4],
                                  y: try number(f[5], "y", record.line, Double.init))
        }
    }

    // MARK: - Helpers

    /// A field, quoted when it holds a comma, a quote, a line break or edge spaces.
    static func csvField(_ s: String) -> String {
        let needsQuotes = s.contains { $0 == "," || $0 == "\"" || $0 == "\n" || $0 == "\r" }
            || s.hasPrefix(" ") || s.hasSuffix(" ")
        return needsQuotes ? "\"" + s.replacingOccurrences(of: "\"", with: "\"\"") + "\"" : s
    }

    static func number<T>(_ s: String, _ column: String, _ line: Int, _ parse: (String) -> T?) throws -> T {
        guard let v = parse(s) else {
            throw CSVError(line: line, message: "column \(column): \"\(s)\" is not a valid number")
        }
        return v
    }

    static func flag(_ s: String, _ line: Int) throws -> Bool {
        switch s.lowercased() {
        case "true", "1": return true
        case "false", "0": return false
        default: throw CSVError(line: line, message: "column final: \"\(s)\" is not true or false")
        }
    }

    /// A parsed CSV text: header, and records with the line each starts on (RFC 4180 quoting;
    /// LF or CRLF line ends; blank lines skipped).
    struct CSVTable {
        struct Record { var line: Int; var fields: [String] }

        var header: [String]
        var headerLine: Int
        var records: [Record]
        var columnIndex: [String: Int]

        init(_ text: String, required: [String]) throws {
            var all: [Record] = []
            var fields: [String] = []
            var field = ""
            var line = 1, recordLine = 1
            var inQuotes = false, quotedField = false, afterQuote = false
            var fieldStarted = false
            func endField() {
                fields.append(field); field = ""; quotedField = false; afterQuote = false; fieldStarted = false
            }
            func endRecord() {
                endField()
                if !(fields.count == 1 && fields[0].isEmpty) { all.append(Record(line: recordLine, fields: fields)) }
                fields = []
            }
            var scalars = Array(text.unicodeScalars)
            if scalars.first == "\u{FEFF}" { scalars.removeFirst() }   // byte-order mark
            var i = 0
            while i < scalars.count {
                let c = scalars[i]
                if inQuotes {
                    if c == "\"" {
                        if i + 1 < scalars.count && scalars[i + 1] == "\"" { field.unicodeScalars.append("\""); i += 1 }
                        else { inQuotes = false; afterQuote = true }
                    } else {
                        if c == "\n" { line += 1 }
                        field.unicodeScalars.append(c)
                    }
                } else if c == "," {
                    endField()
                } else if c == "\n" || c == "\r" {
                    if c == "\r" && i + 1 < scalars.count && scalars[i + 1] == "\n" { i += 1 }
                    endRecord()
                    line += 1
                    recordLine = line
                } else if c == "\"" {
                    if fieldStarted || afterQuote {
                        throw CSVError(line: line, message: "a quote inside an unquoted field (quote the whole field and double the quote)")
                    }
                    inQuotes = true; quotedField = true; fieldStarted = true
                } else {
                    if afterQuote { throw CSVError(line: line, message: "text after a closing quote") }
                    field.unicodeScalars.append(c); fieldStarted = true
                }
                i += 1
            }
            if inQuotes { throw CSVError(line: recordLine, message: "unterminated quoted field") }
            if fieldStarted || !fields.isEmpty || quotedField { endRecord() }

            guard let first = all.first else { throw CSVError(line: 1, message: "empty file: no header line") }
            header = first.fields
            headerLine = first.line
            records = Array(all.dropFirst())
            var index: [String: Int] = [:]
            for (k, name) in header.enumerated() {
                let trimmed = name.trimmingCharacters(in: .whitespaces)
                if index[trimmed] != nil { throw CSVError(line: first.line, message: "column \(trimmed) appears twice in the header") }
                index[trimmed] = k
            }
            let missing = required.filter { index[$0] == nil }
            if !missing.isEmpty {
                throw CSVError(line: first.line, message: "header lacks column\(missing.count == 1 ? "" : "s") \(missing.joined(separator: ", "))")
            }
            columnIndex = index
            let requiredSet = Set(required)
            extraColumns = header.enumerated().compactMap { k, name in
                let trimmed = name.trimmingCharacters(in: .whitespaces)
                return requiredSet.contains(trimmed) ? nil : (trimmed, k)
            }
            for r in records where r.fields.count != header.count {
                throw CSVError(line: r.line, message: "\(r.fields.count) fields, but the header has \(header.count)")
            }
        }

        /// The columns not in `required`, with their index, in header order.
        var extraColumns: [(String, Int)] = []

        /// The named fields of a record, in the order of `columns`.
        func fields(_ record: Record, _ columns: [String]) throws -> [String] {
            columns.map { record.fields[columnIndex[$0]!] }
        }
    }
}
