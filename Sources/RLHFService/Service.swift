/// The labeling service: a queue of comparisons that people (or simulated annotators over HTTP)
/// answer, stored in SQLite or PostgreSQL, and the trainer's client for it.
/// `Docs/LabelingService.md` is the contract between its parts.
public enum LabelingService {
    /// The schema version the stores migrate to.
    public static let schemaVersion = 1
}
