import Foundation

/// One recorded answer: a pair's name and its p̂ (nil: skipped), as a line of an answers file.
public struct RecordedAnswer: Sendable, Codable, Equatable {
    /// The pair's key (``ComparisonRequest/key``).
    public var key: String
    /// p̂, the fraction of answers preferring τ¹; nil when the pair was skipped.
    public var rate: Double?
    /// M, the answers it stands for.
    public var answers: Int

    /// Creates a record.
    public init(key: String, rate: Double?, answers: Int) {
        self.key = key
        self.rate = rate
        self.answers = answers
    }
}

/// A preference source that replays answers recorded earlier (`--feedback replay --replay FILE`):
/// every pair is answered with the p̂ recorded under its key, so a run repeats a recorded run —
/// one answered by people through the service, say — exactly, without asking anyone.
public struct RecordedPreferences: PreferenceSource {
    /// p̂ by key.
    public let answers: [String: Double?]
    /// M.
    public let answersPerPair: Int
    /// Where the answers came from (for messages).
    public let path: String

    /// Reads an answers file written by ``RecordingSource``. A damaged line is refused by its
    /// number; a key recorded twice with different answers is refused; every record must stand
    /// for `answersPerPair` answers.
    public init(path: String, answersPerPair: Int) throws {
        let data = try RunOutput.readBounded(path, limit: Limits.labelFileBytes, what: "a file of recorded answers")
        let decoder = RunOutput.decoder()
        var map = [String: Double?]()
        for (i, line) in data.split(separator: 0x0A, omittingEmptySubsequences: false).enumerated() where !line.isEmpty {
            let record: RecordedAnswer
            do { record = try decoder.decode(RecordedAnswer.self, from: Data(line)) } catch {
                throw RLHFError.io(path: path, message: "line \(i + 1) is not a recorded answer (\((error as? DecodingError)?.message() ?? "\(error)"))")
            }
            if let r = record.rate, !(0...1).contains(r) {
                throw RLHFError.io(path: path, message: "line \(i + 1): p̂ = \(r) is outside [0, 1]")
            }
            guard record.answers == answersPerPair else {
                throw RLHFError.io(path: path, message: "line \(i + 1): the answer stands for \(record.answers) evaluators; this run has M = \(answersPerPair)")
            }
            if let old = map[record.key], old != record.rate {
                throw RLHFError.io(path: path, message: "line \(i + 1): pair '\(record.key)' was recorded before with another answer")
            }
            map[record.key] = record.rate
        }
        answers = map
        self.answersPerPair = answersPerPair
        self.path = path
    }

    public func judge(_ requests: [ComparisonRequest]) throws -> [Double?] {
        try requests.map { r in
            guard let rate = answers[r.key.description] else {
                throw RLHFError.io(path: path, message: "no answer recorded for pair '\(r.key)' (the file has \(answers.count) answers; is this the recorded run's configuration and seed?)")
            }
            return rate
        }
    }
}

/// Wraps a source and appends every answer it gives to a JSON Lines file (`--record FILE`),
/// flushed to disk before the answers are used: what ``RecordedPreferences`` replays.
public final class RecordingSource: PreferenceSource, @unchecked Sendable {
    /// The wrapped source.
    public let inner: any PreferenceSource
    let handle: FileHandle
    let lock = NSLock()
    let path: String

    /// Opens `path` for appending (creating it).
    public init(_ inner: any PreferenceSource, path: String) throws {
        self.inner = inner
        self.path = path
        if !FileManager.default.fileExists(atPath: path) {
            guard FileManager.default.createFile(atPath: path, contents: nil) else {
                throw RLHFError.io(path: path, message: "cannot create the answers file")
            }
        }
        guard let h = FileHandle(forWritingAtPath: path) else { throw RLHFError.io(path: path, message: "cannot open the answers file") }
        h.seekToEndOfFile()
        handle = h
    }

    deinit { try? handle.close() }

    public var answersPerPair: Int { inner.answersPerPair }
    public var needsTrajectories: Bool { inner.needsTrajectories }

    public func judge(_ requests: [ComparisonRequest]) throws -> [Double?] {
        let rates = try inner.judge(requests)
        let encoder = RunOutput.encoder(pretty: false)
        var data = Data()
        for (r, rate) in zip(requests, rates) {
            data.append(try encoder.encode(RecordedAnswer(key: r.key.description, rate: rate, answers: inner.answersPerPair)))
            data.append(0x0A)
        }
        lock.lock(); defer { lock.unlock() }
        do {
            try handle.write(contentsOf: data)
            try handle.synchronize()
        } catch {
            throw RLHFError.io(path: path, message: "cannot record answers (\(error))")
        }
        return rates
    }
}
