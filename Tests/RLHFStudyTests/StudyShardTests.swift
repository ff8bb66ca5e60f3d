#if canImport(Glibc)
import Glibc
#endif
import Foundation
import Testing
import RLHF
@testable import RLHFStudy
import RLHFTestSupport

/// Shards of a study sharing one folder, per-run claims, and the folder's study identity.
@Suite struct StudyShardTests {
    static let text = StudyRunnerTests.text
    static func plan(_ text: String = Self.text) throws -> StudyPlan { try StudyPlan(Study.parse(yaml: text, file: "t.yaml")) }
    static func csv(_ dir: String) throws -> String { try String(contentsOfFile: dir + "/results.csv", encoding: .utf8) }
    /// results.csv without its wall-time column (the only one that differs between computations).
    @Test func shardsCoverEveryRunOnceBalancedAndDependOnThePlanOnly() throws {
        let plan = try Self.plan()
        for n in [1, 3, 4, 16, 40] {
            let shards = plan.shardAssignment(count: n)
            #expect(shards.count == n)
            #expect(shards.flatMap { $0 }.sorted() == Array(plan.cells.indices), "n=\(n)")
            // Longest first: the budgets 4000 (8 runs) and 2000 (8 runs) over 3 shards give loads
            // of 16000, 12000 and 20000 at worst for a bad split; greedy gives 16000, 16000, 16000 (±2000).
            let loads = shards.map { $0.map { Double(plan.cells[$0].configuration.budget) }.reduce(0, +) }
            #expect(loads.max()! - loads.min()! <= 4000, "n=\(n): \(loads)")
            // The same in every process: computed again, and for each shard alone.
            #expect(plan.shardAssignment(count: n) == shards)
            for i in 0..<n { #expect(plan.cells(of: try StudyShard(index: i, count: n)) == shards[i]) }
        }
        // Larger budgets go first: with 2 shards each gets 4 of the 8 runs at 4000.
        let two = plan.shardAssignment(count: 2)
        #expect(two.map { $0.filter { plan.cells[$0].configuration.budget == 4000 }.count } == [4, 4])
        // Bad shards are refused with what is expected.
        for bad in ["4/4", "-1/3", "1/0", "a/b", "1", "1/2/3"] {
            #expect(throws: StudyError.self, "\(bad)") { _ = try StudyShard(parsing: bad) }
        }
        #expect(try StudyShard(parsing: "3/4") == StudyShard(index: 3, count: 4))
    }

    @Test func shardsRunOneByOneGiveTheUnshardedResultsAndTheLastWritesTheReport() throws {
        let plan = try Self.plan()
        let whole = TestFiles.temporaryDirectory("rlhf-study", create: false), sharded = TestFiles.temporaryDirectory("rlhf-study", create: false)
        defer { try? FileManager.default.removeItem(atPath: whole); try? FileManager.default.removeItem(atPath: sharded) }
        _ = try StudyRunner(directory: whole, workers: 2).run(plan, source: Self.text)
        var computed = 0
        for i in 0..<3 {
            var r = StudyRunner(directory: sharded, workers: 2)
            r.shard = try StudyShard(index: i, count: 3)
            let o = try r.run(plan, source: Self.text)
            computed += o.computed
            #expect(o.computed == plan.cells(of: r.shard!).count)
            // Only the last shard finds the study complete and writes the outputs.
            #expect(o.wroteOutputs == (i == 2))
            #expect(FileManager.default.fileExists(atPath: sharded + "/results.csv") == (i == 2))
        }
        #expect(computed == plan.cells.count)
        #expect(TestFiles.withoutWallTime(try Self.csv(sharded)) == TestFiles.withoutWallTime(try Self.csv(whole)))
        // No claim is left behind.
        for c in plan.cells { #expect(RunClaim.generations(in: sharded + "/runs/" + c.id).isEmpty) }
    }

    /// Writes a claim on a run as another process would.
    static func claim(_ dir: String, _ id: String, host: String, pid: Int32, age: Double = 0) throws {
        let runDir = dir + "/runs/" + id
        try FileManager.default.createDirectory(atPath: runDir, withIntermediateDirectories: true)
        let path = runDir + "/claim.1"
        try "host=\(host) pid=\(pid) started=0 token=7\n".write(toFile: path, atomically: true, encoding: .utf8)
        if age > 0 {
            let t = Date().timeIntervalSince1970 - age
            var times = [timeval(tv_sec: Int(t), tv_usec: 0), timeval(tv_sec: Int(t), tv_usec: 0)]
            #expect(utimes(path, &times) == 0)
        }
    }

    /// The pid of a process that has ended.
    static func deadPid() throws -> Int32 {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/bin/true")
        try p.run()
        p.waitUntilExit()
        return p.processIdentifier
    }

    @Test func aRunALiveProcessHoldsIsSkippedAndAStaleClaimIsTakenOver() throws {
        let plan = try Self.plan()
        let dir = TestFiles.temporaryDirectory("rlhf-study", create: false)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let host = RunClaim.hostName()
        let live = plan.cells[0].id, dead = plan.cells[1].id, silent = plan.cells[2].id, fresh = plan.cells[3].id
        try Self.claim(dir, live, host: host, pid: getppid())                       // alive on this host
        try Self.claim(dir, dead, host: host, pid: try Self.deadPid())              // killed on this host
        try Self.claim(dir, silent, host: "elsewhere", pid: 1, age: 1000)          // another host, no heartbeat for 1000 s
        try Self.claim(dir, fresh, host: "elsewhere", pid: 1, age: 5)              // another host, alive
        var runner = StudyRunner(directory: dir, workers: 2)
        runner.staleAfter = 300
        let before = try runner.status(plan)
        #expect(Set(before.running.map(\.id)) == [live, fresh])
        #expect(before.running.first { $0.id == fresh }?.owner == "elsewhere:1")
        #expect(before.missing.count == plan.cells.count - 2)
        let o = try runner.run(plan, source: nil)
        #expect(Set(o.skipped) == [live, fresh])
        #expect(o.computed == plan.cells.count - 2)
        // Taken over: the next claim generation was used, and released after the run.
        #expect(FileManager.default.fileExists(atPath: dir + "/runs/\(dead)/run.json"))
        #expect(FileManager.default.fileExists(atPath: dir + "/runs/\(silent)/run.json"))
        #expect(!FileManager.default.fileExists(atPath: dir + "/runs/\(live)/run.json"))
        #expect(RunClaim.generations(in: dir + "/runs/" + dead).isEmpty)
        // The report was written (no shard) and says which runs are missing.
        #expect(o.wroteOutputs && Set(o.folder.running.map(\.id)) == [live, fresh])
        let report = try String(contentsOfFile: dir + "/report.md", encoding: .utf8)
        #expect(report.contains("**Incomplete**: 2 of 16 runs have not finished (2 running, 0 not started or stopped)"), "\(report)")
        #expect(report.contains("`\(live)`"))
        // Once the holders are gone, the next run computes exactly those two.
        for id in [live, fresh] { try FileManager.default.removeItem(atPath: dir + "/runs/\(id)/claim.1") }
        let again = try runner.run(plan, source: nil)
        #expect(again.computed == 2 && again.resumed == 14 && again.folder.isSettled)
        #expect(!(try String(contentsOfFile: dir + "/report.md", encoding: .utf8)).contains("Incomplete"))
    }

    @Test func claimsAreExclusiveAndTakingOverMakesTheNextGeneration() throws {
        let dir = TestFiles.temporaryDirectory("rlhf-study", create: false) + "/run"
        defer { try? FileManager.default.removeItem(atPath: (dir as NSString).deletingLastPathComponent) }
        defer { try? FileManager.default.removeItem(atPath: dir + "2") }
        let first = try #require(try RunClaim.acquire(dir, staleAfter: 300))
        #expect(first.generation == 1)
        // Held by this (live) process: nobody else gets it.
        #expect(try RunClaim.acquire(dir, staleAfter: 300) == nil)
        // Another host's claim not refreshed for longer than the timeout: stale; the taker gets
        // claim.2, the old one stays until released.
        try "host=elsewhere pid=1 started=0 token=7\n".write(toFile: first.path, atomically: true, encoding: .utf8)
        #expect(try RunClaim.acquire(dir, staleAfter: 300) == nil)
        let claim = try #require(try RunClaim.acquire(dir, staleAfter: -1))
        #expect(claim.generation == 2)
        #expect(RunClaim.generations(in: dir) == [1, 2])
        claim.release()
        #expect(RunClaim.generations(in: dir).isEmpty)
        // Many threads at once: exactly one wins.
        let winners = Winners()
        DispatchQueue.concurrentPerform(iterations: 8) { _ in
            if let c = try? RunClaim.acquire(dir, staleAfter: 300) { winners.add(c.generation) }
        }
        #expect(winners.all == [1])
        // The heartbeat keeps a held claim fresh: an old modification time is refreshed.
        let held = try #require(try RunClaim.acquire(dir + "2", staleAfter: 300))
        var old = [timeval(tv_sec: 1000, tv_usec: 0), timeval(tv_sec: 1000, tv_usec: 0)]
        #expect(utimes(held.path, &old) == 0)
        #expect(RunClaim.holder(held.path, staleAfter: 300)!.age > 1e6)
        let heartbeat = ClaimHeartbeat(interval: 0.05)
        heartbeat.add(held)
        Thread.sleep(forTimeInterval: 0.3)
        heartbeat.stop()
        #expect(RunClaim.holder(held.path, staleAfter: 300)!.age < 5)
    }

    final class Winners: @unchecked Sendable {
        private let lock = NSLock()
        private(set) var list: [Int] = []
        func add(_ g: Int) { lock.lock(); list.append(g); lock.unlock() }
        var all: [Int] { lock.lock(); defer { lock.unlock() }; return list }
    }

    /// Issue 12 item 6: a different study into a study's folder is refused even when no run id is
    /// shared (the per-run check could not see it), and so is a shard of it; the same study written
    /// otherwise (comments, key order, number spelling, report text) is let in.
    @Test func aDifferentStudyIsRefusedByTheFoldersIdentity() throws {
        let plan = try Self.plan()
        let dir = TestFiles.temporaryDirectory("rlhf-study", create: false)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        _ = try StudyRunner(directory: dir, workers: 2).run(plan, source: Self.text)
        let id = try String(contentsOfFile: dir + "/study-id", encoding: .utf8)
        #expect(id.contains("name: runner-test") && id.contains("runs: 16") && id.contains("hash: "))
        // Another study, no run in common (other algorithms).
        let other = Self.text.replacingOccurrences(of: "algorithms: [zpg, online-dpo]", with: "algorithms: [zbcpg]")
            .replacingOccurrences(of: "variants: [zpg]", with: "variants: [zbcpg]")
            .replacingOccurrences(of: "variants: [online-dpo]", with: "variants: [zbcpg]")
        let otherPlan = try Self.plan(other)
        #expect(Set(otherPlan.cells.map(\.id)).isDisjoint(with: plan.cells.map(\.id)))
        for shard in [nil, try StudyShard(index: 1, count: 2)] {
            var r = StudyRunner(directory: dir, workers: 2)
            r.shard = shard
            #expect { _ = try r.run(otherPlan, source: other) } throws: { e in
                "\(e)".contains("holds another study ('runner-test', 16 runs") && "\(e)".contains("delete \(dir)/study-id")
            }
            #expect(throws: StudyError.self) { _ = try r.report(otherPlan) }
            #expect(throws: StudyError.self) { _ = try r.status(otherPlan) }
        }
        // Nothing of the other study was written.
        #expect(!FileManager.default.fileExists(atPath: dir + "/runs/" + otherPlan.cells[0].id))
        // More seeds is another study too (its runs would mix with a finished report).
        #expect(throws: StudyError.self) {
            _ = try StudyRunner(directory: dir, workers: 2).run(try Self.plan(Self.text.replacingOccurrences(of: "seeds: 2", with: "seeds: 3")), source: nil)
        }
        // The same study written otherwise is the same study: nothing to compute.
        let same = "# a comment\n" + Self.text.replacingOccurrences(of: "budgets: [2000, 4000]", with: "budgets: [2e3, 4_000]")
            .replacingOccurrences(of: "question: Does ZPG beat online DPO?", with: "question: Is ZPG better than online DPO?")
        let o = try StudyRunner(directory: dir, workers: 2).run(try Self.plan(same), source: same)
        #expect(o.computed == 0 && o.resumed == 16)
        // Deleting study-id lets another study in; its own runs are computed, and the folder is its.
        try FileManager.default.removeItem(atPath: dir + "/study-id")
        let taken = try StudyRunner(directory: dir, workers: 2).run(otherPlan, source: other)
        #expect(taken.computed == otherPlan.cells.count)
        #expect(throws: StudyError.self) { _ = try StudyRunner(directory: dir, workers: 2).run(plan, source: nil) }
    }

    @Test func aMeasurementStudyIntoATrainingStudysFolderIsRefused() throws {
        let dir = TestFiles.temporaryDirectory("rlhf-study", create: false)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try StudyRunner(directory: dir, workers: 1).claimFolder(try Self.plan())
        let m = try Study.parse(yaml: "kind: gradient\nseeds: 1\nquick: true\n", file: "m.yaml")
        #expect(throws: StudyError.self) { _ = try StudyRunner(directory: dir, workers: 1).runMeasurement(m, source: nil) }
    }

    /// A run that fails in one shard: its error is kept in its folder, the other runs of every
    /// shard finish, and the report (written by the last shard) says which failed and why.
    @Test func aFailedRunKeepsItsErrorAndTheReportSaysSo() throws {
        let plan = try Self.plan()
        let dir = TestFiles.temporaryDirectory("rlhf-study", create: false)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        // A folder where the run's metrics.csv should go: writing the result fails after training.
        let broken = plan.cells[5]
        try FileManager.default.createDirectory(atPath: dir + "/runs/\(broken.id)/metrics.csv/x", withIntermediateDirectories: true)
        var failures: [StudyRunner.Failure] = []
        var last: StudyRunner.Outcome?
        for i in 0..<2 {
            var r = StudyRunner(directory: dir, workers: 2)
            r.shard = try StudyShard(index: i, count: 2)
            let o = try r.run(plan, source: Self.text)
            failures += o.failures
            last = o
        }
        #expect(failures.map(\.id) == [broken.id] && !failures[0].diverged)
        let o = try #require(last)
        #expect(o.wroteOutputs && o.folder.finished.count == 15 && o.folder.failed.map(\.id) == [broken.id])
        let error = try String(contentsOfFile: dir + "/runs/\(broken.id)/error.txt", encoding: .utf8)
        #expect(error.contains("metrics.csv"), "\(error)")
        let report = try String(contentsOfFile: dir + "/report.md", encoding: .utf8)
        #expect(report.contains("**\(broken.variant)**: 1 of 8 runs failed and are missing from the tables; for example `\(broken.id)`"), "\(report)")
        // Fixed, the next run computes that run alone and the note goes.
        try FileManager.default.removeItem(atPath: dir + "/runs/\(broken.id)/metrics.csv")
        let fixed = try StudyRunner(directory: dir, workers: 2).run(plan, source: nil)
        #expect(fixed.computed == 1 && fixed.failures.isEmpty && fixed.folder.failed.isEmpty)
        #expect(!FileManager.default.fileExists(atPath: dir + "/runs/\(broken.id)/error.txt"))
        #expect(!(try String(contentsOfFile: dir + "/report.md", encoding: .utf8)).contains("failed and are missing"))
    }

    @Test func theSlurmScriptRunsEveryShardOfTheFixedCopy() throws {
        var s = SlurmScript(executable: "/opt/rlhf bin/rlhf", studyFile: "/data/out/slurm/study.yaml", directory: "/data/out",
                            name: "noise", shards: 40, tasks: Array(0..<40))
        s.maxParallel = 8
        s.partition = "cpu"
        s.time = "2:00:00"
        s.cpusPerTask = 2
        s.extra = ["--account=lab"]
        let text = s.arrayText
        for line in ["#SBATCH --array=0-39%8", "#SBATCH --cpus-per-task=2", "#SBATCH --partition=cpu", "#SBATCH --time=2:00:00",
                     "#SBATCH --account=lab", "#SBATCH --output=/data/out/slurm/logs/%A_%a.out",
                     "exec '/opt/rlhf bin/rlhf' study '/data/out/slurm/study.yaml' --out '/data/out' \\",
                     "    --shard \"$SLURM_ARRAY_TASK_ID/40\" --workers \"${SLURM_CPUS_PER_TASK:-2}\""] {
            #expect(text.contains(line + "\n"), "\(line)\n\(text)")
        }
        #expect(s.reportText.contains("--out '/data/out' --report\n"))
        #expect(s.reportText.contains("#SBATCH --cpus-per-task=1\n"))
        #expect(SlurmScript.ranges([0, 1, 2, 3, 7, 9, 10, 11]) == "0-3,7,9-11")
        #expect(SlurmScript.ranges([5]) == "5")
    }
}
