/// A study described by `rlhf study` flags (`--algorithms`, `--envs`, `--links`, `--budgets`,
/// `--seeds`, `--name`, `--set`, `--evaluations`): the YAML a study file would hold (saved as
/// `DIR/study.yaml` and printed by `--show`), and errors that name the flag rather than a line
/// of that YAML, which the user never saw.
public struct StudyFromFlags: Sendable, Equatable {
    /// Algorithms, comma-separated.
    public var algorithms: String
    /// Environments, comma-separated.
    public var environments: String = "classic"
    /// Links, comma-separated.
    public var links: String = "bradley-terry"
    /// Query budgets, comma-separated.
    public var budgets: String = "1e4,1e5"
    /// Seeds 0…seeds−1.
    public var seeds: Int = 5
    /// The study's name.
    public var name: String = "study"
    /// `KEY=VALUE` settings of every run (``CommandLineSettings``).
    public var settings: [String] = []
    /// Evaluation points per run.
    public var evaluations: Int? = nil

    /// The file name errors of a flags study carry before ``attributing(_:)`` renames them.
    public static let file = "<flags>"

    /// Creates a description; the defaults are `rlhf study`'s.
    public init(algorithms: String) { self.algorithms = algorithms }

    /// The YAML these flags describe.
    public var yaml: String {
        lines.map(\.text).joined(separator: "\n")
    }

    /// The YAML's lines, each with the flag it comes from.
    var lines: [(flag: String, text: String)] {
        func list(_ s: String) -> String {
            "[" + s.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.joined(separator: ", ") + "]"
        }
        var lines: [(String, String)] = [
            ("--name", "name: \(name)"),
            ("--algorithms", "question: How do \(Self.phrase(algorithms)) compare?"),
            ("--envs", "environments: \(list(environments))"),
            ("--links", "links: \(list(links))"),
            ("--seeds", "seeds: \(seeds)"),
            ("--budgets", "budgets: \(list(budgets))"),
            ("--algorithms", "algorithms: \(list(algorithms))"),
        ]
        if let evaluations { lines.append(("--evaluations", "evaluations: \(evaluations)")) }
        if !settings.isEmpty {
            lines.append(("--set", "settings:"))
            for line in CommandLineSettings.yaml(settings, indent: "  ").split(separator: "\n", omittingEmptySubsequences: false) {
                lines.append(("--set", String(line)))
            }
        }
        return lines
    }

    /// The study these flags describe, checked: errors name the flag (`'--algorithms': unknown
    /// algorithm 'dpoo'; known: …`).
    public func study() throws -> Study {
        try attributing { try Study.parse(yaml: yaml, file: Self.file) }
    }

    /// Runs `body`, renaming a ``StudyError`` located in this YAML after the flag it comes from
    /// (by its key, else its line), without the line and column.
    public func attributing<T>(_ body: () throws -> T) throws -> T {
        do {
            return try body()
        } catch var e as StudyError where e.location?.file == Self.file || (e.location == nil && e.key != nil) {
            e.key = flag(for: e)
            e.location = nil
            throw e
        }
    }

    /// The flag (with the setting's name for `--set`) an error of this YAML comes from.
    func flag(for e: StudyError) -> String? {
        let byKey: [(String, String)] = [("name", "--name"), ("question", "--algorithms"), ("environments", "--envs"),
                                         ("links", "--links"), ("seeds", "--seeds"), ("budgets", "--budgets"),
                                         ("algorithms", "--algorithms"), ("evaluations", "--evaluations"), ("settings", "--set")]
        if let key = e.key {
            let head = String(key.prefix { $0 != "[" && $0 != "." })
            if let flag = byKey.first(where: { $0.0 == head })?.1 {
                if flag == "--set", key.count > head.count + 1 { return "--set " + key.dropFirst(head.count + 1) }
                // A run the configuration check refuses may owe it to --set as much as to --algorithms.
                if flag == "--algorithms" && !settings.isEmpty && head == key { return "--algorithms, --set" }
                return flag
            }
        }
        if let line = e.location?.line, line >= 1, line <= lines.count { return lines[line - 1].flag }
        return e.key
    }

    /// "zpg, zbcpg and online-dpo" from "zpg,zbcpg,online-dpo".
    static func phrase(_ list: String) -> String {
        let items = list.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }
        guard items.count > 1 else { return items.first ?? "" }
        return items.dropLast().joined(separator: ", ") + " and " + items.last!
    }
}

import Foundation
