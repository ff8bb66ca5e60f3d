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
