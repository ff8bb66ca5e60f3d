import Foundation
import GRDB

extension SQLiteLabelStore {
    public func export(project name: String) async throws -> [ExportRow] {
        try await pool.read { db in
            let project = try Self.requireProject(named: name, db)
            return try Row.fetchAll(
                db,
                sql: """
                    SELECT c.key, a.comparison_id, a.slot, n.name AS annotator, a.choice, a.issued_at,
                           a.answered_at, a.time_to_answer_ms, c.first, c.second, c.first_return,
                           c.second_return, c.first_myopic_return, c.second_myopic_return
                    FROM answers a
                    JOIN comparisons c ON c.id = a.comparison_id
                    JOIN annotators n ON n.id = a.annotator_id
                    WHERE c.project_id = ?
                    ORDER BY a.comparison_id, a.slot
                    """,
                arguments: [project.id]
            ).map { row in
                let choiceText: String = row["choice"]
                guard let choice = Choice(rawValue: choiceText) else {
                    throw LabelStoreError.corrupt("answer choice '\(choiceText)'")
                }
                return ExportRow(
                    project: project.name, key: row["key"], comparisonID: row["comparison_id"], slot: row["slot"],
                    annotator: row["annotator"], choice: choice,
                    issuedAt: Date(epochMilliseconds: row["issued_at"]),
                    answeredAt: Date(epochMilliseconds: row["answered_at"]),
                    timeToAnswerMs: row["time_to_answer_ms"], first: row["first"], second: row["second"],
                    firstReturn: row["first_return"], secondReturn: row["second_return"],
                    firstMyopicReturn: row["first_myopic_return"], secondMyopicReturn: row["second_myopic_return"])
            }
        }
    }

    public func annotatorStats(project name: String) async throws -> [AnnotatorStats] {
        let answers = try await pool.read { db in
            let project = try Self.requireProject(named: name, db)
            return try Row.fetchAll(
                db,
                sql: """
                    SELECT a.comparison_id, n.name AS annotator, a.choice, a.time_to_answer_ms,
                           c.first_return, c.second_return
                    FROM answers a
                    JOIN comparisons c ON c.id = a.comparison_id
                    JOIN annotators n ON n.id = a.annotator_id
                    WHERE c.project_id = ?
                    """,
                arguments: [project.id]
            ).map { row in
                let choiceText: String = row["choice"]
                guard let choice = Choice(rawValue: choiceText) else {
                    throw LabelStoreError.corrupt("answer choice '\(choiceText)'")
                }
                return StatsAnswer(comparisonID: row["comparison_id"], annotator: row["annotator"], choice: choice,
                                   timeToAnswerMs: row["time_to_answer_ms"], firstReturn: row["first_return"],
                                   secondReturn: row["second_return"])
            }
        }
        return AnnotatorStats.compute(answers)
    }
}
