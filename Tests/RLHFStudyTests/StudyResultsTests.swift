import Foundation
import Testing
@testable import RLHFStudy
import RLHF

@Suite struct StudyResultsTests {
    @Test func rowsRoundTripThroughJSON() throws {
        let row = ResultRow(run: "r", variant: "zpg", algorithm: "zpg", env: "classic", link: "bradley-terry",
                            feedback: "default", seed: 3, budget: 10, queries: 10, envSteps: 5, value: 0.5,
                            valueStandardError: nil, normalizedValue: 0.7, wallSeconds: 0.1, isFinal: true)
        let data = try JSONEncoder().encode(row)
        #expect(try JSONDecoder().decode(ResultRow.self, from: data) == row)
    }
}

@Suite("results.csv diagnostics")
struct ResultDiagnosticsCSVTests {
    @Test("diagnostic columns follow the fixed ones, empty for other algorithms, and read back")
    func roundTrip() throws {
        func row(_ algorithm: String, _ d: [Diagnostic]) -> ResultRow {
            ResultRow(run: "r-\(algorithm)", variant: algorithm, algorithm: algorithm, env: "classic", link: "bradley-terry",
                      feedback: "default", seed: 1, budget: 10, queries: 10, envSteps: 5, value: 0.5, valueStandardError: nil,
                      normalizedValue: 0.25, wallSeconds: 0.1, isFinal: true, diagnostics: d)
        }
        let rows = [row("zpg", [Diagnostic(name: "abs_delta", value: 0.75), Diagnostic(name: "tied_share", value: 0.125)]),
                    row("dpo", [Diagnostic(name: "dpo_loss", value: 0.5)])]
        let text = StudyReport.csv(rows)
        let lines = text.split(separator: "\n")
        #expect(lines[0] == (StudyReport.resultColumns + ["abs_delta", "tied_share", "dpo_loss"]).joined(separator: ","))
        #expect(lines[1].hasSuffix(",true,0.75,0.125,"))
        #expect(lines[2].hasSuffix(",true,,,0.5"))
        #expect(try StudyReport.parseCSV(text) == rows)
        let bad = text.replacingOccurrences(of: "0.75", with: "x")
        #expect(throws: StudyReport.CSVError.self) { try StudyReport.parseCSV(bad) }
    }
}
