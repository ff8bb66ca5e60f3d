import Foundation
import RLHF

/// What a study's folder holds: each run finished, failed, running (claimed by a live process)
/// or missing (never started, or stopped: its claim, if any, is stale).
public struct FolderStatus: Sendable {
    /// A run a live process is computing.
    public struct Running: Sendable, Equatable {
        /// The run's id.
        public var id: String
        /// `host:pid` of the process computing it (nil if its claim is unreadable).
        public var owner: String?
    }

    /// Ids of finished runs (plan order).
    public var finished: [String] = []
    /// Runs that failed, with their errors (plan order).
    public var failed: [StudyRunner.Failure] = []
    /// Runs being computed.
    public var running: [Running] = []
    /// Runs not finished, not failed, not running (plan order).
    public var missing: [String] = []
    /// Every row of `results.csv` (the finished runs').
    public var rows: [ResultRow] = []
    /// All runs.
    public var total: Int = 0

    /// Whether no run is left to compute: every one finished or failed.
    public var isSettled: Bool { running.isEmpty && missing.isEmpty }
}

extension StudyRunner {
    /// The state of every run of `plan` in the folder. Reads, never writes.
    ///
    /// - Throws: ``StudyError`` if the folder belongs to another study.
    ///
    /// - Parameters:
    ///   - known: finished runs already loaded (indexed like `plan.cells`), not read again.
    ///   - rows: whether to read the finished runs (for ``FolderStatus/rows``); without, a run
    ///     counts as finished when its `run.json` exists.
    /// - Throws: ``StudyError`` if a finished run has other settings than the plan's.
    public func status(_ plan: StudyPlan, known: [FinishedRun?] = [], rows: Bool = true) throws -> FolderStatus {
        try verifyIdentity(plan)
        var s = FolderStatus()
        s.total = plan.cells.count
        for (i, cell) in plan.cells.enumerated() {
            let saved = i < known.count ? known[i] : nil
            if !rows && (saved != nil || FileManager.default.fileExists(atPath: runFile(cell.id))) {
                s.finished.append(cell.id)
                continue
            }
            if let run = try saved ?? loadFinished(cell) {
                s.finished.append(cell.id)
                s.rows += Self.rows(cell, run)
                continue
            }
            let dir = runDirectory(cell.id)
            if let holder = RunClaim.liveHolder(of: dir, staleAfter: staleAfter) {
                s.running.append(.init(id: cell.id, owner: holder?.brief))
            } else if let failure = loadFailure(cell) {
                s.failed.append(failure)
            } else {
                s.missing.append(cell.id)
            }
        }
        return s
    }

    /// A failed run's ``Failure`` (from `failure.json`, or `error.txt` alone), nil if it has not failed.
    func loadFailure(_ cell: StudyPlan.Cell) -> Failure? {
        let dir = runDirectory(cell.id)
        if let data = FileManager.default.contents(atPath: dir + "/" + Self.failureFileName),
           let f = try? JSONDecoder().decode(Failure.self, from: data) {
            return f
        }
        guard let data = FileManager.default.contents(atPath: dir + "/" + Self.errorFileName) else { return nil }
        let message = String(decoding: data, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        return Failure(id: cell.id, variant: cell.variant, message: message, diverged: false)
    }
}
