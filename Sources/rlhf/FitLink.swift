import ArgumentParser
import Foundation
import RLHF

extension LinkFit.FileFormat: ExpressibleByArgument {}

/// `rlhf fit-link`: which link function do the evaluators follow?
struct FitLink: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "fit-link",
        abstract: "Fit the Bradley-Terry, Thurstone and Weibull links to labeled pairs and say which one the evaluators follow.",
        discussion: """
            Every answer is a vote on a pair whose return difference x = R(τ1) − R(τ0) is known: \
            for τ1 ("right", probability σ(x)), for τ0 ("left", 1 − σ(x)), or a tie, counted as \
            half a vote each way (log-likelihood ½ log σ(x) + ½ log(1 − σ(x))). Skips are dropped.

            Each link is fitted by maximum likelihood: Bradley-Terry σ(x) = 1/(1 + e^(−x/s)) and \
            Thurstone σ(x) = Φ(x/s) have one parameter, the scale s; the Weibull link \
            σ(x) = ½ + ½·sgn(x)·(1 − exp(−(|x|/s)^k)) has two, s and the shape k. The ± are \
            standard errors from the observed Fisher information. The links are not nested, so \
            they are compared by AIC = 2p − 2 log L (smaller is better), not by a likelihood-ratio \
            test: ΔAIC is the distance to the best, the weight exp(−ΔAIC/2) normalized is the \
            relative support, and ΔAIC < 2 means the votes do not tell two links apart.

            Data that no link can be fitted to are refused with the reason: fewer than 10 votes \
            on pairs with different returns, all pairs at x = 0, or votes that all prefer the \
            higher return (perfect separation: s → 0, the scale is not identified). A link whose \
            parameters run off (s → ∞, k → 0 or ∞) is reported as not identified.

            FILE is the labeling service's export (one answer a line: first_return, \
            second_return, choice left/right/tie/skip, annotator; see Docs/LabelingService.md) \
            or a preference dataset of the toolkit (one pair a line: label p̂ and evaluators M, \
            read as p̂·M votes for τ1). --simulate instead draws votes of a known link from the \
            toolkit's own evaluator panel, x uniform on [−3s, 3s], to see the fit recover it.

            --json prints one JSON object; its "links" list is a table: \
            pandas.DataFrame(json.load(open("fit.json"))["links"]).

            Examples:
              rlhf fit-link export.jsonl
              rlhf fit-link export.jsonl --annotator alice --json > alice.json
              rlhf fit-link runs/a/pairs.jsonl --format dataset
              rlhf fit-link --simulate weibull --scale 1.5 --shape 1.3 --seed 1
              rlhf fit-link --simulate bradley-terry --pairs 5000 --evaluators 100

            Telling the links apart takes many votes: Weibull with k ≈ 1.2 mimics \
            Bradley-Terry to within 0.006 in probability, and it takes about 500,000 votes \
            (the last example) to separate them reliably. A mistake rate is not a link: \
            evaluators who flip answers at random look like a heavier-tailed link (Weibull \
            k < 1) to this fit.
            """)

    /// The simulation's defaults.
    static let defaultScale = 1.0, defaultShape = 2.0, defaultPairs = 2000, defaultEvaluators = 10

    @Argument(help: ArgumentHelp("An export of the labeling service or a preference dataset (JSON Lines).", valueName: "FILE"))
    var file: String?

    @Option(parsing: .unconditional, help: "What FILE is: export (one answer a line), dataset (one pair a line) or auto (from the first line).")
    var format: LinkFit.FileFormat = .auto

    @Option(parsing: .unconditional, help: "Use only this annotator's answers (export only).")
    var annotator: String?

    @Flag(help: "Print one JSON object instead of the table.")
    var json = false

    @Option(parsing: .unconditional, help: ArgumentHelp("Simulate votes of this link instead of reading FILE: bradley-terry, weibull or thurstone.", valueName: "LINK"))
    var simulate: LinkFunction.Kind?

    @Option(parsing: .unconditional, help: "--simulate: the link's scale s > 0 (default 1).")
    var scale: Double?

    @Option(parsing: .unconditional, help: "--simulate weibull: the shape k > 0 (default 2).")
    var shape: Double?

    @Option(parsing: .unconditional, help: "--simulate: pairs N, each with its own x (default 2000).")
    var pairs: Count?

    @Option(parsing: .unconditional, help: "--simulate: evaluators M asked about each pair (default 10); N·M votes in all.")
    var evaluators: Count?

    @Option(parsing: .unconditional, help: "--simulate: the probability that an evaluator flips its answer (a noisy teacher; default 0).")
    var mistakeRate: Double?

    @Option(parsing: .unconditional, help: "--simulate: random seed.")
    var seed: UInt64?

    func validate() throws {
        let simulationOptions: [(String, Bool)] = [("--scale", scale != nil), ("--shape", shape != nil), ("--pairs", pairs != nil),
                                                   ("--evaluators", evaluators != nil), ("--mistake-rate", mistakeRate != nil), ("--seed", seed != nil)]
        if simulate == nil {
            guard file != nil else { throw ValidationError("give a FILE of labels, or --simulate LINK") }
            if let given = simulationOptions.first(where: { $0.1 }) {
                throw ValidationError("\(given.0) applies to --simulate only")
            }
        } else {
            if let file { throw ValidationError("give a FILE or --simulate, not both (got FILE '\(file)')") }
            if annotator != nil { throw ValidationError("--annotator applies to a FILE only") }
            if format != .auto { throw ValidationError("--format applies to a FILE only") }
            if shape != nil && simulate != .weibull { throw ValidationError("--shape applies to --simulate weibull only") }
        }
    }

    /// Where the votes came from, as `--json` reports it.
    struct Source: Encodable {
        var kind: String
        var path: String?
        var format: String?
        var lines: Int?
        var used: Int?
        var skipped: Int?
        var otherAnnotators: Int?
        var annotator: String?
        var annotators: Int?
        var trueLink: String?
        var trueScale: Double?
        var trueShape: Double?
        var pairs: Int?
        var evaluators: Int?
        var mistakeRate: Double?
        var seed: UInt64?
    }

    /// The `--json` output: the report's fields and the source.
    struct Output: Encodable {
        var source: Source
        var votes: Double
        var informativeVotes: Double
        var ties: Double
        var differences: Int
        var links: [LinkFit.Result]
        var best: LinkFunction.Kind?
        var runnerUp: LinkFunction.Kind?
        var runnerUpDeltaAic: Double?
        var verdict: String
    }

    func run() throws {
        let votes: LinkFit.VoteTable
        let source: Source
        if let kind = simulate {
            let link = try LinkFunction(kind, scale: scale ?? Self.defaultScale, shape: shape ?? Self.defaultShape)
            let teacher = try Teacher(mistakeRate: mistakeRate ?? 0)
            let m = evaluators?.value ?? Self.defaultEvaluators
            let n = pairs?.value ?? Self.defaultPairs
            let panel = try EvaluatorPanel(link: link, evaluators: m, teacher: teacher)
            votes = try LinkFit.simulate(panel: panel, pairs: n, seed: seed ?? 0)
            source = Source(kind: "simulated", trueLink: kind.rawValue, trueScale: link.scale,
                            trueShape: kind == .weibull ? link.shape : nil, pairs: n, evaluators: m,
                            mistakeRate: teacher.mistakeRate, seed: seed ?? 0)
        } else {
            let path = file!
            let loaded = try LinkFit.load(path: path, format: format, annotator: annotator)
            votes = loaded.table
            source = Source(kind: "file", path: path, format: loaded.format.rawValue, lines: loaded.lines, used: loaded.used,
                            skipped: loaded.format == .export ? loaded.skipped : nil,
                            otherAnnotators: annotator != nil ? loaded.otherAnnotators : nil, annotator: annotator,
                            annotators: loaded.format == .export ? loaded.annotators.count : nil)
        }
        let report = try LinkFit.fit(votes)
        if json {
            return try printJSON(Output(source: source, votes: report.votes, informativeVotes: report.informativeVotes,
                                        ties: report.ties, differences: report.differences, links: report.links,
                                        best: report.best, runnerUp: report.runnerUp,
                                        runnerUpDeltaAic: report.runnerUpDeltaAic, verdict: report.verdict))
        }
        print(describe(source))
        print("votes \(LinkFitCount(report.votes)) (\(LinkFitCount(report.informativeVotes)) on pairs whose returns differ, \(LinkFitCount(report.ties)) ties) at \(report.differences) return differences")
        print("")
        print(Self.table(report))
        print("")
        print("verdict: \(report.verdict)")
        print("± is one standard error (observed Fisher information). AIC = 2p − 2 log L, smaller is better; weight = exp(−ΔAIC/2), normalized.")
    }

    func describe(_ s: Source) -> String {
        if s.kind == "simulated" {
            var link = "\(s.trueLink!)(s=\(s.trueScale!)" + (s.trueShape.map { ", k=\($0)" } ?? "") + ")"
            if let e = s.mistakeRate, e > 0 { link += ", mistake rate \(e)" }
            return "simulated: true link \(link), \(s.pairs!) pairs × M = \(s.evaluators!) evaluators, x uniform on ±3s, seed \(s.seed!)"
        }
        var text = "\(s.path!): \(s.format!), \(s.lines!) lines, \(s.used!) used"
        if let skipped = s.skipped { text += ", \(skipped) skips dropped" }
        if let a = s.annotator { text += ", annotator \(a) (\(s.otherAnnotators!) answers of others left out)" }
        else if let n = s.annotators { text += ", \(n) annotator\(n == 1 ? "" : "s")" }
        return text
    }

    /// The table of fits: link, parameters ± SE, log L, AIC, ΔAIC, BIC, weight, chosen.
    static func table(_ report: LinkFit.Report) -> String {
        func pm(_ name: String, _ v: Double?, _ se: Double?) -> String {
            guard let v, let se else { return "" }
            return "\(name) = \(significant(v)) ± \(significant(se))"
        }
        var rows = [["link", "parameters ± SE", "log L", "AIC", "ΔAIC", "BIC", "weight", "chosen"]]
        var notes: [String] = []
        for r in report.links {
            if r.status != .fitted {
                rows.append([r.link.rawValue, r.status.rawValue, "", "", "", "", "", ""])
                notes.append("\(r.link.rawValue): \(r.message ?? r.status.rawValue)")
                continue
            }
            let parameters = [pm("s", r.scale, r.scaleStandardError), pm("k", r.shape, r.shapeStandardError)]
                .filter { !$0.isEmpty }.joined(separator: ", ")
            rows.append([r.link.rawValue, parameters, fmt(r.logLikelihood!, 2), fmt(r.aic!, 2), fmt(r.deltaAic!, 2),
                         fmt(r.bic!, 2), fmt(r.akaikeWeight!, 3), r.chosen ? "*" : ""])
        }
        let widths = rows[0].indices.map { c in rows.map { $0[c].count }.max()! }
        let lines = rows.map { row in
            row.enumerated().map { c, cell in
                c <= 1 ? cell.padding(toLength: widths[c], withPad: " ", startingAt: 0)
                       : String(repeating: " ", count: widths[c] - cell.count) + cell
            }.joined(separator: "  ").trimmingCharacters(in: .whitespaces)
        }
        return (lines + notes).joined(separator: "\n")
    }

    /// Four significant digits, without exponent for ordinary magnitudes.
    static func significant(_ x: Double) -> String {
        let a = abs(x)
        if a != 0 && (a < 1e-3 || a >= 1e6) { return String(format: "%.3e", x) }
        let decimals = a == 0 ? 3 : max(0, 3 - Int(floor(log10(a))))
        return String(format: "%.\(decimals)f", x)
    }
}

/// A vote count: `20000`, `12.5`.
private func LinkFitCount(_ x: Double) -> String {
    x == x.rounded() && abs(x) < 1e15 ? String(Int(x)) : String(format: "%g", x)
}
