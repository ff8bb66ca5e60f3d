import Foundation

/// How a person is shown an environment's episodes: the labeling service's description of it
/// (`Docs/LabelingService.md`, "Environment description"), which its page draws from.
///
/// GridWorlds give their map and the position of every state, CartPole its track limits; any
/// other environment is shown as a table of states and actions (``labelingDescription(of:name:)``).
public protocol LabelingDisplay {
    /// The description's fields (the page reads `kind`, `name`, `actions`, `horizon` and the
    /// kind's own fields).
    func labelingFields(name: String) -> [String: LabelingValue]
}

/// A JSON value of a labeling description.
public enum LabelingValue: Sendable, Equatable, Encodable {
    case string(String), number(Double), integer(Int), strings([String]), pairs([[Int]])

    public func encode(to encoder: Encoder) throws {
        var c = encoder.singleValueContainer()
        switch self {
        case .string(let v): try c.encode(v)
        case .number(let v): try c.encode(v)
        case .integer(let v): try c.encode(v)
        case .strings(let v): try c.encode(v)
        case .pairs(let v): try c.encode(v)
        }
    }
}

/// The labeling description of `env` as JSON: its own (``LabelingDisplay``), or the generic
/// kind with action names 0…m−1 where it has none.
public func labelingDescription<E: EpisodicEnvironment>(of env: E, name: String) -> Data {
    var fields: [String: LabelingValue]
    if let d = env as? any LabelingDisplay {
        fields = d.labelingFields(name: name)
    } else {
        fields = ["kind": .string("generic"), "name": .string(name), "horizon": .integer(env.horizon)]
        if case .finite(let m) = env.actionSpace { fields["actions"] = .strings((0..<m).map(String.init)) }
    }
    return (try? RunOutput.encoder(pretty: false).encode(fields)) ?? Data("{}".utf8)
}

extension GridWorld: LabelingDisplay {
    public func labelingFields(name: String) -> [String: LabelingValue] {
        ["kind": .string("gridworld"), "name": .string(name),
         "map": .strings(cells.map { String($0.map(\.rawValue)) }),
         "positions": .pairs(positions.map { [$0.row, $0.column] }),
         "actions": .strings(GridWorld.actionNames), "horizon": .integer(horizon), "slip": .number(options.slip)]
    }
}

extension OneHotView: LabelingDisplay {
    public func labelingFields(name: String) -> [String: LabelingValue] {
        if let d = base as? any LabelingDisplay { return d.labelingFields(name: name) }
        return ["kind": .string("generic"), "name": .string(name), "horizon": .integer(horizon),
                "actions": .strings((0..<actionCount).map(String.init))]
    }
}

extension CartPole: LabelingDisplay {
    public func labelingFields(name: String) -> [String: LabelingValue] {
        ["kind": .string("cartpole"), "name": .string(name), "actions": .strings(CartPole.actionNames),
         "horizon": .integer(horizon), "x_threshold": .number(CartPole.xThreshold),
         "theta_threshold": .number(CartPole.thetaThreshold)]
    }
}
