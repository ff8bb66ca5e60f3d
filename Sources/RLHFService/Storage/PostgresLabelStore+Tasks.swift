import Foundation
import PostgresNIO

extension PostgresLabelStore {
    /// Counts the comparisons of a project with a slot free for `annotator` at `now` with M =
    /// `m`: not answered by them, and fewer than M slots answered or leased (unexpired) to others
    /// (the condition of `SQLiteLabelStore.openCondition`).
    static func openCountQuery(project: Int64, annotator: Int64, now: Int64, m: Int) -> PostgresQuery {
        """
        SELECT COUNT(*) AS open FROM comparisons c WHERE c.project_id = \(project)
        AND NOT EXISTS (SELECT 1 FROM answers a WHERE a.comparison_id = c.id AND a.annotator_id = \(annotator))
        AND (SELECT COUNT(*) FROM answers a WHERE a.comparison_id = c.id)
          + (SELECT COUNT(*) FROM assignments s
             WHERE s.comparison_id = c.id AND s.annotator_id <> \(annotator) AND s.expires_at > \(now)) < \(Int64(m))
        """
    }

    /// The oldest comparison after id `after` with a slot free for `annotator` (the condition of
    /// `openCountQuery`), locked `FOR NO KEY UPDATE`, skipping comparisons locked by others.
    static func candidateQuery(project: Int64, after: Int64, annotator: Int64, now: Int64, m: Int) -> PostgresQuery {
        """
        SELECT c.id FROM comparisons c WHERE c.project_id = \(project) AND c.id > \(after)
        AND NOT EXISTS (SELECT 1 FROM answers a WHERE a.comparison_id = c.id AND a.annotator_id = \(annotator))
        AND (SELECT COUNT(*) FROM answers a WHERE a.comparison_id = c.id)
          + (SELECT COUNT(*) FROM assignments s
             WHERE s.comparison_id = c.id AND s.annotator_id <> \(annotator) AND s.expires_at > \(now)) < \(Int64(m))
        ORDER BY c.id LIMIT 1 FOR NO KEY UPDATE OF c SKIP LOCKED
        """
    }

    public func openCounts(annotatorID: Int64, now: Date) async throws -> [ProjectOpenCount] {
        let nowMs = now.epochMilliseconds
        return try await read { connection in
            _ = try await self.requireAnnotator(annotatorID, connection)
            let projects = try await connection.query(
                "SELECT \(unescaped: Self.projectColumns) FROM projects ORDER BY id",
                logger: self.logger).collect().map(Self.project)
            var counts: [ProjectOpenCount] = []
            for project in projects {
                let query = Self.openCountQuery(project: project.id, annotator: annotatorID, now: nowMs,
                                                m: project.answersPerPair)
                let row = try await connection.query(query, logger: self.logger).collect().first
                counts.append(ProjectOpenCount(project: project, open: Int(try row?.get("open", as: Int64.self) ?? 0)))
            }
            return counts
        }
    }

    public func nextTask(project name: String, annotatorID: Int64, now: Date, lease: TimeInterval) async throws -> LabelTask? {
        try LabelStoreLimits.checkLease(lease)
        let nowMs = now.epochMilliseconds
        let expiresMs = nowMs + lease.leaseMilliseconds
        return try await write { connection in
            let project = try await self.requireProject(named: name, connection)
            _ = try await self.requireAnnotator(annotatorID, lock: true, connection)
            // 1. This annotator's unexpired lease in the project.
            if let row = try await connection.query(
                """
                SELECT s.comparison_id, s.slot FROM assignments s
                JOIN comparisons c ON c.id = s.comparison_id
                WHERE c.project_id = \(project.id) AND s.annotator_id = \(annotatorID) AND s.expires_at > \(nowMs)
                ORDER BY s.comparison_id LIMIT 1
                """, logger: self.logger).collect().first {
                return try await self.task(comparisonID: try row.get("comparison_id"),
                                           slot: Int(try row.get("slot", as: Int64.self)), project: project, connection)
            }
            // 2. The oldest open comparison nobody else holds locked; the candidate query's
            // snapshot may predate the lock, so the slot is chosen afresh after it.
            var after: Int64 = 0
            while true {
                let candidate = Self.candidateQuery(project: project.id, after: after, annotator: annotatorID,
                                                    now: nowMs, m: project.answersPerPair)
                guard let row = try await connection.query(candidate, logger: self.logger).collect().first else {
                    return nil
                }
                let comparisonID: Int64 = try row.get("id")
                after = comparisonID
                if let slot = try await self.lease(comparisonID: comparisonID, annotatorID: annotatorID, m: project.answersPerPair,
                                                   nowMs: nowMs, expiresMs: expiresMs, connection) {
                    return try await self.task(comparisonID: comparisonID, slot: slot, project: project, connection)
                }
            }
        }
    }

    /// Leases a slot of a comparison whose row this transaction holds locked: this annotator's
    /// own expired lease first, else the lowest slot neither answered nor leased (unexpired);
    /// nil when the annotator answered it meanwhile or no slot is free.
    func lease(comparisonID: Int64, annotatorID: Int64, m: Int, nowMs: Int64, expiresMs: Int64,
               _ connection: PostgresConnection) async throws -> Int? {
        let mine = try await connection.query(
            "SELECT 1 FROM answers WHERE comparison_id = \(comparisonID) AND annotator_id = \(annotatorID)",
            logger: logger).collect()
        if !mine.isEmpty { return nil }
        if let own = try await connection.query(
            "SELECT slot FROM assignments WHERE comparison_id = \(comparisonID) AND annotator_id = \(annotatorID)",
            logger: logger).collect().first {
            let slot = try own.get("slot", as: Int64.self)
            try await connection.query(
                """
                UPDATE assignments SET issued_at = \(nowMs), expires_at = \(expiresMs)
                WHERE comparison_id = \(comparisonID) AND slot = \(slot)
                """, logger: logger)
            return Int(slot)
        }
        var taken: Set<Int64> = []
        for row in try await connection.query(
            """
            SELECT slot FROM answers WHERE comparison_id = \(comparisonID)
            UNION ALL
            SELECT slot FROM assignments WHERE comparison_id = \(comparisonID) AND expires_at > \(nowMs)
            """, logger: logger).collect() {
            taken.insert(try row.get("slot"))
        }
        guard let slot = (0 ..< Int64(m)).first(where: { !taken.contains($0) }) else { return nil }
        try await connection.query(
            "DELETE FROM assignments WHERE comparison_id = \(comparisonID) AND slot = \(slot)", logger: logger)
        try await connection.query(
            """
            INSERT INTO assignments (comparison_id, slot, annotator_id, issued_at, expires_at)
            VALUES (\(comparisonID), \(slot), \(annotatorID), \(nowMs), \(expiresMs))
            """, logger: logger)
        return Int(slot)
    }

    /// The task for a leased slot.
    func task(comparisonID: Int64, slot: Int, project: Project, _ connection: PostgresConnection) async throws -> LabelTask {
        guard let row = try await connection.query(
            """
            SELECT s.issued_at, s.expires_at, c.key, c.first, c.second, c.first_return, c.second_return,
                   c.first_myopic_return, c.second_myopic_return, c.answer_stream
            FROM assignments s JOIN comparisons c ON c.id = s.comparison_id
            WHERE s.comparison_id = \(comparisonID) AND s.slot = \(Int64(slot))
            """, logger: logger).collect().first else {
            throw LabelStoreError.corrupt("assignment \(comparisonID)/\(slot) vanished")
        }
        return LabelTask(
            comparisonID: comparisonID, slot: slot,
            issuedAt: Date(epochMilliseconds: try row.get("issued_at")),
            expiresAt: Date(epochMilliseconds: try row.get("expires_at")),
            project: project, key: try row.get("key"), first: try row.get("first"), second: try row.get("second"),
            firstReturn: try row.get("first_return"), secondReturn: try row.get("second_return"),
            firstMyopicReturn: try row.get("first_myopic_return"),
            secondMyopicReturn: try row.get("second_myopic_return"),
            answerStream: try row.get("answer_stream", as: String?.self))
    }

    public func answer(comparisonID: Int64, slot: Int, annotatorID: Int64, choice: Choice, now: Date) async throws -> AnswerOutcome {
        let nowMs = now.epochMilliseconds
        let slot64 = Int64(slot)
        return try await write { connection in
            // The comparison's row lock orders this answer with every nextTask on it.
            guard let row = try await connection.query(
                """
                SELECT p.answers_per_pair FROM comparisons c JOIN projects p ON p.id = c.project_id
                WHERE c.id = \(comparisonID) FOR NO KEY UPDATE OF c
                """, logger: self.logger).collect().first else {
                return .notFound
            }
            let m: Int64 = try row.get("answers_per_pair")
            guard slot64 >= 0 && slot64 < m else { return .notFound }
            if let mine = try await connection.query(
                "SELECT slot, choice FROM answers WHERE comparison_id = \(comparisonID) AND annotator_id = \(annotatorID)",
                logger: self.logger).collect().first {
                let sameSlot = try mine.get("slot", as: Int64.self) == slot64
                let sameChoice = try mine.get("choice", as: String.self) == choice.rawValue
                return sameSlot && sameChoice ? .duplicate : .conflict
            }
            let answered = try await connection.query(
                "SELECT 1 FROM answers WHERE comparison_id = \(comparisonID) AND slot = \(slot64)",
                logger: self.logger).collect()
            if !answered.isEmpty { return .forbidden }
            guard let lease = try await connection.query(
                "SELECT annotator_id, issued_at FROM assignments WHERE comparison_id = \(comparisonID) AND slot = \(slot64)",
                logger: self.logger).collect().first,
                  try lease.get("annotator_id", as: Int64.self) == annotatorID else {
                return .forbidden
            }
            let issuedMs: Int64 = try lease.get("issued_at")
            try await connection.query(
                """
                INSERT INTO answers (comparison_id, slot, annotator_id, choice, issued_at, answered_at, time_to_answer_ms)
                VALUES (\(comparisonID), \(slot64), \(annotatorID), \(choice.rawValue), \(issuedMs), \(nowMs),
                        \(max(0, nowMs - issuedMs)))
                """, logger: self.logger)
            try await connection.query(
                "DELETE FROM assignments WHERE comparison_id = \(comparisonID) AND slot = \(slot64)", logger: self.logger)
            return .recorded
        }
    }

    public func status(annotatorID: Int64, now: Date) async throws -> AnnotatorStatus {
        let day = now.utcDayBoundsMilliseconds
        return try await read { connection in
            let annotator = try await self.requireAnnotator(annotatorID, connection)
            guard let counts = try await connection.query(
                """
                SELECT COUNT(*) AS answered,
                       COUNT(*) FILTER (WHERE answered_at >= \(day.start) AND answered_at < \(day.end)) AS today
                FROM answers WHERE annotator_id = \(annotatorID)
                """, logger: self.logger).collect().first else {
                throw LabelStoreError.corrupt("no count row")
            }
            let projects = try await connection.query(
                """
                SELECT p.name, p.answers_per_pair,
                       (SELECT COUNT(*) FROM comparisons c WHERE c.project_id = p.id) AS comparisons,
                       (SELECT COUNT(*) FROM answers a JOIN comparisons c ON c.id = a.comparison_id
                        WHERE c.project_id = p.id) AS answers,
                       (SELECT COUNT(*) FROM comparisons c WHERE c.project_id = p.id
                        AND (SELECT COUNT(*) FROM answers a WHERE a.comparison_id = c.id) >= p.answers_per_pair)
                        AS complete
                FROM projects p ORDER BY p.id
                """, logger: self.logger).collect().map { row -> ProjectStatus in
                let comparisons = Int(try row.get("comparisons", as: Int64.self))
                let m = Int(try row.get("answers_per_pair", as: Int64.self))
                let answers = Int(try row.get("answers", as: Int64.self))
                return ProjectStatus(name: try row.get("name"), queue: comparisons * m - answers,
                                     complete: Int(try row.get("complete", as: Int64.self)), comparisons: comparisons)
            }
            return AnnotatorStatus(annotator: annotator, answeredToday: Int(try counts.get("today", as: Int64.self)),
                                   answered: Int(try counts.get("answered", as: Int64.self)), projects: projects)
        }
    }
}
