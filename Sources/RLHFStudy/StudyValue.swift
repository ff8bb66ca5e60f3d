import RLHF
import Yams

/// Where something is in a study file: the file's name and a 1-based line and column.
public struct StudyLocation: Sendable, Equatable, CustomStringConvertible {
    /// The file's name (or `<flags>` for a study built from command-line flags).
    public var file: String
    /// 1-based line.
    public var line: Int
    /// 1-based column.
    public var column: Int

    /// Creates a location.
    public init(file: String, line: Int, column: Int) {
        self.file = file; self.line = line; self.column = column
    }

    /// `file:line:column`.
    public var description: String { "\(file):\(line):\(column)" }
}

/// A bad study description: what is wrong and where.
public struct StudyError: Error, Sendable, Equatable, CustomStringConvertible {
    /// Where the problem is (nil when it concerns the study as a whole).
    public var location: StudyLocation?
    /// The key (dotted path, e.g. `algorithms[2].dpo.beta`) the problem concerns, if any.
    public var key: String?
    /// What is wrong.
    public var message: String

    /// Creates an error.
    public init(_ message: String, key: String? = nil, at location: StudyLocation? = nil) {
        self.message = message; self.key = key; self.location = location
    }

    /// `file:line:column: key: message`.
    public var description: String {
        var s = ""
        if let l = location { s += "\(l): " }
        if let k = key { s += "'\(k)': " }
        return s + message
    }
}

/// A YAML value of a study file with the location of every node, so that errors can name the
/// line. Built from Yams's composed node tree; anchors and aliases are resolved by Yams.
public indirect enum StudyValue: Sendable {
    /// A scalar, kept as written (typed when read).
    case scalar(String, StudyLocation)
    /// A sequence.
    case list([StudyValue], StudyLocation)
    /// A mapping, in file order.
    case map([(key: String, keyLocation: StudyLocation, value: StudyValue)], StudyLocation)

    /// Where the value starts.
    public var location: StudyLocation {
        switch self {
        case .scalar(_, let l), .list(_, let l), .map(_, let l): return l
        }
    }

    /// Parses YAML text. Syntax errors and duplicate keys are reported with their line.
    public static func parse(yaml text: String, file: String) throws -> StudyValue {
        let node: Node?
        do {
            node = try Yams.compose(yaml: text)
        } catch let e as YamlError {
            throw StudyError(yamlMessage(e), at: yamlLocation(e, file: file))
        }
        guard let node else { throw StudyError("the study file is empty", at: StudyLocation(file: file, line: 1, column: 1)) }
        return try convert(node, file: file)
    }

    static func location(_ mark: Mark?, _ file: String) -> StudyLocation {
        // Yams's marks are 1-based already.
        StudyLocation(file: file, line: mark?.line ?? 1, column: mark?.column ?? 1)
    }

    static func convert(_ node: Node, file: String) throws -> StudyValue {
        let loc = location(node.mark, file)
        switch node {
        case .scalar(let s):
            return .scalar(s.string, loc)
        case .sequence(let seq):
            return .list(try seq.map { try convert($0, file: file) }, loc)
        case .mapping(let m):
            var entries: [(key: String, keyLocation: StudyLocation, value: StudyValue)] = []
            var seen = Set<String>()
            for (k, v) in m {
                guard case .scalar(let ks) = k else {
                    throw StudyError("a key must be a plain name", at: location(k.mark, file))
                }
                let kl = location(k.mark, file)
                guard seen.insert(ks.string).inserted else {
                    throw StudyError("duplicate key", key: ks.string, at: kl)
                }
                entries.append((ks.string, kl, try convert(v, file: file)))
            }
            return .map(entries, loc)
        case .alias(let a):
            return .scalar(a.anchor.rawValue, loc)
        }
    }

    static func yamlMessage(_ e: YamlError) -> String {
        switch e {
        case .scanner(_, let problem, _, _), .parser(_, let problem, _, _), .composer(_, let problem, _, _):
            return "not valid YAML: \(problem)"
        case .reader(let problem, _, _, _):
            return "not valid YAML: \(problem)"
        case .duplicatedKeysInMapping(let duplicates, _):
            return "duplicate keys: \(duplicates.joined(separator: ", "))"
        default:
            return "not valid YAML (\(e))"
        }
    }

    static func yamlLocation(_ e: YamlError, file: String) -> StudyLocation? {
        switch e {
        case .scanner(_, _, let m, _), .parser(_, _, let m, _), .composer(_, _, let m, _):
            return location(m, file)
        default:
            return nil
        }
    }
}

extension StudyValue {
    /// The scalar's text, or an error naming `key` if this is a list or map.
    func string(_ key: String) throws -> String {
        guard case .scalar(let s, _) = self else { throw StudyError("expected a single value", key: key, at: location) }
        return s
    }

    /// A whole number; accepts `1e6`, `1_000_000` and `10^6`.
    func integer(_ key: String, minimum: Int? = nil) throws -> Int {
        let s = try string(key)
        guard let v = Self.parseInteger(s) else { throw StudyError("'\(s)' is not a whole number", key: key, at: location) }
        if let m = minimum, v < m { throw StudyError("must be at least \(m), got \(v)", key: key, at: location) }
        return v
    }

    /// A finite number.
    func number(_ key: String) throws -> Double {
        let s = try string(key)
        guard let v = Self.parseNumber(s), v.isFinite else { throw StudyError("'\(s)' is not a finite number", key: key, at: location) }
        return v
    }

    /// The elements of a list, or a single value as a one-element list.
    func elements() -> [StudyValue] {
        if case .list(let items, _) = self { return items }
        return [self]
    }

    /// Parses a number as YAML or as shorthand: `1e6`, `1_000_000`, `10^6` (``NumberText``,
    /// which command-line options read too).
    static func parseNumber(_ text: String) -> Double? { NumberText.number(text) }

    /// A whole number (``NumberText/integer(_:)``).
    static func parseInteger(_ text: String) -> Int? { NumberText.integer(text) }
}

import Foundation
