import Foundation
import RLHF

/// A simulated annotator that answers a labeling service's tasks over HTTP as the in-process
/// panel's evaluators would (`rlhf annotate`): the plumbing's end-to-end check, and a load
/// generator.
///
/// It works only on projects made for simulated annotators, whose tasks carry both returns and
/// the pair's answer stream (`Docs/LabelingService.md`). It answers slot j with the vote of
/// the panel's evaluator j (``EvaluatorPanel/vote(slot:_:_:answerStream:)``), so M such
/// annotators reproduce the in-process panel's p̂ exactly, whichever answers which slot.
public struct SimulatedAnnotator: Sendable {
    /// The annotator's connection (its own token).
    public let client: LabelingClient
    /// The project it answers.
    public let project: String
    /// Its link and teacher (M is unused: it answers one slot at a time).
    public let panel: EvaluatorPanel
    /// Seconds between asks when no task is free.
    public var pollSeconds: Double = 0.05
    /// Stop after this many seconds without a free task (nil: never).
    public var idleExitSeconds: Double? = 30
    /// How long to wait for the project to appear before giving up.
    public var projectWaitSeconds: Double = 120
    /// Stop after this many answers (nil: no limit).
    public var maximumAnswers: Int? = nil

    /// An annotator of `project` through `client`, answering as `panel`'s evaluators.
    public init(client: LabelingClient, project: String, panel: EvaluatorPanel) {
        self.client = client
        self.project = project
        self.panel = panel
    }

    /// What an answer did.
    public struct Answered: Sendable, Equatable {
        /// The comparison's id, the slot and the choice sent.
        public var id: Int
        public var slot: Int
        public var choice: String
    }

    /// Answers tasks until none is left for `idleExitSeconds` or `maximumAnswers` are given;
    /// returns the answers the service acknowledged (recorded or duplicate).
    public func run() throws -> [Answered] {
        var given = [Answered](), idleSince = Date()
        let start = Date()
        let path = "api/projects/\(LabelingClient.component(project))/next"
        while maximumAnswers.map({ given.count < $0 }) ?? true {
            // 404: the project does not exist yet (the bots may start before the trainer, which
            // creates it); they wait for it up to projectWaitSeconds, then idle as usual.
            let (status, task) = try client.call("GET", path, accepted: [200, 204, 404])
            if status == 404 {
                if Date().timeIntervalSince(start) >= projectWaitSeconds {
                    throw RLHFError.invalidArgument(name: "project", message: "no project '\(project)' at \(client.server.absoluteString) after \(Int(projectWaitSeconds)) s")
                }
                idleSince = Date()
                Thread.sleep(forTimeInterval: pollSeconds)
                continue
            }
            if status != 200 {
                if let idle = idleExitSeconds, Date().timeIntervalSince(idleSince) >= idle { break }
                Thread.sleep(forTimeInterval: pollSeconds)
                continue
            }
            idleSince = Date()
            let answer = try Self.answer(task, panel: panel)
            let (code, _) = try client.call("POST", "api/tasks/\(answer.id)/answer", json: ["slot": answer.slot, "choice": answer.choice],
                                            accepted: [200, 403, 409])
            if code == 200 { given.append(answer) }
        }
        return given
    }

    /// The answer to one task object of the API.
    public static func answer(_ task: [String: Any], panel: EvaluatorPanel) throws -> Answered {
        guard let id = task["id"] as? Int, let slot = task["slot"] as? Int else {
            throw RLHFError.invalidArgument(name: "task", message: "the service's task has no id or slot")
        }
        guard let simulation = task["simulation"] as? [String: Any],
              let r0 = simulation["first_return"] as? Double, let r1 = simulation["second_return"] as? Double else {
            throw RLHFError.invalidArgument(name: "project", message: "the project's tasks carry no returns: simulated annotators answer only projects made for them (rlhf train --feedback service --simulated-annotators)")
        }
        let m0 = simulation["first_myopic_return"] as? Double ?? r0, m1 = simulation["second_myopic_return"] as? Double ?? r1
        guard let hex = simulation["answer_stream"] as? String, let stream = Xoshiro256(stateHex: hex) else {
            throw RLHFError.invalidArgument(name: "task", message: "task \(id) has no answer stream")
        }
        let vote = panel.vote(slot: slot, ShownTrajectory(totalReturn: r0, myopicReturn: m0),
                              ShownTrajectory(totalReturn: r1, myopicReturn: m1), answerStream: stream)
        return Answered(id: id, slot: slot, choice: vote.map { $0 ? "right" : "left" } ?? "skip")
    }
}

extension SimulatedAnnotator {
    /// Runs every bot on its own thread (they wait on the network, not on a core, so they are
    /// not limited to the core count) and returns each one's answers or error, in order.
    public static func runAll(_ bots: [SimulatedAnnotator]) -> [Result<[Answered], any Error>] {
        let lock = NSLock()
        nonisolated(unsafe) var results = [Result<[Answered], any Error>?](repeating: nil, count: bots.count)
        let group = DispatchGroup()
        for (i, bot) in bots.enumerated() {
            group.enter()
            let thread = Thread {
                let r = Result { try bot.run() }
                lock.lock()
                results[i] = r
                lock.unlock()
                group.leave()
            }
            thread.start()
        }
        group.wait()
        return results.map { $0! }
    }
}
