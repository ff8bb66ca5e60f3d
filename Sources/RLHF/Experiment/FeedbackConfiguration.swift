import Foundation

/// Who answers a run's comparisons (`--feedback`), and where their answers are kept.
///
/// `simulated` (the default) is the in-process ``EvaluatorPanel``. `replay` answers every pair
/// from a file of answers recorded earlier (``RecordedPreferences``): the run repeats a recorded
/// one exactly, and stops with the pair's name at the first pair the file does not have.
/// `service` sends every pair to a labeling service (`rlhf serve`) and waits for people or
/// simulated annotators to answer; it is provided by the `RLHFService` module, which the `rlhf`
/// tool registers (``PreferenceSources/register(_:factory:)``).
public struct FeedbackConfiguration: Sendable, Equatable, Codable {
    /// The kinds of source.
    public enum Kind: String, Sendable, Equatable, Codable, CaseIterable {
        /// The in-process simulated panel.
        case simulated
        /// Answers recorded earlier (``FeedbackConfiguration/replay``).
        case replay
        /// A labeling service (``FeedbackConfiguration/server``, ``FeedbackConfiguration/project``).
        case service
    }

    /// The source.
    public var kind: Kind = .simulated
    /// `replay`: the JSON Lines file of answers (written by ``record``).
    public var replay: String? = nil
    /// Record every pair's answer (its name and p̂) to this JSON Lines file as the run goes.
    public var record: String? = nil
    /// `service`: the service's base URL, e.g. `http://127.0.0.1:8080`.
    public var server: String? = nil
    /// `service`: the project the pairs go to (created if it does not exist).
    public var project: String? = nil
    /// `service`: the run's name within the project, the prefix of every pair's key (nil:
    /// `<algorithm>-seed<seed>`). A restarted or resumed run with the same name finds the answers
    /// already given; a new name asks afresh.
    public var run: String? = nil
    /// `service`: create the project for simulated annotators (`rlhf annotate`): its tasks carry
    /// the returns and answer streams that bots answer from. Never for people.
    public var simulatedAnnotators: Bool = false
    /// `service`: seconds between polls for answers. Default 1: a person takes seconds per answer.
    public var pollSeconds: Double = 1
    /// `service`: give up when no new answer arrived for this many seconds (nil: wait as long as
    /// it takes; people go home at night).
    public var timeoutSeconds: Double? = nil

    /// The simulated panel.
    public init() {}

    /// Throws unless the fields the kind needs are set and the others are sensible.
    public func validate() throws {
        switch kind {
        case .simulated:
            break
        case .replay:
            guard let r = replay, !r.isEmpty else {
                throw RLHFError.invalidArgument(name: "feedback", message: "replay needs the file of recorded answers (--replay FILE)")
            }
        case .service:
            guard let s = server, let url = URL(string: s), let scheme = url.scheme, ["http", "https"].contains(scheme), url.host != nil else {
                throw RLHFError.invalidArgument(name: "server", message: "the service needs an http:// or https:// URL (--server URL), got \(server.map { "'\($0)'" } ?? "none")")
            }
            guard let p = project, Self.isValidName(p) else {
                throw RLHFError.invalidArgument(name: "project", message: "the service needs a project name of 1–64 letters, digits, '-', '_' or '.' (--project NAME), got \(project.map { "'\($0)'" } ?? "none")")
            }
            if let r = run, !Self.isValidName(r) {
                throw RLHFError.invalidArgument(name: "run", message: "'\(r)' is not a run name: 1–64 letters, digits, '-', '_' or '.'")
            }
        }
        if kind != .service && (server != nil || project != nil) {
            throw RLHFError.invalidArgument(name: "feedback", message: "--server and --project apply to --feedback service")
        }
        if let r = record, r.isEmpty { throw RLHFError.invalidArgument(name: "record", message: "the file name is empty") }
        try Validate.inRange(pollSeconds, 0.01...3600, "poll seconds")
        if let t = timeoutSeconds { try Validate.positive(t, "timeout seconds") }
    }

    /// Whether `name` is a project or run name: 1–64 ASCII letters, digits, `-`, `_`, `.`.
    public static func isValidName(_ name: String) -> Bool {
        !name.isEmpty && name.utf8.count <= 64 && name.utf8.allSatisfy { c in
            (c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x5A) || (c >= 0x61 && c <= 0x7A) || c == 0x2D || c == 0x5F || c == 0x2E
        }
    }
}

/// What a preference source is built from: the run's feedback configuration, its model of the
/// evaluators, and what a person needs to see the environment.
public struct PreferenceSourceContext: Sendable {
    /// The configuration's `feedback`.
    public var feedback: FeedbackConfiguration
    /// The panel (M, link, teacher).
    public var panel: EvaluatorPanel
    /// The environment's name, as configured.
    public var environmentName: String
    /// The labeling service's description of the environment (``LabelingDisplay``), JSON.
    public var environmentDescription: Data
    /// The run's algorithm and seed (the default run name).
    public var algorithm: String
    public var seed: UInt64
}

/// The preference sources beyond the toolkit's own (`service`, from the `RLHFService` module).
public enum PreferenceSources {
    /// Builds a source of a kind.
    public typealias Factory = @Sendable (PreferenceSourceContext) throws -> any PreferenceSource

    nonisolated(unsafe) static var factories: [FeedbackConfiguration.Kind: Factory] = [:]
    static let lock = NSLock()

    /// Registers the factory of `kind` (the `rlhf` tool registers `service` at start).
    public static func register(_ kind: FeedbackConfiguration.Kind, factory: @escaping Factory) {
        lock.lock(); defer { lock.unlock() }
        factories[kind] = factory
    }

    /// The source a run's configuration names: the panel, a replay, or a registered kind,
    /// wrapped in a recorder when ``FeedbackConfiguration/record`` is set.
    public static func make(_ context: PreferenceSourceContext) throws -> any PreferenceSource {
        let f = context.feedback
        try f.validate()
        var source: any PreferenceSource
        switch f.kind {
        case .simulated:
            source = context.panel
        case .replay:
            source = try RecordedPreferences(path: f.replay!, answersPerPair: context.panel.evaluators)
        case .service:
            lock.lock()
            let factory = factories[.service]
            lock.unlock()
            guard let factory else {
                throw RLHFError.invalidArgument(name: "feedback", message: "--feedback service needs the labeling service's client (the rlhf tool has it; a library user calls LabelingService.registerClient())")
            }
            source = try factory(context)
        }
        if let path = f.record { source = try RecordingSource(source, path: path) }
        return source
    }
}
