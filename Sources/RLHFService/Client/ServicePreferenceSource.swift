import Foundation
import RLHF

/// The preference source of `rlhf train --feedback service`: every pair the algorithm wants
/// judged goes to a labeling service, and the run waits until M annotators answered each.
///
/// Each pair is submitted under the key `<run>/<pair key>` (``ComparisonRequest/key``), so a
/// trainer that is killed while it waits, and resumed from its checkpoint, submits the same keys
/// again: the service returns the comparisons it has, with the answers given meanwhile, and
/// nothing is asked or counted twice. A service that is down or restarting is retried until it
/// answers again. p̂ = (right + ½·tie) / (left + right + tie); a pair every annotator skipped is
/// a skipped pair (its M queries spent).
public final class ServicePreferenceSource: PreferenceSource, @unchecked Sendable {
    /// The client.
    public let client: LabelingClient
    /// The project.
    public let project: String
    /// The run's name, the prefix of every key.
    public let run: String
    /// M.
    public let answersPerPair: Int
    /// Whether the project is one for simulated annotators (its tasks carry returns and streams).
    public let simulated: Bool
    let poll: Double
    let timeout: Double?
    let log: (String) -> Void

    /// The largest request body sent at once (the service accepts 8 MiB).
    static let maximumBatchBytes = 4 << 20

    public var needsTrajectories: Bool { true }

    /// Connects to the service named by `context.feedback`, with the administrator token
    /// `token`, and creates the project (or finds it, with the same settings).
    public init(context: PreferenceSourceContext, token: String, log: @escaping (String) -> Void = { _ in }) throws {
        let f = context.feedback
        client = try LabelingClient(server: f.server ?? "", token: token)
        project = f.project ?? ""
        run = f.run ?? "\(context.algorithm)-seed\(context.seed)"
        answersPerPair = context.panel.evaluators
        simulated = f.simulatedAnnotators
        poll = f.pollSeconds
        timeout = f.timeoutSeconds
        self.log = log
        let environment = try JSONSerialization.jsonObject(with: context.environmentDescription)
        try retrying("creating project '\(project)'") {
            _ = try client.call("POST", "api/projects", json: [
                "name": project, "environment": environment, "answers_per_pair": answersPerPair, "simulated": simulated,
            ] as [String: Any])
        }
    }

    /// Runs `body`, retrying while the service cannot be reached (or answers 5xx) until the
    /// timeout, if any; other failures are thrown at once.
    func retrying<T>(_ what: String, _ body: () throws -> T) throws -> T {
        var waited = 0.0, delay = 0.5, reported = false
        while true {
            do {
                let value = try body()
                if reported { log("rlhf train: the labeling service answers again") }
                return value
            } catch let failure as LabelingClient.Failure where failure.isTransient {
                if let timeout, waited >= timeout {
                    throw RLHFError.invalidArgument(name: "feedback", message: "\(what): \(failure) (gave up after \(Int(waited)) s)")
                }
                if !reported { log("rlhf train: \(what): \(failure); retrying"); reported = true }
                Thread.sleep(forTimeInterval: delay)
                waited += delay
                delay = min(delay * 2, 10)
            } catch let failure as LabelingClient.Failure {
                throw RLHFError.invalidArgument(name: "feedback", message: "\(what): \(failure)")
            }
        }
    }

    /// The body of one comparison.
    func comparison(_ r: ComparisonRequest) throws -> [String: Any] {
        guard let (first, second) = r.trajectories else {
            throw RLHFError.invalidArgument(name: "feedback", message: "pair '\(r.key)' came without its trajectories")
        }
        return [
            "key": "\(run)/\(r.key)",
            "first": try JSONSerialization.jsonObject(with: first),
            "second": try JSONSerialization.jsonObject(with: second),
            "first_return": r.first.totalReturn, "second_return": r.second.totalReturn,
            "first_myopic_return": r.first.myopicReturn, "second_myopic_return": r.second.myopicReturn,
            "answer_stream": r.answerStream.stateHex,
        ]
    }

    public func judge(_ requests: [ComparisonRequest]) throws -> [Double?] {
        guard !requests.isEmpty else { return [] }
        // Submit in bodies of at most maximumBatchBytes.
        let path = "api/projects/\(LabelingClient.component(project))"
        var batch = [[String: Any]](), bytes = 0
        func flush() throws {
            guard !batch.isEmpty else { return }
            let body = ["comparisons": batch]
            try retrying("submitting \(batch.count) pairs") {
                let (_, object) = try client.call("POST", "\(path)/comparisons", json: body)
                guard (object["ids"] as? [Any])?.count == batch.count else {
                    throw LabelingClient.Failure(route: "POST \(path)/comparisons", status: 200, message: "the service returned \((object["ids"] as? [Any])?.count ?? 0) ids for \(batch.count) pairs")
                }
            }
            batch.removeAll()
            bytes = 0
        }
        for r in requests {
            let c = try comparison(r)
            let size = (try? JSONSerialization.data(withJSONObject: c).count) ?? 0
            if bytes + size > Self.maximumBatchBytes { try flush() }
            batch.append(c)
            bytes += size
        }
        try flush()

        // Wait until every pair has its M answers.
        let keys = requests.map { "\(run)/\($0.key)" }
        var rates = [Double?](repeating: nil, count: keys.count)
        var complete = [Bool](repeating: false, count: keys.count)
        var lastProgress = Date(), lastReport = Date.distantPast, lastAnswers = -1
        while true {
            let open = keys.indices.filter { !complete[$0] }
            var answers = 0
            for chunk in stride(from: 0, to: open.count, by: 1_000).map({ Array(open[$0..<min($0 + 1_000, open.count)]) }) {
                let (_, object) = try retrying("asking for the answers") {
                    try client.call("POST", "\(path)/results", json: ["keys": chunk.map { keys[$0] }])
                }
                guard let results = object["results"] as? [[String: Any]], results.count == chunk.count else {
                    throw RLHFError.invalidArgument(name: "feedback", message: "the service's results do not match the \(chunk.count) keys asked for")
                }
                for (i, result) in zip(chunk, results) {
                    // An answer is used only for the pair it names: a reply out of order would
                    // otherwise train on other pairs' labels without a word.
                    guard result["key"] as? String == keys[i] else {
                        throw RLHFError.invalidArgument(name: "feedback", message: "the service answered for '\(result["key"] as? String ?? "no key")' where pair '\(keys[i])' was asked")
                    }
                    let left = result["left"] as? Int ?? 0, right = result["right"] as? Int ?? 0
                    let tie = result["tie"] as? Int ?? 0, skip = result["skip"] as? Int ?? 0
                    answers += left + right + tie + skip
                    guard result["complete"] as? Bool == true else { continue }
                    guard left + right + tie + skip == answersPerPair else {
                        throw RLHFError.invalidArgument(name: "feedback", message: "pair '\(keys[i])' is complete with \(left + right + tie + skip) answers; the run needs M = \(answersPerPair)")
                    }
                    complete[i] = true
                    let votes = left + right + tie
                    rates[i] = votes == 0 ? nil : (Double(right) + 0.5 * Double(tie)) / Double(votes)
                }
            }
            let remaining = complete.filter { !$0 }.count
            if remaining == 0 { return rates }
            if answers != lastAnswers { lastAnswers = answers; lastProgress = Date() }
            if Date().timeIntervalSince(lastReport) >= 10 {
                log("rlhf train: waiting for people: \(keys.count - remaining) of \(keys.count) pairs answered (project \(project), \(server))")
                lastReport = Date()
            }
            if let timeout, Date().timeIntervalSince(lastProgress) > timeout {
                throw RLHFError.invalidArgument(name: "feedback", message: "no new answer in \(Int(timeout)) s; \(remaining) of \(keys.count) pairs are still open in project '\(project)' (resume the run with --resume to go on waiting)")
            }
            Thread.sleep(forTimeInterval: poll)
        }
    }

    var server: String { client.server.absoluteString }
}

extension LabelingService {
    /// Registers the service as `--feedback service` for ``Trainer`` (the `rlhf` tool does at
    /// start). The administrator token is read from the environment variable
    /// `RLHF_SERVICE_TOKEN`, never from a configuration (which `summary.json` records).
    public static func registerClient(log: @escaping @Sendable (String) -> Void = { _ in }) {
        PreferenceSources.register(.service) { context in
            guard let token = ProcessInfo.processInfo.environment["RLHF_SERVICE_TOKEN"], !token.isEmpty else {
                throw RLHFError.invalidArgument(name: "feedback", message: "--feedback service needs an administrator token in RLHF_SERVICE_TOKEN (rlhf serve annotators add NAME --admin prints one)")
            }
            return try ServicePreferenceSource(context: context, token: token, log: log)
        }
    }
}
