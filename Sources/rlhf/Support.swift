import ArgumentParser
import Foundation
import RLHF

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

    /// The environment `name` with these overrides.
    func spec(_ name: String) -> EnvironmentSpec {
        EnvironmentSpec(name: name, slip: slip, horizon: horizon?.value, stepReward: stepReward)
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
