import ArgumentParser
import Foundation
import RLHF
import RLHFService

struct Annotate: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Answer a labeling service's tasks as simulated evaluators would (bots over HTTP).",
        discussion: """
            Each token is one annotator (rlhf serve annotators add NAME prints one); each answers \
            in its own thread until no task is left for --idle-exit seconds. The project must be \
            one for simulated annotators (rlhf train --feedback service --simulated-annotators): \
            its tasks carry the returns and the answer stream, and the bots answer slot j of a \
            pair with the vote of the in-process panel's evaluator j, so a run through the \
            service gives exactly the numbers of the same run in process.

            Tokens are read from --tokens-file (one a line), so that they do not show in the \
            process list.

            Example (M = 10 evaluators need 10 bots: one answer per annotator and pair):
              rlhf annotate --server http://127.0.0.1:8080 --project demo --tokens-file bots.txt --link weibull
            """)

    @Option(parsing: .unconditional, help: ArgumentHelp("The service's URL.", valueName: "URL"))
    var server: String

    @Option(parsing: .unconditional, help: ArgumentHelp("The project to answer.", valueName: "NAME"))
    var project: String

    @Option(parsing: .unconditional, help: ArgumentHelp("A file of annotator tokens, one a line: one bot each.", valueName: "FILE"))
    var tokensFile: String

    @OptionGroup(title: "How the bots answer")
    var evaluatorOptions: EvaluatorOptions

    @Option(parsing: .unconditional, help: "Stop when no task was free for this many seconds.")
    var idleExit: Double = 30

    @Option(parsing: .unconditional, help: "Seconds between asks when no task is free.")
    var poll: Double = 0.05

    @Option(parsing: .unconditional, help: "Stop each bot after this many answers (default: no limit).")
    var maxAnswers: Count?

    func run() throws {
        let text = try String(decoding: RunOutput.readBounded(tokensFile, limit: 1 << 20, what: "a file of tokens"), as: UTF8.self)
        let tokens = text.split(whereSeparator: \.isNewline).map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
        guard !tokens.isEmpty else { throw ValidationError("\(tokensFile) has no token") }
        guard FeedbackConfiguration.isValidName(project) else { throw ValidationError("'\(project)' is not a project name") }
        guard idleExit > 0, poll > 0, poll.isFinite, idleExit.isFinite else { throw ValidationError("--idle-exit and --poll must be positive") }
        let panel = try EvaluatorPanel(link: evaluatorOptions.linkFunction(), evaluators: 1, teacher: evaluatorOptions.teacher())
        let bots = try tokens.map { token -> SimulatedAnnotator in
            var bot = SimulatedAnnotator(client: try LabelingClient(server: server, token: token), project: project, panel: panel)
            bot.pollSeconds = poll
            bot.idleExitSeconds = idleExit
            bot.maximumAnswers = maxAnswers?.value
            return bot
        }
        let results = SimulatedAnnotator.runAll(bots)
        var total = 0
        for (i, r) in results.enumerated() {
            switch r {
            case .success(let answers): total += answers.count
            case .failure(let error): throw ValidationError("bot \(i + 1): \(error)")
            }
        }
        print("rlhf annotate: \(bots.count) bots gave \(total) answers in project \(project)")
    }
}
