import RLHF

/// `KEY=VALUE` settings from the command line (`rlhf train --set`, `rlhf study --set`), with
/// dotted keys for nested settings: `bilevel.lower-step-size=0.01`, `teacher.mistake-rate=0.1`.
/// Keys are the names a study file's `settings` map takes (``TrainConfiguration``'s stored
/// properties, matched ignoring case, `-` and `_`).
public enum CommandLineSettings {
    /// The pairs as the body of a YAML map (two-space indent per level, dotted keys nested, first
    /// occurrence order kept; values as written).
    public static func yaml(_ pairs: [String], indent: String = "") -> String {
        final class Node { var keys: [String] = []; var children: [String: Node] = [:]; var value: String? }
        let root = Node()
        for pair in pairs {
            let parts = pair.split(separator: "=", maxSplits: 1).map(String.init)
            var node = root
            for key in parts[0].split(separator: ".").map({ $0.trimmingCharacters(in: .whitespaces) }) {
                if node.children[key] == nil { node.children[key] = Node(); node.keys.append(key) }
                node = node.children[key]!
            }
            node.value = parts.count > 1 ? parts[1].trimmingCharacters(in: .whitespaces) : ""
        }
        func render(_ n: Node, indent: String) -> String {
            n.keys.map { k in
                let c = n.children[k]!
                if c.keys.isEmpty { return "\(indent)\(k): \(c.value ?? "")" }
                return "\(indent)\(k):\n" + render(c, indent: indent + "  ")
            }.joined(separator: "\n")
        }
        return render(root, indent: indent)
    }

    /// The first pair that is not `KEY=VALUE` (has no `=`), or nil.
    public static func malformed(_ pairs: [String]) -> String? { pairs.first { !$0.contains("=") } }

    /// Applies `pairs` to `config`, in order, as a study's `settings` map would.
    ///
    /// - Throws: ``StudyError`` naming the key, for a pair without `=`, an unknown key or a value
    ///   of the wrong type (e.g. `'bilevel.betaa': unknown setting; known: …`).
    public static func apply(_ pairs: [String], to config: inout TrainConfiguration) throws {
        guard !pairs.isEmpty else { return }
        if let p = malformed(pairs) {
            throw StudyError("expected KEY=VALUE (e.g. bilevel.sigma=10), got '\(p)'", key: "--set")
        }
        let value: StudyValue
        do {
            value = try StudyValue.parse(yaml: yaml(pairs), file: "--set")
        } catch var e as StudyError {
            // Name the pair, not a line of the YAML made from all of them.
            let bad = pairs.first { (try? StudyValue.parse(yaml: yaml([$0]), file: "--set")) == nil } ?? pairs.joined(separator: " ")
            e.location = nil
            e.key = bad
            throw e
        }
        do {
            try ConfigurationOverrides.apply(value, to: &config, path: "")
        } catch var e as StudyError {
            e.location = nil   // line numbers of the generated YAML mean nothing to the user
            throw e
        }
    }
}
