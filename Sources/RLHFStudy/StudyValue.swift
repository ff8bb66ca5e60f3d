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
/// line. Built from Yams's composed node tree.
///
/// Limits, checked before anything large is built: a study file holds at most
/// ``maximumBytes`` bytes and ``maximumNodes`` values, and has no anchors or aliases (`&name`,
/// `*name`): a study never needs them, and a few lines of nested aliases expand to billions of
/// values (an "alias bomb").
public indirect enum StudyValue: Sendable {
    /// A scalar, kept as written (typed when read).
    case scalar(String, StudyLocation)
    /// A sequence.
    case list([StudyValue], StudyLocation)
    /// A mapping, in file order.
    case map([(key: String, keyLocation: StudyLocation, value: StudyValue)], StudyLocation)

    /// The largest study file, in bytes (1 MiB; the largest built-in study is under 4 KiB).
    public static let maximumBytes = 1 << 20
    /// The most values (scalars, lists and maps) in a study file.
    public static let maximumNodes = 100_000

    /// Where the value starts.
    public var location: StudyLocation {
        switch self {
        case .scalar(_, let l), .list(_, let l), .map(_, let l): return l
        }
    }

    /// Parses YAML text. Syntax errors, duplicate keys, NUL bytes, anchors and aliases are
    /// reported with their line.
    public static func parse(yaml text: String, file: String) throws -> StudyValue {
        let bytes = text.utf8.count
        guard bytes <= maximumBytes else {
            throw StudyError("the study file has \(bytes) bytes; a study file holds at most \(maximumBytes) (1 MiB)",
                             at: StudyLocation(file: file, line: 1, column: 1))
        }
        if let nul = text.utf8.firstIndex(of: 0) {
            let offset = text.utf8.distance(from: text.utf8.startIndex, to: nul)
            throw StudyError("a NUL byte: a study file is UTF-8 text (a UTF-16 file must be saved as UTF-8)",
                             at: location(offset: offset, in: text, file: file))
        }
        // The parser holds the anchors (nodes refer to them weakly) until the tree is converted.
        let parser: Parser
        let node: Node?
        do {
            parser = try Parser(yaml: text)
            node = try parser.singleRoot()
        } catch let e as YamlError {
            throw StudyError(yamlMessage(e), key: yamlKey(e), at: yamlLocation(e, text: text, file: file))
        }
        guard let node else { throw StudyError("the study file is empty", at: StudyLocation(file: file, line: 1, column: 1)) }
        var budget = maximumNodes
        let value = try convert(node, file: file, budget: &budget)
        withExtendedLifetime(parser) {}
        return value
    }

    static func location(_ mark: Mark?, _ file: String) -> StudyLocation {
        // Yams's marks are 1-based already.
        StudyLocation(file: file, line: mark?.line ?? 1, column: mark?.column ?? 1)
    }

    /// The 1-based line and column of the UTF-8 byte at `offset` in `text`.
    static func location(offset: Int, in text: String, file: String) -> StudyLocation {
        var line = 1, column = 1
        for byte in text.utf8.prefix(max(0, offset)) {
            if byte == UInt8(ascii: "\n") { line += 1; column = 1 }
            else if byte & 0xC0 != 0x80 { column += 1 }   // count characters, not continuation bytes
        }
        return StudyLocation(file: file, line: line, column: column)
    }

    /// The text of a study file's bytes: UTF-8, with or without a byte-order mark.
    ///
    /// - Throws: ``StudyError`` naming the file and line for a file over ``maximumBytes``, a
    ///   UTF-16 or UTF-32 file, or bytes that are not UTF-8 (NUL bytes are refused by
    ///   ``parse(yaml:file:)``).
    public static func text(of data: Data, file: String) throws -> String {
        let start = StudyLocation(file: file, line: 1, column: 1)
        guard data.count <= maximumBytes else {
            throw StudyError("the study file has \(data.count) bytes; a study file holds at most \(maximumBytes) (1 MiB)", at: start)
        }
        var bytes = [UInt8](data)
        if bytes.starts(with: [0xEF, 0xBB, 0xBF]) { bytes.removeFirst(3) }   // a UTF-8 byte-order mark
        if bytes.starts(with: [0xFF, 0xFE]) || bytes.starts(with: [0xFE, 0xFF]) || bytes.starts(with: [0, 0, 0xFE, 0xFF]) {
            throw StudyError("the file is UTF-16 or UTF-32 (it starts with a byte-order mark); save it as UTF-8", at: start)
        }
        // The longest valid UTF-8 prefix, so that an error names the first bad byte's line.
        var valid = bytes.count
        var iterator = bytes.makeIterator()
        var decoder = UTF8()
        var consumed = 0
        decoding: while true {
            switch decoder.decode(&iterator) {
            case .scalarValue(let scalar): consumed += UTF8.width(scalar)
            case .emptyInput: break decoding
            case .error: valid = consumed; break decoding
            }
        }
        let text = String(decoding: bytes[..<valid], as: UTF8.self)
        if valid < bytes.count {
            throw StudyError("bytes that are not UTF-8 text (byte \(valid + 1) of the file); save it as UTF-8",
                             at: location(offset: valid, in: text, file: file))
        }
        return text
    }

    /// Converts Yams's tree, refusing anchors and aliases and counting values against `budget`.
    static func convert(_ node: Node, file: String, budget: inout Int) throws -> StudyValue {
        let loc = location(node.mark, file)
        if let anchor = node.anchor {
            throw StudyError("an anchor or alias (&\(anchor.rawValue), *\(anchor.rawValue)): study files do not use them; write the value out", at: loc)
        }
        budget -= 1
        guard budget >= 0 else {
            throw StudyError("more than \(maximumNodes) values: a study file holds at most \(maximumNodes) (lists, maps and scalars)", at: loc)
        }
        switch node {
        case .scalar(let s):
            return .scalar(s.string, loc)
        case .sequence(let seq):
            var items: [StudyValue] = []
            for item in seq { items.append(try convert(item, file: file, budget: &budget)) }
            return .list(items, loc)
        case .mapping(let m):
            var entries: [(key: String, keyLocation: StudyLocation, value: StudyValue)] = []
            var seen = Set<String>()
            for (k, v) in m {
                guard case .scalar(let ks) = k, k.anchor == nil else {
                    throw StudyError("a key must be a plain name", at: location(k.mark, file))
                }
                let kl = location(k.mark, file)
                guard seen.insert(ks.string).inserted else {
                    throw StudyError("duplicate key: a key is given once in a map", key: ks.string, at: kl)
                }
                entries.append((ks.string, kl, try convert(v, file: file, budget: &budget)))
            }
            return .map(entries, loc)
        case .alias(let a):
            throw StudyError("an alias (*\(a.anchor.rawValue)): study files do not use anchors or aliases; write the value out", at: loc)
        }
    }

    static func yamlMessage(_ e: YamlError) -> String {
        switch e {
        case .scanner(_, let problem, _, _), .parser(_, let problem, _, _), .composer(_, let problem, _, _):
            return "not valid YAML: \(problem)"
        case .reader(let problem, _, _, _):
            return "not valid YAML: \(problem)"
        case .duplicatedKeysInMapping:
            return "duplicate key: a key is given once in a map (this is its first occurrence)"
        default:
            return "not valid YAML (\(e))"
        }
    }

    /// The duplicated key of a duplicate-key error.
    static func yamlKey(_ e: YamlError) -> String? {
        if case .duplicatedKeysInMapping(let duplicates, _) = e { return duplicates.first }
        return nil
    }

    static func yamlLocation(_ e: YamlError, text: String, file: String) -> StudyLocation {
        switch e {
        case .scanner(_, _, let m, _), .parser(_, _, let m, _), .composer(_, _, let m, _):
            return location(m, file)
        case .duplicatedKeysInMapping(_, let context):
            return location(context.mark, file)
        case .reader(_, let offset, _, _):
            return location(offset: offset ?? 0, in: text, file: file)
        default:
            return StudyLocation(file: file, line: 1, column: 1)
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
