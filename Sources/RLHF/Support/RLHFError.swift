/// An error the toolkit reports to its user: bad input, an exhausted budget, a diverging run.
///
/// Every case carries a message that says what is wrong and where, ready to print.
public enum RLHFError: Error, CustomStringConvertible, Equatable, Sendable {
    /// A malformed map: `source` is the file or preset, line and column are 1-based.
    case invalidMap(source: String, line: Int, column: Int, message: String)
    /// A bad option or hyperparameter value.
    case invalidArgument(name: String, message: String)
    /// A name that is not one of the known ones (environment, algorithm, link…).
    case unknownName(kind: String, name: String, known: [String])
    /// The query budget cannot pay for what was asked.
    case budgetTooSmall(budget: Int, needed: Int, what: String)
    /// The run produced a non-finite number.
    case diverged(iteration: Int, message: String)
    /// A file could not be read or written, or has the wrong content.
    case io(path: String, message: String)

    public var description: String {
        switch self {
        case let .invalidMap(source, line, column, message):
            return "\(source):\(line):\(column): \(message)"
        case let .invalidArgument(name, message):
            return "invalid value for \(name): \(message)"
        case let .unknownName(kind, name, known):
            return "unknown \(kind) '\(name)' (known: \(known.joined(separator: ", ")))"
        case let .budgetTooSmall(budget, needed, what):
            return "query budget \(budget) is smaller than \(what), which needs \(needed) queries"
        case let .diverged(iteration, message):
            return "run diverged at iteration \(iteration): \(message)"
        case let .io(path, message):
            return "\(path): \(message)"
        }
    }
}

/// Validation helpers shared by configurations.
public enum Validate {
    /// Throws unless `value` is finite and positive.
    public static func positive(_ value: Double, _ name: String) throws {
        guard value.isFinite else { throw RLHFError.invalidArgument(name: name, message: "\(value) is not finite") }
        guard value > 0 else { throw RLHFError.invalidArgument(name: name, message: "\(value) must be positive") }
    }

    /// Throws unless `value` is finite and non-negative.
    public static func nonNegative(_ value: Double, _ name: String) throws {
        guard value.isFinite else { throw RLHFError.invalidArgument(name: name, message: "\(value) is not finite") }
        guard value >= 0 else { throw RLHFError.invalidArgument(name: name, message: "\(value) must not be negative") }
    }

    /// Throws unless `value` is finite.
    public static func finite(_ value: Double, _ name: String) throws {
        guard value.isFinite else { throw RLHFError.invalidArgument(name: name, message: "\(value) is not finite") }
    }

    /// Throws unless `value` lies in the closed interval.
    public static func inRange(_ value: Double, _ range: ClosedRange<Double>, _ name: String) throws {
        guard value.isFinite else { throw RLHFError.invalidArgument(name: name, message: "\(value) is not finite") }
        guard range.contains(value) else {
            throw RLHFError.invalidArgument(name: name, message: "\(value) is outside [\(range.lowerBound), \(range.upperBound)]")
        }
    }

    /// Throws unless `minimum` ≤ `value` ≤ `maximum`. The default maximum, ``Limits/count``,
    /// bounds every count a setting gives (iterations, epochs, episodes, pairs…); sizes that
    /// allocate memory pass a tighter one from ``Limits``.
    public static func atLeast(_ value: Int, _ minimum: Int, _ name: String, atMost maximum: Int = Limits.count) throws {
        guard value >= minimum else {
            throw RLHFError.invalidArgument(name: name, message: "\(value) must be at least \(minimum)")
        }
        guard value <= maximum else {
            throw RLHFError.invalidArgument(name: name, message: "\(value) is above the limit of \(maximum.formatted)")
        }
    }
}
