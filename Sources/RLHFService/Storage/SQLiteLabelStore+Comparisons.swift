import Foundation
import GRDB

extension SQLiteLabelStore {
    public func submit(project name: String, comparisons: [NewComparison]) async throws -> [SubmitOutcome] {
        for comparison in comparisons { try LabelStoreLimits.check(comparison) }
        let now = Date().epochMilliseconds
        return try await pool.writeWithoutTransaction { db in
            var outcomes: [SubmitOutcome] = []
            try db.inTransaction(.immediate) {
                let project = try Self.requireProject(named: name, db)
                var createdHere: Set<Int64> = []
                outcomes.reserveCapacity(comparisons.count)
                for c in comparisons {
                    if let row = try Row.fetchOne(
                        db,
                        sql: """
                            SELECT id, first, second, first_return, second_return, first_myopic_return,
                                   second_myopic_return, answer_stream
                            FROM comparisons WHERE project_id = ? AND key = ?
                            """,
                        arguments: [project.id, c.key]) {
                        let id: Int64 = row["id"]
                        let stored = NewComparison(
                            key: c.key, first: row["first"], second: row["second"],
                            firstReturn: row["first_return"], secondReturn: row["second_return"],
                            firstMyopicReturn: row["first_myopic_return"],
                            secondMyopicReturn: row["second_myopic_return"],
                            answerStream: row["answer_stream"])
                        if stored == c {
                            outcomes.append(.existing(id))
                        } else {
                            outcomes.append(.conflict(createdHere.contains(id) ? 0 : id))
                        }
                    } else {
                        try db.execute(
                            sql: """
                                INSERT INTO comparisons (project_id, key, first, second, first_return,
                                    second_return, first_myopic_return, second_myopic_return, answer_stream,
                                    created_at)
                                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                                """,
                            arguments: [project.id, c.key, c.first, c.second, c.firstReturn, c.secondReturn,
                                        c.firstMyopicReturn, c.secondMyopicReturn, c.answerStream, now])
                        createdHere.insert(db.lastInsertedRowID)
                        outcomes.append(.created(db.lastInsertedRowID))
                    }
                }
                if outcomes.contains(where: \.isConflict) {
                    outcomes = outcomes.map { outcome in
                        switch outcome {
                        case .created: return .rejected
                        case .existing(let id) where createdHere.contains(id): return .rejected
                        default: return outcome
                        }
                    }
                    return .rollback
                }
                return .commit
            }
            return outcomes
        }
    }

    public func results(project name: String, keys: [String]) async throws -> [ComparisonResult] {
        try await pool.read { db in
            let project = try Self.requireProject(named: name, db)
            let statement = try db.cachedStatement(sql: """
                SELECT c.id,
                       COUNT(a.id) AS answers,
                       COALESCE(SUM(a.choice = 'left'), 0) AS left,
                       COALESCE(SUM(a.choice = 'right'), 0) AS right,
                       COALESCE(SUM(a.choice = 'tie'), 0) AS tie,
                       COALESCE(SUM(a.choice = 'skip'), 0) AS skip
                FROM comparisons c LEFT JOIN answers a ON a.comparison_id = c.id
                WHERE c.project_id = ? AND c.key = ?
                GROUP BY c.id
                """)
            return try keys.map { key in
                guard let row = try Row.fetchOne(statement, arguments: [project.id, key]) else {
                    return ComparisonResult(key: key, comparisonID: nil, answers: 0, left: 0, right: 0, tie: 0,
                                            skip: 0, complete: false, unknown: true)
                }
                let answers: Int = row["answers"]
                return ComparisonResult(key: key, comparisonID: row["id"], answers: answers,
                                        left: row["left"], right: row["right"], tie: row["tie"],
                                        skip: row["skip"], complete: answers >= project.answersPerPair,
                                        unknown: false)
            }
        }
    }
}
