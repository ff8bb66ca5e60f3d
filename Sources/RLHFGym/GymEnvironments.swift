import Foundation
import RLHF

/// The `gym:ID` environments: any environment registered with Gymnasium, run in a Python worker
/// (``GymWorker``), by name in `rlhf train`, `rlhf study` and ``Trainer`` once ``register()``
/// was called (the `rlhf` command calls it at start-up).
///
/// A spec `gym:ID` takes ``EnvironmentSpec/arguments`` (keyword arguments of `gymnasium.make`),
/// ``EnvironmentSpec/horizon`` (passed as `max_episode_steps`) and
/// ``EnvironmentSpec/referenceReturn`` (the return that normalizes to 1; default the registered
/// `reward_threshold`).
public enum GymEnvironments {
    /// The prefix of the names.
    public static let prefix = "gym:"

    /// The Python interpreter for workers: `--python`, else `RLHF_PYTHON`, else `python3`
    /// (``GymWorker/interpreter(_:)``). Set before anything resolves a `gym:` spec.
    nonisolated(unsafe) public static var python: String?

    /// Episodes of the random policy's value by which runs normalize (Monte-Carlo, fixed stream).
    public static let uniformEpisodes = 1_000

    /// Makes `gym:` names resolve (idempotent).
    public static func register() {
        EnvironmentRegistry.registerProvider(prefix: prefix) { spec in try registered(spec) }
    }

    /// The Gymnasium id of a `gym:ID` name.
    public static func id(of spec: EnvironmentSpec) throws -> String {
        let id = String(spec.name.dropFirst(prefix.count))
        let allowed = id.unicodeScalars.allSatisfy { CharacterSet.alphanumerics.contains($0) || "-_/.:".unicodeScalars.contains($0) }
        guard !id.isEmpty, id.count <= 200, allowed else {
            throw RLHFError.invalidArgument(name: "environment", message: "'\(spec.name)' is not gym:ID with a Gymnasium id such as gym:Pendulum-v1 or gym:ale_py:ALE/Pong-v5 (letters, digits, - _ / . :)")
        }
        return id
    }

    /// `gymnasium.make`'s keyword arguments as a JSON object's text: each argument's value read
    /// as a JSON literal when it is one (`0.1`, `true`, `[1, 2]`, `"text"`), else as a string;
    /// the horizon, when the spec overrides it, as `max_episode_steps`.
    public static func keywordArguments(_ spec: EnvironmentSpec) throws -> String {
        if spec.slip != nil || spec.stepReward != nil {
            throw RLHFError.invalidArgument(name: "slip / step reward", message: "'\(spec.name)' is a Gymnasium environment; slip and step reward are GridWorld options (give make's keyword arguments with --env-arg KEY=VALUE)")
        }
        var args = spec.arguments ?? [:]
        guard args.count <= Limits.gymArguments else {
            throw RLHFError.invalidArgument(name: "env-arg", message: "\(args.count) arguments, above the limit of \(Limits.gymArguments)")
        }
        if let h = spec.horizon {
            guard args["max_episode_steps"] == nil else {
                throw RLHFError.invalidArgument(name: "horizon", message: "both --horizon and --env-arg max_episode_steps are given; give one")
            }
            try Validate.atLeast(h, 1, "horizon", atMost: Limits.horizon)
            args["max_episode_steps"] = String(h)
        }
        var fields: [String] = []
        for key in args.keys.sorted() {
            let value = args[key]!
            let identifier = key.unicodeScalars.first.map { CharacterSet.letters.contains($0) || $0 == "_" } ?? false
                && key.unicodeScalars.allSatisfy { ($0.isASCII && CharacterSet.alphanumerics.contains($0)) || $0 == "_" }
            guard identifier, key.count <= 100 else {
                throw RLHFError.invalidArgument(name: "env-arg", message: "'\(key)' is not a Python keyword argument name (letters, digits and _, not starting with a digit)")
            }
            guard value.utf8.count <= Limits.gymArgumentBytes else {
                throw RLHFError.invalidArgument(name: "env-arg \(key)", message: "the value is \(value.utf8.count) bytes, above the limit of \(Limits.gymArgumentBytes)")
            }
            let literal: String
            if let data = value.data(using: .utf8),
               (try? JSONSerialization.jsonObject(with: data, options: [.fragmentsAllowed])) != nil {
                literal = value
            } else {
                literal = GymWorker.jsonString(value)
            }
            fields.append("\(GymWorker.jsonString(key)): \(literal)")
        }
        return "{" + fields.joined(separator: ", ") + "}"
    }

    nonisolated(unsafe) static var descriptions: [String: GymDescription] = [:]
    static let lock = NSLock()

    /// What Gymnasium says of the spec's environment (a worker is started once per interpreter,
    /// id and arguments in a process, then the description is remembered).
    public static func describe(_ spec: EnvironmentSpec) throws -> GymDescription {
        let id = try id(of: spec), kwargs = try keywordArguments(spec)
        let key = "\(GymWorker.interpreter(python))\u{0}\(id)\u{0}\(kwargs)"
        if let known = lock.withLock({ descriptions[key] }) { return known }
        let worker = try GymWorker(id: id, kwargsJSON: kwargs, python: python)
        worker.close()
        lock.withLock { descriptions[key] = worker.description }
        return worker.description
    }

    /// H: the spec's horizon, else the registered TimeLimit.
    static func horizon(_ spec: EnvironmentSpec, _ d: GymDescription) throws -> Int {
        if let h = spec.horizon { return h }
        guard let h = d.maxEpisodeSteps, h >= 1 else {
            throw RLHFError.invalidArgument(name: "horizon", message: "\(spec.name) has no registered max_episode_steps; give the horizon with --horizon H")
        }
        return h
    }

    /// The return that normalizes to 1: the spec's reference return, else the registered
    /// `reward_threshold`.
    public static func referenceReturn(_ spec: EnvironmentSpec, _ d: GymDescription) throws -> Double {
        if let r = spec.referenceReturn {
            guard r.isFinite else { throw RLHFError.invalidArgument(name: "reference-return", message: "must be finite, not \(r)") }
            return r
        }
        guard let r = d.rewardThreshold, r.isFinite else {
            throw RLHFError.invalidArgument(name: "reference-return", message: "\(spec.name) has no registered reward_threshold to normalize values by; give the return that counts as 1 with --reference-return R (reference-return in a study file)")
        }
        return r
    }

    /// A worker for one run, with its slots.
    public static func open(_ spec: EnvironmentSpec) throws -> GymSlots {
        let id = try id(of: spec), kwargs = try keywordArguments(spec)
        let worker = try GymWorker(id: id, kwargsJSON: kwargs, python: python)
        return GymSlots(worker: worker, horizon: try horizon(spec, worker.description))
    }

    /// The registry's entry for a `gym:` spec (nothing is started until it is checked or run):
    /// a Discrete action space trains with every algorithm, a Box with ZPG and ZBCPG (a
    /// Gaussian policy), the id's spaces being read when it is checked.
    static func registered(_ spec: EnvironmentSpec) throws -> RegisteredEnvironment {
        _ = try id(of: spec)
        _ = try keywordArguments(spec)
        let summary = "Gymnasium \(spec.name.dropFirst(prefix.count))"
        let check: @Sendable (EnvironmentSpec) throws -> Void = { spec in
            let d = try describe(spec)
            _ = try horizon(spec, d)
            _ = try referenceReturn(spec, d)
        }
        // The action space decides the trainer's path; it is known once the id is described
        // (a worker started once per process and id, remembered), when a run checks or starts.
        return RegisteredEnvironment.deferred(name: spec.name, summary: summary) { spec in
            try entry(spec, summary: summary, check: check)
        }
    }

    static func entry(_ spec: EnvironmentSpec, summary: String, check: @escaping @Sendable (EnvironmentSpec) throws -> Void) throws -> RegisteredEnvironment {
        if try describe(spec).action.isDiscrete {
            return RegisteredEnvironment.sampled(name: spec.name, summary: summary, uniformEpisodes: uniformEpisodes, check: check) { spec in
                let slots = try open(spec)
                return (GymEnvironment(slots: slots), try referenceReturn(spec, slots.worker.description), { slots.failure })
            }
        }
        return RegisteredEnvironment.continuous(name: spec.name, summary: summary, uniformEpisodes: uniformEpisodes, check: check) { spec in
            let slots = try open(spec)
            return (GymBoxEnvironment(slots: slots), try referenceReturn(spec, slots.worker.description), { slots.failure })
        }
    }
}

extension Limits {
    /// Most `--env-arg` keyword arguments a spec may have.
    public static let gymArguments = 64
    /// Most bytes of one `--env-arg` value.
    public static let gymArgumentBytes = 4096
}
