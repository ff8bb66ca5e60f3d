import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// An error of the Gymnasium bridge: what went wrong, for which environment, and what to do.
public struct GymError: Error, CustomStringConvertible, LocalizedError {
    /// The environment's name (`gym:ID`).
    public var environment: String
    /// What happened.
    public var message: String

    /// Creates an error.
    public init(_ environment: String, _ message: String) {
        self.environment = environment
        self.message = message
    }

    public var description: String { "\(environment): \(message)" }
    public var errorDescription: String? { description }
}

/// One Python process running `gym_worker.py` (embedded in this module): a growing list of
/// Gymnasium environments ("slots") made by `gymnasium.make(id, **kwargs)`, reset and stepped
/// by binary frames over its standard input and output (the framing is documented at the top
/// of `gym_worker.py`). Its standard error is kept (the last 8 KiB) for error messages.
///
/// Requests are serialized by a lock, so the worker may be shared by threads; each frame is one
/// round trip. A worker that died, answered an error or sent a short frame is ``failed``: every
/// later request throws the first failure.
public final class GymWorker: @unchecked Sendable {
    /// The environment name used in messages (`gym:ID`).
    public let name: String
    /// What the worker reported of the environment at start.
    public let description: GymDescription
    /// Values per observation row.
    public let observationSize: Int
    /// Values per action row (1 for a discrete space).
    public let actionSize: Int

    let process: Process
    let toWorker: Int32
    let fromWorker: Int32
    let stderrTail: StderrTail
    let lock = NSLock()
    var failure: GymError?
    var closed = false
    var buffer: [UInt8] = []

    /// The Python interpreter used when neither `--python` nor `RLHF_PYTHON` names one.
    public static let defaultPython = "python3"

    /// The interpreter to run: `python` if given, else `RLHF_PYTHON`, else `python3`.
    public static func interpreter(_ python: String?) -> String {
        if let python, !python.isEmpty { return python }
        if let env = ProcessInfo.processInfo.environment["RLHF_PYTHON"], !env.isEmpty { return env }
        return defaultPython
    }

    /// The worker's source, embedded in the binary.
    public static var source: String { String(decoding: PackageResources.gym_worker_py, as: UTF8.self) }

    /// `gym_reference.py` (Gymnasium's own loops, for comparisons), embedded in the binary.
    public static var referenceSource: String { String(decoding: PackageResources.gym_reference_py, as: UTF8.self) }

    /// Starts a worker for Gymnasium environment `id` with `make` keyword arguments `kwargs`
    /// (a JSON object's text) and waits for its description.
    ///
    /// - Throws: ``GymError`` when Python cannot be started, Gymnasium (or a simulator it needs)
    ///   is missing, the id is unknown (Gymnasium's message), the arguments are refused, or a
    ///   space is not Discrete or Box.
    public init(id: String, kwargsJSON: String, python: String? = nil) throws {
        let name = "gym:\(id)"
        self.name = name
        signal(SIGPIPE, SIG_IGN)   // a dead worker must give an error, not kill the trainer
        let interpreter = GymWorker.interpreter(python)
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = [interpreter, "-u", "-c", GymWorker.source]
        let input = Pipe(), output = Pipe(), errors = Pipe()
        process.standardInput = input
        process.standardOutput = output
        process.standardError = errors
        let tail = StderrTail()
        stderrTail = tail
        errors.fileHandleForReading.readabilityHandler = { handle in tail.append(handle.availableData) }
        do {
            try process.run()
        } catch {
            throw GymError(name, "cannot start \(interpreter): \(error.localizedDescription)")
        }
        self.process = process
        let toWorker = input.fileHandleForWriting.fileDescriptor
        let fromWorker = output.fileHandleForReading.fileDescriptor
        self.toWorker = toWorker
        self.fromWorker = fromWorker
        // Keep the pipes' handles alive with the process (their descriptors are used directly).
        handles = [input.fileHandleForWriting, output.fileHandleForReading, errors.fileHandleForReading]

        let hello = "{\"protocol\": 1, \"id\": \(GymWorker.jsonString(id)), \"kwargs\": \(kwargsJSON)}\n"
        var reply: [UInt8] = []
        do {
            try GymWorker.writeAll(toWorker, Array(hello.utf8))
            reply = try GymWorker.readLine(fromWorker, limit: 1 << 20)
        } catch {
            process.waitUntilExit()
            Thread.sleep(forTimeInterval: 0.05)   // let the stderr handler drain
            let status = process.terminationStatus
            if status == 127 {
                throw GymError(name, "no Python interpreter '\(interpreter)' (install Python 3 with Gymnasium — python3 -m pip install \"gymnasium[mujoco]\" — or name one with --python or RLHF_PYTHON)")
            }
            throw GymError(name, "the Python worker (\(interpreter)) exited with status \(status) before describing the environment\(tail.suffix)")
        }
        let handshake: GymHandshake
        do {
            handshake = try JSONDecoder().decode(GymHandshake.self, from: Data(reply))
        } catch {
            throw GymError(name, "the Python worker (\(interpreter)) answered something that is not its description: \(String(decoding: reply.prefix(300), as: UTF8.self))\(tail.suffix)")
        }
        guard handshake.ok, let description = handshake.description else {
            process.waitUntilExit()
            throw GymError(name, GymWorker.explain(kind: handshake.kind ?? "error", message: handshake.message ?? "(no message)", interpreter: interpreter))
        }
        if let problem = description.problem {
            process.terminate()
            throw GymError(name, problem)
        }
        self.description = description
        observationSize = description.observation.size
        actionSize = description.action.isDiscrete ? 1 : description.action.size
    }

    let handles: [FileHandle]

    deinit { close() }

    /// Asks the worker to quit and waits for it (at most 5 s, then it is killed).
    public func close() {
        lock.lock()
        defer { lock.unlock() }
        guard !closed else { return }
        closed = true
        var quit: [UInt8] = [UInt8(ascii: "Q"), 0, 0, 0, 0]
        _ = quit.withUnsafeMutableBytes { write(toWorker, $0.baseAddress, 5) }
        try? handles[0].close()
        let deadline = Date().addingTimeInterval(5)
        while process.isRunning && Date() < deadline { Thread.sleep(forTimeInterval: 0.01) }
        if process.isRunning { kill(process.processIdentifier, SIGKILL) }
    }

    /// The first failure, if the worker failed.
    public var failed: GymError? { lock.withLock { failure } }

    static func explain(kind: String, message: String, interpreter: String) -> String {
        switch kind {
        case "gymnasium-missing":
            return "Gymnasium is not installed for \(interpreter): \(message)"
        case "dependency-missing":
            return "a simulator this environment needs is missing: \(message)"
        case "unknown-environment":
            return "Gymnasium does not know this environment: \(message)"
        case "unsupported-space":
            return "unsupported space: \(message)"
        default:
            return message
        }
    }

    // MARK: Requests

    /// Resets slot `slots[i]` with seed `seeds[i]` for each row (slots beyond the worker's
    /// count are made first) and returns the rows' observations, row-major.
    public func reset(slots: [Int], seeds: [UInt64]) throws -> [Double] {
        precondition(slots.count == seeds.count)
        return try lock.withLock {
            var frame = header("R", slots.count)
            for (s, seed) in zip(slots, seeds) {
                append(&frame, UInt32(s))
                append(&frame, seed)
            }
            try roundTrip(frame, replyBytes: 8 * slots.count * observationSize, what: "reset")
            return doubles(at: 0, count: slots.count * observationSize)
        }
    }

    /// The outcome of one lock-step step of k rows.
    public struct Steps {
        /// k × observationSize values, row-major.
        public var observations: [Double]
        /// k rewards.
        public var rewards: [Double]
        /// k flags: the episode reached a terminal state.
        public var terminated: [Bool]
        /// k flags: the episode was cut (Gymnasium's TimeLimit or another wrapper), not ended.
        public var truncated: [Bool]
    }

    /// Steps slot `slots[i]` with action row i of `actions` (k × ``actionSize`` values; for a
    /// discrete space, the action index as a Double) — one round trip for all rows.
    public func step(slots: [Int], actions: [Double]) throws -> Steps {
        precondition(actions.count == slots.count * actionSize)
        return try lock.withLock {
            let k = slots.count
            var frame = header("S", k)
            for s in slots { append(&frame, UInt32(s)) }
            if description.action.isDiscrete {
                for a in actions { append(&frame, UInt64(bitPattern: Int64(a))) }
            } else {
                for a in actions { append(&frame, a.bitPattern) }
            }
            let o = k * observationSize
            try roundTrip(frame, replyBytes: 8 * o + 8 * k + 2 * k, what: "step")
            let flags = 8 * (o + k)
            return Steps(observations: doubles(at: 0, count: o), rewards: doubles(at: 8 * o, count: k),
                         terminated: (0..<k).map { buffer[flags + $0] != 0 },
                         truncated: (0..<k).map { buffer[flags + k + $0] != 0 })
        }
    }

    // MARK: Framing

    func header(_ op: Character, _ k: Int) -> [UInt8] {
        var frame: [UInt8] = [op.asciiValue!]
        append(&frame, UInt32(k))
        return frame
    }

    func append<T: FixedWidthInteger>(_ frame: inout [UInt8], _ value: T) {
        withUnsafeBytes(of: value.littleEndian) { frame.append(contentsOf: $0) }
    }

    func doubles(at offset: Int, count: Int) -> [Double] {
        buffer.withUnsafeBytes { raw in
            (0..<count).map { i in Double(bitPattern: UInt64(littleEndian: raw.loadUnaligned(fromByteOffset: offset + 8 * i, as: UInt64.self))) }
        }
    }

    /// Sends `frame`, then reads the status byte and `replyBytes` bytes into ``buffer`` (or the
    /// worker's error message, which fails the worker). Called with the lock held.
    func roundTrip(_ frame: [UInt8], replyBytes: Int, what: String) throws {
        if let failure { throw failure }
        guard !closed else { throw GymError(name, "the worker was closed") }
        do {
            try GymWorker.writeAll(toWorker, frame)
            var status: UInt8 = 0
            try withUnsafeMutableBytes(of: &status) { try GymWorker.readExactly(fromWorker, $0) }
            if status != 0 {
                var n: UInt32 = 0
                try withUnsafeMutableBytes(of: &n) { try GymWorker.readExactly(fromWorker, $0) }
                let length = min(Int(UInt32(littleEndian: n)), 1 << 16)
                var text = [UInt8](repeating: 0, count: length)
                try text.withUnsafeMutableBytes { try GymWorker.readExactly(fromWorker, $0) }
                throw GymError(name, "Gymnasium failed in \(what): \(String(decoding: text, as: UTF8.self))")
            }
            if buffer.count < replyBytes { buffer = [UInt8](repeating: 0, count: replyBytes) }
            let fd = fromWorker
            try buffer.withUnsafeMutableBytes { try GymWorker.readExactly(fd, UnsafeMutableRawBufferPointer(rebasing: $0[0..<replyBytes])) }
        } catch let error as GymError {
            failure = error
            throw error
        } catch {
            let died = deathReport()
            let e = GymError(name, "the Python worker \(died) during a \(what)\(stderrTail.suffix)")
            failure = e
            throw e
        }
    }

    func deathReport() -> String {
        let deadline = Date().addingTimeInterval(2)
        while process.isRunning && Date() < deadline { Thread.sleep(forTimeInterval: 0.01) }
        if process.isRunning { return "stopped answering" }
        Thread.sleep(forTimeInterval: 0.05)
        switch process.terminationReason {
        case .uncaughtSignal: return "was killed by signal \(process.terminationStatus)"
        default: return "exited with status \(process.terminationStatus)"
        }
    }

    struct ShortRead: Error {}

    static func writeAll(_ toWorker: Int32, _ bytes: [UInt8]) throws {
        try bytes.withUnsafeBytes { raw in
            var offset = 0
            while offset < raw.count {
                let n = write(toWorker, raw.baseAddress! + offset, raw.count - offset)
                if n < 0 && errno == EINTR { continue }
                guard n > 0 else { throw ShortRead() }
                offset += n
            }
        }
    }

    static func readExactly(_ fromWorker: Int32, _ target: UnsafeMutableRawBufferPointer) throws {
        var offset = 0
        while offset < target.count {
            let n = read(fromWorker, target.baseAddress! + offset, target.count - offset)
            if n < 0 && errno == EINTR { continue }
            guard n > 0 else { throw ShortRead() }
            offset += n
        }
    }

    static func readLine(_ fromWorker: Int32, limit: Int) throws -> [UInt8] {
        var line: [UInt8] = []
        var byte: UInt8 = 0
        while true {
            let n = read(fromWorker, &byte, 1)
            if n < 0 && errno == EINTR { continue }
            guard n == 1 else { throw ShortRead() }
            if byte == 0x0A { return line }
            line.append(byte)
            guard line.count <= limit else { throw ShortRead() }
        }
    }

    static func jsonString(_ s: String) -> String {
        String(decoding: try! JSONEncoder().encode(s), as: UTF8.self)
    }
}

/// The last 8 KiB a worker wrote to its standard error.
final class StderrTail: @unchecked Sendable {
    let lock = NSLock()
    var bytes: [UInt8] = []

    func append(_ data: Data) {
        lock.withLock {
            bytes.append(contentsOf: data)
            if bytes.count > 8192 { bytes.removeFirst(bytes.count - 8192) }
        }
    }

    /// ": <the last lines>" or nothing.
    var suffix: String {
        let text = lock.withLock { String(decoding: bytes, as: UTF8.self) }
            .split(separator: "\n").suffix(6).joined(separator: "\n")
        return text.isEmpty ? "" : "; its last words:\n" + text
    }
}
