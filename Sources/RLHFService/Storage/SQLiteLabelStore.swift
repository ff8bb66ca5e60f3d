import Foundation
import GRDB

/// A `LabelStore` in one SQLite file (GRDB's `DatabasePool`: WAL, concurrent reads, one writer).
///
/// Durability: WAL journal with `PRAGMA synchronous = FULL`, so each write transaction's WAL
/// frames are fsynced before its COMMIT returns. An answer acknowledged to the caller therefore
/// survives a kill -9 of the process (which `NORMAL` would also give in WAL mode) and also an OS
/// crash or power loss (which `NORMAL` would not: it may roll back the last commits). The cost,
/// one fsync per write, is small next to the pace of people answering.
///
/// Every write runs in one `BEGIN IMMEDIATE` transaction; GRDB serializes the pool's writes, and
/// the immediate lock (with a busy timeout) serializes them with other processes, so `nextTask`
/// is race-free. Foreign keys are on.
public final class SQLiteLabelStore: LabelStore, Sendable {
    /// The database file's path.
    public let path: String
    let pool: DatabasePool

    /// Opens (creating if needed) the database file at `path`. Call `migrate()` before use.
    /// Throws `LabelStoreError.cannotOpen` naming the path when it cannot be opened (for example
    /// when its folder does not exist).
    public init(path: String) throws {
        self.path = path
        var configuration = Configuration()
        configuration.foreignKeysEnabled = true
        configuration.busyMode = .timeout(30)
        configuration.prepareDatabase { db in
            try db.execute(sql: "PRAGMA synchronous = FULL")
        }
        do {
            pool = try DatabasePool(path: path, configuration: configuration)
        } catch {
            throw LabelStoreError.cannotOpen(location: path, reason: "\(error)")
        }
    }

    /// The schema, version 1 (Docs/LabelingService.md, "Data model"). Times are epoch
    /// milliseconds; booleans 0 or 1.
    static var migrator: DatabaseMigrator {
        var migrator = DatabaseMigrator()
        migrator.registerMigration("v1") { db in
            try db.execute(sql: """
                CREATE TABLE annotators (
                    id INTEGER PRIMARY KEY AUTOINCREMENT,
                    name TEXT NOT NULL UNIQUE,
                    token_hash TEXT NOT NULL UNIQUE,
                    is_admin INTEGER NOT NULL,
                    created_at INTEGER NOT NULL
                );
                CREATE TABLE sessions (
                    id INTEGER PRIMARY KEY AUTOINCREMENT,
                    annotator_id INTEGER NOT NULL REFERENCES annotators(id) ON DELETE CASCADE,
                    token_hash TEXT NOT NULL UNIQUE,
                    created_at INTEGER NOT NULL,
                    expires_at INTEGER NOT NULL
                );
                CREATE INDEX sessions_expires ON sessions(expires_at);
                CREATE TABLE projects (
                    id INTEGER PRIMARY KEY AUTOINCREMENT,
                    name TEXT NOT NULL UNIQUE,
                    environment TEXT NOT NULL,
                    answers_per_pair INTEGER NOT NULL CHECK (answers_per_pair BETWEEN 1 AND 1000),
                    simulated INTEGER NOT NULL,
                    created_at INTEGER NOT NULL
                );
                CREATE TABLE comparisons (
                    id INTEGER PRIMARY KEY AUTOINCREMENT,
                    project_id INTEGER NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
                    key TEXT NOT NULL,
                    first TEXT NOT NULL,
                    second TEXT NOT NULL,
                    first_return REAL NOT NULL,
                    second_return REAL NOT NULL,
                    first_myopic_return REAL NOT NULL,
                    second_myopic_return REAL NOT NULL,
                    answer_stream TEXT,
                    created_at INTEGER NOT NULL,
                    UNIQUE (project_id, key)
                );
                CREATE INDEX comparisons_project ON comparisons(project_id, id);
                CREATE TABLE assignments (
                    comparison_id INTEGER NOT NULL REFERENCES comparisons(id) ON DELETE CASCADE,
                    slot INTEGER NOT NULL CHECK (slot >= 0),
                    annotator_id INTEGER NOT NULL REFERENCES annotators(id) ON DELETE CASCADE,
                    issued_at INTEGER NOT NULL,
                    expires_at INTEGER NOT NULL,
                    PRIMARY KEY (comparison_id, slot),
                    UNIQUE (comparison_id, annotator_id)
                );
                CREATE INDEX assignments_annotator ON assignments(annotator_id, expires_at);
                CREATE TABLE answers (
                    id INTEGER PRIMARY KEY AUTOINCREMENT,
                    comparison_id INTEGER NOT NULL REFERENCES comparisons(id) ON DELETE CASCADE,
                    slot INTEGER NOT NULL CHECK (slot >= 0),
                    annotator_id INTEGER NOT NULL REFERENCES annotators(id) ON DELETE CASCADE,
                    choice TEXT NOT NULL CHECK (choice IN ('left', 'right', 'tie', 'skip')),
                    issued_at INTEGER NOT NULL,
                    answered_at INTEGER NOT NULL,
                    time_to_answer_ms INTEGER NOT NULL,
                    UNIQUE (comparison_id, slot),
                    UNIQUE (comparison_id, annotator_id)
                );
                CREATE INDEX answers_annotator ON answers(annotator_id, answered_at);
                """)
        }
        return migrator
    }

    /// Creates or upgrades the schema (GRDB `DatabaseMigrator`, migration "v1"); a no-op when
    /// it is current.
    public func migrate() async throws {
        let migrator = Self.migrator
        let pool = self.pool
        try await Task.detached {
            try migrator.migrate(pool)
        }.value
    }

    /// Closes the pool's connections.
    public func close() async throws {
        try pool.close()
    }

    // MARK: Annotators and sessions

    public func addAnnotator(name: String, tokenHash: String, isAdmin: Bool) async throws -> Annotator {
        try LabelStoreLimits.checkName(name, field: "name")
        try LabelStoreLimits.checkName(tokenHash, field: "token_hash")
        let now = Date().epochMilliseconds
        return try await pool.write { db in
            if try Row.fetchOne(db, sql: "SELECT 1 FROM annotators WHERE name = ?", arguments: [name]) != nil {
                throw LabelStoreError.duplicateAnnotatorName(name)
            }
            try db.execute(
                sql: "INSERT INTO annotators (name, token_hash, is_admin, created_at) VALUES (?, ?, ?, ?)",
                arguments: [name, tokenHash, isAdmin, now])
            return Annotator(id: db.lastInsertedRowID, name: name, isAdmin: isAdmin,
                             createdAt: Date(epochMilliseconds: now))
        }
    }

    static let annotatorColumns = "annotators.id, annotators.name, annotators.is_admin, annotators.created_at"

    static func annotator(_ row: Row) -> Annotator {
        Annotator(id: row["id"], name: row["name"], isAdmin: row["is_admin"],
                  createdAt: Date(epochMilliseconds: row["created_at"]))
    }

    public func annotator(tokenHash: String) async throws -> Annotator? {
        try await pool.read { db in
            try Row.fetchOne(db, sql: "SELECT \(Self.annotatorColumns) FROM annotators WHERE token_hash = ?",
                             arguments: [tokenHash]).map(Self.annotator)
        }
    }

    public func annotators() async throws -> [Annotator] {
        try await pool.read { db in
            try Row.fetchAll(db, sql: "SELECT \(Self.annotatorColumns) FROM annotators ORDER BY id")
                .map(Self.annotator)
        }
    }

    public func addSession(annotatorID: Int64, tokenHash: String, expiresAt: Date) async throws {
        try LabelStoreLimits.checkName(tokenHash, field: "token_hash")
        let now = Date().epochMilliseconds
        try await pool.write { db in
            if try Row.fetchOne(db, sql: "SELECT 1 FROM annotators WHERE id = ?", arguments: [annotatorID]) == nil {
                throw LabelStoreError.unknownAnnotator(annotatorID)
            }
            try db.execute(sql: "DELETE FROM sessions WHERE expires_at <= ?", arguments: [now])
            try db.execute(
                sql: "INSERT INTO sessions (annotator_id, token_hash, created_at, expires_at) VALUES (?, ?, ?, ?)",
                arguments: [annotatorID, tokenHash, now, expiresAt.epochMilliseconds])
        }
    }

    public func sessionAnnotator(tokenHash: String, now: Date) async throws -> Annotator? {
        try await pool.read { db in
            try Row.fetchOne(
                db,
                sql: """
                    SELECT \(Self.annotatorColumns) FROM sessions
                    JOIN annotators ON annotators.id = sessions.annotator_id
                    WHERE sessions.token_hash = ? AND sessions.expires_at > ?
                    """,
                arguments: [tokenHash, now.epochMilliseconds]).map(Self.annotator)
        }
    }

    public func deleteSession(tokenHash: String) async throws {
        try await pool.write { db in
            try db.execute(sql: "DELETE FROM sessions WHERE token_hash = ?", arguments: [tokenHash])
        }
    }

    // MARK: Projects

    static let projectColumns = """
        projects.id AS project_id, projects.name AS project_name, projects.environment,
        projects.answers_per_pair, projects.simulated, projects.created_at AS project_created_at
        """

    static func project(_ row: Row) -> Project {
        Project(id: row["project_id"], name: row["project_name"], environment: row["environment"],
                answersPerPair: row["answers_per_pair"], simulated: row["simulated"],
                createdAt: Date(epochMilliseconds: row["project_created_at"]))
    }

    static func project(named name: String, _ db: Database) throws -> Project? {
        try Row.fetchOne(db, sql: "SELECT \(projectColumns) FROM projects WHERE name = ?", arguments: [name])
            .map(project)
    }

    static func requireProject(named name: String, _ db: Database) throws -> Project {
        guard let project = try project(named: name, db) else { throw LabelStoreError.unknownProject(name) }
        return project
    }

    public func createProject(_ new: NewProject) async throws -> ProjectCreation {
        try LabelStoreLimits.check(new)
        let now = Date().epochMilliseconds
        return try await pool.write { db in
            if let existing = try Self.project(named: new.name, db) {
                return existing.matches(new) ? .existing(existing) : .conflict(existing)
            }
            try db.execute(
                sql: """
                    INSERT INTO projects (name, environment, answers_per_pair, simulated, created_at)
                    VALUES (?, ?, ?, ?, ?)
                    """,
                arguments: [new.name, new.environment, new.answersPerPair, new.simulated, now])
            return .created(Project(id: db.lastInsertedRowID, name: new.name, environment: new.environment,
                                    answersPerPair: new.answersPerPair, simulated: new.simulated,
                                    createdAt: Date(epochMilliseconds: now)))
        }
    }

    public func project(named name: String) async throws -> Project? {
        try await pool.read { db in try Self.project(named: name, db) }
    }

    public func projects() async throws -> [Project] {
        try await pool.read { db in
            try Row.fetchAll(db, sql: "SELECT \(Self.projectColumns) FROM projects ORDER BY id").map(Self.project)
        }
    }
}
