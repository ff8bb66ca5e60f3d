import Foundation
import RLHF

/// Runs a study into an output folder, in parallel, resumably.
///
/// Layout of the folder:
/// - `study.yaml`: the study as given (a copy, for reproduction);
/// - `runs/<id>/run.json`: one finished run (configuration, summary, evaluation points), written
///   last and atomically: its presence is what "finished" means, so a study stopped at any moment
///   and started again recomputes only the runs that had not finished. `runs/<id>/metrics.csv`
///   and `summary.json` are the same files `rlhf train --out` writes;
/// - `results.csv`, `report.md`, `normalized_vs_queries.svg`: rebuilt from all finished runs;
/// - `.lock`: locked (`flock`) while a study runs into the folder; a second one is refused.
///
/// Runs are independent and seeded by their configuration, so the numbers do not depend on the
/// number of workers or the order in which runs finish.
public struct StudyRunner: Sendable {
    /// What a finished run leaves in `runs/<id>/run.json`.
    public struct FinishedRun: Codable, Sendable {
        /// The configuration that produced it.
        public var configuration: TrainConfiguration
        /// Its summary.
        public var summary: RunSummary
        /// Its evaluation points.
        public var records: [TrainingRecord]
    }

    /// Progress of a study.
    public struct Progress: Sendable {
        /// Runs finished (including those found finished when resuming).
        public var finished: Int
        /// Runs found finished when the study started.
        public var resumed: Int
        /// All runs.
        public var total: Int
        /// Runs that failed.
        public var failed: Int
        /// Seconds since the study started.
        public var elapsed: Double
        /// Estimated seconds left (nil until a run has finished in this session).
        public var remaining: Double?
        /// The run that just finished or failed, if any.
        public var event: String?
    }

    /// A run that did not finish.
    public struct Failure: Sendable, Equatable {
        /// The run's id (its folder under `runs/`).
        public var id: String
        /// Its variant's label.
        public var variant: String
        /// The error.
        public var message: String
        /// Whether the run diverged (non-finite estimates or parameters): an outcome of the
        /// algorithm under those settings, not a fault of the study.
        public var diverged: Bool
    }

    /// What the study produced.
    public struct Outcome: Sendable {
        /// Every row of `results.csv`.
        public var rows: [ResultRow]
        /// Runs that failed, with their error.
        public var failures: [Failure]
        /// Runs computed in this session.
        public var computed: Int
        /// Runs found finished.
        public var resumed: Int
    }

    /// The output folder.
    public var directory: String
    /// Parallel workers (runs at once). Each run uses one thread unless its settings give it more
    /// (`threads`, as in the `block-size` study).
    public var workers: Int
    /// Called after every finished run and about once a second otherwise.
    public var onProgress: @Sendable (Progress) -> Void = { _ in }

    /// Creates a runner.
    public init(directory: String, workers: Int = Parallel.coreCount) {
        self.directory = directory
        self.workers = max(1, workers)
    }

    // MARK: - Files

    func runDirectory(_ id: String) -> String { directory + "/runs/" + id }
    func runFile(_ id: String) -> String { runDirectory(id) + "/run.json" }

    /// Loads a finished run, or nil if it has not finished. A run of another configuration in
    /// the same folder is an error: the folder belongs to another study.
    func loadFinished(_ cell: StudyPlan.Cell) throws -> FinishedRun? {
        guard let data = FileManager.default.contents(atPath: runFile(cell.id)) else { return nil }
        let run: FinishedRun
        do {
            run = try JSONDecoder().decode(FinishedRun.self, from: data)
        } catch {
            // A damaged file (a disk filled mid-write): recompute the run.
            return nil
        }
        var saved = run.configuration, wanted = cell.configuration
        saved.threads = 1
        wanted.threads = 1
        guard saved == wanted else {
            throw StudyError("\(runFile(cell.id)) was written by a run with other settings: this folder holds another study's results; use another --out, or delete the folder to start over")
        }
        return run
    }

    /// Rows of `results.csv` for one finished run.
    static func rows(_ cell: StudyPlan.Cell, _ run: FinishedRun) -> [ResultRow] {
        run.records.enumerated().map { i, r in
            ResultRow(run: cell.id, variant: cell.variant, algorithm: cell.configuration.algorithm.rawValue,
                      env: cell.env, link: cell.link, feedback: cell.feedback, seed: cell.configuration.seed,
                      budget: cell.configuration.budget, queries: r.queries, envSteps: r.envSteps, value: r.value,
                      valueStandardError: r.valueStandardError, normalizedValue: r.normalizedValue,
                      wallSeconds: r.wallSeconds, isFinal: i == run.records.count - 1)
        }
    }

    // MARK: - Running

    /// Runs every unfinished run of the plan, then writes `results.csv`, the report and the plot.
    ///
    /// - Throws: ``StudyError`` if another process is running a study into the same folder.
    public func run(_ plan: StudyPlan, source: String?) throws -> Outcome {
        try RunOutput.prepare(directory: directory + "/runs")
        let lock = try FolderLock(directory: directory)
        defer { lock.release() }
        if let source { try RunOutput.write(Data(source.utf8), to: directory + "/study.yaml") }
        let cells = plan.cells
        var finished = [FinishedRun?](repeating: nil, count: cells.count)
        for (i, cell) in cells.enumerated() { finished[i] = try loadFinished(cell) }
        let resumed = finished.compactMap { $0 }.count
        // The order runs start in (results do not depend on it: each run is seeded by its own
        // configuration): see ``SharedState/next(worker:)``.
        let todo = cells.indices.filter { finished[$0] == nil }
        let workers = min(workers, max(1, todo.count))
        let state = SharedState(total: cells.count, resumed: resumed, todo: todo, cells: cells, finished: finished,
                                workers: workers)
        let started = Date()
        let ticker = Ticker(interval: 1) { [onProgress] in onProgress(state.progress(elapsed: Date().timeIntervalSince(started), event: nil)) }
        if !todo.isEmpty { ticker.start() }
        DispatchQueue.concurrentPerform(iterations: workers) { worker in
            while let index = state.next(worker: worker) {
                let cell = cells[index]
                let runStart = Date()
                do {
                    let result = try Trainer.run(cell.configuration, progress: { _, fraction in
                        state.setFraction(worker: worker, fraction)
                    })
                    let run = FinishedRun(configuration: cell.configuration, summary: result.summary, records: result.state.records)
                    try RunOutput.writeResult(result, to: runDirectory(cell.id))
                    try RunOutput.write(JSONEncoder().encode(run), to: runFile(cell.id))
                    try? FileManager.default.removeItem(atPath: runDirectory(cell.id) + "/error.txt")
                    state.finish(worker: worker, index: index, run: run, seconds: Date().timeIntervalSince(runStart))
                    onProgress(state.progress(elapsed: Date().timeIntervalSince(started), event: "finished \(cell.id)"))
                } catch {
                    let message = "\(error)"
                    try? RunOutput.prepare(directory: runDirectory(cell.id))
                    try? RunOutput.write(Data((message + "\n").utf8), to: runDirectory(cell.id) + "/error.txt")
                    var diverged = false
                    if case .diverged? = error as? RLHFError { diverged = true }
                    state.fail(worker: worker, index: index,
                               failure: Failure(id: cell.id, variant: cell.variant, message: message, diverged: diverged))
                    onProgress(state.progress(elapsed: Date().timeIntervalSince(started), event: "FAILED \(cell.id): \(message)"))
                }
            }
        }
        ticker.stop()
        var rows: [ResultRow] = []
        for (i, cell) in cells.enumerated() {
            if let run = state.finished[i] { rows += Self.rows(cell, run) }
        }
        try writeOutputs(plan.study, rows: rows, failures: state.failures)
        return Outcome(rows: rows, failures: state.failures, computed: todo.count - state.failures.count, resumed: resumed)
    }

    /// Writes `results.csv`, `report.md` and `normalized_vs_queries.svg`.
    func writeOutputs(_ study: Study, rows: [ResultRow], failures: [Failure]) throws {
        try RunOutput.write(Data(StudyReport.csv(rows).utf8), to: directory + "/results.csv")
        var notes = study.notes
        // One note per variant with failed runs: how many, and the first one's error.
        var variants: [String] = []
        for f in failures where !variants.contains(f.variant) { variants.append(f.variant) }
        for v in variants {
            let mine = failures.filter { $0.variant == v }
            let total = rows.filter { $0.variant == v && $0.isFinal }.count + mine.count
            let what = mine.allSatisfy(\.diverged) ? "diverged" : "failed"
            notes.append("**\(v)**: \(mine.count) of \(total) runs \(what) and are missing from the tables; " +
                         "for example `\(mine[0].id)`: \(mine[0].message) (each run's error is in `runs/<id>/error.txt`).")
        }
        try RunOutput.write(Data(StudyReport.training(title: study.title, question: study.question, rows: rows, notes: notes).utf8),
                            to: directory + "/report.md")
        try RunOutput.write(Data(StudyReport.trainingPlot(rows: rows, title: study.title).utf8),
                            to: directory + "/" + StudyReport.trainingPlotFile)
    }
}

/// The workers' shared bookkeeping, behind a lock.
final class SharedState: @unchecked Sendable {
    private let lock = NSLock()
    let total: Int, resumed: Int, workers: Int
    let cells: [StudyPlan.Cell]
    private var queue: [Int]
    private(set) var finished: [StudyRunner.FinishedRun?]
    private(set) var failures: [StudyRunner.Failure] = []
    /// What each worker is running and how far along it is.
    private var current: [Int: (index: Int, fraction: Double)] = [:]
    /// Seconds per query observed in this session, per variant (runs of one variant cost alike).
    private var rates: [String: (seconds: Double, queries: Double)] = [:]
    private var doneThisSession = 0

    init(total: Int, resumed: Int, todo: [Int], cells: [StudyPlan.Cell], finished: [StudyRunner.FinishedRun?], workers: Int) {
        self.total = total; self.resumed = resumed; self.queue = todo; self.cells = cells; self.finished = finished
        self.workers = workers
    }

    /// The next run for `worker`. First one probe per variant (its smallest budget), so that every
    /// variant's cost is known early; then the run with the largest estimated cost (longest
    /// first, so the workers finish together and the ETA is right early on).
    func next(worker: Int) -> Int? {
        lock.lock(); defer { lock.unlock() }
        guard !queue.isEmpty else { current[worker] = nil; return nil }
        let probing = Set(current.values.map { cells[$0.index].variant })
        var pick: Int
        if let probe = queue.indices.filter({ rates[cells[queue[$0]].variant] == nil && !probing.contains(cells[queue[$0]].variant) })
            .min(by: { cells[queue[$0]].configuration.budget < cells[queue[$1]].configuration.budget }) {
            pick = probe
        } else {
            let fallback = fallbackRate
            pick = queue.indices.max { cost(queue[$0], fallback) < cost(queue[$1], fallback) }!
        }
        let i = queue.remove(at: pick)
        current[worker] = (i, 0)
        return i
    }

    /// Seconds per query over every finished run (for variants not seen yet).
    private var fallbackRate: Double {
        let all = rates.values.reduce((0.0, 0.0)) { ($0.0 + $1.seconds, $0.1 + $1.queries) }
        return all.1 > 0 ? all.0 / all.1 : 1e-6
    }

    /// The estimated seconds of run `i`: its budget times its variant's seconds per query.
    private func cost(_ i: Int, _ fallback: Double) -> Double {
        let c = cells[i]
        let rate = rates[c.variant].map { $0.seconds / max($0.queries, 1) } ?? fallback
        return rate * Double(c.configuration.budget)
    }

    func setFraction(worker: Int, _ f: Double) {
        lock.lock(); defer { lock.unlock() }
        if let c = current[worker] { current[worker] = (c.index, min(1, max(0, f))) }
    }

    func finish(worker: Int, index: Int, run: StudyRunner.FinishedRun, seconds: Double) {
        lock.lock(); defer { lock.unlock() }
        finished[index] = run
        current[worker] = nil
        doneThisSession += 1
        let key = cells[index].variant
        let r = rates[key] ?? (0, 0)
        rates[key] = (r.seconds + seconds, r.queries + Double(cells[index].configuration.budget))
    }

    func fail(worker: Int, index: Int, failure: StudyRunner.Failure) {
        lock.lock(); defer { lock.unlock() }
        failures.append(failure)
        current[worker] = nil
    }

    func progress(elapsed: Double, event: String?) -> StudyRunner.Progress {
        lock.lock(); defer { lock.unlock() }
        let done = finished.compactMap { $0 }.count
        var remaining: Double? = nil
        if doneThisSession > 0 {
            // Seconds per query: the variant's own rate where one of its runs has finished, else
            // the mean over finished runs; the remaining work shared by the workers, but no
            // sooner than the longest run in progress can finish.
            let fallback = fallbackRate
            var work = queue.map { cost($0, fallback) }.reduce(0, +)
            var longest = 0.0
            for (_, c) in current {
                let left = cost(c.index, fallback) * (1 - c.fraction)
                work += left
                longest = max(longest, left)
            }
            remaining = max(longest, work / Double(max(1, workers)))
        }
        return .init(finished: done, resumed: resumed, total: total, failed: failures.count, elapsed: elapsed,
                     remaining: remaining, event: event)
    }
}

/// Calls a closure every `interval` seconds on a background thread until stopped.
final class Ticker: @unchecked Sendable {
    private let interval: Double
    private let body: @Sendable () -> Void
    private let lock = NSLock()
    private var running = false
    private var thread: Thread?

    init(interval: Double, body: @escaping @Sendable () -> Void) {
        self.interval = interval
        self.body = body
    }

    func start() {
        lock.lock(); running = true; lock.unlock()
        let t = Thread { [self] in
            while true {
                Thread.sleep(forTimeInterval: interval)
                lock.lock(); let r = running; lock.unlock()
                if !r { break }
                body()
            }
        }
        thread = t
        t.start()
    }

    func stop() {
        lock.lock(); running = false; lock.unlock()
    }
}
