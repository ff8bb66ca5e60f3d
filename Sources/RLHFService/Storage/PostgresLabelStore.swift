import Foundation
import Logging
import PostgresNIO

/// A `LabelStore` in a PostgreSQL database (PostgresNIO's `PostgresClient`), for a team's
/// server. Same schema, constraints and semantics as `SQLiteLabelStore`; times are epoch
/// milliseconds (`BIGINT`).
///
/// Every write is one transaction (READ COMMITTED) committed before the method returns
/// (PostgreSQL's default `synchronous_commit = on` makes a commit durable). `nextTask` is
/// race-free: it locks the annotator's row (so one annotator's requests are serialized), then
/// takes the oldest open comparison with `SELECT … FOR NO KEY UPDATE SKIP LOCKED` and chooses its
/// slot in a later statement, which sees every committed change to that comparison because
/// `answer` takes the same row lock. When every open comparison is locked by a concurrent
/// transaction, it waits for one's lock instead of answering "nothing left". The unique
/// constraints on (comparison, slot) and (comparison, annotator) back this up, and a
/// transaction that hits one (or a deadlock) is retried.
public final class PostgresLabelStore: LabelStore, Sendable {
    /// The location without its password, for messages.
    public let location: String
    /// The schema the tables live in (`public` unless the URL's `?schema=` names another).
    public let schema: String
    let parsed: ParsedURL
    let client: PostgresClient
    let runTask: Task<Void, Never>
    let logger: Logger

    /// Connects to `url`, `postgres://user:password@host:port/database` (or `postgresql://`),
    /// with optional query parameters `schema=NAME` (tables in that schema, created by
    /// `migrate()`; letters, digits and `_`) and `sslmode=disable|prefer|require` (default
    /// `prefer`). The client's `run()` loop runs in a task the store owns until `close()`.
    /// Throws `LabelStoreError.cannotOpen` for a malformed URL. Connection failures surface on
    /// the first query (`openLabelStore` checks it with a timeout).
    public init(url: String) throws {
        let parsed = try Self.parse(url: url)
        self.parsed = parsed
        location = parsed.redacted
        schema = parsed.schema ?? "public"
        var configuration = PostgresClient.Configuration(
            host: parsed.host, port: parsed.port, username: parsed.user, password: parsed.password,
            database: parsed.database, tls: parsed.tls)
        if let schema = parsed.schema {
            configuration.options.additionalStartupParameters = [("search_path", schema)]
        }
        configuration.options.maximumConnections = 20
        var logger = Logger(label: "rlhf.store.postgres")
        logger.logLevel = .error
        self.logger = logger
        let client = PostgresClient(configuration: configuration, backgroundLogger: logger)
        self.client = client
        runTask = Task { await client.run() }
    }

    struct ParsedURL: Sendable {
        var host: String
        var port: Int
        var user: String
        var password: String?
        var database: String
        var schema: String?
        var tls: PostgresClient.Configuration.TLS
        var sslmode: String
        var redacted: String
    }

    /// Splits a `postgres://` URL into the client's configuration.
    static func parse(url: String) throws -> ParsedURL {
        func fail(_ reason: String, _ shown: String) -> LabelStoreError {
            .cannotOpen(location: shown, reason: reason)
        }
        guard let components = URLComponents(string: url),
              let scheme = components.scheme?.lowercased(), scheme == "postgres" || scheme == "postgresql" else {
            throw fail("not a postgres://user:password@host:port/database URL", "postgres://…")
        }
        var redactedComponents = components
        if components.password != nil { redactedComponents.password = "***" }
        let redacted = redactedComponents.string ?? "postgres://…"
        guard let host = components.host, !host.isEmpty else { throw fail("the URL has no host", redacted) }
        guard let user = components.user, !user.isEmpty else { throw fail("the URL has no user name", redacted) }
        let database = String(components.path.drop(while: { $0 == "/" }))
        guard !database.isEmpty, !database.contains("/") else {
            throw fail("the URL has no database name (…/database)", redacted)
        }
        var schema: String?
        var tls = PostgresClient.Configuration.TLS.prefer(.makeClientConfiguration())
        var sslmode = "prefer"
        for item in components.queryItems ?? [] {
            switch item.name {
            case "schema":
                guard let value = item.value, !value.isEmpty,
                      value.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "_") }),
                      !value.first!.isNumber else {
                    throw fail("schema must be letters, digits and _", redacted)
                }
                schema = value.lowercased()
            case "sslmode":
                switch item.value {
                case "disable": tls = .disable; sslmode = "disable"
                case "prefer", "allow": tls = .prefer(.makeClientConfiguration()); sslmode = "prefer"
                case "require", "verify-ca", "verify-full": tls = .require(.makeClientConfiguration()); sslmode = "require"
                default: throw fail("sslmode must be disable, prefer or require", redacted)
                }
            default:
                throw fail("unknown URL parameter '\(item.name)' (schema, sslmode)", redacted)
            }
        }
        return ParsedURL(host: host, port: components.port ?? 5432, user: user,
                         password: components.password, database: database, schema: schema,
                         tls: tls, sslmode: sslmode, redacted: redacted)
    }

    /// Stops the client's run loop (closing its connections).
    public func close() async throws {
        runTask.cancel()
        await runTask.value
    }

    // MARK: Transactions

    /// Runs `body` in one transaction on a leased connection: COMMIT when it returns
    /// `commit: true`, ROLLBACK when `false` or when it throws. Retried (up to 10 times) when
    /// PostgreSQL reports a serialization failure, a deadlock or a unique violation, which a
    /// concurrent transaction can cause; errors of the store itself are never retried.
    func transaction<R: Sendable>(
        _ body: @Sendable (PostgresConnection) async throws -> (R, commit: Bool)
    ) async throws -> R {
        var attempt = 0
        while true {
            attempt += 1
            do {
                return try await client.withConnection { connection in
                    try await connection.query("BEGIN", logger: logger)
                    do {
                        let (result, commit) = try await body(connection)
                        try await connection.query(commit ? "COMMIT" : "ROLLBACK", logger: logger)
                        return result
                    } catch {
                        _ = try? await connection.query("ROLLBACK", logger: logger)
                        throw error
                    }
                }
            } catch let error as PSQLError where attempt < 10 {
                let state = error.serverInfo?[.sqlState]
                guard state == "40001" || state == "40P01" || state == "23505" else { throw error }
                try await Task.sleep(nanoseconds: UInt64(attempt) * 2_000_000)
            }
        }
    }

    /// `transaction` for a body that always commits.
    @discardableResult
    func write<R: Sendable>(_ body: @Sendable (PostgresConnection) async throws -> R) async throws -> R {
        try await transaction { connection in (try await body(connection), commit: true) }
    }

    /// Runs read-only `body` on a leased connection (each statement sees the latest commits).
    func read<R: Sendable>(_ body: @Sendable (PostgresConnection) async throws -> R) async throws -> R {
        try await client.withConnection { connection in try await body(connection) }
    }

    // MARK: Schema

    /// Version 1 of the schema (Docs/LabelingService.md, "Data model"), with the same
    /// `comparisons.complete` flag and queue index as `SQLiteLabelStore.migrator`.
    static let schemaV1 = [
        """
        CREATE TABLE annotators (
            id BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
            name TEXT NOT NULL UNIQUE,
            token_hash TEXT NOT NULL UNIQUE,
            is_admin BOOLEAN NOT NULL,
            created_at BIGINT NOT NULL
        )
        """,
        """
        CREATE TABLE sessions (
            id BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
            annotator_id BIGINT NOT NULL REFERENCES annotators(id) ON DELETE CASCADE,
            token_hash TEXT NOT NULL UNIQUE,
            created_at BIGINT NOT NULL,
            expires_at BIGINT NOT NULL
        )
        """,
        "CREATE INDEX sessions_expires ON sessions(expires_at)",
        """
        CREATE TABLE projects (
            id BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
            name TEXT NOT NULL UNIQUE,
            environment TEXT NOT NULL,
            answers_per_pair BIGINT NOT NULL CHECK (answers_per_pair BETWEEN 1 AND 1000),
            simulated BOOLEAN NOT NULL,
            created_at BIGINT NOT NULL
        )
        """,
        """
        CREATE TABLE comparisons (
            id BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
            project_id BIGINT NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
            key TEXT NOT NULL,
            first TEXT NOT NULL,
            second TEXT NOT NULL,
            first_return DOUBLE PRECISION NOT NULL,
            second_return DOUBLE PRECISION NOT NULL,
            first_myopic_return DOUBLE PRECISION NOT NULL,
            second_myopic_return DOUBLE PRECISION NOT NULL,
            answer_stream TEXT,
            created_at BIGINT NOT NULL,
            complete BOOLEAN NOT NULL DEFAULT FALSE,
            UNIQUE (project_id, key)
        )
        """,
        "CREATE INDEX comparisons_queue ON comparisons(project_id, complete, id)",
        """
        CREATE TABLE assignments (
            comparison_id BIGINT NOT NULL REFERENCES comparisons(id) ON DELETE CASCADE,
            slot BIGINT NOT NULL CHECK (slot >= 0),
            annotator_id BIGINT NOT NULL REFERENCES annotators(id) ON DELETE CASCADE,
            issued_at BIGINT NOT NULL,
            expires_at BIGINT NOT NULL,
            PRIMARY KEY (comparison_id, slot),
            UNIQUE (comparison_id, annotator_id)
        )
        """,
        "CREATE INDEX assignments_annotator ON assignments(annotator_id, expires_at)",
        """
        CREATE TABLE answers (
            id BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
            comparison_id BIGINT NOT NULL REFERENCES comparisons(id) ON DELETE CASCADE,
            slot BIGINT NOT NULL CHECK (slot >= 0),
            annotator_id BIGINT NOT NULL REFERENCES annotators(id) ON DELETE CASCADE,
            choice TEXT NOT NULL CHECK (choice IN ('left', 'right', 'tie', 'skip')),
            issued_at BIGINT NOT NULL,
            answered_at BIGINT NOT NULL,
            time_to_answer_ms BIGINT NOT NULL,
            UNIQUE (comparison_id, slot),
            UNIQUE (comparison_id, annotator_id)
        )
        """,
        "CREATE INDEX answers_annotator ON answers(annotator_id, answered_at)",
    ]

    /// Creates the schema (when the URL names one) and the tables of version 1, recorded in
    /// `schema_migrations`; a no-op when version 1 is recorded. Concurrent migrations are
    /// serialized by a transaction-scoped advisory lock.
    public func migrate() async throws {
        let schema = self.schema
        let now = Date().epochMilliseconds
        try await write { connection in
            _ = try await connection.query("SELECT pg_advisory_xact_lock(7142014)", logger: self.logger).collect()
            if schema != "public" {
                try await connection.query("CREATE SCHEMA IF NOT EXISTS \(unescaped: schema)", logger: self.logger)
                try await connection.query("SET LOCAL search_path TO \(unescaped: schema)", logger: self.logger)
            }
            try await connection.query(
                "CREATE TABLE IF NOT EXISTS schema_migrations (version BIGINT PRIMARY KEY, applied_at BIGINT NOT NULL)",
                logger: self.logger)
            let applied = try await connection.query(
                "SELECT version FROM schema_migrations WHERE version = 1", logger: self.logger).collect()
            guard applied.isEmpty else { return }
            for statement in Self.schemaV1 {
                try await connection.query(PostgresQuery(unsafeSQL: statement), logger: self.logger)
            }
            try await connection.query(
                "INSERT INTO schema_migrations (version, applied_at) VALUES (1, \(now))", logger: self.logger)
        }
    }

    /// Opens one connection of its own and runs `SELECT 1`, so that a wrong password, an unknown
    /// database or a refused connection is reported at once with the server's reason (the
    /// client's pool would keep retrying instead). Throws `LabelStoreError.cannotOpen`.
    func checkConnection(timeout: TimeInterval) async throws {
        let tls: PostgresConnection.Configuration.TLS
        do {
            switch parsed.sslmode {
            case "disable": tls = .disable
            case "require": tls = .require(try NIOSSLContext(configuration: .makeClientConfiguration()))
            default: tls = .prefer(try NIOSSLContext(configuration: .makeClientConfiguration()))
            }
            var configuration = PostgresConnection.Configuration(
                host: parsed.host, port: parsed.port, username: parsed.user, password: parsed.password,
                database: parsed.database, tls: tls)
            configuration.options.connectTimeout = .milliseconds(Int64((max(timeout, 0.001) * 1000).rounded()))
            let connection = try await PostgresConnection.connect(configuration: configuration, id: 0, logger: logger)
            do {
                _ = try await connection.query("SELECT 1", logger: logger).collect()
            } catch {
                try? await connection.close()
                throw error
            }
            try await connection.close()
        } catch let error as PSQLError {
            let reason = error.serverInfo?[.message]
                ?? error.underlying.map { String(describing: $0) }
                ?? String(describing: error.code)
            throw LabelStoreError.cannotOpen(location: location, reason: reason)
        } catch {
            throw LabelStoreError.cannotOpen(location: location, reason: String(describing: error))
        }
    }
}

extension PostgresRow {
    /// The value of column `name` decoded as `T`.
    func get<T: PostgresDecodable>(_ name: String, as type: T.Type = T.self) throws -> T {
        try makeRandomAccess()[name].decode(T.self)
    }
}

extension PostgresLabelStore {
    /// Drops this store's schema with everything in it (for tests, which each use a fresh
    /// schema). Refuses to drop `public`.
    func dropSchema() async throws {
        guard schema != "public" else { return }
        let schema = self.schema
        try await write { connection in
            try await connection.query("DROP SCHEMA IF EXISTS \(unescaped: schema) CASCADE", logger: self.logger)
        }
    }
}
