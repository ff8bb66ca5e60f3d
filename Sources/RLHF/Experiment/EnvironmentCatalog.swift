import Foundation

/// How an environment is named on the command line and in configurations: a GridWorld preset,
/// `cartpole`, a linear bandit, or the path of a map file, with optional overrides of the
/// GridWorld dynamics.
public struct EnvironmentSpec: Sendable, Equatable, Codable {
    /// `classic`, `traps`, `cliff`, `open-N`, `cartpole`, `bandit` or `bandit-CxAxK`, or a map file path.
    public var name: String
    /// Overrides the slip probability (GridWorld).
    public var slip: Double?
    /// Overrides the horizon H (GridWorld, CartPole).
    public var horizon: Int?
    /// Overrides the step reward (GridWorld).
    public var stepReward: Double?
    /// Keyword arguments of the environment's constructor (`gym:` environments: passed to
    /// `gymnasium.make`; each value is read as a JSON literal — a number, `true`, `[1, 2]` — or
    /// else taken as a string). Nil or empty for environments that take none.
    public var arguments: [String: String]?
    /// The return that normalizes to 1 (``Normalization``), for environments whose best return
    /// is not known to the toolkit (`gym:` environments without a registered `reward_threshold`).
    public var referenceReturn: Double?

    /// Creates a spec.
    public init(name: String, slip: Double? = nil, horizon: Int? = nil, stepReward: Double? = nil,
                arguments: [String: String]? = nil, referenceReturn: Double? = nil) {
        self.name = name
        self.slip = slip
        self.horizon = horizon
        self.stepReward = stepReward
        self.arguments = arguments
        self.referenceReturn = referenceReturn
    }

    /// Whether ``arguments`` holds any argument.
    public var hasArguments: Bool { !(arguments ?? [:]).isEmpty }

    /// Every name that is not a file path.
    public static let knownNames = GridWorldPreset.names + ["cartpole", "pendulum", "bandit", "bandit-CxAxK"]

    /// Options for a map file when no override is given: the `classic` dynamics.
    public static let defaultFileOptions = GridWorld.Options(slip: 0.2, horizon: 20, stepReward: -0.02)

    /// The linear bandit's default sizes: 16 contexts, 4 actions, k = 8 features.
    public static let defaultBandit = (contexts: 16, actions: 4, features: 8)
    /// Seed of the bandit's features and weights: fixed, so that every run sees the same task.
    public static let banditSeed: UInt64 = 2024

    /// A built environment.
    public enum Resolved: Sendable {
        case gridWorld(GridWorld)
        case bandit(LinearBandit)
        case cartPole(CartPole)
        /// Gymnasium's Pendulum-v1, native (a box of actions: ZPG and ZBCPG with a Gaussian policy).
        case pendulum(Pendulum)
        /// One a program registered (``EnvironmentRegistry``).
        case registered(RegisteredEnvironment)

        /// Whether the environment `spec` names has a box of actions (continuous control: PPO
        /// uses ``PPOHyperparameters/continuous``).
        public func hasBoxActions(_ spec: EnvironmentSpec) throws -> Bool {
            switch self {
            case .pendulum: return true
            case .registered(let r): return try r.boxActions(spec)
            case .gridWorld, .bandit, .cartPole: return false
            }
        }

        /// Whether the environment has an exact model (values are exact, PPO uses its tabular defaults).
        public var isTabular: Bool {
            switch self {
            case .cartPole, .pendulum: return false
            case .registered(let r): return r.isTabular
            case .gridWorld, .bandit: return true
            }
        }
    }

    /// Builds the environment.
    ///
    /// - Throws: ``RLHFError/unknownName(kind:name:known:)`` if `name` is neither a known name
    ///   nor an existing file; map and option errors as their constructors throw them.
    public func resolve() throws -> Resolved {
        if let registered = EnvironmentRegistry.entry(named: name) {
            try registered.check(self)
            return .registered(registered)
        }
        if let provided = try EnvironmentRegistry.provided(self) {
            return .registered(provided)
        }
        if hasArguments || referenceReturn != nil {
            throw RLHFError.invalidArgument(name: "environment arguments", message: "'\(name)' takes no constructor arguments nor reference return (they are for gym: environments)")
        }
        if name == "cartpole" {
            if slip != nil || stepReward != nil {
                throw RLHFError.invalidArgument(name: "slip / step reward", message: "cartpole has neither (GridWorld options)")
            }
            return .cartPole(try CartPole.validated(horizon: horizon ?? 500))
        }
        if name == "pendulum" {
            if slip != nil || stepReward != nil {
                throw RLHFError.invalidArgument(name: "slip / step reward", message: "pendulum has neither (GridWorld options)")
            }
            return .pendulum(try Pendulum.validated(horizon: horizon ?? 200))
        }
        if name == "bandit" || name.hasPrefix("bandit-") {
            var sizes = EnvironmentSpec.defaultBandit
            if name != "bandit" {
                let parts = name.dropFirst(7).split(separator: "x").compactMap { Int($0) }
                guard parts.count == 3, parts.allSatisfy({ $0 >= 1 }) else {
                    throw RLHFError.invalidArgument(name: "environment", message: "'\(name)' is not bandit-CxAxK (contexts × actions × features, e.g. bandit-16x4x8)")
                }
                sizes = (parts[0], parts[1], parts[2])
            }
            if slip != nil || stepReward != nil || (horizon ?? 1) != 1 {
                throw RLHFError.invalidArgument(name: "slip / horizon / step reward", message: "a bandit has one step and no slip")
            }
            return .bandit(try LinearBandit(contextCount: sizes.contexts, actionCount: sizes.actions,
                                            featureDimension: sizes.features, seed: EnvironmentSpec.banditSeed))
        }
        return .gridWorld(try makeGridWorld())
    }

    /// Builds the GridWorld: a preset by name, otherwise the map file at `name`.
    public func makeGridWorld() throws -> GridWorld {
        let preset = GridWorldPreset.named(name)
        var options = preset?.options ?? EnvironmentSpec.defaultFileOptions
        if let s = slip { options.slip = s }
        if let h = horizon { options.horizon = h }
        if let r = stepReward { options.stepReward = r }
        if let preset { return try GridWorld(preset: preset, options: options) }
        guard FileManager.default.fileExists(atPath: name) else {
            if name.contains("/") || name.contains(".") {
                throw RLHFError.io(path: name, message: "no such map file (and not an environment name: \(EnvironmentSpec.knownNames.joined(separator: ", ")))")
            }
            throw RLHFError.unknownName(kind: "environment", name: name, known: EnvironmentSpec.knownNames + ["a map file path"])
        }
        guard let data = FileManager.default.contents(atPath: name), let text = String(data: data, encoding: .utf8) else {
            throw RLHFError.io(path: name, message: "cannot read the map file as UTF-8 text")
        }
        return try GridWorld(map: text, options: options, source: name)
    }
}
