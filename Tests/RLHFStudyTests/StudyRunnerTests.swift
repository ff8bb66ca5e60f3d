import Foundation
import Testing
import RLHF
@testable import RLHFStudy
import RLHFTestSupport

@Suite struct StudyRunnerTests {
    static let text = """
        name: runner-test
        question: Does ZPG beat online DPO?
        answer:
          compare:
            a: {name: zeroth-order, variants: [zpg]}
            b: {name: baselines, variants: [online-dpo]}
        environments: [classic]
        links: [bradley-terry, weibull]
        seeds: 2
        budgets: [2000, 4000]
        evaluations: 5
        algorithms: [zpg, online-dpo]
        """

    /// Rows without wall time (the only column that may differ between two computations).
    static func strip(_ rows: [ResultRow]) -> [ResultRow] {
        rows.map { var r = $0; r.wallSeconds = 0; return r }
    }

    @Test func resumingRecomputesOnlyUnfinishedRunsAndGivesIdenticalResults() throws {
        let plan = try StudyPlan(Study.parse(yaml: Self.text, file: "t.yaml"))
        #expect(plan.cells.count == 16)
        let dir = TestFiles.temporaryDirectory("rlhf-study", create: false)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let first = try StudyRunner(directory: dir, workers: 2).run(plan, source: Self.text)
        #expect(first.computed == 16 && first.resumed == 0 && first.failures.isEmpty)
        #expect(first.rows.filter(\.isFinal).count == 16)
        let csv = try String(contentsOfFile: dir + "/results.csv", encoding: .utf8)
        // A study stopped half way: half of the runs never finished.
        for cell in plan.cells.enumerated().filter({ $0.offset % 2 == 1 }).map(\.element) {
            try FileManager.default.removeItem(atPath: dir + "/runs/\(cell.id)/run.json")
        }
        let second = try StudyRunner(directory: dir, workers: 2).run(plan, source: Self.text)
        #expect(second.computed == 8 && second.resumed == 8)
        #expect(Self.strip(second.rows) == Self.strip(first.rows))
        // Runs found finished are not recomputed: their rows (wall time included) are the saved ones.
        let kept = Set(plan.cells.enumerated().filter { $0.offset % 2 == 0 }.map(\.element.id))
        #expect(second.rows.filter { kept.contains($0.run) } == first.rows.filter { kept.contains($0.run) })
        // A third run computes nothing.
        let third = try StudyRunner(directory: dir, workers: 2).run(plan, source: Self.text)
        #expect(third.computed == 0 && third.resumed == 16)
        #expect(try String(contentsOfFile: dir + "/results.csv", encoding: .utf8).split(separator: "\n").count == csv.split(separator: "\n").count)
        for file in ["report.md", "normalized_vs_queries.svg", "study.yaml"] {
            #expect(FileManager.default.fileExists(atPath: dir + "/" + file), "\(file)")
        }
    }

    @Test func resultsDoNotDependOnTheNumberOfWorkers() throws {
        let plan = try StudyPlan(Study.parse(yaml: Self.text, file: "t.yaml"))
        let a = TestFiles.temporaryDirectory("rlhf-study", create: false), b = TestFiles.temporaryDirectory("rlhf-study", create: false)
        defer { try? FileManager.default.removeItem(atPath: a); try? FileManager.default.removeItem(atPath: b) }
        let one = try StudyRunner(directory: a, workers: 1).run(plan, source: nil)
        let two = try StudyRunner(directory: b, workers: 2).run(plan, source: nil)
        #expect(Self.strip(one.rows) == Self.strip(two.rows))
        // And each run equals the same configuration trained alone.
        let cell = plan.cells[5]
        let alone = try Trainer.run(cell.configuration)
        let rows = one.rows.filter { $0.run == cell.id }
        #expect(rows.map(\.normalizedValue) == alone.state.records.map(\.normalizedValue))
    }

    @Test func aFolderOfAnotherStudyIsRefused() throws {
        let plan = try StudyPlan(Study.parse(yaml: Self.text, file: "t.yaml"))
        let dir = TestFiles.temporaryDirectory("rlhf-study", create: false)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        _ = try StudyRunner(directory: dir, workers: 2).run(plan, source: nil)
        var other = plan
        other.cells[0].configuration.mu = 2
        #expect(throws: StudyError.self) { try StudyRunner(directory: dir, workers: 2).run(other, source: nil) }
    }

    /// Untrimmed ZPG diverges on every seed: the runs are reported as diverged (not as errors),
    /// the others finish, and the report's notes say how many diverged and why.
    @Test func divergedRunsAreReportedNotLost() throws {
        let text = """
            name: diverging
            environments: [classic]
            seeds: 2
            budgets: [100000]
            algorithms:
              - {label: untrimmed, algorithm: zpg, trim: 0}
              - {label: trimmed, algorithm: zpg}
            """
        let plan = try StudyPlan(Study.parse(yaml: text, file: "t.yaml"))
        let dir = TestFiles.temporaryDirectory("rlhf-study", create: false)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let outcome = try StudyRunner(directory: dir, workers: 2).run(plan, source: text)
        #expect(outcome.failures.count == 2)
        #expect(outcome.failures.allSatisfy { $0.diverged && $0.variant == "untrimmed" })
        #expect(outcome.rows.filter(\.isFinal).map(\.variant) == ["trimmed", "trimmed"])
        let report = try String(contentsOfFile: dir + "/report.md", encoding: .utf8)
        #expect(report.contains("**untrimmed**: 2 of 2 runs diverged"), "\(report)")
        #expect(FileManager.default.fileExists(atPath: dir + "/runs/\(outcome.failures[0].id)/error.txt"))
    }
}
