import Foundation

/// Adding annotators, shared by `POST /api/annotators` and `rlhf serve annotators add`: a new
/// random token, of which only the SHA-256 hash is stored.
public enum AnnotatorEnrollment {
    /// Adds an annotator named `name` and returns it with its token, which exists nowhere else
    /// afterwards: show it once. Throws a `ServiceError` (400) for an empty or over-long name or
    /// one with control characters, and `LabelStoreError.duplicateAnnotatorName` when taken.
    public static func add(name: String, isAdmin: Bool, to store: any LabelStore) async throws -> (annotator: Annotator, token: String) {
        let name = try RequestValidation.name(name, field: "name")
        let token = AccessToken.generate()
        let annotator = try await store.addAnnotator(name: name, tokenHash: AccessToken.hash(token), isAdmin: isAdmin)
        return (annotator, token)
    }
}

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
