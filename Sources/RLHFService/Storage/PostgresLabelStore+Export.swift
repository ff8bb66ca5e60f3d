import Foundation
import PostgresNIO

extension PostgresLabelStore {
    public func export(project name: String) async throws -> [ExportRow] {
        try await read { connection in
            let project = try await self.requireProject(named: name, connection)
            return try await connection.query(
                """
                SELECT c.key, a.comparison_id, a.slot, n.name AS annotator, a.choice, a.issued_at,
                       a.answered_at, a.time_to_answer_ms, c.first, c.second, c.first_return,
                       c.second_return, c.first_myopic_return, c.second_myopic_return
                FROM answers a
                JOIN comparisons c ON c.id = a.comparison_id
                JOIN annotators n ON n.id = a.annotator_id
                WHERE c.project_id = \(project.id)
                ORDER BY a.comparison_id, a.slot
                """, logger: self.logger).collect().map { row in
                let choiceText: String = try row.get("choice")
                guard let choice = Choice(rawValue: choiceText) else {
                    throw LabelStoreError.corrupt("answer choice '\(choiceText)'")
                }
                return ExportRow(
                    project: project.name, key: try row.get("key"), comparisonID: try row.get("comparison_id"),
                    slot: Int(try row.get("slot", as: Int64.self)), annotator: try row.get("annotator"), choice: choice,
                    issuedAt: Date(epochMilliseconds: try row.get("issued_at")),
                    answeredAt: Date(epochMilliseconds: try row.get("answered_at")),
                    timeToAnswerMs: try row.get("time_to_answer_ms"), first: try row.get("first"),
                    second: try row.get("second"), firstReturn: try row.get("first_return"),
                    secondReturn: try row.get("second_return"), firstMyopicReturn: try row.get("first_myopic_return"),
                    secondMyopicReturn: try row.get("second_myopic_return"))
            }
        }
    }

    public func annotatorStats(project name: String) async throws -> [AnnotatorStats] {
        let answers = try await read { connection in
            let project = try await self.requireProject(named: name, connection)
            return try await connection.query(
                """
                SELECT a.comparison_id, n.name AS annotator, a.choice, a.time_to_answer_ms,
                       c.first_return, c.second_return
                FROM answers a
                JOIN comparisons c ON c.id = a.comparison_id
                JOIN annotators n ON n.id = a.annotator_id
                WHERE c.project_id = \(project.id)
                """, logger: self.logger).collect().map { row in
                let choiceText: String = try row.get("choice")
                guard let choice = Choice(rawValue: choiceText) else {
                    throw LabelStoreError.corrupt("answer choice '\(choiceText)'")
                }
                return StatsAnswer(comparisonID: try row.get("comparison_id"), annotator: try row.get("annotator"),
                                   choice: choice, timeToAnswerMs: try row.get("time_to_answer_ms"),
                                   firstReturn: try row.get("first_return"), secondReturn: try row.get("second_return"))
            }
        }
        return AnnotatorStats.compute(answers)
    }
}
