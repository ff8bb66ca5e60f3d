import Foundation

/// The batch scripts `rlhf study --slurm` writes into `DIR/slurm/`: a job array whose task I
/// runs shard I of N (`rlhf study FILE --out DIR --shard I/N`), and a report job submitted to run
/// after the array (`--dependency=afterany:JOB`).
///
/// Why a job array: a study is a grid of independent runs, which is exactly what an array is
/// for; one submission, one job id to watch or cancel, the scheduler fills the free CPUs, and a
/// task that fails is resubmitted alone (`--array=3,7`). The tasks coordinate only through the
/// shared folder (see ``RunClaim``), so the same `--shard I/N` serves any engine that starts N
/// indexed copies of a command: a Kubernetes Indexed Job (`JOB_COMPLETION_INDEX`), a Ray task
/// per shard, or a shell loop.
public struct SlurmScript: Sendable {
    /// The `rlhf` executable the tasks run (an absolute path on the shared filesystem).
    public var executable: String
    /// The study file the tasks read (the fixed copy in `DIR/slurm/`).
    public var studyFile: String
    /// The output folder (absolute).
    public var directory: String
    /// The study's name (for the job names).
    public var name: String
    /// The number of shards N (the array's size when every task runs).
    public var shards: Int
    /// The array task ids to run (every shard, or on resubmission those with runs left).
    public var tasks: [Int]
    /// CPUs per task (each task runs that many runs at once).
    public var cpusPerTask: Int = 1
    /// Most array tasks at once (`%K`), nil: no limit.
    public var maxParallel: Int? = nil
    /// `--partition`.
    public var partition: String? = nil
    /// `--time` (a task's wall-time limit).
    public var time: String? = nil
    /// More `#SBATCH` options, as given (`--account=lab`, `--mem=4G`…).
    public var extra: [String] = []
    /// `--seeds N` given on the command line, passed on to every task.
    public var seeds: Int? = nil

    /// Creates the scripts' description.
    public init(executable: String, studyFile: String, directory: String, name: String, shards: Int, tasks: [Int]) {
        self.executable = executable; self.studyFile = studyFile; self.directory = directory
        self.name = name; self.shards = shards; self.tasks = tasks
    }

    /// The array script's path.
    public static func arrayPath(in directory: String) -> String { directory + "/slurm/study.sbatch" }
    /// The report script's path.
    public static func reportPath(in directory: String) -> String { directory + "/slurm/report.sbatch" }
    /// The fixed copy of the study file the tasks read.
    public static func studyCopyPath(in directory: String) -> String { directory + "/slurm/study.yaml" }
    /// The submitted job ids, one `array ID` or `report ID` a line.
    public static func jobsPath(in directory: String) -> String { directory + "/slurm/jobs" }
    /// The `--seeds N` override of the submission, if any (so that `rlhf study DIR …` means the same study).
    public static func seedsPath(in directory: String) -> String { directory + "/slurm/seeds" }
    /// The tasks' logs.
    public static func logsPath(in directory: String) -> String { directory + "/slurm/logs" }

    /// `0-3,7,9-11`: task ids as Slurm's `--array` takes them, runs of consecutive ids as ranges.
    public static func ranges(_ ids: [Int]) -> String {
        var parts: [String] = []
        var i = 0
        let s = ids.sorted()
        while i < s.count {
            var j = i
            while j + 1 < s.count && s[j + 1] == s[j] + 1 { j += 1 }
            parts.append(i == j ? "\(s[i])" : "\(s[i])-\(s[j])")
            i = j + 1
        }
        return parts.joined(separator: ",")
    }

    /// `--array`'s value: the task ids and the `%K` limit.
    public var array: String { Self.ranges(tasks) + (maxParallel.map { "%\($0)" } ?? "") }

    /// A word quoted for bash.
    static func quote(_ s: String) -> String { "'" + s.replacingOccurrences(of: "'", with: "'\\''") + "'" }

    /// `#SBATCH` lines common to both scripts.
    private func common(cpus: Int) -> [String] {
        var lines = ["#SBATCH --cpus-per-task=\(cpus)"]
        if let p = partition { lines.append("#SBATCH --partition=\(p)") }
        if let t = time { lines.append("#SBATCH --time=\(t)") }
        lines += extra.map { "#SBATCH \($0)" }
        return lines
    }

    /// The job array's script.
    public var arrayText: String {
        let seedsArgument = seeds.map { " --seeds \($0)" } ?? ""
        return ([
            "#!/bin/bash",
            "# Written by `rlhf study --slurm`: the study's runs as a job array; task I computes shard I of \(shards)",
            "# into the folder below (runs finished, or held by another task, are skipped). Read, edit, resubmit:",
            "#   sbatch \(Self.quote(Self.arrayPath(in: directory)))",
            "# or run `rlhf study \(directory) --slurm` again, which submits only the tasks with runs left.",
            "#SBATCH --job-name=rlhf-\(name)",
            "#SBATCH --array=\(array)",
            "#SBATCH --output=\(Self.logsPath(in: directory))/%A_%a.out",
        ] + common(cpus: cpusPerTask) + [
            "set -eu",
            "exec \(Self.quote(executable)) study \(Self.quote(studyFile)) --out \(Self.quote(directory))\(seedsArgument) \\",
            "    --shard \"$SLURM_ARRAY_TASK_ID/\(shards)\" --workers \"${SLURM_CPUS_PER_TASK:-\(cpusPerTask)}\"",
        ]).joined(separator: "\n") + "\n"
    }

    /// The report job's script (run after the array, however its tasks ended).
    public var reportText: String {
        let seedsArgument = seeds.map { " --seeds \($0)" } ?? ""
        return ([
            "#!/bin/bash",
            "# Written by `rlhf study --slurm`: writes results.csv, report.md and the plot once the array has ended",
            "# (submitted with --dependency=afterany:<array job>); lists the runs that are missing, if any.",
            "#SBATCH --job-name=rlhf-\(name)-report",
            "#SBATCH --output=\(Self.logsPath(in: directory))/report_%j.out",
        ] + common(cpus: 1) + [
            "set -eu",
            "exec \(Self.quote(executable)) study \(Self.quote(studyFile)) --out \(Self.quote(directory))\(seedsArgument) --report",
        ]).joined(separator: "\n") + "\n"
    }
}
