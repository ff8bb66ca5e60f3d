import ArgumentParser
import Foundation
import RLHF
import RLHFStudy

/// `rlhf study` past one machine: shards of a study sharing one folder, the folder's report and
/// status, and submission to Slurm as a job array.
struct StudyClusterOptions: ParsableArguments {
    @Option(help: ArgumentHelp(
        "Run only shard I of N (0 ≤ I < N; runs assigned by estimated cost, the same in every process). Any number of shards, on any machines sharing DIR, can run at once: each run is computed once.",
        valueName: "I/N"))
    var shard: String?

    @Flag(help: "Write results.csv, report.md and plots from the runs in DIR, computing nothing, and list the missing runs.")
    var report = false

    @Flag(help: "Show which runs are finished, running, failed or missing (and Slurm's view of the study's jobs). NAME|FILE may be the output folder.")
    var status = false

    @Flag(help: "Submit the study to Slurm as a job array (scripts in DIR/slurm/; with --dry-run, print the script). Run again to submit only what is missing.")
    var slurm = false

    @Option(help: "With --slurm: array tasks N (default: one per run, at most 1000). Slurm starts about one task per CPU per second: for runs of seconds use a few tasks per CPU.")
    var shards: Int?

    @Option(help: "With --slurm: the partition.")
    var partition: String?

    @Option(help: ArgumentHelp("With --slurm: each task's wall-time limit (e.g. 2:00:00).", valueName: "TIME"))
    var time: String?

    @Option(help: "With --slurm: CPUs per task, which runs that many runs at once.")
    var cpusPerTask: Int = 1

    @Option(help: "With --slurm: most array tasks running at once.")
    var maxParallel: Int?

    @Option(name: .customLong("sbatch-arg"), help: ArgumentHelp("With --slurm: one more #SBATCH option, e.g. --sbatch-arg=--account=lab (repeatable).", valueName: "OPT"))
    var sbatchArgs: [String] = []

    /// Whether any of these options replaces a plain run.
    var replacesRun: Bool { report || status || slurm }

    /// The parsed `--shard`.
    func parsedShard() throws -> StudyShard? {
        guard let s = shard else { return nil }
        do { return try StudyShard(parsing: s) } catch let e as StudyError { throw ValidationError("\(e)") }
    }

    func validate() throws {
        _ = try parsedShard()
        let modes = [report, status, slurm, shard != nil].filter { $0 }.count
        if modes > 1 { throw ValidationError("give at most one of --shard, --report, --status and --slurm") }
        if !slurm {
            for (set, name) in [(shards != nil, "--shards"), (partition != nil, "--partition"), (time != nil, "--time"),
                                (cpusPerTask != 1, "--cpus-per-task"), (maxParallel != nil, "--max-parallel"),
                                (!sbatchArgs.isEmpty, "--sbatch-arg")] where set {
                throw ValidationError("\(name) applies to --slurm")
            }
        }
        if let n = shards, n < 1 || n > StudyShard.maximumCount { throw ValidationError("--shards must be between 1 and \(StudyShard.maximumCount) (got \(n))") }
        if cpusPerTask < 1 { throw ValidationError("--cpus-per-task must be at least 1 (got \(cpusPerTask))") }
        if let k = maxParallel, k < 1 { throw ValidationError("--max-parallel must be at least 1 (got \(k))") }
        for a in sbatchArgs where !a.hasPrefix("-") || a.contains("\n") {
            throw ValidationError("--sbatch-arg expects one sbatch option such as --account=lab, got '\(a)'")
        }
    }
}

extension StudyCommand {
    /// The study file inside an output folder given as NAME|FILE (`rlhf study DIR --status`):
    /// the fixed copy `--slurm` made, else the copy every run keeps.
    static func studyFile(inFolder path: String) -> String? {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory), isDirectory.boolValue else { return nil }
        for file in [SlurmScript.studyCopyPath(in: path), path + "/study.yaml"] where FileManager.default.fileExists(atPath: file) {
            return file
        }
        return nil
    }

    /// The `--seeds N` a `--slurm` submission was given (kept in `DIR/slurm/seeds`), when the
    /// study is named by its folder: `rlhf study DIR --status` then means the submitted study.
    func folderSeeds() -> Int? {
        guard let dir = study, Self.studyFile(inFolder: dir) == SlurmScript.studyCopyPath(in: dir),
              let text = try? String(contentsOfFile: SlurmScript.seedsPath(in: dir), encoding: .utf8) else { return nil }
        return Int(text.trimmingCharacters(in: .whitespacesAndNewlines))
    }

    /// `--report`, `--status` or `--slurm` for a training study (or `--shard … --dry-run`).
    func runCluster(_ plan: StudyPlan, text: String, directory: String, runner: StudyRunner) throws {
        if let shard = runner.shard {
            let mine = plan.cells(of: shard)
            for i in mine { print(plan.cells[i].id) }
            print("\(mine.count) of \(plan.cells.count) runs in shard \(shard)")
            return
        }
        if cluster.status { return try printStatus(plan, directory: directory, runner: runner) }
        if cluster.report {
            let folder = try runner.report(plan)
            printError("wrote \(directory)/results.csv, \(directory)/report.md, \(directory)/\(StudyReport.trainingPlotFile): \(Self.summary(folder))")
            print(directory + "/report.md")
            if !folder.isSettled || folder.failed.contains(where: { !$0.diverged }) { throw ExitCode(1) }
            return
        }
        try submit(plan, text: text, directory: directory, runner: runner)
    }

    /// `40 runs: 30 finished, 2 running, 1 failed, 7 missing`.
    static func summary(_ f: FolderStatus) -> String {
        "\(f.total) runs: \(f.finished.count) finished, \(f.running.count) running, \(f.failed.count) failed, \(f.missing.count) missing"
    }

    func printStatus(_ plan: StudyPlan, directory: String, runner: StudyRunner) throws {
        let f = try runner.status(plan, rows: false)
        print("\(plan.study.name) in \(directory): \(Self.summary(f))")
        for r in f.running { print("  running  \(r.id)" + (r.owner.map { "  (\($0))" } ?? "")) }
        for r in f.failed { print("  \(r.diverged ? "diverged" : "failed  ") \(r.id): \(r.message)") }
        for id in f.missing.prefix(20) { print("  missing  \(id)") }
        if f.missing.count > 20 { print("  … and \(f.missing.count - 20) more missing") }
        let jobs = (try? String(contentsOfFile: SlurmScript.jobsPath(in: directory), encoding: .utf8))?
            .split(separator: "\n").compactMap { $0.split(separator: " ").last.map(String.init) } ?? []
        if !jobs.isEmpty, let squeue = Self.which("squeue") {
            print("Slurm jobs of this study (squeue):")
            let r = Self.execute(squeue, ["-h", "-j", jobs.joined(separator: ","), "-o", "  %.18i %.10T %.10M %R"])
            print(r.output.isEmpty ? "  none queued or running (\(jobs.joined(separator: ", ")) ended)" : r.output, terminator: r.output.hasSuffix("\n") ? "" : "\n")
        }
    }

    /// Writes `DIR/slurm/study.sbatch` and `report.sbatch` and submits them (or prints the
    /// array's script with `--dry-run`).
    func submit(_ plan: StudyPlan, text: String, directory: String, runner: StudyRunner) throws {
        let absolute = URL(fileURLWithPath: directory).standardizedFileURL.path
        let n = cluster.shards ?? min(max(1, plan.cells.count), 1000)
        let assignment = plan.shardAssignment(count: n)
        // Resubmission: only the tasks whose shard has runs neither finished nor running.
        let folder = FileManager.default.fileExists(atPath: directory) ? try runner.status(plan, rows: false) : nil
        let left = Set(folder.map { $0.missing + $0.failed.map(\.id) } ?? plan.cells.map(\.id))
        let tasks = assignment.indices.filter { s in assignment[s].contains { left.contains(plan.cells[$0].id) } }
        guard let executable = Bundle.main.executableURL?.resolvingSymlinksInPath().path else {
            throw ValidationError("cannot find the path of the rlhf executable for the batch script")
        }
        var script = SlurmScript(executable: executable, studyFile: SlurmScript.studyCopyPath(in: absolute),
                                 directory: absolute, name: plan.study.name, shards: n, tasks: tasks)
        script.cpusPerTask = cluster.cpusPerTask
        script.maxParallel = cluster.maxParallel
        script.partition = cluster.partition
        script.time = cluster.time
        script.extra = cluster.sbatchArgs
        script.seeds = seeds ?? folderSeeds()
        if dryRun {
            if tasks.isEmpty { printError("nothing to submit: every run is finished or running") }
            print(script.arrayText, terminator: "")
            return
        }
        if tasks.isEmpty {
            if let f = folder, f.isSettled {
                let done = try runner.report(plan)
                printError("nothing to submit: \(Self.summary(done)); wrote \(directory)/report.md")
            } else {
                printError("nothing to submit: every run is finished or running (see rlhf study \(directory) --status)")
            }
            return
        }
        guard let sbatch = Self.which("sbatch") else {
            throw ValidationError("sbatch not found: Slurm is not installed here (--dry-run prints the script; scripts/slurm-local.sh start sets up a one-machine cluster)")
        }
        // The folder with its identity (another study's folder is refused before anything is
        // submitted), the fixed copy of the study the tasks read, and the scripts.
        try RunOutput.prepare(directory: SlurmScript.logsPath(in: absolute))
        try runner.claimFolder(plan)
        let copy = SlurmScript.studyCopyPath(in: absolute)
        if !FileManager.default.fileExists(atPath: copy) || (try? String(contentsOfFile: copy, encoding: .utf8)) != text {
            try RunOutput.write(Data(text.utf8), to: copy)
        }
        // Resubmitting from the folder (`rlhf study DIR --slurm`) keeps the seeds of the first submission.
        if let s = seeds ?? folderSeeds() {
            try RunOutput.write(Data("\(s)\n".utf8), to: SlurmScript.seedsPath(in: absolute))
        } else {
            try? FileManager.default.removeItem(atPath: SlurmScript.seedsPath(in: absolute))
        }
        try RunOutput.write(Data(script.arrayText.utf8), to: SlurmScript.arrayPath(in: absolute))
        try RunOutput.write(Data(script.reportText.utf8), to: SlurmScript.reportPath(in: absolute))
        let array = try Self.sbatch(sbatch, [SlurmScript.arrayPath(in: absolute)])
        let report = try Self.sbatch(sbatch, ["--dependency=afterany:\(array)", SlurmScript.reportPath(in: absolute)])
        let jobs = SlurmScript.jobsPath(in: absolute)
        let previous = (try? String(contentsOfFile: jobs, encoding: .utf8)) ?? ""
        try RunOutput.write(Data((previous + "array \(array)\nreport \(report)\n").utf8), to: jobs)
        printError("submitted \(tasks.count) array task(s) of \(n) (\(plan.cells.count) runs, \(left.count) to compute) as job \(array); report job \(report) runs after it")
        printError("watch: rlhf study \(directory) --status    logs: \(SlurmScript.logsPath(in: absolute))/")
        print(array)
    }

    /// Submits with `sbatch --parsable`, returns the job id.
    static func sbatch(_ sbatch: String, _ arguments: [String]) throws -> String {
        let r = execute(sbatch, ["--parsable"] + arguments)
        let id = r.output.split(separator: "\n").last.map { String($0.split(separator: ";")[0]) } ?? ""
        guard r.status == 0, !id.isEmpty, id.allSatisfy(\.isNumber) else {
            throw ValidationError("sbatch \(arguments.joined(separator: " ")) failed (status \(r.status)): \(r.output)\(r.error)")
        }
        return id
    }

    /// The full path of a program on PATH, if there.
    static func which(_ program: String) -> String? {
        for dir in (ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin").split(separator: ":") {
            let path = dir + "/" + program
            if FileManager.default.isExecutableFile(atPath: path) { return path }
        }
        return nil
    }

    /// Runs a program to its end; its status, standard output and error.
    static func execute(_ program: String, _ arguments: [String]) -> (status: Int32, output: String, error: String) {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: program)
        p.arguments = arguments
        let out = Pipe(), err = Pipe()
        p.standardOutput = out
        p.standardError = err
        do { try p.run() } catch { return (-1, "", "\(error)") }
        let o = out.fileHandleForReading.readDataToEndOfFile(), e = err.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        return (p.terminationStatus, String(decoding: o, as: UTF8.self), String(decoding: e, as: UTF8.self))
    }
}
