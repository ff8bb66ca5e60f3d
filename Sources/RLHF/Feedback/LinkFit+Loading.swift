import Foundation

extension LinkFit {
    /// The files votes are read from.
    public enum FileFormat: String, CaseIterable, Sendable, Codable {
        /// The labeling service's export (`GET /api/projects/{project}/export`, Docs/LabelingService.md):
        /// JSON Lines, one answer a line, with `first_return`, `second_return`, `choice` (`left`:
        /// τ0 preferred, `right`: τ1 preferred, `tie`, `skip`) and `annotator`.
        case export
        /// The toolkit's own ``PreferenceDataset`` (JSON Lines, one pair a line): the pair's label
        /// p̂ and evaluators M give p̂·M votes for τ1 and (1 − p̂)·M for τ0, at x =
        /// `second.total_return` − `first.total_return`.
        case dataset
        /// Whichever the first non-empty line is: an object with `choice` is an export, one with
        /// `label` a dataset.
        case auto
    }

    /// Votes read from a file, with what was read.
    public struct LoadedVotes: Sendable, Equatable {
        /// The votes.
        public var table: VoteTable
        /// The format read (never ``FileFormat/auto``).
        public var format: FileFormat
        /// Non-empty lines read.
        public var lines: Int
        /// Lines whose votes were used (answers of an export, pairs of a dataset).
        public var used: Int
        /// `skip` answers dropped (export).
        public var skipped: Int
        /// Answers of other annotators left out by the annotator filter (export).
        public var otherAnnotators: Int
        /// The annotators of the file with their answer counts (export; skips included).
        public var annotators: [String: Int]
    }

    /// Reads votes from an export or a dataset file (see ``FileFormat``), only the answers of
    /// `annotator` if given (export only).
    ///
    /// The file is refused before it is read if it is larger than ``Limits/labelFileBytes`` or has more than
    /// ``Limits/labelFileLines`` lines, and a damaged line is refused with the file name and its
    /// line number (1-based): not JSON, a missing or mistyped field, an unknown choice, a label
    /// outside [0, 1], a non-finite return difference.
    public static func load(path: String, format: FileFormat = .auto, annotator: String? = nil) throws -> LoadedVotes {
        let data = try RunOutput.readBounded(path, limit: Limits.labelFileBytes, what: "a file of labels")
        return try parse(data, source: path, format: format, annotator: annotator)
    }

    /// Reads votes from the bytes of an export or a dataset (``load(path:format:annotator:)``
    /// without the file); `source` names them in errors.
    public static func parse(_ data: Data, source: String, format: FileFormat = .auto, annotator: String? = nil) throws -> LoadedVotes {
        let newlines = data.withUnsafeBytes { raw in raw.reduce(0) { $1 == 0x0A ? $0 + 1 : $0 } }
        guard newlines <= Limits.labelFileLines else {
            throw RLHFError.io(path: source, message: "has more than the limit of \(Limits.labelFileLines.formatted) lines for a file of labels")
        }
        var loaded = LoadedVotes(table: VoteTable(), format: format, lines: 0, used: 0, skipped: 0,
                                 otherAnnotators: 0, annotators: [:])
        let decoder = RunOutput.decoder()
        var start = data.startIndex
        var number = 0
        while start < data.endIndex {
            let end = data[start...].firstIndex(of: 0x0A) ?? data.endIndex
            number += 1
            var line = data[start..<end]
            start = end < data.endIndex ? data.index(after: end) : end
            if line.last == 0x0D { line = line.dropLast() }
            guard line.contains(where: { $0 != 0x20 && $0 != 0x09 }) else { continue }
            loaded.lines += 1
            if loaded.format == .auto { loaded.format = try detect(Data(line), source: source, line: number) }
            if loaded.format == .dataset, annotator != nil {
                throw RLHFError.io(path: source, message: "is a preference dataset, whose pairs have no annotators: --annotator applies to the labeling service's export only")
            }
            do {
                switch loaded.format {
                case .export: try readAnswer(Data(line), decoder: decoder, annotator: annotator, into: &loaded)
                case .dataset: try readPair(Data(line), decoder: decoder, into: &loaded)
                case .auto: preconditionFailure("the format is detected above")
                }
            } catch let error as DecodingError {
                let what = loaded.format == .export ? "an answer of the labeling service's export" : "a pair of a preference dataset"
                let field = error.path(naming: snakeCase).map { " at '\($0)'" } ?? ""
                throw RLHFError.io(path: source, message: "line \(number) is not \(what): \(error.message(naming: snakeCase))\(field)")
            } catch let error as LineError {
                throw RLHFError.io(path: source, message: "line \(number): \(error.message)")
            } catch let error as LinkFitError {
                if case .invalidVote(_, let message) = error { throw RLHFError.io(path: source, message: "line \(number): \(message)") }
                throw error
            }
        }
        if loaded.format == .auto { loaded.format = .export }
        if let annotator, loaded.annotators[annotator] == nil {
            let names = loaded.annotators.keys.sorted()
            let shown = names.prefix(20).joined(separator: ", ") + (names.count > 20 ? ", …" : "")
            throw RLHFError.io(path: source, message: "has no answers of annotator '\(annotator)' (annotators: \(shown.isEmpty ? "none" : shown))")
        }
        return loaded
    }

    /// A line that decodes but says something impossible.
    struct LineError: Error { var message: String }

    /// One answer of the labeling service's export (the fields the fit needs).
    struct ExportAnswer: Decodable {
        var firstReturn: Double?
        var secondReturn: Double?
        var choice: String
        var annotator: String?
    }

    /// One pair of a ``PreferenceDataset`` (the fields the fit needs, whatever the state type).
    struct DatasetPair: Decodable {
        struct Side: Decodable { var totalReturn: Double }
        var first: Side
        var second: Side
        var label: Double
        var evaluators: Int
    }

    static func detect(_ line: Data, source: String, line number: Int) throws -> FileFormat {
        guard let object = (try? JSONSerialization.jsonObject(with: line)) as? [String: Any] else {
            throw RLHFError.io(path: source, message: "line \(number) is not a JSON object (expected an answer of the labeling service's export or a pair of a preference dataset)")
        }
        if object["choice"] != nil { return .export }
        if object["label"] != nil { return .dataset }
        throw RLHFError.io(path: source, message: "line \(number) is neither an answer of the labeling service's export (it has no 'choice') nor a pair of a preference dataset (it has no 'label'); give --format")
    }

    static func readAnswer(_ line: Data, decoder: JSONDecoder, annotator: String?, into loaded: inout LoadedVotes) throws {
        let answer = try decoder.decode(ExportAnswer.self, from: line)
        let name = answer.annotator ?? ""
        loaded.annotators[name, default: 0] += 1
        let outcome: Vote.Outcome
        switch answer.choice {
        case "right": outcome = .second
        case "left": outcome = .first
        case "tie": outcome = .tie
        case "skip": outcome = .tie     // not used: dropped below
        default: throw LineError(message: "unknown choice '\(answer.choice)' (known: left, right, tie, skip)")
        }
        if let annotator, name != annotator { loaded.otherAnnotators += 1; return }
        if answer.choice == "skip" { loaded.skipped += 1; return }
        guard let r0 = answer.firstReturn else { throw LineError(message: "has no 'first_return' (the fit needs the returns of both trajectories)") }
        guard let r1 = answer.secondReturn else { throw LineError(message: "has no 'second_return' (the fit needs the returns of both trajectories)") }
        let x = r1 - r0
        guard x.isFinite else { throw LineError(message: "the return difference second_return − first_return = \(r1) − \(r0) is not finite") }
        switch outcome {
        case .second: try loaded.table.add(difference: x, forSecond: 1, forFirst: 0)
        case .first: try loaded.table.add(difference: x, forSecond: 0, forFirst: 1)
        case .tie:
            try loaded.table.add(difference: x, forSecond: 0.5, forFirst: 0.5)
            loaded.table.noteTies(1)
        }
        loaded.used += 1
    }

    static func readPair(_ line: Data, decoder: JSONDecoder, into loaded: inout LoadedVotes) throws {
        let pair = try decoder.decode(DatasetPair.self, from: line)
        guard pair.label.isFinite, (0...1).contains(pair.label) else {
            throw LineError(message: "label \(pair.label) is outside [0, 1]")
        }
        guard pair.evaluators >= 1, pair.evaluators <= Limits.evaluators else {
            throw LineError(message: "evaluators \(pair.evaluators) is outside 1…\(Limits.evaluators.formatted)")
        }
        let x = pair.second.totalReturn - pair.first.totalReturn
        guard x.isFinite else {
            throw LineError(message: "the return difference second.total_return − first.total_return = \(pair.second.totalReturn) − \(pair.first.totalReturn) is not finite")
        }
        let m = Double(pair.evaluators)
        try loaded.table.add(difference: x, forSecond: pair.label * m, forFirst: (1 - pair.label) * m)
        loaded.used += 1
    }

    /// `firstReturn` → `first_return`, as the files spell their fields.
    static func snakeCase(_ name: String) -> String {
        var out = ""
        for ch in name {
            if ch.isUppercase { out += "_" + ch.lowercased() } else { out.append(ch) }
        }
        return out
    }
}
