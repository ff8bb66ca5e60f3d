import Foundation
import RLHF

/// A Gymnasium space as the worker describes it: `Discrete(n, start)` or a `Box` (flattened:
/// `size` values, bounds per value; nil bounds are unbounded).
public struct GymSpace: Codable, Sendable, Equatable {
    /// `discrete` or `box`.
    public var kind: String
    /// Discrete: the number of values.
    public var n: Int?
    /// Discrete: the first value.
    public var start: Int?
    /// Box: the shape.
    public var shape: [Int]?
    /// Box: the flattened bounds (nil: unbounded).
    public var low: [Double?]?
    public var high: [Double?]?

    /// Whether the space is Discrete.
    public var isDiscrete: Bool { kind == "discrete" }

    /// Values per row: 1 for a Discrete space, the product of the shape for a Box.
    public var size: Int { isDiscrete ? 1 : (shape ?? []).reduce(1, *) }

    /// The toolkit's action space: finite for Discrete, a box for a bounded Box (nil otherwise).
    public var actionSpace: ActionSpace? {
        if isDiscrete { return n.map { .finite($0) } }
        guard let low, let high, low.count == size, high.count == size,
              low.allSatisfy({ $0 != nil }), high.allSatisfy({ $0 != nil }) else { return nil }
        return .box(low: low.map { $0! }, high: high.map { $0! })
    }
}

/// What the worker reports of an environment when it starts (`gymnasium.make`'s result).
public struct GymDescription: Codable, Sendable, Equatable {
    /// The registered id (`env.spec.id`).
    public var id: String
    /// Versions of what runs the environment.
    public var gymnasium: String
    public var numpy: String?
    public var python: String
    /// The registered TimeLimit (nil: none).
    public var maxEpisodeSteps: Int?
    /// The registered return at which the task counts as solved (nil: none).
    public var rewardThreshold: Double?
    /// The observation and action spaces.
    public var observation: GymSpace
    public var action: GymSpace

    enum CodingKeys: String, CodingKey {
        case id, gymnasium, numpy, python, observation, action
        case maxEpisodeSteps = "max_episode_steps"
        case rewardThreshold = "reward_threshold"
    }

    /// Why the toolkit cannot run this environment, nil when it can.
    var problem: String? {
        if !observation.isDiscrete && observation.size < 1 { return "the observation space is empty" }
        if observation.isDiscrete && (observation.n ?? 0) < 1 { return "the observation space Discrete(\(observation.n ?? 0)) is empty" }
        if action.isDiscrete && (action.n ?? 0) < 1 { return "the action space Discrete(\(action.n ?? 0)) is empty" }
        if !action.isDiscrete && action.actionSpace == nil {
            return "the action space is a Box without finite bounds; the toolkit's Gaussian policy needs finite low and high"
        }
        if observation.size > Limits.gymValuesPerRow || action.size > Limits.gymValuesPerRow {
            return "the spaces have \(observation.size) observation and \(action.size) action values a row, above the limit of \(Limits.gymValuesPerRow)"
        }
        return nil
    }
}

/// The worker's handshake reply: the description, or an error's kind and message.
struct GymHandshake: Decodable {
    var ok: Bool
    var kind: String?
    var message: String?
    var description: GymDescription?

    enum CodingKeys: String, CodingKey { case ok, kind, message }

    init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        ok = try c.decode(Bool.self, forKey: .ok)
        kind = try c.decodeIfPresent(String.self, forKey: .kind)
        message = try c.decodeIfPresent(String.self, forKey: .message)
        description = ok ? try GymDescription(from: decoder) : nil
    }
}

extension Limits {
    /// Most observation or action values a row of a Gymnasium environment may have (a 64×64
    /// RGB image is 12,288; pixel tasks need a feature extractor the toolkit does not have).
    public static let gymValuesPerRow = 65_536
}
