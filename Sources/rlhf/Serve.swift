import ArgumentParser
import Foundation
import RLHFService

/// `rlhf serve`: the labeling service (its default subcommand, `run`), and its annotators.
///
/// The service's options live on `run`, not here: a parent command with a required option
/// (`--db`) would answer `rlhf serve annotators add --help` with its own help.
struct Serve: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "serve",
        abstract: "Run the labeling service: people (in a web page) or bots (over JSON) answer pairwise comparisons.",
        discussion: """
            Trainers submit pairs of trajectories (`rlhf train --feedback service`) and poll for \
            the answers; annotators sign in at the printed address with their token, or fetch \
            tasks from the JSON API (Docs/LabelingService.md is the contract). Everything is kept \
            in one SQLite file, or in PostgreSQL for a team (--db postgres://user:pass@host/db). \
            `rlhf serve --db …` is `rlhf serve run --db …`; its options: `rlhf serve run --help`.

            Examples:
              rlhf serve annotators add alice --admin --db labels.db
              rlhf serve annotators add bob --db labels.db
              rlhf serve --db labels.db --port 8080
              rlhf serve annotators list --db labels.db
              rlhf labels export --db labels.db --project classic-zpg --out answers.jsonl
            """,
        subcommands: [ServeRun.self, ServeAnnotators.self],
        defaultSubcommand: ServeRun.self)
}

/// `rlhf serve [run] --db …`: runs the service until SIGINT or SIGTERM.
struct ServeRun: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "run",
        abstract: "Run the labeling service (the default of `rlhf serve`).",
        discussion: """
            Opens the database (a SQLite file, created if absent, or a PostgreSQL URL), creates or \
            upgrades its schema, prints the address and serves until Ctrl-C (or SIGTERM), which \
            stops it after the requests in flight; every acknowledged answer is already stored.

            The service listens on 127.0.0.1 (this machine only) unless --host says otherwise; \
            tokens travel in headers, so put it behind TLS before opening it to a network.

            Examples:
              rlhf serve --db labels.db
              rlhf serve --db postgres://rlhf:secret@db.lab/labels --host 0.0.0.0 --port 8080 --lease 300
            """)

    @Option(help: ArgumentHelp("The label store: a SQLite file (created if absent) or a PostgreSQL URL.", valueName: "PATH|postgres://…"))
    var db: String?

    @Flag(help: "Try it: start with a ready project (pairs from a ZPG run on classic, in a new SQLite file unless --db is given) and print the address and an annotator's token to sign in with.")
    var demo = false

    @Option(help: "The address to listen on (0.0.0.0 for every interface).")
    var host: String = "127.0.0.1"

    @Option(help: "The TCP port (0 picks a free one and prints it).")
    var port: Int = 8080

    @Option(name: .customLong("lease"), help: ArgumentHelp("How long a task handed to an annotator stays theirs before its slot returns to the queue.", valueName: "SECONDS"))
    var leaseSeconds: Int = 600

    @Option(name: .customLong("session-hours"), help: "How long a sign-in to the page lasts.")
    var sessionHours: Double = 12

    func validate() throws {
        if db == nil && !demo { throw ValidationError("--db PATH|postgres://… is required (or --demo, to try the service on a new file)") }
        guard (0...65535).contains(port) else { throw ValidationError("--port must be in 0 ... 65535 (got \(port))") }
        guard leaseSeconds > 0 else { throw ValidationError("--lease must be a positive number of seconds (got \(leaseSeconds))") }
        guard sessionHours > 0, sessionHours.isFinite else { throw ValidationError("--session-hours must be positive (got \(sessionHours))") }
    }

    func run() async throws {
        let configuration = ServiceConfiguration(
            host: host, port: port, leaseSeconds: leaseSeconds,
            sessionLifetimeSeconds: Int((sessionHours * 3600).rounded()))
        let location = db ?? (FileManager.default.temporaryDirectory.path + "/rlhf-demo-\(UUID().uuidString.prefix(8)).db")
        let database = try DatabaseOption.parse(["--db", location])
        let store = try await database.open()
        var signIn: (name: String, token: String)?
        if demo {
            do { signIn = try await DemoProject.install(into: store) } catch {
                try? await store.close()
                throw ServeError("cannot create the demo project in \(database.displayName): \(error)")
            }
        }
        let host = self.host, shownDatabase = database.displayName, demoLogin = signIn
        let app = buildApplication(store: store, configuration: configuration, onServerRunning: { port in
            let shown = host.contains(":") ? "[\(host)]" : host
            printNow("rlhf serve: listening on http://\(shown):\(port)/ (database \(shownDatabase); Ctrl-C stops)")
            if let demoLogin {
                printNow("rlhf serve: demo project '\(DemoProject.name)' (pairs from a ZPG run on classic). Open http://\(shown):\(port)/ and sign in as \(demoLogin.name) with the token:")
                printNow(demoLogin.token)
            }
        })
        do {
            try await app.runService()
        } catch {
            try? await store.close()
            throw ServeError("the service at \(host):\(port) stopped: \(error)")
        }
        try await store.close()
        printNow("rlhf serve: stopped")
    }
}

/// `rlhf serve annotators`: add and list the people and bots who may answer.
struct ServeAnnotators: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "annotators",
        abstract: "Add or list annotators (the people and bots who answer, and the administrators).",
        subcommands: [Add.self, List.self])

    struct Add: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Add an annotator and print their token (shown this once; only its hash is stored).",
            discussion: """
                The token is 32 random bytes in base64url. Give it to the annotator: it signs in \
                to the page, or goes in `Authorization: Bearer TOKEN` for a bot. An administrator \
                (--admin) may also create projects, submit comparisons, read the results and the \
                export, and add annotators over the API. A lost token cannot be recovered: add \
                the person again under another name.

                Example:
                  rlhf serve annotators add alice --admin --db labels.db
                """)

        @Argument(help: "The annotator's name (unique; shown to administrators in the statistics and the export).")
        var name: String

        @Flag(help: "Make this annotator an administrator.")
        var admin = false

        @OptionGroup var database: DatabaseOption

        func run() async throws {
            let store = try await database.open()
            do {
                let (annotator, token) = try await AnnotatorEnrollment.add(name: name, isAdmin: admin, to: store)
                try await store.close()
                printNow("Added \(annotator.isAdmin ? "administrator" : "annotator") \(annotator.name). Token (shown once, keep it):")
                printNow(token)
            } catch {
                try? await store.close()
                throw ServeError("cannot add the annotator '\(name)' to \(database.displayName): \(error)")
            }
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "List the annotators: name, administrator or not, when added (never their tokens).")

        @OptionGroup var database: DatabaseOption

        func run() async throws {
            let store = try await database.open()
            let annotators: [Annotator]
            do {
                annotators = try await store.annotators()
                try await store.close()
            } catch {
                try? await store.close()
                throw ServeError("cannot read the annotators of \(database.displayName): \(error)")
            }
            if annotators.isEmpty {
                printNow("No annotators yet: add one with `rlhf serve annotators add NAME --admin --db \(database.db)`.")
                return
            }
            let width = max(4, annotators.map(\.name.count).max() ?? 4)
            printNow("name".padding(toLength: width, withPad: " ", startingAt: 0) + "  admin  created (UTC)")
            for a in annotators {
                printNow(a.name.padding(toLength: width, withPad: " ", startingAt: 0) + "  " + (a.isAdmin ? "yes  " : "no   ")
                         + "  " + a.createdAt.formatted(Date.ISO8601FormatStyle()))
            }
        }
    }
}

/// `--db PATH|postgres://…`: the label store of `serve`, `serve annotators` and `labels`.
struct DatabaseOption: ParsableArguments {
    @Option(help: ArgumentHelp("The label store: a SQLite file (created if absent) or a PostgreSQL URL.", valueName: "PATH|postgres://…"))
    var db: String

    /// The location as shown in messages (a PostgreSQL URL without its password).
    var displayName: String {
        guard var url = URLComponents(string: db), url.scheme?.hasPrefix("postgres") == true else { return db }
        if url.password != nil { url.password = "***" }
        return url.string ?? "the PostgreSQL database"
    }

    /// The store, opened and migrated to the current schema.
    func open() async throws -> any LabelStore {
        let store: any LabelStore
        do {
            store = try await openLabelStore(db)
        } catch LabelStoreError.cannotOpen(_, let reason) {
            throw ServeError("cannot open the database at \(displayName): \(reason)")
        } catch {
            throw ServeError("cannot open the database at \(displayName): \(error)")
        }
        do {
            try await store.migrate()
        } catch {
            try? await store.close()
            throw ServeError("cannot create or upgrade the schema of the database at \(displayName): \(error)")
        }
        return store
    }
}

/// An error of `serve` and `labels` with its message (what and where).
struct ServeError: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}

/// Prints a line to standard output and flushes it (a supervisor reading the address through
/// a pipe sees it at once).
func printNow(_ line: String) {
    FileHandle.standardOutput.write(Data((line + "\n").utf8))
}
