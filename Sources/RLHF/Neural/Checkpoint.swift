#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A saved model: its flat parameter vector, optionally its optimizer's flat state, and a
/// header that says what they belong to.
///
/// File format (version 1): the 8 bytes `RLHFCKPT`; a UTF-8 header of `key: value` lines ended by
/// an empty line (`format-version`, `architecture` — e.g. `mlp 4-64-64-2 relu identity` —,
/// `parameters` (count), `optimizer` (`none`, `sgd`, `adam`), `optimizer-step`,
/// `optimizer-state` (count), `optimizer-hyperparameters` (`name=value,…`), and `meta.KEY`
/// lines); then the parameters and the optimizer state as little-endian IEEE-754 doubles, so a
/// round trip is exact. Loading into a different architecture or optimizer throws
/// ``RLHFError/io(path:message:)`` naming both.
public struct NeuralCheckpoint: Sendable, Equatable {
    /// The format version this code writes and reads.
    public static let formatVersion = 1
    static let magic: [UInt8] = Array("RLHFCKPT".utf8)

    /// The architecture description of the saved model (``MLP/architecture``).
    public var architecture: String
    /// The flat parameter vector.
    public var parameters: [Double]
    /// The optimizer's ``Optimizer/kind``, nil when none was saved.
    public var optimizerKind: String?
    /// The optimizer's step count (0 when none was saved).
    public var optimizerStepCount: Int
    /// The optimizer's hyperparameters by name.
    public var optimizerHyperparameters: [String: Double]
    /// The optimizer's flat state (empty when none was saved).
    public var optimizerState: [Double]
    /// Free-form metadata (keys without `:` or newlines; newlines in values become spaces).
    public var metadata: [String: String]
    /// The file this checkpoint was read from, or `"checkpoint"`; used in error messages.
    public var source: String

    /// Captures `network`'s parameters and, when given, `optimizer`'s state.
    public init(network: MLP, optimizer: (any Optimizer)? = nil, metadata: [String: String] = [:]) {
        architecture = network.architecture
        parameters = network.parameters
        optimizerKind = optimizer?.kind
        optimizerStepCount = optimizer?.stepCount ?? 0
        optimizerHyperparameters = Dictionary(uniqueKeysWithValues: (optimizer?.hyperparameters ?? []).map { ($0.name, $0.value) })
        optimizerState = optimizer?.state ?? []
        self.metadata = metadata
        source = "checkpoint"
    }

    /// Copies the parameters into `network`, after checking that its architecture and parameter
    /// count are those saved. Gradients are left alone.
    public func restore(into network: inout MLP) throws {
        guard network.architecture == architecture, network.parameterCount == parameters.count else {
            throw RLHFError.io(path: source, message: "architecture mismatch: the checkpoint holds '\(architecture)' "
                               + "(\(parameters.count) parameters) but the model is '\(network.architecture)' "
                               + "(\(network.parameterCount) parameters)")
        }
        network.parameters = parameters
    }

    /// Restores `optimizer`'s step count and state, after checking its kind and size.
    public func restore<O: Optimizer>(into optimizer: inout O) throws {
        guard let optimizerKind else {
            throw RLHFError.io(path: source, message: "the checkpoint holds no optimizer state")
        }
        guard optimizer.kind == optimizerKind else {
            throw RLHFError.io(path: source, message: "optimizer mismatch: the checkpoint holds '\(optimizerKind)' state, "
                               + "the optimizer is '\(optimizer.kind)'")
        }
        guard optimizer.state.count == optimizerState.count else {
            throw RLHFError.io(path: source, message: "optimizer mismatch: the checkpoint holds \(optimizerState.count) "
                               + "\(optimizerKind) state values, the optimizer has \(optimizer.state.count)")
        }
        try optimizer.restore(stepCount: optimizerStepCount, state: optimizerState)
    }

    /// The file's bytes.
    public func encoded() -> [UInt8] {
        func clean(_ s: String) -> String { s.split(whereSeparator: \.isNewline).joined(separator: " ") }
        var header = "format-version: \(NeuralCheckpoint.formatVersion)\n"
        header += "architecture: \(clean(architecture))\n"
        header += "parameters: \(parameters.count)\n"
        header += "optimizer: \(optimizerKind.map(clean) ?? "none")\n"
        header += "optimizer-step: \(optimizerStepCount)\n"
        header += "optimizer-state: \(optimizerState.count)\n"
        let hyper = optimizerHyperparameters.sorted { $0.key < $1.key }.map { "\(clean($0.key))=\($0.value)" }
        header += "optimizer-hyperparameters: \(hyper.joined(separator: ","))\n"
        for (k, v) in metadata.sorted(by: { $0.key < $1.key }) {
            header += "meta.\(clean(k).replacingColons()): \(clean(v))\n"
        }
        header += "\n"
        var bytes = NeuralCheckpoint.magic + Array(header.utf8)
        bytes.reserveCapacity(bytes.count + 8 * (parameters.count + optimizerState.count))
        for x in parameters + optimizerState {
            withUnsafeBytes(of: x.bitPattern.littleEndian) { bytes.append(contentsOf: $0) }
        }
        return bytes
    }

    /// Parses a file's bytes; `source` names it in error messages.
    public init(bytes: [UInt8], source: String = "checkpoint") throws {
        func fail(_ message: String) -> RLHFError { .io(path: source, message: message) }
        guard bytes.count >= 8, Array(bytes[0..<8]) == NeuralCheckpoint.magic else {
            throw fail("not an RLHF neural checkpoint (bad magic bytes)")
        }
        // The header ends at the first empty line.
        var end = 8
        var headerEnd = -1
        while end + 1 < bytes.count {
            if bytes[end] == 10 && bytes[end + 1] == 10 { headerEnd = end + 1; break }
            end += 1
        }
        guard headerEnd > 0 else { throw fail("truncated checkpoint header") }
        let header = String(decoding: bytes[8..<headerEnd], as: UTF8.self)
        var fields: [String: String] = [:]
        var metadata: [String: String] = [:]
        for line in header.split(separator: "\n") {
            guard let colon = line.firstIndex(of: ":") else { throw fail("malformed header line '\(line)'") }
            let key = String(line[..<colon])
            let value = String(line[line.index(after: colon)...]).trimmingLeadingSpace()
            if key.hasPrefix("meta.") { metadata[String(key.dropFirst(5))] = value } else { fields[key] = value }
        }
        guard let version = fields["format-version"].flatMap({ Int($0) }) else { throw fail("missing format-version") }
        guard version == NeuralCheckpoint.formatVersion else {
            throw fail("checkpoint format version \(version) is not supported (this build reads version \(NeuralCheckpoint.formatVersion))")
        }
        guard let architecture = fields["architecture"], let count = fields["parameters"].flatMap({ Int($0) }), count >= 0,
              let optimizer = fields["optimizer"], let step = fields["optimizer-step"].flatMap({ Int($0) }),
              let stateCount = fields["optimizer-state"].flatMap({ Int($0) }), stateCount >= 0 else {
            throw fail("checkpoint header lacks architecture, parameters or optimizer fields")
        }
        var hyper: [String: Double] = [:]
        for item in (fields["optimizer-hyperparameters"] ?? "").split(separator: ",") {
            let parts = item.split(separator: "=", maxSplits: 1)
            guard parts.count == 2, let v = Double(parts[1]) else { throw fail("malformed optimizer hyperparameter '\(item)'") }
            hyper[String(parts[0])] = v
        }
        let expected = headerEnd + 1 + 8 * (count + stateCount)
        guard bytes.count == expected else {
            throw fail("checkpoint has \(bytes.count) bytes, expected \(expected) for \(count) parameters and \(stateCount) optimizer values")
        }
        var values = [Double](repeating: 0, count: count + stateCount)
        var p = headerEnd + 1
        for i in 0..<values.count {
            var bits: UInt64 = 0
            for b in 0..<8 { bits |= UInt64(bytes[p + b]) << (8 * UInt64(b)) }
            values[i] = Double(bitPattern: bits)
            p += 8
        }
        self.architecture = architecture
        self.parameters = Array(values[0..<count])
        self.optimizerKind = optimizer == "none" ? nil : optimizer
        self.optimizerStepCount = step
        self.optimizerHyperparameters = hyper
        self.optimizerState = Array(values[count...])
        self.metadata = metadata
        self.source = source
    }

    /// Writes the checkpoint to `path` (replacing the file).
    public func write(to path: String) throws {
        try AtomicFile.write(encoded(), to: path)
    }

    /// Reads the checkpoint at `path`.
    public init(contentsOf path: String) throws {
        guard let file = fopen(path, "rb") else {
            throw RLHFError.io(path: path, message: "cannot open: \(String(cString: strerror(errno)))")
        }
        defer { fclose(file) }
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 1 << 16)
        while true {
            let n = chunk.withUnsafeMutableBufferPointer { fread($0.baseAddress, 1, $0.count, file) }
            if n > 0 { bytes.append(contentsOf: chunk[0..<n]) }
            if n < chunk.count { break }
        }
        guard ferror(file) == 0 else { throw RLHFError.io(path: path, message: "read failed") }
        try self.init(bytes: bytes, source: path)
    }
}

extension MLP {
    /// Saves the parameters (and `optimizer`'s state, when given) to `path`.
    public func save(to path: String, optimizer: (any Optimizer)? = nil, metadata: [String: String] = [:]) throws {
        try NeuralCheckpoint(network: self, optimizer: optimizer, metadata: metadata).write(to: path)
    }

    /// Loads the parameters saved at `path`; throws if the file's architecture differs.
    public mutating func load(from path: String) throws {
        try NeuralCheckpoint(contentsOf: path).restore(into: &self)
    }
}

extension String {
    fileprivate func replacingColons() -> String { String(map { $0 == ":" ? "_" : $0 }) }
    fileprivate func trimmingLeadingSpace() -> String { String(drop(while: { $0 == " " })) }
}
