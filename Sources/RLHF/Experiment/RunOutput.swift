import Foundation

/// The files a run writes into its output directory: `metrics.csv`, `summary.json`, and
/// `checkpoint.json` (what `--resume` continues from).
public enum RunOutput {
    /// Version of the checkpoint format. Version 2 added ``Checkpoint/checksum``; version 1
    /// files (no checksum) are still read, the others refused.
    public static let checkpointVersion = 2

    /// A saved run: its configuration and the state to continue from.
    public struct Checkpoint: Codable, Sendable {
        /// ``checkpointVersion`` at the time of writing.
        public var formatVersion: Int
        /// ``Checksum/fnv1a64(_:)`` of ``payloadBytes(configuration:state:)``: a damaged or
        /// edited file is refused by name. nil in version 1 files.
        public var checksum: String?
        /// The configuration the state belongs to.
        public var configuration: TrainConfiguration
        /// The state.
        public var state: TrainingState
    }

    /// The bytes a checkpoint's checksum covers: configuration and state as sorted-key JSON
    /// (deterministic, so a loaded checkpoint re-encodes to the same bytes).
    static func payloadBytes(configuration: TrainConfiguration, state: TrainingState) throws -> [UInt8] {
        struct Payload: Encodable { var configuration: TrainConfiguration; var state: TrainingState }
        return Array(try checkpointEncoder().encode(Payload(configuration: configuration, state: state)))
    }

    /// The encoder of checkpoints and of their checksum: property names as they are (no
    /// snake_case, so they decode back exactly) and sorted keys (the same bytes every time).
    static func checkpointEncoder() -> JSONEncoder {
        let e = JSONEncoder()
        e.outputFormatting = [.sortedKeys]
        return e
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

    /// The columns of `metrics.csv` every run has; the algorithm's diagnostics follow them.
    public static let csvHeader = "iteration,queries,env_steps,value,value_se,normalized_value,wall_seconds"

    /// The diagnostic column names of `records`: each record lists its figures in the
    /// algorithm's order, and a name first seen in a later record (undefined until then) goes
    /// right after the name that precedes it there.
    public static func diagnosticNames(_ records: [TrainingRecord]) -> [String] {
        mergedNames(records.map { ($0.diagnostics ?? []).map(\.name) })
    }

    /// The union of ordered name lists: a new name goes right after the name before it in its
    /// list, or (first in its list) right before the next known one, or else at the end.
    public static func mergedNames(_ lists: [[String]]) -> [String] {
        var names: [String] = []
        for list in lists {
            for (k, name) in list.enumerated() where !names.contains(name) {
                if let before = list[..<k].last(where: { names.contains($0) }) {
                    names.insert(name, at: names.firstIndex(of: before)! + 1)
                } else if let after = list[(k + 1)...].first(where: { names.contains($0) }) {
                    names.insert(name, at: names.firstIndex(of: after)!)
                } else {
                    names.append(name)
                }
            }
        }
        return names
    }

    /// `metrics.csv` for these records: empty `value_se` when values are exact, then one column
    /// per diagnostic of the algorithm (empty where a point has none: the first, or a figure
    /// undefined over the whole interval).
    public static func csv(_ records: [TrainingRecord]) -> String {
        let names = diagnosticNames(records)
        var lines = [([csvHeader] + names).joined(separator: ",")]
        for r in records {
            let se = r.valueStandardError.map { "\($0)" } ?? ""
            var line = "\(r.iteration),\(r.queries),\(r.envSteps),\(r.value),\(se),\(r.normalizedValue),\(r.wallSeconds)"
            for name in names {
                line += ","
                if let d = r.diagnostics?.first(where: { $0.name == name }) { line += "\(d.value)" }
            }
            lines.append(line)
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

    /// Writes `data` to `path` atomically (``AtomicFile/write(_:to:)``), so that a run
    /// stopped mid-write leaves the previous file intact.
    public static func write(_ data: Data, to path: String) throws {
        try AtomicFile.write(data, to: path)
    }

    /// Writes `metrics.csv` and `summary.json` of a finished run.
    public static func writeResult(_ result: TrainResult, to directory: String) throws {
        try prepare(directory: directory)
        try write(Data(csv(result.state.records).utf8), to: directory + "/metrics.csv")
        try write(encoder().encode(result.summary), to: directory + "/summary.json")
    }

    /// The settings in which two configurations differ, as dotted names with both values
    /// (`seed (0 in the checkpoint, 1 now)`, `teacher.mistake-rate (…)`), in name order.
    static func differences(_ saved: TrainConfiguration, _ wanted: TrainConfiguration) -> [String] {
        func object(_ c: TrainConfiguration) -> Any? {
            try? JSONSerialization.jsonObject(with: encoder(pretty: false).encode(c))
        }
        func show(_ x: Any?) -> String {
            guard let x, !(x is NSNull) else { return "unset" }
            if let data = try? JSONSerialization.data(withJSONObject: x, options: [.sortedKeys, .fragmentsAllowed]) {
                return String(decoding: data, as: UTF8.self)
            }
            return "\(x)"
        }
        var out: [String] = []
        func walk(_ x: Any?, _ y: Any?, _ path: String) {
            if let dx = x as? [String: Any], let dy = y as? [String: Any] {
                for k in Set(dx.keys).union(dy.keys).sorted() {
                    let name = k.replacingOccurrences(of: "_", with: "-")
                    walk(dx[k], dy[k], path.isEmpty ? name : path + "." + name)
                }
            } else if show(x) != show(y) {
                out.append("\(path) (\(show(x)) in the checkpoint, \(show(y)) now)")
            }
        }
        walk(object(saved), object(wanted), "")
        return out.isEmpty ? ["some settings"] : out
    }

    /// Path of the checkpoint in an output directory.
    public static func checkpointPath(in directory: String) -> String { directory + "/checkpoint.json" }

    /// Saves a checkpoint (and the metrics so far, so a stopped run leaves readable output).
    public static func saveCheckpoint(_ state: TrainingState, configuration: TrainConfiguration, in directory: String) throws {
        let sum = Checksum.fnv1a64(try payloadBytes(configuration: configuration, state: state))
        let c = Checkpoint(formatVersion: checkpointVersion, checksum: sum, configuration: configuration, state: state)
        try write(checkpointEncoder().encode(c), to: checkpointPath(in: directory))
        try write(Data(csv(state.records).utf8), to: directory + "/metrics.csv")
    }

    /// The bytes of the file at `path`, refused by name when it is missing, a directory, or
    /// larger than `limit` bytes (checked before reading, so a huge file is not allocated, and
    /// again after, for a file that grew meanwhile). `what` names the file in messages ("a file
    /// of labels").
    public static func readBounded(_ path: String, limit: Int, what: String) throws -> Data {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else {
            throw RLHFError.io(path: path, message: "no such file")
        }
        guard !isDirectory.boolValue else { throw RLHFError.io(path: path, message: "is a directory, not \(what)") }
        let attributes = try? FileManager.default.attributesOfItem(atPath: path)
        if let size = (attributes?[.size] as? NSNumber)?.intValue, size > limit {
            throw RLHFError.io(path: path, message: "is \(size.formatted) bytes, above the limit of \(limit.formatted) for \(what)")
        }
        guard let data = FileManager.default.contents(atPath: path) else {
            throw RLHFError.io(path: path, message: "cannot read the file")
        }
        guard data.count <= limit else {
            throw RLHFError.io(path: path, message: "is above the limit of \(limit.formatted) bytes for \(what)")
        }
        return data
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
        } catch let e as DecodingError {
            throw RLHFError.io(path: path, message: "not a readable checkpoint: \(e.message())" + (e.path().map { " at \($0)" } ?? ""))
        }
        guard c.formatVersion == checkpointVersion || c.formatVersion == 1 else {
            throw RLHFError.io(path: path, message: "checkpoint format \(c.formatVersion), this version reads 1 and \(checkpointVersion)")
        }
        if c.formatVersion >= 2 {
            let sum = Checksum.fnv1a64(try payloadBytes(configuration: c.configuration, state: c.state))
            guard c.checksum == sum else {
                throw RLHFError.io(path: path, message: "the checkpoint is damaged or was edited (its checksum \(c.checksum ?? "is missing"), its content hashes to \(sum)); rerun without --resume, or into another --out directory")
            }
        }
        var saved = c.configuration, wanted = configuration
        saved.threads = 1
        wanted.threads = 1
        // A policy left unset and the policy it resolves to are the same run (checkpoints
        // written before the policy could be unset name it).
        let tabular = (try? configuration.environment.resolve())?.isTabular ?? true
        saved.policy = saved.resolvedPolicy(tabular: tabular)
        wanted.policy = wanted.resolvedPolicy(tabular: tabular)
        guard saved == wanted else {
            throw RLHFError.io(path: path, message: "the checkpoint was written by a run with other settings: \(differences(saved, wanted).joined(separator: "; ")); rerun with the same options, or use another --out directory")
        }
        // Only the zeroth-order methods resume (the training loop refuses the others, whose
        // state is more than θ); their iterations all cost `queriesPerIteration`.
        if configuration.algorithm.isZerothOrder {
            do {
                try c.state.validate(budget: configuration.budget, queriesPerIteration: configuration.queriesPerIteration)
            } catch let e as RLHFError {
                throw RLHFError.io(path: path, message: "\(e)")
            }
        }
        return c.state
    }
}
