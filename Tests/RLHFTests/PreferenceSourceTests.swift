import Foundation
import Testing
@testable import RLHF
import RLHFTestSupport

/// A source that answers from another thread after a pause, as people do, and counts how it is
/// asked: the algorithms must hand it whole batches and get the panel's answers back.
final class DelayedPanel: PreferenceSource, @unchecked Sendable {
    let panel: EvaluatorPanel
    let lock = NSLock()
    var batches: [Int] = []
    var keys: [String] = []
    let trajectories: Bool

    init(_ panel: EvaluatorPanel, needsTrajectories: Bool) {
        self.panel = panel
        self.trajectories = needsTrajectories
    }

    var answersPerPair: Int { panel.evaluators }
    var needsTrajectories: Bool { trajectories }

    func judge(_ requests: [ComparisonRequest]) throws -> [Double?] {
        lock.lock()
        batches.append(requests.count)
        keys += requests.map(\.key.description)
        lock.unlock()
        if trajectories { #expect(requests.allSatisfy { $0.trajectories != nil }) }
        let done = DispatchSemaphore(value: 0)
        nonisolated(unsafe) var answers: [Double?] = []
        DispatchQueue.global().asyncAfter(deadline: .now() + .milliseconds(2)) {
            answers = self.panel.judge(requests)
            done.signal()
        }
        done.wait()
        return answers
    }
}

/// Issue 13, item 3 (the preference source): every algorithm asks a ``PreferenceSource``, the
/// simulated panel is one, answers can be recorded and replayed, and a source that answers late
/// changes nothing.
@Suite("Preference sources")
struct PreferenceSourceTests {
    func configuration(_ algorithm: AlgorithmName, budget: Int) -> TrainConfiguration {
        var c = TrainConfiguration()
        c.algorithm = algorithm
        c.budget = budget
        c.seed = 5
        c.threads = 2
        if algorithm == .rmPPO {
            var h = TrainConfiguration.defaultRMPPO(tabular: true)
            h.agentSteps = 8_192
            h.rewardModel.hidden = []
            c.rmPPO = h
        }
        return c
    }

    static let algorithms: [(AlgorithmName, Int)] = [
        (.zpg, 4_000), (.zbcpg, 8_000), (.rmPPO, 1_000), (.rmPPOOffline, 1_000), (.dpo, 1_000), (.onlineDPO, 1_000), (.bilevel, 1_000),
    ]

    @Test("recording the panel's answers changes nothing, and replaying them repeats the run exactly",
          arguments: algorithms)
    func recordAndReplay(_ algorithm: AlgorithmName, _ budget: Int) throws {
        let dir = TestFiles.temporaryDirectory("rlhf-replay")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let plain = try Trainer.run(configuration(algorithm, budget: budget))

        var recorded = configuration(algorithm, budget: budget)
        var f = FeedbackConfiguration()
        f.record = dir + "/answers.jsonl"
        recorded.feedback = f
        let withRecording = try Trainer.run(recorded)
        #expect(withRecording.state.parameters == plain.state.parameters, "\(algorithm): recording must not change the run")
        let lines = try String(contentsOfFile: dir + "/answers.jsonl", encoding: .utf8).split(separator: "\n")
        #expect(lines.count * recorded.evaluators == withRecording.summary.queriesUsed,
                "\(algorithm): one recorded answer per pair paid for (M queries each)")

        var replayed = configuration(algorithm, budget: budget)
        var g = FeedbackConfiguration()
        g.kind = .replay
        g.replay = dir + "/answers.jsonl"
        replayed.feedback = g
        let replay = try Trainer.run(replayed)
        #expect(replay.state.parameters == plain.state.parameters, "\(algorithm): the replay repeats the run")
        #expect(replay.summary.finalValue == plain.summary.finalValue)
        #expect(replay.summary.queriesUsed == plain.summary.queriesUsed)
    }

    @Test("a replay that lacks a pair stops with the pair's name; a damaged line is refused by number")
    func replayErrors() throws {
        let dir = TestFiles.temporaryDirectory("rlhf-replay-bad")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        var c = configuration(.zpg, budget: 4_000)
        var f = FeedbackConfiguration()
        f.record = dir + "/answers.jsonl"
        c.budget = 800
        c.feedback = f
        _ = try Trainer.run(c)
        var replay = configuration(.zpg, budget: 4_000)
        var g = FeedbackConfiguration()
        g.kind = .replay
        g.replay = dir + "/answers.jsonl"
        replay.feedback = g
        #expect(throws: RLHFError.self) { try Trainer.run(replay) }
        do { _ = try Trainer.run(replay) } catch {
            #expect("\(error)".contains("no answer recorded for pair 'zpg/t10/b0/n0'"), "\(error)")
        }
        try Data("{\"key\": \"a\", \"rate\": 0.5, \"answers\": 10}\n{oops\n".utf8).write(to: URL(fileURLWithPath: dir + "/bad.jsonl"))
        do {
            _ = try RecordedPreferences(path: dir + "/bad.jsonl", answersPerPair: 10)
            Issue.record("a damaged file was read")
        } catch {
            #expect("\(error)".contains("line 2"), "\(error)")
            #expect("\(error)".contains("bad.jsonl"), "\(error)")
        }
        do {
            _ = try RecordedPreferences(path: dir + "/bad.jsonl", answersPerPair: 3)
            Issue.record("a file of another M was read")
        } catch {
            #expect("\(error)".contains("line 1"), "\(error)")
        }
    }

    @Test("ZBCPG asks once per iteration for all K·N pairs; a late source gives the panel's numbers, on any thread count")
    func batchesAndLateAnswers() throws {
        let (env, panel, _) = try Classic.fixture()
        let family = TabularSoftmax(stateCount: env.stateCount, actionCount: env.actionCount)
        var hyper = ZBCPGHyperparameters()
        hyper.blocks = 4
        hyper.threads = 1
        var reference = try ZBCPG(env: env, family: family, panel: panel, hyper: hyper, seed: 9)
        var l1 = try QueryLedger(budget: 1_000_000)
        for t in 0..<5 { _ = try reference.iterate(t, ledger: &l1) }

        for (threads, display) in [(1, false), (3, true)] {
            hyper.threads = threads
            let late = DelayedPanel(panel, needsTrajectories: display)
            var z = try ZBCPG(env: env, family: family, panel: panel, hyper: hyper, seed: 9, source: late)
            var l2 = try QueryLedger(budget: 1_000_000)
            for t in 0..<5 { _ = try z.iterate(t, ledger: &l2) }
            #expect(z.parameters == reference.parameters, "threads \(threads), trajectories \(display)")
            #expect(late.batches == [Int](repeating: 4 * hyper.base.pairs, count: 5))
            #expect(Set(late.keys).count == late.keys.count, "every pair has its own name")
            #expect(late.keys.first == "zbcpg/t0/b0/n0")
        }
    }

    @Test("a source of another M is refused: the ledger would miscount")
    func answersPerPairMustMatch() throws {
        let (env, panel, _) = try Classic.fixture()
        let family = TabularSoftmax(stateCount: env.stateCount, actionCount: env.actionCount)
        let other = try EvaluatorPanel(link: .bradleyTerry, evaluators: panel.evaluators + 1)
        #expect(throws: RLHFError.self) { try ZPG(env: env, family: family, panel: panel, seed: 1, source: other) }
    }

    @Test("M simulated annotators voting slot by slot from the answer stream reproduce the panel's p̂ exactly")
    func votesReproducePanel() throws {
        var rng = Xoshiro256(seed: 77)
        for link in [LinkFunction.bradleyTerry, try LinkFunction(.weibull, scale: 0.5, shape: 1.5), try LinkFunction(.thurstone, scale: 2)] {
            let panel = try EvaluatorPanel(link: link, evaluators: 7, teacher: Teacher(mistakeRate: 0.1, equalThreshold: 0.05))
            for _ in 0..<200 {
                let a = ShownTrajectory(totalReturn: rng.uniform() * 4 - 2, myopicReturn: 0)
                let b = ShownTrajectory(totalReturn: rng.uniform() * 4 - 2, myopicReturn: 0)
                let stream = Xoshiro256(seed: rng.next())
                let request = ComparisonRequest(key: "k", first: a, second: b, answerStream: stream)
                let expected = panel.judge([request])[0]
                // Any order of slots: the count is what matters.
                let votes = (0..<7).reversed().map { panel.vote(slot: $0, a, b, answerStream: stream)! }
                #expect(Double(votes.filter { $0 }.count) / 7 == expected)
            }
        }
        let skipping = try EvaluatorPanel(link: .bradleyTerry, evaluators: 3, teacher: Teacher(skipThreshold: 0))
        let low = ShownTrajectory(totalReturn: -1, myopicReturn: -1)
        #expect(skipping.vote(slot: 0, low, low, answerStream: Xoshiro256(seed: 1)) == nil)
        #expect(skipping.judge([ComparisonRequest(key: "k", first: low, second: low, answerStream: Xoshiro256(seed: 1))]) == [nil])
    }

    @Test("a generator's state survives its hex form; bad forms are refused")
    func streamHex() {
        var g = Xoshiro256(seed: 123, stream: 4, 5)
        _ = g.next()
        let hex = g.stateHex
        #expect(hex.count == 64)
        var h = Xoshiro256(stateHex: hex)!
        for _ in 0..<10 { #expect(g.next() == h.next()) }
        #expect(Xoshiro256(stateHex: String(repeating: "0", count: 64)) == nil)
        #expect(Xoshiro256(stateHex: "xyz") == nil)
        #expect(Xoshiro256(stateHex: String(repeating: "g", count: 64)) == nil)
        #expect(Xoshiro256(stateHex: "+" + hex.dropFirst()) == nil, "a sign is not a hex digit")
        #expect(Xoshiro256(stateHex: hex.uppercased()) != nil)
    }

    @Test("trajectories are shown as the service's JSON: states, actions, rewards in snake_case")
    func displayJSON() throws {
        let (env, _, _) = try Classic.fixture()
        let family = TabularSoftmax(stateCount: env.stateCount, actionCount: env.actionCount)
        var actor = [Double](repeating: 0, count: family.parameterCount).withUnsafeBufferPointer { family.makeActor($0) }
        var recorder = DisplayRecorder<Int, Int>()
        var rng = Xoshiro256(seed: 3)
        let summary = env.runEpisode(&actor, recorder: &recorder, using: &rng)
        let object = try #require(try JSONSerialization.jsonObject(with: recorder.json()) as? [String: Any])
        #expect((object["states"] as? [Int])?.count == summary.steps)
        #expect((object["actions"] as? [Int])?.count == summary.steps)
        #expect((object["rewards"] as? [Double])?.reduce(0, +) == summary.totalReturn)

        var cart = DisplayRecorder<CartPole.State, Int>()
        let pole = CartPole()
        let policy = try NeuralSoftmaxPolicy(featureCount: 4, hidden: [4], actionCount: 2, uniformStart: true, using: &rng)
        let neural = NeuralFamily(env: pole, policy: policy)
        var a = policy.network.parameters.withUnsafeBufferPointer { neural.makeActor($0) }
        _ = pole.runEpisode(&a, recorder: &cart, using: &rng)
        let text = String(decoding: try cart.json(range: 0..<1), as: UTF8.self)
        #expect(text.contains("\"x_dot\""), "\(text)")
        #expect(text.contains("\"theta_dot\""), "\(text)")

        let description = try #require(try JSONSerialization.jsonObject(with: labelingDescription(of: env, name: "classic")) as? [String: Any])
        #expect(description["kind"] as? String == "gridworld")
        #expect((description["positions"] as? [[Int]])?.count == env.stateCount)
        #expect((description["map"] as? [String])?.count == env.rows)
    }

    @Test("feedback options are checked: the service needs a URL and a project; ppo-true-reward asks nothing")
    func feedbackValidation() throws {
        var c = TrainConfiguration()
        var f = FeedbackConfiguration()
        f.kind = .service
        c.feedback = f
        #expect(throws: RLHFError.self) { try c.validate() }
        f.server = "ftp://x"
        f.project = "p"
        c.feedback = f
        #expect(throws: RLHFError.self) { try c.validate() }
        f.server = "http://127.0.0.1:8080"
        f.project = "bad name<script>"
        c.feedback = f
        #expect(throws: RLHFError.self) { try c.validate() }
        f.project = "p-1"
        c.feedback = f
        try c.validate()
        c.algorithm = .ppoTrueReward
        #expect(throws: RLHFError.self) { try c.validate() }
        c.algorithm = .zpg
        // Without the service's client registered, the trainer says what is missing.
        if PreferenceSources.factories[.service] == nil {
            c.budget = 1_000
            #expect(throws: RLHFError.self) { try Trainer.run(c) }
        }
    }
}
