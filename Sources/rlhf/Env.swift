import ArgumentParser
import RLHF

struct Env: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Draw a GridWorld and print its sizes and exact values.",
        discussion: """
            Prints the map, |S| (non-wall cells), |A| = 4, the tabular policy dimension d = |S|·|A|, \
            the exact value of the uniform policy V(uniform) and the optimal finite-horizon value V*.

            Map files use one character a cell: `.` floor, `#` wall, `S` start (exactly one), \
            `G` goal (+1, ends the episode), `T` trap (−1, ends the episode).
            """)

    @Argument(help: ArgumentHelp("A preset (classic, traps, cliff, open-N) or a map file path.", valueName: "NAME|PATH"))
    var name: String = "classic"

    @OptionGroup(title: "Dynamics")
    var dynamics: DynamicsOptions

    @Flag(help: "Print one JSON object instead of text.")
    var json = false

    struct Report: Encodable {
        var name: String
        var map: [String]
        var rows: Int
        var columns: Int
        var states: Int
        var actions: Int
        var d: Int
        var slip: Double
        var horizon: Int
        var stepReward: Double
        var uniformValue: Double
        var optimalValue: Double
    }

    func run() throws {
        let env = try dynamics.spec(name).makeGridWorld()
        let model = env.model
        let report = Report(
            name: name, map: env.mapText.split(separator: "\n").map(String.init), rows: env.rows, columns: env.columns,
            states: env.stateCount, actions: env.actionCount, d: env.stateCount * env.actionCount,
            slip: env.options.slip, horizon: env.options.horizon, stepReward: env.options.stepReward,
            uniformValue: model.value(policy: model.uniformPolicy), optimalValue: model.optimalValue)
        if json {
            try printJSON(report)
            return
        }
        print(env.mapText)
        print("")
        print("states |S|        \(report.states)")
        print("actions |A|       \(report.actions)  (up, down, right, left)")
        print("dimension d       \(report.d)")
        print("slip              \(report.slip)")
        print("horizon H         \(report.horizon)")
        print("step reward       \(report.stepReward)")
        print("V(uniform)        \(fmt(report.uniformValue, 6))")
        print("V*                \(fmt(report.optimalValue, 6))")
    }
}
