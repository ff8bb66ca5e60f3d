import Foundation

/// How an environment is named on the command line and in configurations: a preset name or a
/// map file path, with optional overrides of the preset's dynamics.
public struct EnvironmentSpec: Sendable, Equatable, Codable {
    /// A GridWorld preset (`classic`, `traps`, `cliff`, `open-N`) or the path of a map file.
    public var name: String
    /// Overrides the slip probability.
    public var slip: Double?
    /// Overrides the horizon H.
    public var horizon: Int?
    /// Overrides the step reward.
    public var stepReward: Double?

    /// Creates a spec.
    public init(name: String, slip: Double? = nil, horizon: Int? = nil, stepReward: Double? = nil) {
        self.name = name
        self.slip = slip
        self.horizon = horizon
        self.stepReward = stepReward
    }

    /// Options for a map file when no override is given: the `classic` dynamics.
    public static let defaultFileOptions = GridWorld.Options(slip: 0.2, horizon: 20, stepReward: -0.02)

    /// Builds the GridWorld: a preset by name, otherwise the map file at `name`.
    ///
    /// - Throws: ``RLHFError/unknownName(kind:name:known:)`` if `name` is neither a preset nor an
    ///   existing file; map and option errors as ``GridWorld/init(map:options:source:)`` throws them.
    public func makeGridWorld() throws -> GridWorld {
        let preset = GridWorldPreset.named(name)
        var options = preset?.options ?? EnvironmentSpec.defaultFileOptions
        if let s = slip { options.slip = s }
        if let h = horizon { options.horizon = h }
        if let r = stepReward { options.stepReward = r }
        if let preset { return try GridWorld(preset: preset, options: options) }
        guard FileManager.default.fileExists(atPath: name) else {
            throw RLHFError.unknownName(kind: "environment", name: name,
                                        known: GridWorldPreset.names + ["a map file path"])
        }
        guard let data = FileManager.default.contents(atPath: name), let text = String(data: data, encoding: .utf8) else {
            throw RLHFError.io(path: name, message: "cannot read the map file as UTF-8 text")
        }
        return try GridWorld(map: text, options: options, source: name)
    }
}
