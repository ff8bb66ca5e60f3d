import ArgumentParser
import RLHF

extension FeedbackConfiguration.Kind: ExpressibleByArgument {}

/// `rlhf train`'s feedback options: who answers the comparisons and where answers are kept.
struct FeedbackOptions: ParsableArguments {
    @Option(parsing: .unconditional, help: "Who answers: simulated (the in-process panel, the default), replay (answers recorded with --record-answers, pair by pair) or service (a labeling service: rlhf serve; people or rlhf annotate bots answer, the run waits).")
    var feedback: FeedbackConfiguration.Kind = .simulated

    @Option(parsing: .unconditional, help: ArgumentHelp("--feedback replay: the answers file.", valueName: "FILE"))
    var replay: String?

    @Option(parsing: .unconditional, help: ArgumentHelp("Append every pair's answer (its name and p̂) to this JSON Lines file, which --feedback replay reads.", valueName: "FILE"))
    var recordAnswers: String?

    @Option(parsing: .unconditional, help: ArgumentHelp("--feedback service: the service's URL. The administrator token comes from RLHF_SERVICE_TOKEN (never from the command line, which other users can see).", valueName: "URL"))
    var server: String?

    @Option(parsing: .unconditional, help: ArgumentHelp("--feedback service: the project the pairs go to (created if missing).", valueName: "NAME"))
    var project: String?

    @Option(parsing: .unconditional, help: ArgumentHelp("--feedback service: the run's name in the project (default <algorithm>-seed<seed>); a restarted run with the same name picks up the answers already given.", valueName: "NAME"))
    var runName: String?

    @Flag(help: "--feedback service: make the project one for simulated annotators (rlhf annotate): its tasks carry the returns. Never for people.")
    var simulatedAnnotators = false

    @Option(parsing: .unconditional, help: "--feedback service: seconds between polls for answers.")
    var poll: Double = 1

    @Option(parsing: .unconditional, help: "--feedback service: give up after this many seconds without a new answer (default: wait).")
    var feedbackTimeout: Double?

    /// The configuration's `feedback`: nil for the plain simulated panel (as configurations
    /// without it read).
    var configuration: FeedbackConfiguration? {
        var f = FeedbackConfiguration()
        f.kind = feedback
        f.replay = replay
        f.record = recordAnswers
        f.server = server
        f.project = project
        f.run = runName
        f.simulatedAnnotators = simulatedAnnotators
        f.pollSeconds = poll
        f.timeoutSeconds = feedbackTimeout
        return f == FeedbackConfiguration() ? nil : f
    }
}
