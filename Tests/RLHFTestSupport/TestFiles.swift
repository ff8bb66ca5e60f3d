import Foundation

/// Temporary folders and result files of the file-writing tests.
public enum TestFiles {
    /// A fresh path under the temporary directory, `PREFIX-<UUID>`: created when `create` is
    /// true, otherwise absent (for code that creates its folder itself).
    public static func temporaryDirectory(_ prefix: String, create: Bool = true) -> String {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("\(prefix)-\(UUID().uuidString)").path
        if create { try? FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true) }
        return dir
    }

    /// A `results.csv` text without its `wall_seconds` column (the only column that may differ
    /// between two computations of the same runs); the text itself if it has no such column.
    public static func withoutWallTime(_ csv: String) -> String {
        let lines = csv.split(separator: "\n").map { $0.split(separator: ",", omittingEmptySubsequences: false) }
        guard let i = lines.first?.firstIndex(of: "wall_seconds") else { return csv }
        return lines.map { var l = $0; l.remove(at: i); return l.joined(separator: ",") }.joined(separator: "\n")
    }
}
