import Foundation
import GRDB

extension SQLiteLabelStore {
    /// The condition that comparison `c` has a slot free for annotator `?1` at time `?2` in a
    /// project with M = `?3`: not answered by them, and fewer than M slots answered or leased
    /// (unexpired) to others. Arguments in that order.
    static let openCondition = """
        NOT EXISTS (SELECT 1 FROM answers a WHERE a.comparison_id = c.id AND a.annotator_id = ?)
        AND (SELECT COUNT(*) FROM answers a WHERE a.comparison_id = c.id)
          + (SELECT COUNT(*) FROM assignments s
             WHERE s.comparison_id = c.id AND s.annotator_id <> ? AND s.expires_at > ?) < ?
        """

    static func requireAnnotator(_ id: Int64, _ db: Database) throws -> Annotator {
        guard let row = try Row.fetchOne(db, sql: "SELECT \(annotatorColumns) FROM annotators WHERE id = ?",
                                         arguments: [id]) else {
            throw LabelStoreError.unknownAnnotator(id)
        }
        return annotator(row)
    }

    public func openCounts(annotatorID: Int64, now: Date) async throws -> [ProjectOpenCount] {
        let nowMs = now.epochMilliseconds
        return try await pool.read { db in
            _ = try Self.requireAnnotator(annotatorID, db)
            let projects = try Row.fetchAll(db, sql: "SELECT \(Self.projectColumns) FROM projects ORDER BY id")
                .map(Self.project)
            return try projects.map { project in
                let open = try Int.fetchOne(
                    db,
                    sql: "SELECT COUNT(*) FROM comparisons c WHERE c.project_id = ? AND \(Self.openCondition)",
                    arguments: [project.id, annotatorID, annotatorID, nowMs, project.answersPerPair]) ?? 0
                return ProjectOpenCount(project: project, open: open)
            }
        }
    }

    public func nextTask(project name: String, annotatorID: Int64, now: Date, lease: TimeInterval) async throws -> LabelTask? {
        try LabelStoreLimits.checkLease(lease)
        let nowMs = now.epochMilliseconds
        let expiresMs = nowMs + lease.leaseMilliseconds
        return try await pool.write { db in
            let project = try Self.requireProject(named: name, db)
            _ = try Self.requireAnnotator(annotatorID, db)
            // 1. This annotator's unexpired lease in the project.
            if let row = try Row.fetchOne(
                db,
                sql: """
                    SELECT s.comparison_id, s.slot FROM assignments s
                    JOIN comparisons c ON c.id = s.comparison_id
                    WHERE c.project_id = ? AND s.annotator_id = ? AND s.expires_at > ?
                    ORDER BY s.comparison_id LIMIT 1
                    """,
                arguments: [project.id, annotatorID, nowMs]) {
                return try Self.task(comparisonID: row["comparison_id"], slot: row["slot"], project: project, db)
            }
            // 2. The oldest comparison with a slot free for this annotator.
            guard let comparisonID = try Int64.fetchOne(
                db,
                sql: """
                    SELECT c.id FROM comparisons c WHERE c.project_id = ? AND \(Self.openCondition)
                    ORDER BY c.id LIMIT 1
                    """,
                arguments: [project.id, annotatorID, annotatorID, nowMs, project.answersPerPair]) else {
                return nil
            }
            // 3. Its slot: this annotator's own expired lease first, else the lowest free slot.
            if let own = try Int.fetchOne(
                db, sql: "SELECT slot FROM assignments WHERE comparison_id = ? AND annotator_id = ?",
                arguments: [comparisonID, annotatorID]) {
                try db.execute(
                    sql: "UPDATE assignments SET issued_at = ?, expires_at = ? WHERE comparison_id = ? AND slot = ?",
                    arguments: [nowMs, expiresMs, comparisonID, own])
                return try Self.task(comparisonID: comparisonID, slot: own, project: project, db)
            }
            let answered = try Set(Int.fetchAll(
                db, sql: "SELECT slot FROM answers WHERE comparison_id = ?", arguments: [comparisonID]))
            let leased = try Set(Int.fetchAll(
                db, sql: "SELECT slot FROM assignments WHERE comparison_id = ? AND expires_at > ?",
                arguments: [comparisonID, nowMs]))
            guard let slot = (0..<project.answersPerPair).first(where: { !answered.contains($0) && !leased.contains($0) }) else {
                throw LabelStoreError.corrupt("comparison \(comparisonID) is open but has no free slot")
            }
            // An expired lease of someone else on that slot is taken over.
            try db.execute(sql: "DELETE FROM assignments WHERE comparison_id = ? AND slot = ?",
                           arguments: [comparisonID, slot])
            try db.execute(
                sql: """
                    INSERT INTO assignments (comparison_id, slot, annotator_id, issued_at, expires_at)
                    VALUES (?, ?, ?, ?, ?)
                    """,
                arguments: [comparisonID, slot, annotatorID, nowMs, expiresMs])
            return try Self.task(comparisonID: comparisonID, slot: slot, project: project, db)
        }
    }

    /// The task for a leased slot (read back from the assignment and the comparison).
    static func task(comparisonID: Int64, slot: Int, project: Project, _ db: Database) throws -> LabelTask {
        guard let row = try Row.fetchOne(
            db,
            sql: """
                SELECT s.issued_at, s.expires_at, c.key, c.first, c.second, c.first_return, c.second_return,
                       c.first_myopic_return, c.second_myopic_return, c.answer_stream
                FROM assignments s JOIN comparisons c ON c.id = s.comparison_id
                WHERE s.comparison_id = ? AND s.slot = ?
                """,
            arguments: [comparisonID, slot]) else {
            throw LabelStoreError.corrupt("assignment \(comparisonID)/\(slot) vanished")
        }
        return LabelTask(
            comparisonID: comparisonID, slot: slot,
            issuedAt: Date(epochMilliseconds: row["issued_at"]), expiresAt: Date(epochMilliseconds: row["expires_at"]),
            project: project, key: row["key"], first: row["first"], second: row["second"],
            firstReturn: row["first_return"], secondReturn: row["second_return"],
            firstMyopicReturn: row["first_myopic_return"], secondMyopicReturn: row["second_myopic_return"],
            answerStream: row["answer_stream"])
    }

    public func answer(comparisonID: Int64, slot: Int, annotatorID: Int64, choice: Choice, now: Date) async throws -> AnswerOutcome {
        let nowMs = now.epochMilliseconds
        return try await pool.write { db in
            guard let m = try Int.fetchOne(
                db,
                sql: "SELECT p.answers_per_pair FROM comparisons c JOIN projects p ON p.id = c.project_id WHERE c.id = ?",
                arguments: [comparisonID]) else {
                return .notFound
            }
            guard slot >= 0 && slot < m else { return .notFound }
            if let mine = try Row.fetchOne(
                db, sql: "SELECT slot, choice FROM answers WHERE comparison_id = ? AND annotator_id = ?",
                arguments: [comparisonID, annotatorID]) {
                let sameSlot = (mine["slot"] as Int) == slot
                let sameChoice = (mine["choice"] as String) == choice.rawValue
                return sameSlot && sameChoice ? .duplicate : .conflict
            }
            if try Row.fetchOne(db, sql: "SELECT 1 FROM answers WHERE comparison_id = ? AND slot = ?",
                                arguments: [comparisonID, slot]) != nil {
                return .forbidden
            }
            guard let lease = try Row.fetchOne(
                db, sql: "SELECT annotator_id, issued_at FROM assignments WHERE comparison_id = ? AND slot = ?",
                arguments: [comparisonID, slot]),
                  (lease["annotator_id"] as Int64) == annotatorID else {
                return .forbidden
            }
            let issuedMs: Int64 = lease["issued_at"]
            try db.execute(
                sql: """
                    INSERT INTO answers (comparison_id, slot, annotator_id, choice, issued_at, answered_at,
                                         time_to_answer_ms)
                    VALUES (?, ?, ?, ?, ?, ?, ?)
                    """,
                arguments: [comparisonID, slot, annotatorID, choice.rawValue, issuedMs, nowMs,
                            max(0, nowMs - issuedMs)])
            try db.execute(sql: "DELETE FROM assignments WHERE comparison_id = ? AND slot = ?",
                           arguments: [comparisonID, slot])
            return .recorded
        }
    }

    public func status(annotatorID: Int64, now: Date) async throws -> AnnotatorStatus {
        let day = now.utcDayBoundsMilliseconds
        return try await pool.read { db in
            let annotator = try Self.requireAnnotator(annotatorID, db)
            let answered = try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM answers WHERE annotator_id = ?",
                                            arguments: [annotatorID]) ?? 0
            let today = try Int.fetchOne(
                db, sql: "SELECT COUNT(*) FROM answers WHERE annotator_id = ? AND answered_at >= ? AND answered_at < ?",
                arguments: [annotatorID, day.start, day.end]) ?? 0
            let projects = try Row.fetchAll(
                db,
                sql: """
                    SELECT p.name, p.answers_per_pair,
                           (SELECT COUNT(*) FROM comparisons c WHERE c.project_id = p.id) AS comparisons,
                           (SELECT COUNT(*) FROM answers a JOIN comparisons c ON c.id = a.comparison_id
                            WHERE c.project_id = p.id) AS answers,
                           (SELECT COUNT(*) FROM comparisons c WHERE c.project_id = p.id
                            AND (SELECT COUNT(*) FROM answers a WHERE a.comparison_id = c.id) >= p.answers_per_pair)
                            AS complete
                    FROM projects p ORDER BY p.id
                    """
            ).map { row -> ProjectStatus in
                let comparisons: Int = row["comparisons"]
                let m: Int = row["answers_per_pair"]
                let answers: Int = row["answers"]
                return ProjectStatus(name: row["name"], queue: comparisons * m - answers,
                                     complete: row["complete"], comparisons: comparisons)
            }
            return AnnotatorStatus(annotator: annotator, answeredToday: today, answered: answered, projects: projects)
        }
    }
}
