import ArgumentParser
import Foundation
import RLHF
import RLHFService
import RLHFGym

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
        subcommands: [Train.self, StudyCommand.self, Env.self, Bench.self, Serve.self, Annotate.self, Labels.self, FitLink.self]
    )

    /// Parses and runs like ArgumentParser's own `main`, with two differences: an error thrown
    /// by a subcommand's `run()` points at that subcommand's help (not `rlhf <subcommand>`'s usage), and a
    /// word like `-dash.txt` is refused instead of being read as joined short flags (which
    /// include `-h` and so printed the help and exited 0).
    static func main() async {
        let arguments = Array(CommandLine.arguments.dropFirst())
        LabelingService.registerClient(log: { printError($0) })
        GymEnvironments.register()
        if let word = arguments.prefix(while: { $0 != "--" }).first(where: isJoinedFlags) {
            printError("Error: unknown option '\(word)' (options take two dashes, e.g. --json; to name a file that starts with '-', write ./\(word))")
            Foundation.exit(64)
        }
        var command: ParsableCommand
        do {
            command = try parseAsRoot(arguments)
        } catch {
            exit(withError: error)
        }
        do {
            if var async = command as? AsyncParsableCommand {
                try await async.run()
            } else {
                try command.run()
            }
        } catch {
            if exitCode(for: error) == .success { exit(withError: error) }   // --help and the like
            let message = message(for: error)
            if !message.isEmpty { printError("Error: " + message) }
            if error is ValidationError {
                printError("See 'rlhf \(type(of: command)._commandName) --help' for the options.")
            }
            Foundation.exit(exitCode(for: error).rawValue)
        }
    }

    /// A single-dash word longer than `-x` that is not a number (`-0.05`, `-1e3`, `-inf`):
    /// ArgumentParser would split it into short flags. `--` ends the options.
    static func isJoinedFlags(_ word: String) -> Bool {
        word.hasPrefix("-") && !word.hasPrefix("--") && word.count > 2 && NumberText.number(word) == nil
    }
}

extension LinkFunction.Kind: ExpressibleByArgument {}
extension AlgorithmName: ExpressibleByArgument {
    public static var allValueStrings: [String] { known.map(\.rawValue) }
    public var defaultValueDescription: String { rawValue }
}
extension ZBCPGHyperparameters.BlockMode: ExpressibleByArgument {}
extension PolicyKind: ExpressibleByArgument {}
extension DPOReference: ExpressibleByArgument {}
extension BilevelDeployment: ExpressibleByArgument {}
extension GridWorld.FeatureMode: ExpressibleByArgument {}
extension EvaluationMode: ExpressibleByArgument {}

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
