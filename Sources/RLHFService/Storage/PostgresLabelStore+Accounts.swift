import Foundation
import PostgresNIO

// Annotators, sessions and projects in PostgreSQL.
extension PostgresLabelStore {
    static let annotatorColumns = "annotators.id, annotators.name, annotators.is_admin, annotators.created_at"

    static func annotator(_ row: PostgresRow) throws -> Annotator {
        Annotator(id: try row.get("id"), name: try row.get("name"), isAdmin: try row.get("is_admin"),
                  createdAt: Date(epochMilliseconds: try row.get("created_at")))
    }

    public func addAnnotator(name: String, tokenHash: String, isAdmin: Bool) async throws -> Annotator {
        try LabelStoreLimits.checkName(name, field: "name")
        try LabelStoreLimits.checkName(tokenHash, field: "token_hash")
        let now = Date().epochMilliseconds
        return try await write { connection in
            let rows = try await connection.query(
                """
                INSERT INTO annotators (name, token_hash, is_admin, created_at)
                VALUES (\(name), \(tokenHash), \(isAdmin), \(now))
                ON CONFLICT (name) DO NOTHING RETURNING id
                """, logger: self.logger).collect()
            guard let row = rows.first else { throw LabelStoreError.duplicateAnnotatorName(name) }
            return Annotator(id: try row.get("id"), name: name, isAdmin: isAdmin, createdAt: Date(epochMilliseconds: now))
        }
    }

    public func annotator(tokenHash: String) async throws -> Annotator? {
        try await read { connection in
            try await connection.query(
                "SELECT \(unescaped: Self.annotatorColumns) FROM annotators WHERE token_hash = \(tokenHash)",
                logger: self.logger).collect().first.map(Self.annotator)
        }
    }

    public func annotators() async throws -> [Annotator] {
        try await read { connection in
            try await connection.query(
                "SELECT \(unescaped: Self.annotatorColumns) FROM annotators ORDER BY id",
                logger: self.logger).collect().map(Self.annotator)
        }
    }

    /// The annotator with this id, or `LabelStoreError.unknownAnnotator`; `lock` takes its row
    /// `FOR NO KEY UPDATE` (serializing this annotator's `nextTask` calls).
    func requireAnnotator(_ id: Int64, lock: Bool = false, _ connection: PostgresConnection) async throws -> Annotator {
        let rows = try await connection.query(
            "SELECT \(unescaped: Self.annotatorColumns) FROM annotators WHERE id = \(id)\(unescaped: lock ? " FOR NO KEY UPDATE" : "")",
            logger: logger).collect()
        guard let row = rows.first else { throw LabelStoreError.unknownAnnotator(id) }
        return try Self.annotator(row)
    }

    public func addSession(annotatorID: Int64, tokenHash: String, expiresAt: Date) async throws {
        try LabelStoreLimits.checkName(tokenHash, field: "token_hash")
        let now = Date().epochMilliseconds
        let expires = expiresAt.epochMilliseconds
        try await write { connection in
            _ = try await self.requireAnnotator(annotatorID, connection)
            try await connection.query("DELETE FROM sessions WHERE expires_at <= \(now)", logger: self.logger)
            try await connection.query(
                """
                INSERT INTO sessions (annotator_id, token_hash, created_at, expires_at)
                VALUES (\(annotatorID), \(tokenHash), \(now), \(expires))
                """, logger: self.logger)
        }
    }

    public func sessionAnnotator(tokenHash: String, now: Date) async throws -> Annotator? {
        let nowMs = now.epochMilliseconds
        return try await read { connection in
            try await connection.query(
                """
                SELECT \(unescaped: Self.annotatorColumns) FROM sessions
                JOIN annotators ON annotators.id = sessions.annotator_id
                WHERE sessions.token_hash = \(tokenHash) AND sessions.expires_at > \(nowMs)
                """, logger: self.logger).collect().first.map(Self.annotator)
        }
    }

    public func deleteSession(tokenHash: String) async throws {
        try await write { connection in
            try await connection.query("DELETE FROM sessions WHERE token_hash = \(tokenHash)", logger: self.logger)
        }
    }

    // MARK: Projects

    static let projectColumns = """
        projects.id AS project_id, projects.name AS project_name, projects.environment,
        projects.answers_per_pair, projects.simulated, projects.created_at AS project_created_at
        """

    static func project(_ row: PostgresRow) throws -> Project {
        Project(id: try row.get("project_id"), name: try row.get("project_name"),
                environment: try row.get("environment"), answersPerPair: Int(try row.get("answers_per_pair", as: Int64.self)),
                simulated: try row.get("simulated"),
                createdAt: Date(epochMilliseconds: try row.get("project_created_at")))
    }

    func project(named name: String, _ connection: PostgresConnection) async throws -> Project? {
        try await connection.query(
            "SELECT \(unescaped: Self.projectColumns) FROM projects WHERE name = \(name)",
            logger: logger).collect().first.map(Self.project)
    }

    func requireProject(named name: String, _ connection: PostgresConnection) async throws -> Project {
        guard let project = try await project(named: name, connection) else {
            throw LabelStoreError.unknownProject(name)
        }
        return project
    }

    public func createProject(_ new: NewProject) async throws -> ProjectCreation {
        try LabelStoreLimits.check(new)
        let now = Date().epochMilliseconds
        return try await write { connection in
            let rows = try await connection.query(
                """
                INSERT INTO projects (name, environment, answers_per_pair, simulated, created_at)
                VALUES (\(new.name), \(new.environment), \(Int64(new.answersPerPair)), \(new.simulated), \(now))
                ON CONFLICT (name) DO NOTHING RETURNING id
                """, logger: self.logger).collect()
            if let row = rows.first {
                return .created(Project(id: try row.get("id"), name: new.name, environment: new.environment,
                                        answersPerPair: new.answersPerPair, simulated: new.simulated,
                                        createdAt: Date(epochMilliseconds: now)))
            }
            let existing = try await self.requireProject(named: new.name, connection)
            return existing.matches(new) ? .existing(existing) : .conflict(existing)
        }
    }

    public func project(named name: String) async throws -> Project? {
        try await read { connection in try await self.project(named: name, connection) }
    }

    public func projects() async throws -> [Project] {
        try await read { connection in
            try await connection.query("SELECT \(unescaped: Self.projectColumns) FROM projects ORDER BY id",
                                       logger: self.logger).collect().map(Self.project)
        }
    }
}
