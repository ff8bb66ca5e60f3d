import Foundation

extension Study {
    /// A study file's text with its `seeds` entry replaced by `seeds: count` (what `rlhf study
    /// FILE --seeds N` runs), so that the copy saved as `DIR/study.yaml` describes the runs in
    /// the folder. The rest of the file is kept as written.
    ///
    /// - Throws: ``StudyError`` if `text` is not a valid study file.
    public static func source(_ text: String, file: String, seeds count: Int) throws -> String {
        let note = "# rlhf study --seeds \(count): seeds 0…\(count - 1)"
        let root = try StudyValue.parse(yaml: text, file: file)
        guard case .map(let entries, _) = root,
              let seeds = entries.first(where: { $0.key == "seeds" }), seeds.keyLocation.column == 1 else {
            // A map written inline (`{name: …, seeds: 5}`): say so above it.
            return note + " (this file's own seeds were not used)\n" + text
        }
        var lines = text.components(separatedBy: "\n")
        let start = seeds.keyLocation.line - 1
        var end = entries.map { $0.keyLocation.line - 1 }.filter { $0 > start }.min() ?? lines.count
        // Blank and comment lines before the next key belong to it.
        while end > start + 1 {
            let t = lines[end - 1].trimmingCharacters(in: .whitespaces)
            guard t.isEmpty || t.hasPrefix("#") else { break }
            end -= 1
        }
        lines.replaceSubrange(start..<end, with: ["seeds: \(count)  \(note) (the file had: \(lines[start].trimmingCharacters(in: .whitespaces)))"])
        return lines.joined(separator: "\n")
    }
}
