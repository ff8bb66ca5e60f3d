import Foundation

/// The JSON Lines export of a project's answers, shared by `GET /api/projects/{project}/export`
/// and `rlhf labels export`: one answer a line, ordered by comparison id then slot.
public enum LabelExport {
    /// The export's content type.
    public static let contentType = "application/x-ndjson; charset=utf-8"

    /// The lines of `project`, each ending in a newline. Throws `LabelStoreError.unknownProject`.
    public static func jsonLines(project: String, store: any LabelStore) async throws -> Data {
        var data = Data()
        for row in try await store.export(project: project) {
            data.append(try ExportLine.text(row))
            data.append(0x0A)
        }
        return data
    }
}

/// One line of the export (the contract's fields, snake_case; trajectories as JSON objects).
struct ExportLine: Encodable {
    var project: String
    var key: String
    var comparisonID: Int64
    var slot: Int
    var annotator: String
    var choice: Choice
    var issuedAt: Date
    var answeredAt: Date
    var timeToAnswerMs: Int64
    var first: JSONValue
    var second: JSONValue
    var firstReturn: Double
    var secondReturn: Double
    var firstMyopicReturn: Double
    var secondMyopicReturn: Double

    enum CodingKeys: String, CodingKey {
        case project, key, slot, annotator, choice, first, second
        case comparisonID = "comparison_id", issuedAt = "issued_at", answeredAt = "answered_at"
        case timeToAnswerMs = "time_to_answer_ms"
        case firstReturn = "first_return", secondReturn = "second_return"
        case firstMyopicReturn = "first_myopic_return", secondMyopicReturn = "second_myopic_return"
    }

    /// The line's JSON text (without the newline).
    static func text(_ row: ExportRow) throws -> Data {
        try JSONResponse.line(ExportLine(
            project: row.project, key: row.key, comparisonID: row.comparisonID, slot: row.slot,
            annotator: row.annotator, choice: row.choice, issuedAt: row.issuedAt, answeredAt: row.answeredAt,
            timeToAnswerMs: row.timeToAnswerMs,
            first: try TaskBody.parse(row.first), second: try TaskBody.parse(row.second),
            firstReturn: row.firstReturn, secondReturn: row.secondReturn,
            firstMyopicReturn: row.firstMyopicReturn, secondMyopicReturn: row.secondMyopicReturn))
    }
}
