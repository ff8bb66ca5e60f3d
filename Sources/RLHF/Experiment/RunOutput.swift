import Foundation

/// The files a run writes into its output directory: `metrics.csv`, `summary.json`, and
/// `checkpoint.json` (what `--resume` continues from).
public enum RunOutput {
    /// Version of the checkpoint format; a checkpoint of another version is refused.
    public static let checkpointVersion = 1

    /// A saved run: its configuration and the state to continue from.
    public struct Checkpoint: Codable, Sendable {
        /// ``checkpointVersion`` at the time of writing.
        public var formatVersion: Int
        /// The configuration the state belongs to.
        public var configuration: TrainConfiguration
        /// The state.
        public var state: TrainingState
    }

    /// A JSON encoder with snake_case keys and sorted keys, as every file of the toolkit uses.
    public static func encoder(pretty: Bool = true) -> JSONEncoder {
        let e = JSONEncoder()
        e.keyEncodingStrategy = .convertToSnakeCase
        e.outputFormatting = pretty ? [.prettyPrinted, .sortedKeys] : [.sortedKeys]
        return e
    }

    /// The matching decoder.
    public static func decoder() -> JSONDecoder {
        let d = JSONDecoder()
        d.keyDecodingStrategy = .convertFromSnakeCase
        return d
    }

    /// The header of `metrics.csv`.
    public static let csvHeader = "iteration,queries,env_steps,value,value_se,normalized_value,wall_seconds"

    /// `metrics.csv` for these records (empty `value_se` when values are exact).
    public static func csv(_ records: [TrainingRecord]) -> String {
        var lines = [csvHeader]
        for r in records {
            let se = r.valueStandardError.map { "\($0)" } ?? ""
            lines.append("\(r.iteration),\(r.queries),\(r.envSteps),\(r.value),\(se),\(r.normalizedValue),\(r.wallSeconds)")
        }
        return lines.joined(separator: "\n") + "\n"
    }

    /// Creates `directory` if needed.
    public static func prepare(directory: String) throws {
        do {
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        } catch {
            throw RLHFError.io(path: directory, message: "cannot create the output directory (\(error))")
        }
    }

    /// Writes `data` to `path` atomically (a temporary file renamed into place), so that a run
    /// stopped mid-write leaves the previous file intact.
    public static func write(_ data: Data, to path: String) throws {
        let tmp = path + ".tmp"
        guard FileManager.default.createFile(atPath: tmp, contents: data) else {
            throw RLHFError.io(path: path, message: "cannot write the file")
        }
        if rename(tmp, path) != 0 {
            throw RLHFError.io(path: path, message: "cannot move the temporary file into place")
        }
    }

    /// Writes `metrics.csv` and `summary.json` of a finished run.
    public static func writeResult(_ result: TrainResult, to directory: String) throws {
        try prepare(directory: directory)
        try write(Data(csv(result.state.records).utf8), to: directory + "/metrics.csv")
        try write(encoder().encode(result.summary), to: directory + "/summary.json")
    }

    /// The top-level settings in which two configurations differ.
    static func differences(_ a: TrainConfiguration, _ b: TrainConfiguration) -> [String] {
        func dictionary(_ c: TrainConfiguration) -> [String: Any] {
            (try? JSONSerialization.jsonObject(with: encoder(pretty: false).encode(c))) as? [String: Any] ?? [:]
        }
        let da = dictionary(a), db = dictionary(b)
        let keys = Set(da.keys).union(db.keys).sorted()
        let differing = keys.filter { key in
            let va = da[key].map { "\($0)" }, vb = db[key].map { "\($0)" }
            return va != vb
        }
        return differing.isEmpty ? ["some settings"] : differing
    }

    /// Path of the checkpoint in an output directory.
    public static func checkpointPath(in directory: String) -> String { directory + "/checkpoint.json" }

    /// Saves a checkpoint (and the metrics so far, so a stopped run leaves readable output).
    public static func saveCheckpoint(_ state: TrainingState, configuration: TrainConfiguration, in directory: String) throws {
        let c = Checkpoint(formatVersion: checkpointVersion, configuration: configuration, state: state)
        // Property names as they are (no snake_case): they must decode back exactly.
        try write(JSONEncoder().encode(c), to: checkpointPath(in: directory))
        try write(Data(csv(state.records).utf8), to: directory + "/metrics.csv")
    }

    /// Loads the checkpoint of `directory`, checking that it belongs to `configuration`
    /// (the thread count may differ: it does not change the numbers).
    public static func loadCheckpoint(in directory: String, for configuration: TrainConfiguration) throws -> TrainingState {
        let path = checkpointPath(in: directory)
        guard let data = FileManager.default.contents(atPath: path) else {
            throw RLHFError.io(path: path, message: "no checkpoint to resume from")
        }
        let c: Checkpoint
        do {
            c = try JSONDecoder().decode(Checkpoint.self, from: data)
        } catch {
            throw RLHFError.io(path: path, message: "not a readable checkpoint (\(error))")
        }
        guard c.formatVersion == checkpointVersion else {
            throw RLHFError.io(path: path, message: "checkpoint format \(c.formatVersion), this version reads \(checkpointVersion)")
        }
        var saved = c.configuration, wanted = configuration
        saved.threads = 1
        wanted.threads = 1
        guard saved == wanted else {
            throw RLHFError.io(path: path, message: "the checkpoint was written by a run with a different configuration (\(differences(saved, wanted).joined(separator: ", ")) differ); rerun with the same options, or use another --out directory")
        }
        return c.state
    }
}
