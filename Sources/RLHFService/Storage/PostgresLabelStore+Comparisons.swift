import Foundation
import PostgresNIO

extension PostgresLabelStore {
    public func submit(project name: String, comparisons: [NewComparison]) async throws -> [SubmitOutcome] {
        for comparison in comparisons { try LabelStoreLimits.check(comparison) }
        let now = Date().epochMilliseconds
        return try await transaction { connection in
            let project = try await self.requireProject(named: name, connection)
            var outcomes: [SubmitOutcome] = []
            var createdHere: Set<Int64> = []
            outcomes.reserveCapacity(comparisons.count)
            for c in comparisons {
                let inserted = try await connection.query(
                    """
                    INSERT INTO comparisons (project_id, key, first, second, first_return, second_return,
                        first_myopic_return, second_myopic_return, answer_stream, created_at)
                    VALUES (\(project.id), \(c.key), \(c.first), \(c.second), \(c.firstReturn), \(c.secondReturn),
                        \(c.firstMyopicReturn), \(c.secondMyopicReturn), \(c.answerStream), \(now))
                    ON CONFLICT (project_id, key) DO NOTHING RETURNING id
                    """, logger: self.logger).collect()
                if let row = inserted.first {
                    let id: Int64 = try row.get("id")
                    createdHere.insert(id)
                    outcomes.append(.created(id))
                    continue
                }
                guard let row = try await connection.query(
                    """
                    SELECT id, first, second, first_return, second_return, first_myopic_return,
                           second_myopic_return, answer_stream
                    FROM comparisons WHERE project_id = \(project.id) AND key = \(c.key)
                    """, logger: self.logger).collect().first else {
                    throw LabelStoreError.corrupt("comparison '\(c.key)' neither inserted nor found")
                }
                let id: Int64 = try row.get("id")
                let stored = NewComparison(
                    key: c.key, first: try row.get("first"), second: try row.get("second"),
                    firstReturn: try row.get("first_return"), secondReturn: try row.get("second_return"),
                    firstMyopicReturn: try row.get("first_myopic_return"),
                    secondMyopicReturn: try row.get("second_myopic_return"),
                    answerStream: try row.get("answer_stream", as: String?.self))
                if stored == c {
                    outcomes.append(.existing(id))
                } else {
                    outcomes.append(.conflict(createdHere.contains(id) ? 0 : id))
                }
            }
            if outcomes.contains(where: \.isConflict) {
                let rejected = outcomes.map { outcome -> SubmitOutcome in
                    switch outcome {
                    case .created: return .rejected
                    case .existing(let id) where createdHere.contains(id): return .rejected
                    default: return outcome
                    }
                }
                return (rejected, commit: false)
            }
            return (outcomes, commit: true)
        }
    }

    public func results(project name: String, keys: [String]) async throws -> [ComparisonResult] {
        try await read { connection in
            let project = try await self.requireProject(named: name, connection)
            var found: [String: ComparisonResult] = [:]
            // In chunks, so that a long request does not build one huge array parameter.
            var start = 0
            while start < keys.count {
                let chunk = Array(keys[start ..< min(keys.count, start + 5000)])
                start += chunk.count
                let rows = try await connection.query(
                    """
                    SELECT c.key, c.id,
                           COUNT(a.id) AS answers,
                           COUNT(a.id) FILTER (WHERE a.choice = 'left') AS left_count,
                           COUNT(a.id) FILTER (WHERE a.choice = 'right') AS right_count,
                           COUNT(a.id) FILTER (WHERE a.choice = 'tie') AS tie_count,
                           COUNT(a.id) FILTER (WHERE a.choice = 'skip') AS skip_count
                    FROM comparisons c LEFT JOIN answers a ON a.comparison_id = c.id
                    WHERE c.project_id = \(project.id) AND c.key = ANY(\(chunk))
                    GROUP BY c.id, c.key
                    """, logger: self.logger).collect()
                for row in rows {
                    let key: String = try row.get("key")
                    let answers = Int(try row.get("answers", as: Int64.self))
                    found[key] = ComparisonResult(
                        key: key, comparisonID: try row.get("id"), answers: answers,
                        left: Int(try row.get("left_count", as: Int64.self)),
                        right: Int(try row.get("right_count", as: Int64.self)),
                        tie: Int(try row.get("tie_count", as: Int64.self)),
                        skip: Int(try row.get("skip_count", as: Int64.self)),
                        complete: answers >= project.answersPerPair, unknown: false)
                }
            }
            return keys.map { key in
                found[key] ?? ComparisonResult(key: key, comparisonID: nil, answers: 0, left: 0, right: 0, tie: 0,
                                               skip: 0, complete: false, unknown: true)
            }
        }
    }
}
