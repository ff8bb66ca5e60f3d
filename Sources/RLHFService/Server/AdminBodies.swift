import Foundation

/// The body of `POST /api/projects`.
struct NewProjectBody: Decodable {
    var name: String
    /// The environment's canonical JSON text.
    var environment: String
    var answersPerPair: Int
    var simulated: Bool

    enum CodingKeys: String, CodingKey, CaseIterable {
        case name, environment, simulated
        case answersPerPair = "answers_per_pair"
    }

    init(from decoder: any Decoder) throws {
        try decoder.rejectUnknownKeys(CodingKeys.self)
        let c = try decoder.container(keyedBy: CodingKeys.self)
        name = try RequestValidation.name(c.decode(String.self, forKey: .name), field: "name")
        environment = try RequestValidation.environment(c.decode(JSONValue.self, forKey: .environment))
        answersPerPair = try RequestValidation.answersPerPair(c.decode(Int.self, forKey: .answersPerPair))
        simulated = try c.decodeIfPresent(Bool.self, forKey: .simulated) ?? false
    }
}

/// A project as the routes return it.
struct ProjectBody: Encodable {
    var name: String
    var environment: JSONValue
    var answersPerPair: Int
    var simulated: Bool
    var createdAt: Date

    enum CodingKeys: String, CodingKey {
        case name, environment, simulated
        case answersPerPair = "answers_per_pair", createdAt = "created_at"
    }

    init(_ project: Project) throws {
        name = project.name
        environment = try TaskBody.parse(project.environment)
        answersPerPair = project.answersPerPair
        simulated = project.simulated
        createdAt = project.createdAt
    }
}

/// The body of `POST /api/projects/{project}/comparisons`.
struct SubmitBody: Decodable {
    var comparisons: [NewComparison]

    enum CodingKeys: String, CodingKey, CaseIterable { case comparisons }

    init(from decoder: any Decoder) throws {
        try decoder.rejectUnknownKeys(CodingKeys.self)
        let c = try decoder.container(keyedBy: CodingKeys.self)
        comparisons = try c.decode([ComparisonBody].self, forKey: .comparisons).map(\.comparison)
    }
}

/// One comparison of a submit body, checked.
struct ComparisonBody: Decodable {
    var comparison: NewComparison

    enum CodingKeys: String, CodingKey, CaseIterable {
        case key, first, second
        case firstReturn = "first_return", secondReturn = "second_return"
        case firstMyopicReturn = "first_myopic_return", secondMyopicReturn = "second_myopic_return"
        case answerStream = "answer_stream"
    }

    init(from decoder: any Decoder) throws {
        try decoder.rejectUnknownKeys(CodingKeys.self)
        let c = try decoder.container(keyedBy: CodingKeys.self)
        let at = RequestBodyReader.path(decoder.codingPath)
        func number(_ key: CodingKeys) throws -> Double {
            try RequestValidation.finite(c.decode(Double.self, forKey: key), field: "\(at).\(key.rawValue)")
        }
        comparison = NewComparison(
            key: try RequestValidation.name(c.decode(String.self, forKey: .key), field: "\(at).key"),
            first: try RequestValidation.trajectory(c.decode(JSONValue.self, forKey: .first), field: "\(at).first"),
            second: try RequestValidation.trajectory(c.decode(JSONValue.self, forKey: .second), field: "\(at).second"),
            firstReturn: try number(.firstReturn),
            secondReturn: try number(.secondReturn),
            firstMyopicReturn: try number(.firstMyopicReturn),
            secondMyopicReturn: try number(.secondMyopicReturn),
            answerStream: try RequestValidation.answerStream(
                c.decodeIfPresent(String.self, forKey: .answerStream), field: "\(at).answer_stream"))
    }
}

/// The body of `POST /api/projects/{project}/results`.
struct ResultsRequestBody: Decodable {
    var keys: [String]
    enum CodingKeys: String, CodingKey, CaseIterable { case keys }
    init(from decoder: any Decoder) throws {
        try decoder.rejectUnknownKeys(CodingKeys.self)
        keys = try decoder.container(keyedBy: CodingKeys.self).decode([String].self, forKey: .keys)
    }
}

/// The answer of `POST /api/projects/{project}/results`.
struct ResultsBody: Encodable {
    struct Entry: Encodable {
        var key: String
        var id: Int64?
        var answers: Int
        var left: Int
        var right: Int
        var tie: Int
        var skip: Int
        var complete: Bool
        var unknown: Bool

        init(_ result: ComparisonResult) {
            key = result.key
            id = result.comparisonID
            answers = result.answers
            left = result.left
            right = result.right
            tie = result.tie
            skip = result.skip
            complete = result.complete
            unknown = result.unknown
        }
    }
    var results: [Entry]
}

/// The answer of `GET /api/projects/{project}/annotators`.
struct AnnotatorStatsBody: Encodable {
    struct Entry: Encodable {
        var name: String
        var answers: Int
        var medianTimeToAnswerMs: Double?
        var majorityAgreement: Double?
        var majorityCompared: Int
        var truthAgreement: Double?
        var truthCompared: Int

        enum CodingKeys: String, CodingKey {
            case name, answers
            case medianTimeToAnswerMs = "median_time_to_answer_ms"
            case majorityAgreement = "majority_agreement", majorityCompared = "majority_compared"
            case truthAgreement = "truth_agreement", truthCompared = "truth_compared"
        }

        init(_ stats: AnnotatorStats) {
            name = stats.annotator
            answers = stats.answers
            medianTimeToAnswerMs = stats.medianTimeToAnswerMs
            majorityAgreement = stats.majorityAgreement
            majorityCompared = stats.majorityCompared
            truthAgreement = stats.truthAgreement
            truthCompared = stats.truthCompared
        }

        func encode(to encoder: any Encoder) throws {
            // nil agreements are written as null (not left out), so every row has every field.
            var c = encoder.container(keyedBy: CodingKeys.self)
            try c.encode(name, forKey: .name)
            try c.encode(answers, forKey: .answers)
            try c.encode(medianTimeToAnswerMs, forKey: .medianTimeToAnswerMs)
            try c.encode(majorityAgreement, forKey: .majorityAgreement)
            try c.encode(majorityCompared, forKey: .majorityCompared)
            try c.encode(truthAgreement, forKey: .truthAgreement)
            try c.encode(truthCompared, forKey: .truthCompared)
        }
    }
    var annotators: [Entry]
}

/// The body of `POST /api/annotators`.
struct NewAnnotatorBody: Decodable {
    var name: String
    var admin: Bool
    enum CodingKeys: String, CodingKey, CaseIterable { case name, admin }
    init(from decoder: any Decoder) throws {
        try decoder.rejectUnknownKeys(CodingKeys.self)
        let c = try decoder.container(keyedBy: CodingKeys.self)
        name = try RequestValidation.name(c.decode(String.self, forKey: .name), field: "name")
        admin = try c.decodeIfPresent(Bool.self, forKey: .admin) ?? false
    }
}

/// The answer of `POST /api/annotators`.
struct NewAnnotatorResponse: Encodable {
    var name: String
    var admin: Bool
    var token: String
}
