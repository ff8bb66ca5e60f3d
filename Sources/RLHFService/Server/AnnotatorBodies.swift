import Foundation

/// The body of `GET /api/projects`.
struct ProjectListBody: Encodable {
    struct Entry: Encodable {
        var name: String
        var answersPerPair: Int
        var open: Int
        var simulated: Bool
        enum CodingKeys: String, CodingKey {
            case name, open, simulated
            case answersPerPair = "answers_per_pair"
        }
    }
    var projects: [Entry]
}

/// The body of `POST /api/tasks/{id}/answer`: `{"slot": 3, "choice": "left"}`.
struct AnswerBody: Decodable {
    var slot: Int
    var choice: Choice

    enum CodingKeys: String, CodingKey, CaseIterable { case slot, choice }

    init(from decoder: any Decoder) throws {
        try decoder.rejectUnknownKeys(CodingKeys.self)
        let container = try decoder.container(keyedBy: CodingKeys.self)
        slot = try container.decode(Int.self, forKey: .slot)
        guard (0..<LabelStoreLimits.maxAnswersPerPair).contains(slot) else {
            throw ServiceError.badRequest("field `slot` must be in 0 ..< M (at most \(LabelStoreLimits.maxAnswersPerPair - 1)); got \(slot)")
        }
        let text = try container.decode(String.self, forKey: .choice)
        guard let choice = Choice(rawValue: text) else {
            throw ServiceError.badRequest("field `choice` must be one of left, right, tie, skip")
        }
        self.choice = choice
    }
}

/// A task as sent to an annotator (Docs/LabelingService.md, `GET /api/projects/{project}/next`).
/// Rewards and returns are left out unless the project is simulated.
struct TaskBody: Encodable {
    struct Simulation: Encodable {
        var firstReturn: Double
        var secondReturn: Double
        var firstMyopicReturn: Double
        var secondMyopicReturn: Double
        var answerStream: String?
        enum CodingKeys: String, CodingKey {
            case firstReturn = "first_return", secondReturn = "second_return"
            case firstMyopicReturn = "first_myopic_return", secondMyopicReturn = "second_myopic_return"
            case answerStream = "answer_stream"
        }
    }

    var id: Int64
    var project: String
    var slot: Int
    var answersPerPair: Int
    var issuedAt: Date
    var expiresAt: Date
    var environment: JSONValue
    var first: JSONValue
    var second: JSONValue
    var simulation: Simulation?

    enum CodingKeys: String, CodingKey {
        case id, project, slot, environment, first, second, simulation
        case answersPerPair = "answers_per_pair", issuedAt = "issued_at", expiresAt = "expires_at"
    }

    init(_ task: LabelTask) throws {
        id = task.comparisonID
        project = task.project.name
        slot = task.slot
        answersPerPair = task.project.answersPerPair
        issuedAt = task.issuedAt
        expiresAt = task.expiresAt
        environment = try Self.parse(task.project.environment)
        first = try Self.parse(task.first)
        second = try Self.parse(task.second)
        if task.project.simulated {
            simulation = Simulation(
                firstReturn: task.firstReturn, secondReturn: task.secondReturn,
                firstMyopicReturn: task.firstMyopicReturn, secondMyopicReturn: task.secondMyopicReturn,
                answerStream: task.answerStream)
        } else {
            first = Self.withoutRewards(first)
            second = Self.withoutRewards(second)
        }
    }

    static func parse(_ text: String) throws -> JSONValue {
        guard let value = JSONValue(text: text) else { throw LabelStoreError.corrupt("stored JSON that does not parse") }
        return value
    }

    static func withoutRewards(_ trajectory: JSONValue) -> JSONValue {
        guard var members = trajectory.objectValue else { return trajectory }
        members["rewards"] = nil
        return .object(members)
    }
}

/// The body of `GET /api/status`.
struct StatusBody: Encodable {
    struct ProjectEntry: Encodable {
        var name: String
        var queue: Int
        var complete: Int
        var comparisons: Int
    }
    var annotator: String
    var admin: Bool
    var answeredToday: Int
    var answered: Int
    var projects: [ProjectEntry]

    enum CodingKeys: String, CodingKey {
        case annotator, admin, answered, projects
        case answeredToday = "answered_today"
    }

    init(_ status: AnnotatorStatus, isAdmin: Bool) {
        annotator = status.annotator.name
        admin = isAdmin
        answeredToday = status.answeredToday
        answered = status.answered
        projects = status.projects.map { ProjectEntry(name: $0.name, queue: $0.queue, complete: $0.complete, comparisons: $0.comparisons) }
    }
}
