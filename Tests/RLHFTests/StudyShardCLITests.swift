#if canImport(Glibc)
import Glibc
#endif
import Foundation
import Testing
import RLHFTestSupport

/// `rlhf study --shard` processes sharing one folder, as the tasks of a Slurm job array do (the
/// same fault cases without Slurm, so they run everywhere), and `--status`, `--report`,
/// `--slurm --dry-run`.
@Suite("Command line: rlhf study across processes", .serialized)
struct StudyShardCLITests {
    /// 8 ZPG runs of about half a second each in a debug build.
    static let study = """
        name: shards
        environments: [classic]
        seeds: 4
        budgets: [100000, 200000]
        evaluations: 4
        algorithms: [zpg]
        """

    static func write(_ text: String, in dir: String, name: String = "s.yaml") throws -> String {
        let file = dir + "/" + name
        try text.write(toFile: file, atomically: true, encoding: .utf8)
        return file
    }

    /// "3 run(s) computed" in a study's standard error.
    static func computed(_ stderr: String) -> Int? {
        guard let r = stderr.range(of: #"(\d+) run\(s\) computed"#, options: .regularExpression) else { return nil }
        return Int(stderr[r].prefix { $0.isNumber })
    }

    static func runs(_ out: String) -> [String] {
        ((try? FileManager.default.contentsOfDirectory(atPath: out + "/runs")) ?? []).sorted()
    }

    @Test("two processes started on the same runs compute each run once")
    func twoProcessesOnTheSameRuns() throws {
        let dir = TestFiles.temporaryDirectory("rlhf-cli")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let file = try Self.write(Self.study, in: dir)
        let out = dir + "/out"
        // By mistake, both are shard 0 of 1 (and a third is shard 1 of 2, overlapping both).
        let arguments = [["--shard", "0/1"], ["--shard", "0/1"], ["--shard", "1/2"]]
        let results = Results()
        DispatchQueue.concurrentPerform(iterations: arguments.count) { i in
            let r = try? CLI.run(["study", file, "--out", out, "--workers", "1"] + arguments[i])
            results.set(i, r)
        }
        let all = results.all.compactMap { $0 }
        #expect(all.count == 3)
        for r in all { #expect(r.status == 0, "\(r.stderr)") }
        let counts = all.map { Self.computed($0.stderr) ?? -1 }
        #expect(counts.reduce(0, +) == 8, "\(counts) \(all.map(\.stderr))")
        #expect(Self.runs(out).count == 8)
        for id in Self.runs(out) {
            #expect(FileManager.default.fileExists(atPath: out + "/runs/\(id)/run.json"))
            #expect(!(try FileManager.default.contentsOfDirectory(atPath: out + "/runs/\(id)")).contains { $0.hasPrefix("claim.") || $0.contains(".tmp") })
        }
        // The last to finish wrote the report of all 8 runs.
        let csv = try String(contentsOfFile: out + "/results.csv", encoding: .utf8)
        // `final` is the 15th column (the algorithm's diagnostics follow it).
        #expect(csv.split(separator: "\n").filter { $0.split(separator: ",", omittingEmptySubsequences: false)[14] == "true" }.count == 8)
    }

    @Test("a shard killed with kill -9 mid-run: its run is recomputed on resubmission, the finished ones are not")
    func killedShardIsResumed() throws {
        let dir = TestFiles.temporaryDirectory("rlhf-cli")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let file = try Self.write(Self.study.replacingOccurrences(of: "budgets: [100000, 200000]", with: "budgets: [300000, 400000]"), in: dir)
        let out = dir + "/out"
        let p = Process()
        p.executableURL = CLI.executable
        p.arguments = ["study", file, "--out", out, "--workers", "1", "--shard", "0/2", "--quiet"]
        try p.run()
        // Wait for one finished run and a claim on the next, then kill.
        var finished: [String: Data] = [:], killedRun: String?
        let deadline = Date().addingTimeInterval(60)
        while Date() < deadline && p.isRunning {
            finished = [:]
            killedRun = nil
            for id in Self.runs(out) {
                let files = (try? FileManager.default.contentsOfDirectory(atPath: out + "/runs/\(id)")) ?? []
                if let d = FileManager.default.contents(atPath: out + "/runs/\(id)/run.json") { finished[id] = d }
                else if files.contains(where: { $0.hasPrefix("claim.") }) { killedRun = id }
            }
            if !finished.isEmpty && killedRun != nil { break }
            usleep(20_000)
        }
        let killed = try #require(killedRun, "no run in progress seen")
        kill(p.processIdentifier, SIGKILL)
        p.waitUntilExit()
        #expect(p.terminationReason == .uncaughtSignal)
        #expect(FileManager.default.fileExists(atPath: out + "/runs/\(killed)/claim.1"))
        #expect(!FileManager.default.fileExists(atPath: out + "/runs/\(killed)/run.json"))
        // --status: the killed run's claim is stale (its process is gone): missing, not running.
        let status = try CLI.run(["study", out, "--status"])
        #expect(status.status == 0, "\(status.stderr)")
        #expect(status.stdout.contains("0 running") && status.stdout.contains("missing  \(killed)"), "\(status.stdout)")
        // Resubmission: both shards; the killed run and the unstarted ones are computed, nothing else.
        var computed = 0
        for shard in ["0/2", "1/2"] {
            let r = try CLI.run(["study", file, "--out", out, "--workers", "1", "--shard", shard])
            #expect(r.status == 0, "\(r.stderr)")
            computed += Self.computed(r.stderr) ?? -100
        }
        #expect(computed == 8 - finished.count)
        for (id, data) in finished {
            #expect(FileManager.default.contents(atPath: out + "/runs/\(id)/run.json") == data, "\(id) was recomputed")
        }
        #expect(FileManager.default.fileExists(atPath: out + "/runs/\(killed)/run.json"))
        #expect(RunClaimFiles.left(out).isEmpty)
        // And the whole equals an uninterrupted run (wall times aside).
        let reference = dir + "/reference"
        let r = try CLI.run(["study", file, "--out", reference, "--quiet"])
        #expect(r.status == 0)
        #expect(try RunClaimFiles.withoutWallTime(out + "/results.csv") == RunClaimFiles.withoutWallTime(reference + "/results.csv"))
    }

    @Test("a shard stopped with SIGTERM (scancel, a time limit) releases its claim, so another machine can take the run at once")
    func terminatedShardReleasesItsClaim() throws {
        let dir = TestFiles.temporaryDirectory("rlhf-cli")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let file = try Self.write(Self.study.replacingOccurrences(of: "budgets: [100000, 200000]", with: "budgets: [3000000]"), in: dir)
        let out = dir + "/out"
        let p = Process()
        p.executableURL = CLI.executable
        p.arguments = ["study", file, "--out", out, "--workers", "1", "--quiet"]
        try p.run()
        let deadline = Date().addingTimeInterval(60)
        while Date() < deadline && p.isRunning && RunClaimFiles.left(out).isEmpty { usleep(20_000) }
        let held = RunClaimFiles.left(out)
        #expect(held.count == 1, "\(held)")
        kill(p.processIdentifier, SIGTERM)
        p.waitUntilExit()
        #expect(p.terminationReason == .uncaughtSignal && p.terminationStatus == SIGTERM)
        #expect(RunClaimFiles.left(out).isEmpty, "the claim stays: \(RunClaimFiles.left(out))")
        #expect(!FileManager.default.fileExists(atPath: out + "/runs/" + held[0].split(separator: "/")[0] + "/run.json"))
    }

    @Test("a shard of a different study file pointed at the same folder is refused")
    func otherStudysShardIsRefused() throws {
        let dir = TestFiles.temporaryDirectory("rlhf-cli")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let file = try Self.write(Self.study.replacingOccurrences(of: "seeds: 4", with: "seeds: 1"), in: dir)
        let other = try Self.write(Self.study.replacingOccurrences(of: "seeds: 4", with: "seeds: 1").replacingOccurrences(of: "evaluations: 4", with: "evaluations: 5"),
                                   in: dir, name: "other.yaml")
        let out = dir + "/out"
        let first = try CLI.run(["study", file, "--out", out, "--shard", "0/2", "--quiet"])
        #expect(first.status == 0, "\(first.stderr)")
        for args in [["--shard", "1/2"], ["--report"], ["--status"], []] {
            let r = try CLI.run(["study", other, "--out", out, "--quiet"] + args)
            #expect(r.status != 0)
            #expect(r.stderr.contains("holds another study ('shards', 2 runs"), "\(args) \(r.stderr)")
        }
        #expect(Self.runs(out).count == 1)
    }

    @Test("--report writes what is there and names the missing runs; --status counts them; --slurm --dry-run prints the array")
    func reportStatusAndDryRun() throws {
        let dir = TestFiles.temporaryDirectory("rlhf-cli")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let file = try Self.write(Self.study.replacingOccurrences(of: "seeds: 4", with: "seeds: 2"), in: dir)
        let out = dir + "/out"
        let dry = try CLI.run(["study", file, "--out", out, "--slurm", "--dry-run", "--max-parallel", "2", "--cpus-per-task", "2", "--sbatch-arg=--mem=1G"])
        #expect(dry.status == 0, "\(dry.stderr)")
        for line in ["#SBATCH --array=0-3%2", "#SBATCH --cpus-per-task=2", "#SBATCH --mem=1G", "--shard \"$SLURM_ARRAY_TASK_ID/4\""] {
            #expect(dry.stdout.contains(line), "\(dry.stdout)")
        }
        #expect(!FileManager.default.fileExists(atPath: out), "a dry run writes nothing")
        let shard = try CLI.run(["study", file, "--out", out, "--shard", "1/4"])
        #expect(shard.status == 0, "\(shard.stderr)")
        #expect(shard.stderr.contains("shard 1/4: 1 run(s) computed") && shard.stderr.contains("--report"), "\(shard.stderr)")
        #expect(!FileManager.default.fileExists(atPath: out + "/report.md"))
        let status = try CLI.run(["study", out, "--status"])
        #expect(status.stdout.contains("shards in \(out): 4 runs: 1 finished, 0 running, 0 failed, 3 missing"), "\(status.stdout)")
        let report = try CLI.run(["study", file, "--out", out, "--report"])
        #expect(report.status == 1, "an incomplete report exits 1")
        #expect(report.stderr.contains("4 runs: 1 finished, 0 running, 0 failed, 3 missing"), "\(report.stderr)")
        let md = try String(contentsOfFile: out + "/report.md", encoding: .utf8)
        #expect(md.contains("**Incomplete**: 3 of 4 runs have not finished (0 running, 3 not started or stopped)"), "\(md)")
        // Resubmitting: the dry run lists only the shards with runs left.
        let again = try CLI.run(["study", out, "--slurm", "--dry-run"])
        #expect(again.stdout.contains("#SBATCH --array=0,2-3\n"), "\(again.stdout)")
        // Bad combinations say what is wrong.
        let bad = try CLI.run(["study", file, "--shard", "4/4"])
        #expect(bad.status != 0 && bad.stderr.contains("I must be between 0 and N−1 = 3"), "\(bad.stderr)")
        let both = try CLI.run(["study", file, "--shard", "0/4", "--report"])
        #expect(both.status != 0 && both.stderr.contains("at most one of"), "\(both.stderr)")
        let loose = try CLI.run(["study", file, "--partition", "cpu"])
        #expect(loose.status != 0 && loose.stderr.contains("--partition applies to --slurm"), "\(loose.stderr)")
    }

    /// Runs rlhf with a stand-in `sbatch` first on PATH (it logs its arguments and prints a job id).
    static func withFakeSbatch(_ dir: String, _ arguments: [String]) throws -> CLI.Result {
        let bin = dir + "/bin"
        try FileManager.default.createDirectory(atPath: bin, withIntermediateDirectories: true)
        let script = "#!/bin/sh\necho \"$@\" >> \(dir)/sbatch.log\nn=$(wc -l < \(dir)/sbatch.log)\necho $((100 + n))\n"
        try script.write(toFile: bin + "/sbatch", atomically: true, encoding: .utf8)
        chmod(bin + "/sbatch", 0o755)
        return try run(arguments, path: bin + ":" + (ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin"))
    }

    /// Runs rlhf with PATH set to `path`.
    static func run(_ arguments: [String], path: String) throws -> CLI.Result {
        let p = Process()
        p.executableURL = CLI.executable
        p.arguments = arguments
        var env = ProcessInfo.processInfo.environment
        env["PATH"] = path
        p.environment = env
        let out = Pipe(), err = Pipe()
        p.standardOutput = out
        p.standardError = err
        try p.run()
        let o = out.fileHandleForReading.readDataToEndOfFile(), e = err.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        return CLI.Result(status: p.terminationStatus, stdout: String(decoding: o, as: UTF8.self), stderr: String(decoding: e, as: UTF8.self))
    }

    @Test("--slurm (with a stand-in sbatch) writes the scripts and a fixed copy of the study, submits the array then the report after it, and a resubmission from DIR keeps --seeds")
    func slurmSubmission() throws {
        let dir = TestFiles.temporaryDirectory("rlhf-cli")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let file = try Self.write(Self.study, in: dir)
        let out = dir + "/out"
        let r = try Self.withFakeSbatch(dir, ["study", file, "--out", out, "--slurm", "--seeds", "2", "--time", "1:00:00"])
        #expect(r.status == 0, "\(r.stderr)")
        #expect(r.stdout == "101\n", "the array's job id: \(r.stdout)")
        #expect(r.stderr.contains("submitted 4 array task(s) of 4 (4 runs, 4 to compute) as job 101; report job 102 runs after it"), "\(r.stderr)")
        let log = try String(contentsOfFile: dir + "/sbatch.log", encoding: .utf8).split(separator: "\n")
        #expect(log == ["--parsable \(out)/slurm/study.sbatch", "--parsable --dependency=afterany:101 \(out)/slurm/report.sbatch"], "\(log)")
        let script = try String(contentsOfFile: out + "/slurm/study.sbatch", encoding: .utf8)
        #expect(script.contains("#SBATCH --array=0-3\n") && script.contains("#SBATCH --time=1:00:00\n"), "\(script)")
        #expect(script.contains("study '\(out)/slurm/study.yaml' --out '\(out)' --seeds 2 \\\n"), "\(script)")
        // The fixed copy is the study as it runs: the file with its seeds line set by --seeds.
        let copy = try String(contentsOfFile: out + "/slurm/study.yaml", encoding: .utf8)
        #expect(copy.contains("\nseeds: 2  # rlhf study --seeds 2: seeds 0…1"), "\(copy)")
        #expect(copy.replacingOccurrences(of: #"\nseeds: 2  #[^\n]*"#, with: "", options: .regularExpression)
                == Self.study.replacingOccurrences(of: #"\nseeds: [^\n]*"#, with: "", options: .regularExpression), "\(copy)")
        #expect(try String(contentsOfFile: out + "/slurm/jobs", encoding: .utf8) == "array 101\nreport 102\n")
        #expect(FileManager.default.fileExists(atPath: out + "/study-id"))
        // Two shards ran (as two array tasks would); from the folder, the same study (seeds 2) is
        // resubmitted with only the other two tasks.
        for shard in ["0/4", "3/4"] {
            #expect(try CLI.run(["study", out + "/slurm/study.yaml", "--out", out, "--seeds", "2", "--shard", shard, "--quiet"]).status == 0)
        }
        let status = try CLI.run(["study", out, "--status"])
        #expect(status.stdout.contains("4 runs: 2 finished, 0 running, 0 failed, 2 missing"), "\(status.stdout)\(status.stderr)")
        let again = try Self.withFakeSbatch(dir, ["study", out, "--slurm"])
        #expect(again.status == 0, "\(again.stderr)")
        #expect(try String(contentsOfFile: out + "/slurm/study.sbatch", encoding: .utf8).contains("#SBATCH --array=1-2\n"))
        #expect(try String(contentsOfFile: out + "/slurm/jobs", encoding: .utf8) == "array 101\nreport 102\narray 103\nreport 104\n")
        // The shard dry run lists its runs.
        let dry = try CLI.run(["study", file, "--seeds", "2", "--shard", "1/4", "--dry-run"])
        #expect(dry.stdout.hasSuffix("1 of 4 runs in shard 1/4\n"), "\(dry.stdout)")
        // Without sbatch: a clear error, nothing submitted.
        let none = try Self.run(["study", file, "--out", dir + "/none", "--slurm"], path: "/nonexistent")
        #expect(none.status != 0 && none.stderr.contains("sbatch not found"), "\(none.stderr)")
        #expect(!FileManager.default.fileExists(atPath: dir + "/none"))
    }

    final class Results: @unchecked Sendable {
        private let lock = NSLock()
        private var values: [Int: CLI.Result] = [:]
        func set(_ i: Int, _ r: CLI.Result?) { lock.lock(); values[i] = r; lock.unlock() }
        var all: [CLI.Result?] { lock.lock(); defer { lock.unlock() }; return values.keys.sorted().map { values[$0] } }
    }
}

/// Helpers on a study folder's files.
enum RunClaimFiles {
    /// Claim files left in a study folder.
    static func left(_ out: String) -> [String] {
        let runs = (try? FileManager.default.contentsOfDirectory(atPath: out + "/runs")) ?? []
        return runs.flatMap { id in
            ((try? FileManager.default.contentsOfDirectory(atPath: out + "/runs/\(id)")) ?? []).filter { $0.hasPrefix("claim.") }.map { id + "/" + $0 }
        }
    }

    /// The results.csv at `path` without its wall-time column.
    static func withoutWallTime(_ path: String) throws -> String {
        TestFiles.withoutWallTime(try String(contentsOfFile: path, encoding: .utf8))
    }
}
