import ArgumentParser
import RLHF

/// How simulated evaluators answer: their link and their teacher's departures from the ideal.
/// Shared by `rlhf train` (the in-process panel) and `rlhf annotate` (bots over HTTP).
struct EvaluatorOptions: ParsableArguments {
    @Option(parsing: .unconditional, help: "Evaluators' link: bradley-terry, weibull or thurstone.")
    var link: LinkFunction.Kind = .bradleyTerry

    @Option(parsing: .unconditional, help: "Link scale s > 0.")
    var linkScale: Double = 1

    @Option(parsing: .unconditional, help: "Weibull shape k > 0 (k = 1 is the Laplace link).")
    var weibullShape: Double = 2

    @Option(parsing: .unconditional, help: "Noisy teacher: probability of flipping each answer.")
    var mistakeRate: Double = 0

    @Option(parsing: .unconditional, help: "Noisy teacher: |ΔR| below this gives a fair coin.")
    var equalThreshold: Double = 0

    @Option(parsing: .unconditional, help: "Noisy teacher: drop pairs whose returns are both below this (the queries are still spent).")
    var skipThreshold: Double?

    @Option(parsing: .unconditional, help: "Noisy teacher: myopic discount γ_m (1 = not myopic).")
    var myopicDiscount: Double = 1

    /// The link the options describe.
    func linkFunction() throws -> LinkFunction {
        try LinkFunction(link, scale: linkScale, shape: weibullShape)
    }

    /// The teacher the options describe.
    func teacher() throws -> Teacher {
        try Teacher(mistakeRate: mistakeRate, equalThreshold: equalThreshold, skipThreshold: skipThreshold,
                    myopicDiscount: myopicDiscount)
    }
}
