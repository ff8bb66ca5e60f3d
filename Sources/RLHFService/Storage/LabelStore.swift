import Foundation

/// The labeling service's storage: annotators and their sessions, projects, comparisons, the
/// leases of answer slots, and the answers (Docs/LabelingService.md, "Data model").
///
/// Two implementations with the same semantics: `SQLiteLabelStore` (one file, the default) and
/// `PostgresLabelStore` (a team's server); `openLabelStore(_:)` picks one from a location.
/// Every write is one transaction, committed before the method returns. Times are stored as
/// epoch milliseconds, so a date read back is the one written rounded to the millisecond.
/// Methods that take `now` use it instead of the clock, so that tests (and replays) control time.
public protocol LabelStore: Sendable {
    /// Creates or upgrades the schema to `LabelingService.schemaVersion`. Running it again is a
    /// no-op.
    func migrate() async throws

    /// Releases the store's connections. The store must not be used afterwards.
    func close() async throws

    // MARK: Annotators and sessions

    /// Adds an annotator whose token hashes to `tokenHash` (SHA-256 hex). Throws
    /// `LabelStoreError.duplicateAnnotatorName` when the name is taken.
    func addAnnotator(name: String, tokenHash: String, isAdmin: Bool) async throws -> Annotator

    /// The annotator whose token hashes to `tokenHash`, or nil.
    func annotator(tokenHash: String) async throws -> Annotator?

    /// Every annotator, ordered by id.
    func annotators() async throws -> [Annotator]

    /// Stores a page session (the cookie's hash) for an annotator until `expiresAt`; removes
    /// sessions that have expired. Throws `LabelStoreError.unknownAnnotator` for an unknown id.
    func addSession(annotatorID: Int64, tokenHash: String, expiresAt: Date) async throws

    /// The annotator of the session whose cookie hashes to `tokenHash`, if it has not expired at
    /// `now`; nil otherwise.
    func sessionAnnotator(tokenHash: String, now: Date) async throws -> Annotator?

    /// Removes a session (logout). Removing an unknown session is not an error.
    func deleteSession(tokenHash: String) async throws

    // MARK: Projects

    /// Creates a project, or reports the one already under its name: `.existing` when it has
    /// the same content, `.conflict` when not (nothing changes then). Throws
    /// `LabelStoreError.invalidValue` for an empty or over-long name or M outside 1 ... 1000.
    func createProject(_ project: NewProject) async throws -> ProjectCreation

    /// The project with this name, or nil.
    func project(named name: String) async throws -> Project?

    /// Every project, ordered by id.
    func projects() async throws -> [Project]

    /// Every project with the number of comparisons `annotatorID` could take a task from at
    /// `now` (`GET /api/projects`), ordered by project id; projects with none are included
    /// (with `open` 0).
    func openCounts(annotatorID: Int64, now: Date) async throws -> [ProjectOpenCount]

    // MARK: Comparisons

    /// Submits comparisons to a project, in one transaction, and returns one outcome per
    /// comparison in the order sent. Idempotent by key: a key already present with the same
    /// content (trajectories, returns, answer stream) is `.existing(id)`; with different content
    /// `.conflict(id)`, and then nothing of the batch is stored (`.rejected` for the new ones).
    /// Throws `LabelStoreError.unknownProject`, or `.invalidValue` for an empty key, a key over
    /// 256 characters or a non-finite return (nothing stored).
    func submit(project: String, comparisons: [NewComparison]) async throws -> [SubmitOutcome]

    /// The answer counts of the comparisons with these keys, in the order asked; an unknown key
    /// gives a result with 0 answers and `unknown` set. Throws `LabelStoreError.unknownProject`.
    func results(project: String, keys: [String]) async throws -> [ComparisonResult]

    // MARK: Tasks and answers

    /// The next task of `annotatorID` in a project, leased for `lease` seconds from `now`, or
    /// nil when nothing is left for this annotator.
    ///
    /// This annotator's unexpired lease in the project comes first (asking again returns the
    /// same task, with the same issue and expiry times). Otherwise it leases a free slot — not
    /// answered and not leased (unexpired) to someone else — of the oldest comparison this
    /// annotator has not answered; a slot of that comparison whose lease to this annotator has
    /// expired is re-leased first. Race-free: two annotators never hold the same slot, and an
    /// annotator never holds two slots of one comparison. Throws
    /// `LabelStoreError.unknownProject` or `.unknownAnnotator`.
    func nextTask(project: String, annotatorID: Int64, now: Date, lease: TimeInterval) async throws -> LabelTask?

    /// Records an answer to slot `slot` of comparison `comparisonID`.
    ///
    /// `.recorded` when the slot is leased to this annotator (an expired lease is fine if nobody
    /// took the slot since): the answer is stored with the lease's issue time and
    /// `time_to_answer_ms`, and the lease removed. `.duplicate` when this annotator already gave
    /// exactly this answer to this slot (nothing stored); `.conflict` when this annotator
    /// answered the comparison otherwise (another choice or another slot); `.forbidden` when the
    /// slot is answered by, or leased to, someone else, or was never leased to this annotator;
    /// `.notFound` for an unknown comparison or a slot outside 0 ..< M.
    func answer(comparisonID: Int64, slot: Int, annotatorID: Int64, choice: Choice, now: Date) async throws -> AnswerOutcome

    /// This annotator's answers today (the UTC day of `now`) and in all, and every project's
    /// progress (`GET /api/status`). Throws `LabelStoreError.unknownAnnotator`.
    func status(annotatorID: Int64, now: Date) async throws -> AnnotatorStatus

    // MARK: Export

    /// Every answer of a project with its annotator's name and the comparison's trajectories and
    /// returns, ordered by comparison id, then slot. Throws `LabelStoreError.unknownProject`.
    func export(project: String) async throws -> [ExportRow]

    /// Per annotator who answered in the project (ordered by name): answers, median time to
    /// answer, agreement with the majority of the other answers to the same comparisons (ties
    /// and skips excluded), and agreement with the true preference where the returns differ.
    /// Throws `LabelStoreError.unknownProject`.
    func annotatorStats(project: String) async throws -> [AnnotatorStats]
}
