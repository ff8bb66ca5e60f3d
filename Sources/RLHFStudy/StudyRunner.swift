#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
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
/// - `study-id`: the study's identity (a hash of its runs' settings); another study is refused;
/// - `runs/<id>/claim.<k>`: held while a process computes the run (see ``RunClaim``), so that
///   any number of processes (`--shard I/N`, on any number of machines sharing the folder) can
///   run the same study into it without computing a run twice;
/// - `runs/<id>/error.txt` (and `failure.json`): a run that failed, and why;
/// - `results.csv`, `report.md`, `normalized_vs_queries.svg`: rebuilt from all finished runs.
///
/// Runs are independent and seeded by their configuration, so the numbers do not depend on the
/// number of workers, of shards, or the order in which runs finish.
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
    public struct Failure: Sendable, Equatable, Codable {
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
        /// Runs of this process's share that another process was computing (not waited for).
        public var skipped: [String] = []
        /// The whole folder after this session (every shard's runs).
        public var folder: FolderStatus
        /// Whether `results.csv`, `report.md` and the plot were written: always without a shard;
        /// with one, when no run of the study is left to compute (the last shard writes them).
        public var wroteOutputs: Bool
    }

    /// The output folder.
    public var directory: String
    /// Parallel workers (runs at once). Each run uses one thread unless its settings give it more
    /// (`threads`, as in the `block-size` study).
    public var workers: Int
    /// Called after every finished run and about once a second otherwise.
    public var onProgress: @Sendable (Progress) -> Void = { _ in }
    /// Only this shard's runs (nil: all of them).
    public var shard: StudyShard? = nil
    /// Seconds between refreshes of the claims this process holds.
    public var heartbeatInterval: Double = 30
    /// Seconds after which a claim that has not been refreshed is taken over (its machine
    /// crashed or lost the folder); a claim of a dead process on this host is taken over at once.
    public var staleAfter: Double = 300

    /// Creates a runner.
    public init(directory: String, workers: Int = Parallel.coreCount) {
        self.directory = directory
        self.workers = max(1, workers)
    }

    // MARK: - Files

    func runDirectory(_ id: String) -> String { directory + "/runs/" + id }
    func runFile(_ id: String) -> String { runDirectory(id) + "/run.json" }
    /// A failed run's error, for people.
    static let errorFileName = "error.txt"
    /// A failed run's ``Failure``, for the report.
    static let failureFileName = "failure.json"

    /// Writes `data` to `path` atomically through a temporary file of this process's own (host,
    /// process and a random number in its name), so that processes writing the same file at once
    /// (two shards finishing together, on one machine or several) never mix their bytes.
    static func write(_ data: Data, to path: String) throws {
        let temporary = path + ".tmp-\(RunClaim.Owner.current.host)-\(getpid())-\(UInt64.random(in: 0...UInt64.max))"
        guard FileManager.default.createFile(atPath: temporary, contents: data) else {
            throw RLHFError.io(path: path, message: "cannot write the file (\(String(cString: strerror(errno))))")
        }
        if rename(temporary, path) != 0 {
            let reason = String(cString: strerror(errno))
            unlink(temporary)
            throw RLHFError.io(path: path, message: "cannot move the temporary file into place (\(reason))")
        }
    }

    /// Keeps a failed run's error in its folder.
    func saveFailure(_ failure: Failure) {
        let dir = runDirectory(failure.id)
        try? RunOutput.prepare(directory: dir)
        try? Self.write(Data((failure.message + "\n").utf8), to: dir + "/" + Self.errorFileName)
        if let data = try? JSONEncoder().encode(failure) { try? Self.write(data, to: dir + "/" + Self.failureFileName) }
    }

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
                      wallSeconds: r.wallSeconds, isFinal: i == run.records.count - 1, diagnostics: r.diagnostics ?? [])
        }
    }

    // MARK: - Running

    /// Runs every unfinished run of the plan (of ``shard``'s runs if set), then, unless another
    /// process is still computing some, writes `results.csv`, the report and the plot.
    ///
    /// Runs another process holds (see ``RunClaim``) are skipped, not waited for: the process
    /// that finishes the study's last run writes the outputs, and `--report` writes them from
    /// whatever is in the folder.
    ///
    /// - Throws: ``StudyError`` if the folder belongs to another study.
    public func run(_ plan: StudyPlan, source: String?) throws -> Outcome {
        try RunOutput.prepare(directory: directory + "/runs")
        try checkIdentity(Identity(plan))
        if let source { try Self.write(Data(source.utf8), to: directory + "/study.yaml") }
        let cells = plan.cells
        let mine = shard.map { plan.cells(of: $0) } ?? Array(cells.indices)
        var finished = [FinishedRun?](repeating: nil, count: cells.count)
        for i in mine { finished[i] = try loadFinished(cells[i]) }
        let resumed = finished.compactMap { $0 }.count
        // The order runs start in (results do not depend on it: each run is seeded by its own
        // configuration): see ``SharedState/next(worker:)``.
        let todo = mine.filter { finished[$0] == nil }
        let workers = min(workers, max(1, todo.count))
        let state = SharedState(total: mine.count, resumed: resumed, todo: todo, cells: cells, finished: finished,
                                workers: workers)
        let started = Date()
        let ticker = Ticker(interval: 1) { [onProgress] in onProgress(state.progress(elapsed: Date().timeIntervalSince(started), event: nil)) }
        if !todo.isEmpty { ticker.start() }
        let heartbeat = ClaimHeartbeat(interval: heartbeatInterval)
        DispatchQueue.concurrentPerform(iterations: workers) { worker in
            while let index = state.next(worker: worker) {
                let cell = cells[index]
                let runStart = Date()
                var claim: RunClaim? = nil
                do {
                    guard let c = try RunClaim.acquire(runDirectory(cell.id), staleAfter: staleAfter) else {
                        state.skip(worker: worker, index: index)
                        onProgress(state.progress(elapsed: Date().timeIntervalSince(started), event: "skipped \(cell.id): another process is computing it"))
                        continue
                    }
                    claim = c
                    heartbeat.add(c)
                    defer { heartbeat.remove(c); c.release() }
                    // Finished by another process between our listing and our claim.
                    if let run = try loadFinished(cell) {
                        state.adopt(worker: worker, index: index, run: run)
                        continue
                    }
                    let result = try Trainer.run(cell.configuration, progress: { _, fraction in
                        state.setFraction(worker: worker, fraction)
                    })
                    let run = FinishedRun(configuration: cell.configuration, summary: result.summary, records: result.state.records)
                    try RunOutput.writeResult(result, to: runDirectory(cell.id))
                    try Self.write(JSONEncoder().encode(run), to: runFile(cell.id))
                    for file in [Self.errorFileName, Self.failureFileName] {
                        try? FileManager.default.removeItem(atPath: runDirectory(cell.id) + "/" + file)
                    }
                    state.finish(worker: worker, index: index, run: run, seconds: Date().timeIntervalSince(runStart))
                    onProgress(state.progress(elapsed: Date().timeIntervalSince(started), event: "finished \(cell.id)"))
                } catch {
                    let message = "\(error)"
                    var diverged = false
                    if case .diverged? = error as? RLHFError { diverged = true }
                    let failure = Failure(id: cell.id, variant: cell.variant, message: message, diverged: diverged)
                    // Kept only by the claim's holder (a failure to claim leaves another's files alone).
                    if claim != nil { saveFailure(failure) }
                    state.fail(worker: worker, index: index, failure: failure)
                    onProgress(state.progress(elapsed: Date().timeIntervalSince(started), event: "FAILED \(cell.id): \(message)"))
                }
            }
        }
        heartbeat.stop()
        ticker.stop()
        // The whole folder (every shard's runs): the outputs once no run is left to compute.
        // A shard first looks without reading the other shards' results (a study of thousands
        // of runs has thousands of tasks); it reads them only to write the outputs.
        var folder = try status(plan, known: state.finished, rows: shard == nil)
        let written = shard == nil || folder.isSettled
        if written {
            if shard != nil { folder = try status(plan, known: state.finished) }
            try writeOutputs(plan, folder)
        }
        return Outcome(rows: folder.rows, failures: state.failures, computed: state.computed, resumed: resumed,
                       skipped: state.skipped.map { cells[$0].id }, folder: folder, wroteOutputs: written)
    }

    /// Writes `results.csv`, `report.md` and `normalized_vs_queries.svg` from what is in the folder,
    /// whatever is missing (`rlhf study --report`); computes nothing.
    ///
    /// - Throws: ``StudyError`` if the folder belongs to another study.
    public func report(_ plan: StudyPlan) throws -> FolderStatus {
        try checkIdentity(Identity(plan))
        let folder = try status(plan)
        try writeOutputs(plan, folder)
        return folder
    }

    /// Writes `results.csv`, `report.md` and `normalized_vs_queries.svg`; the report's notes say
    /// which runs failed (with the first error of each variant) and which are missing.
    func writeOutputs(_ plan: StudyPlan, _ folder: FolderStatus) throws {
        let study = plan.study, rows = folder.rows, failures = folder.failed
        try Self.write(Data(StudyReport.csv(rows).utf8), to: directory + "/results.csv")
        var notes = study.notes
        // One note per variant with failed runs: how many, and the first one's error.
        var variants: [String] = []
        for f in failures where !variants.contains(f.variant) { variants.append(f.variant) }
        for v in variants {
            let mine = failures.filter { $0.variant == v }
            let total = plan.cells.filter { $0.variant == v }.count
            let what = mine.allSatisfy(\.diverged) ? "diverged" : "failed"
            notes.append("**\(v)**: \(mine.count) of \(total) runs \(what) and are missing from the tables; " +
                         "for example `\(mine[0].id)`: \(mine[0].message) (each run's error is in `runs/<id>/error.txt`).")
        }
        let absent = folder.running.map(\.id) + folder.missing
        if !absent.isEmpty {
            let shown = absent.prefix(10).map { "`\($0)`" }.joined(separator: ", ")
            notes.append("**Incomplete**: \(absent.count) of \(plan.cells.count) runs have not finished " +
                         "(\(folder.running.count) running, \(folder.missing.count) not started or stopped): \(shown)" +
                         (absent.count > 10 ? ", …" : "") + ". Run the study again into this folder to compute them.")
        }
        try Self.write(Data(StudyReport.training(title: study.title, question: study.question, rows: rows, notes: notes).utf8),
                       to: directory + "/report.md")
        try Self.write(Data(StudyReport.trainingPlot(rows: rows, title: study.title).utf8),
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
    /// Runs another process was computing.
    private(set) var skipped: [Int] = []
    /// Runs computed in this session.
    private(set) var computed = 0
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
        computed += 1
        let key = cells[index].variant
        let r = rates[key] ?? (0, 0)
        rates[key] = (r.seconds + seconds, r.queries + Double(cells[index].configuration.budget))
    }

    /// A run another process holds: not computed here.
    func skip(worker: Int, index: Int) {
        lock.lock(); defer { lock.unlock() }
        skipped.append(index)
        current[worker] = nil
    }

    /// A run another process finished after this one listed the folder.
    func adopt(worker: Int, index: Int, run: StudyRunner.FinishedRun) {
        lock.lock(); defer { lock.unlock() }
        finished[index] = run
        current[worker] = nil
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
