import Foundation

// The value types a `LabelStore` reads and writes. Trajectories and the environment
// description are JSON text that the store keeps verbatim and never interprets. Every time is
// stored as epoch milliseconds (UTC) in both backends, so a `Date` read back is the one written,
// rounded to the millisecond.

/// An annotator's answer to a comparison: `left` prefers the first trajectory (τ⁰), `right` the
/// second (τ¹), `tie` is "can't tell", `skip` spends the slot without a preference.
public enum Choice: String, Sendable, Codable, CaseIterable, Hashable {
    case left, right, tie, skip
}

/// A person or bot with a token. The token itself is never stored, only its SHA-256 hex hash.
public struct Annotator: Sendable, Codable, Hashable {
    /// The store's identifier.
    public var id: Int64
    /// The unique name.
    public var name: String
    /// Whether this annotator may use the administrators' routes.
    public var isAdmin: Bool
    /// When the annotator was added.
    public var createdAt: Date

    /// An annotator as read from a store.
    public init(id: Int64, name: String, isAdmin: Bool, createdAt: Date) {
        self.id = id
        self.name = name
        self.isAdmin = isAdmin
        self.createdAt = createdAt
    }
}

/// A project to create: a named queue of comparisons of one environment, each answered by
/// `answersPerPair` (M) different annotators.
public struct NewProject: Sendable, Codable, Hashable {
    /// The unique name.
    public var name: String
    /// The environment description, JSON text (Docs/LabelingService.md), stored verbatim.
    public var environment: String
    /// M, the number of answers each comparison collects (1 ... 1000).
    public var answersPerPair: Int
    /// Whether the project is made for simulated annotators (tasks then carry the returns).
    public var simulated: Bool

    /// A project description.
    public init(name: String, environment: String, answersPerPair: Int, simulated: Bool) {
        self.name = name
        self.environment = environment
        self.answersPerPair = answersPerPair
        self.simulated = simulated
    }
}

/// A stored project.
public struct Project: Sendable, Codable, Hashable {
    /// The store's identifier.
    public var id: Int64
    /// The unique name.
    public var name: String
    /// The environment description, JSON text, as submitted.
    public var environment: String
    /// M, the number of answers each comparison collects.
    public var answersPerPair: Int
    /// Whether the project is made for simulated annotators.
    public var simulated: Bool
    /// When the project was created.
    public var createdAt: Date

    /// A project as read from a store.
    public init(id: Int64, name: String, environment: String, answersPerPair: Int,
                simulated: Bool, createdAt: Date) {
        self.id = id
        self.name = name
        self.environment = environment
        self.answersPerPair = answersPerPair
        self.simulated = simulated
        self.createdAt = createdAt
    }

    /// Whether this project has the same content as `new` (name, environment text, M, simulated).
    public func matches(_ new: NewProject) -> Bool {
        name == new.name && environment == new.environment
            && answersPerPair == new.answersPerPair && simulated == new.simulated
    }
}

/// What `createProject` did: created it (HTTP 201), found the same project (200), or found a
/// different project under that name (409). Each carries the stored project.
public enum ProjectCreation: Sendable, Hashable {
    /// The project was new and is now stored.
    case created(Project)
    /// A project with this name and the same content already existed; nothing changed.
    case existing(Project)
    /// A project with this name but different content exists; nothing changed.
    case conflict(Project)

    /// The stored project (the new one, or the one already under that name).
    public var project: Project {
        switch self {
        case .created(let p), .existing(let p), .conflict(let p): return p
        }
    }
}

/// A project with the number of comparisons one annotator could take a task from now.
public struct ProjectOpenCount: Sendable, Codable, Hashable {
    /// The project.
    public var project: Project
    /// Comparisons this annotator has not answered that have a slot free for them (not answered
    /// and not leased, unexpired, to someone else; a slot leased to this annotator counts).
    public var open: Int

    /// A project and its open count.
    public init(project: Project, open: Int) {
        self.project = project
        self.open = open
    }
}

/// A comparison a trainer submits: a pair of trajectories identified by a key unique in its
/// project.
public struct NewComparison: Sendable, Codable, Hashable {
    /// The trainer's key (non-empty, at most 256 characters), unique per project.
    public var key: String
    /// The first trajectory (τ⁰), JSON text, stored verbatim.
    public var first: String
    /// The second trajectory (τ¹), JSON text, stored verbatim.
    public var second: String
    /// The first trajectory's return (finite).
    public var firstReturn: Double
    /// The second trajectory's return (finite).
    public var secondReturn: Double
    /// The first trajectory's myopic return (finite).
    public var firstMyopicReturn: Double
    /// The second trajectory's myopic return (finite).
    public var secondMyopicReturn: Double
    /// The simulated answers' random stream (hex), or nil.
    public var answerStream: String?

    /// A comparison to submit.
    public init(key: String, first: String, second: String,
                firstReturn: Double, secondReturn: Double,
                firstMyopicReturn: Double, secondMyopicReturn: Double,
                answerStream: String? = nil) {
        self.key = key
        self.first = first
        self.second = second
        self.firstReturn = firstReturn
        self.secondReturn = secondReturn
        self.firstMyopicReturn = firstMyopicReturn
        self.secondMyopicReturn = secondMyopicReturn
        self.answerStream = answerStream
    }
}

/// What `submit` did with one comparison of a batch, in the order sent.
///
/// A batch is one transaction: when any comparison is a `.conflict`, nothing of the batch is
/// stored, and the comparisons that would have been new are reported as `.rejected`.
public enum SubmitOutcome: Sendable, Hashable {
    /// Stored now under this id.
    case created(Int64)
    /// The key was already present (or earlier in the batch) with the same content: its id.
    case existing(Int64)
    /// The key is already present with different content: the stored comparison's id (or 0 when
    /// the clash is with an earlier comparison of the same, rolled-back batch).
    case conflict(Int64)
    /// New, but not stored because another comparison of the batch is a conflict.
    case rejected

    /// The comparison's id when it is (now) stored with this content.
    public var id: Int64? {
        switch self {
        case .created(let id), .existing(let id): return id
        case .conflict, .rejected: return nil
        }
    }

    /// Whether this outcome is a conflict.
    public var isConflict: Bool {
        if case .conflict = self { return true }
        return false
    }
}

/// The answers collected so far for one key of a `results` request.
public struct ComparisonResult: Sendable, Codable, Hashable {
    /// The key asked for.
    public var key: String
    /// The comparison's id, nil when the key is unknown.
    public var comparisonID: Int64?
    /// The number of answers (left + right + tie + skip).
    public var answers: Int
    /// Answers preferring the first trajectory.
    public var left: Int
    /// Answers preferring the second trajectory.
    public var right: Int
    /// "Can't tell" answers.
    public var tie: Int
    /// Skipped slots.
    public var skip: Int
    /// Whether all M slots are answered.
    public var complete: Bool
    /// Whether the key is not in the project (then every count is 0).
    public var unknown: Bool

    /// A result.
    public init(key: String, comparisonID: Int64?, answers: Int, left: Int, right: Int, tie: Int,
                skip: Int, complete: Bool, unknown: Bool) {
        self.key = key
        self.comparisonID = comparisonID
        self.answers = answers
        self.left = left
        self.right = right
        self.tie = tie
        self.skip = skip
        self.complete = complete
        self.unknown = unknown
    }
}

/// A task handed to an annotator: one slot of one comparison, leased until `expiresAt`.
/// (Named `LabelTask`, not `Task`, so that it does not shadow Swift's `Task`.)
public struct LabelTask: Sendable, Codable, Hashable {
    /// The comparison's id (the task id of the routes).
    public var comparisonID: Int64
    /// The slot leased (0 ≤ slot < M).
    public var slot: Int
    /// When the slot was leased to this annotator.
    public var issuedAt: Date
    /// When the lease expires (the slot then returns to the queue).
    public var expiresAt: Date
    /// The project (its name, environment JSON, M and whether it is simulated).
    public var project: Project
    /// The comparison's key.
    public var key: String
    /// The first trajectory, JSON text.
    public var first: String
    /// The second trajectory, JSON text.
    public var second: String
    /// The first trajectory's return (never show it to annotators of a non-simulated project).
    public var firstReturn: Double
    /// The second trajectory's return.
    public var secondReturn: Double
    /// The first trajectory's myopic return.
    public var firstMyopicReturn: Double
    /// The second trajectory's myopic return.
    public var secondMyopicReturn: Double
    /// The simulated answers' random stream, or nil.
    public var answerStream: String?

    /// A task as read from a store.
    public init(comparisonID: Int64, slot: Int, issuedAt: Date, expiresAt: Date, project: Project,
                key: String, first: String, second: String,
                firstReturn: Double, secondReturn: Double,
                firstMyopicReturn: Double, secondMyopicReturn: Double, answerStream: String?) {
        self.comparisonID = comparisonID
        self.slot = slot
        self.issuedAt = issuedAt
        self.expiresAt = expiresAt
        self.project = project
        self.key = key
        self.first = first
        self.second = second
        self.firstReturn = firstReturn
        self.secondReturn = secondReturn
        self.firstMyopicReturn = firstMyopicReturn
        self.secondMyopicReturn = secondMyopicReturn
        self.answerStream = answerStream
    }
}

/// What `answer` did (the HTTP status in parentheses).
public enum AnswerOutcome: String, Sendable, Codable, Hashable {
    /// The answer is stored and the lease removed (200 `recorded`).
    case recorded
    /// The annotator already gave exactly this answer to this slot; nothing stored (200 `duplicate`).
    case duplicate
    /// The slot is answered by, or leased to, someone else, or was never leased to this annotator (403).
    case forbidden
    /// No such comparison, or the slot is outside 0 ..< M (404).
    case notFound
    /// This annotator already answered this comparison differently (409).
    case conflict
}

/// One project's progress in `status`.
public struct ProjectStatus: Sendable, Codable, Hashable {
    /// The project's name.
    public var name: String
    /// Slots still waiting for an answer (M × comparisons − answers; leased slots included).
    public var queue: Int
    /// Comparisons whose M slots are all answered.
    public var complete: Int
    /// Comparisons submitted.
    public var comparisons: Int

    /// A project's progress.
    public init(name: String, queue: Int, complete: Int, comparisons: Int) {
        self.name = name
        self.queue = queue
        self.complete = complete
        self.comparisons = comparisons
    }
}

/// An annotator's progress and every project's, for `GET /api/status`.
public struct AnnotatorStatus: Sendable, Codable, Hashable {
    /// The annotator.
    public var annotator: Annotator
    /// Answers given since the start of the current UTC day.
    public var answeredToday: Int
    /// Answers given in all.
    public var answered: Int
    /// Every project's progress, ordered by project id.
    public var projects: [ProjectStatus]

    /// A status.
    public init(annotator: Annotator, answeredToday: Int, answered: Int, projects: [ProjectStatus]) {
        self.annotator = annotator
        self.answeredToday = answeredToday
        self.answered = answered
        self.projects = projects
    }
}

/// One answer with its comparison, for the JSON Lines export.
public struct ExportRow: Sendable, Codable, Hashable {
    /// The project's name.
    public var project: String
    /// The comparison's key.
    public var key: String
    /// The comparison's id.
    public var comparisonID: Int64
    /// The slot answered.
    public var slot: Int
    /// The annotator's name.
    public var annotator: String
    /// The answer.
    public var choice: Choice
    /// When the slot was leased to the annotator.
    public var issuedAt: Date
    /// When the answer arrived.
    public var answeredAt: Date
    /// answeredAt − issuedAt in milliseconds (never negative).
    public var timeToAnswerMs: Int64
    /// The first trajectory, JSON text.
    public var first: String
    /// The second trajectory, JSON text.
    public var second: String
    /// The first trajectory's return.
    public var firstReturn: Double
    /// The second trajectory's return.
    public var secondReturn: Double
    /// The first trajectory's myopic return.
    public var firstMyopicReturn: Double
    /// The second trajectory's myopic return.
    public var secondMyopicReturn: Double

    /// An export row.
    public init(project: String, key: String, comparisonID: Int64, slot: Int, annotator: String,
                choice: Choice, issuedAt: Date, answeredAt: Date, timeToAnswerMs: Int64,
                first: String, second: String, firstReturn: Double, secondReturn: Double,
                firstMyopicReturn: Double, secondMyopicReturn: Double) {
        self.project = project
        self.key = key
        self.comparisonID = comparisonID
        self.slot = slot
        self.annotator = annotator
        self.choice = choice
        self.issuedAt = issuedAt
        self.answeredAt = answeredAt
        self.timeToAnswerMs = timeToAnswerMs
        self.first = first
        self.second = second
        self.firstReturn = firstReturn
        self.secondReturn = secondReturn
        self.firstMyopicReturn = firstMyopicReturn
        self.secondMyopicReturn = secondMyopicReturn
    }
}

/// One annotator's answers in a project and how well they agree with the others and the truth.
public struct AnnotatorStats: Sendable, Codable, Hashable {
    /// The annotator's name.
    public var annotator: String
    /// Answers given in the project (skips and ties included).
    public var answers: Int
    /// The median time to answer in milliseconds (mean of the middle two for an even count).
    public var medianTimeToAnswerMs: Double?
    /// Of this annotator's `left`/`right` answers whose comparison's OTHER `left`/`right`
    /// answers have a strict majority, the fraction equal to that majority; nil when none.
    public var majorityAgreement: Double?
    /// How many answers `majorityAgreement` is computed on.
    public var majorityCompared: Int
    /// Of this annotator's `left`/`right` answers to comparisons whose returns differ, the
    /// fraction equal to the true preference (`right` when second_return > first_return); nil
    /// when none.
    public var truthAgreement: Double?
    /// How many answers `truthAgreement` is computed on.
    public var truthCompared: Int

    /// Statistics of one annotator.
    public init(annotator: String, answers: Int, medianTimeToAnswerMs: Double?,
                majorityAgreement: Double?, majorityCompared: Int,
                truthAgreement: Double?, truthCompared: Int) {
        self.annotator = annotator
        self.answers = answers
        self.medianTimeToAnswerMs = medianTimeToAnswerMs
        self.majorityAgreement = majorityAgreement
        self.majorityCompared = majorityCompared
        self.truthAgreement = truthAgreement
        self.truthCompared = truthCompared
    }
}
