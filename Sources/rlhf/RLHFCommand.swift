import ArgumentParser
import RLHF

@main
struct RLHFCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "rlhf",
        abstract: "Preference-based reinforcement learning from simulated human feedback.",
        discussion: """
            Runs RLHF algorithms against simulated evaluator panels, charging every human query \
            to a budget. Start with `rlhf train` (ZPG on the `classic` GridWorld, 10⁶ queries), \
            look at an environment with `rlhf env classic`, and measure speed with `rlhf bench`.
            """,
        subcommands: [Train.self, StudyCommand.self, Env.self, Bench.self]
    )
}

extension LinkFunction.Kind: ExpressibleByArgument {}
extension AlgorithmName: ExpressibleByArgument {}
extension ZBCPGHyperparameters.BlockMode: ExpressibleByArgument {}
extension PolicyKind: ExpressibleByArgument {}
extension DPOReference: ExpressibleByArgument {}
extension BilevelDeployment: ExpressibleByArgument {}
extension GridWorld.FeatureMode: ExpressibleByArgument {}

/// Prints to standard error.
func printError(_ text: String) {
    var stderr = StandardError()
    print(text, to: &stderr)
}

struct StandardError: TextOutputStream {
    mutating func write(_ string: String) {
        FileHandleShim.writeStderr(string)
    }
}
