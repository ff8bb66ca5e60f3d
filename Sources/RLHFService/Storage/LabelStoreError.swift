import Foundation

/// The errors a `LabelStore` throws for requests it refuses (as opposed to outcomes such as
/// `AnswerOutcome.forbidden`, which are answers, not errors).
public enum LabelStoreError: Error, Sendable, Hashable, CustomStringConvertible {
    /// An annotator with this name already exists.
    case duplicateAnnotatorName(String)
    /// No annotator has this id.
    case unknownAnnotator(Int64)
    /// No project has this name.
    case unknownProject(String)
    /// A value outside what the store accepts: the field and why (e.g. M outside 1 ... 1000,
    /// an empty key, a key over 256 characters, a non-finite return).
    case invalidValue(field: String, reason: String)
    /// The store at this location cannot be opened (the underlying error's description).
    case cannotOpen(location: String, reason: String)
    /// A stored row the store cannot read back (a corrupted or foreign database).
    case corrupt(String)

    /// A message naming what went wrong, for logs and `{"error": …}` bodies.
    public var description: String {
        switch self {
        case .duplicateAnnotatorName(let name): return "an annotator named '\(name)' already exists"
        case .unknownAnnotator(let id): return "no annotator with id \(id)"
        case .unknownProject(let name): return "no project named '\(name)'"
        case .invalidValue(let field, let reason): return "\(field): \(reason)"
        case .cannotOpen(let location, let reason): return "cannot open the label store at '\(location)': \(reason)"
        case .corrupt(let what): return "the label store holds an unreadable row: \(what)"
        }
    }
}

/// The limits a store enforces on what it is asked to store (the HTTP layer enforces the body
/// sizes; these catch values that are wrong whatever the transport).
public enum LabelStoreLimits {
    /// The largest M (answers per pair).
    public static let maxAnswersPerPair = 1000
    /// The longest comparison key, project name or annotator name, in characters.
    public static let maxKeyLength = 256

    static func checkName(_ value: String, field: String) throws {
        if value.isEmpty {
            throw LabelStoreError.invalidValue(field: field, reason: "must not be empty")
        }
        if value.count > maxKeyLength {
            throw LabelStoreError.invalidValue(
                field: field, reason: "longer than \(maxKeyLength) characters (\(value.count))")
        }
    }

    static func check(_ project: NewProject) throws {
        try checkName(project.name, field: "name")
        if project.answersPerPair < 1 || project.answersPerPair > maxAnswersPerPair {
            throw LabelStoreError.invalidValue(
                field: "answers_per_pair",
                reason: "must be in 1 ... \(maxAnswersPerPair) (got \(project.answersPerPair))")
        }
    }

    static func check(_ comparison: NewComparison) throws {
        try checkName(comparison.key, field: "key")
        let returns = [("first_return", comparison.firstReturn),
                       ("second_return", comparison.secondReturn),
                       ("first_myopic_return", comparison.firstMyopicReturn),
                       ("second_myopic_return", comparison.secondMyopicReturn)]
        for (field, value) in returns where !value.isFinite {
            throw LabelStoreError.invalidValue(field: field, reason: "must be finite (key '\(comparison.key)')")
        }
    }

    static func checkLease(_ lease: TimeInterval) throws {
        if !(lease > 0) || !lease.isFinite {
            throw LabelStoreError.invalidValue(field: "lease", reason: "must be a positive number of seconds")
        }
    }
}
