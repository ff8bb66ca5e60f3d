import ArgumentParser
import Foundation
import RLHF
import RLHFGym

enum FileHandleShim {
    static func writeStderr(_ s: String) {
        FileHandle.standardError.write(Data(s.utf8))
    }
}

/// Encodes a value as one line of JSON on standard output.
func printJSON<T: Encodable>(_ value: T) throws {
    let data = try RunOutput.encoder(pretty: false).encode(value)
    print(String(decoding: data, as: UTF8.self))
}

/// Formats a number with a fixed number of decimals.
func fmt(_ x: Double, _ digits: Int = 4) -> String { String(format: "%.\(digits)f", x) }

/// Overrides of a GridWorld's dynamics, shared by `train` and `env`.
struct DynamicsOptions: ParsableArguments {
    @Option(parsing: .unconditional, help: "Slip probability (default: the preset's; 0.2 for map files).")
    var slip: Double?

    @Option(parsing: .unconditional, help: "Horizon H (default: the preset's; 20 for map files).")
    var horizon: Count?

    @Option(parsing: .unconditional, help: "Reward of a step ending on floor (default: the preset's; −0.02 for map files).")
    var stepReward: Double?

    @Option(name: .customLong("env-arg"), parsing: .singleValue,
            help: ArgumentHelp("gym: environments: a keyword argument of gymnasium.make (repeatable), its value a JSON literal (0.1, true, [1,2]) or else a string, e.g. --env-arg ctrl_cost_weight=0.05.", valueName: "KEY=VALUE"))
    var envArgs: [String] = []

    @Option(parsing: .unconditional, help: "gym: environments: the return that normalizes to 1 (default: the registered reward_threshold; needed where there is none, e.g. Pendulum-v1).")
    var referenceReturn: Double?

    @Option(parsing: .unconditional, help: ArgumentHelp("gym: environments: the Python that runs Gymnasium (default: $RLHF_PYTHON, else python3).", valueName: "PATH"))
    var python: String?

    /// The `--env-arg` pairs, nil when there are none.
    func arguments() throws -> [String: String]? {
        guard !envArgs.isEmpty else { return nil }
        var result: [String: String] = [:]
        for pair in envArgs {
            guard let eq = pair.firstIndex(of: "="), eq != pair.startIndex else {
                throw ValidationError("--env-arg '\(pair)' is not KEY=VALUE")
            }
            let key = String(pair[..<eq])
            guard result[key] == nil else { throw ValidationError("--env-arg \(key) is given twice") }
            result[key] = String(pair[pair.index(after: eq)...])
        }
        return result
    }

    /// The environment `name` with these overrides (and the Python of gym: workers set).
    func spec(_ name: String) throws -> EnvironmentSpec {
        if let python { GymEnvironments.python = python }
        return EnvironmentSpec(name: name, slip: slip, horizon: horizon?.value, stepReward: stepReward,
                               arguments: try arguments(), referenceReturn: referenceReturn)
    }
}

/// A whole-number option that reads the forms study files accept (``NumberText/integer(_:)``):
/// `1000000`, `1e6`, `10^6`, `1_000_000`, `1.5e5`.
struct Count: ExpressibleByArgument, ExpressibleByIntegerLiteral, Equatable, CustomStringConvertible {
    var value: Int
    init(integerLiteral value: Int) { self.value = value }
    init?(argument: String) {
        guard let v = NumberText.integer(argument) else { return nil }
        value = v
    }
    var description: String { "\(value)" }
    var defaultValueDescription: String { "\(value)" }
}
