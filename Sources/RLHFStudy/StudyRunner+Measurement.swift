import Foundation
import RLHF

extension StudyRunner {
    /// The measurement a study kind runs, and the question it answers.
    static func measurement(_ kind: Study.Kind) -> (question: StudyQuestion, run: @Sendable ([UInt64], Bool, Int) -> [MeasurementRow], logY: Bool)? {
        switch kind {
        case .training: return nil
        case .critic: return (CriticMeasurement.question, { CriticMeasurement.run(seeds: $0, quick: $1, threads: $2) }, true)
        case .hypergradient: return (HypergradientMeasurement.question, { HypergradientMeasurement.run(seeds: $0, quick: $1, threads: $2) }, true)
        case .gradient: return (GradientMeasurement.question, { GradientMeasurement.run(seeds: $0, quick: $1, threads: $2) }, true)
        case .fixedPoint: return (FixedPointMeasurement.question, { FixedPointMeasurement.run(seeds: $0, quick: $1, threads: $2) }, false)
        }
    }

    /// What a finished measurement leaves in `measurement.json`: the settings and the rows.
    struct FinishedMeasurement: Codable {
        var kind: String
        var seeds: [UInt64]
        var quick: Bool
        var rows: [MeasurementRow]
    }

    /// Runs a measurement study (`critic`, `hypergradient`, `gradient`, `fixed-point`) and writes
    /// `results.csv`, `report.md` and `measurements.svg`; returns the report's path. A finished
    /// measurement with the same settings is not recomputed. The numbers do not depend on
    /// ``workers`` (each measurement seeds its work items itself).
    public func runMeasurement(_ study: Study, source: String?) throws -> String {
        guard let m = Self.measurement(study.kind) else { throw StudyError("\(study.name) is a training study") }
        try RunOutput.prepare(directory: directory)
        try checkIdentity(Identity(measurement: study))
        // One computation, not sharded: a folder-wide lock keeps a second process out.
        let lock = try FolderLock(directory: directory)
        defer { lock.release() }
        if let source { try Self.write(Data(source.utf8), to: directory + "/study.yaml") }
        let saved = directory + "/measurement.json"
        var rows: [MeasurementRow]
        if let data = FileManager.default.contents(atPath: saved),
           let f = try? JSONDecoder().decode(FinishedMeasurement.self, from: data),
           f.kind == study.kind.rawValue, f.seeds == study.seeds, f.quick == study.quick {
            rows = f.rows
        } else {
            rows = m.run(study.seeds, study.quick, workers)
            let f = FinishedMeasurement(kind: study.kind.rawValue, seeds: study.seeds, quick: study.quick, rows: rows)
            try RunOutput.write(JSONEncoder().encode(f), to: saved)
        }
        // The measurement's answer rule, with the study's question (its measurement's unless the file gives one).
        let question = StudyQuestion(question: study.question.question, answer: m.question.answer)
        try RunOutput.write(Data(StudyReport.csv(rows).utf8), to: directory + "/results.csv")
        try RunOutput.write(Data(StudyReport.measurement(title: study.title, question: question, rows: rows, notes: study.notes).utf8),
                            to: directory + "/report.md")
        try RunOutput.write(Data(StudyReport.measurementPlot(rows: rows, title: study.title, logY: m.logY).utf8),
                            to: directory + "/" + StudyReport.measurementPlotFile)
        return directory + "/report.md"
    }
}
