import ArgumentParser
import Foundation
import RLHF
import RLHFStudy

/// `rlhf study`: run a study (a built-in one or a YAML file) into a folder, in parallel and
/// resumably, and write `results.csv`, `report.md` and SVG plots.
struct StudyCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "study",
        abstract: "Run a multi-seed comparison and write results.csv, report.md and plots.",
        discussion: """
            A study is a grid of runs (environments × links × feedback settings × algorithms × \
            seeds × budgets) described in YAML, or one of the built-in studies of spec §7:

              rlhf study --list                       the built-in studies
              rlhf study sample-efficiency            run one (into out/sample-efficiency)
              rlhf study --show block-size > my.yaml  its YAML, to edit
              rlhf study my.yaml --out out/mine       run a study file
              rlhf study --algorithms zpg,online-dpo --budgets 1e4,1e5 --seeds 3 --out out/quick
              rlhf study my.yaml --out DIR --shard 0/4  one of 4 shards (any machines, one shared DIR)
              rlhf study my.yaml --out DIR --slurm      a Slurm job array (--dry-run prints its script)
              rlhf study DIR --status                   finished / running / failed / missing runs

            Runs go in parallel on all cores, each seeded by its own configuration, so the \
            numbers do not depend on the number of workers. Every finished run is saved at once \
            under DIR/runs/; stopping a study and running the same command again continues where \
            it stopped and recomputes nothing that had finished. A study file with a mistake \
            (unknown key or algorithm, a budget too small, no seeds) fails before any run starts, \
            with the line and the key; a study from flags names the flag. --dry-run lists the \
            runs and estimates the time from short probe runs.

            Limits, checked before anything is built: a study file is UTF-8 (a byte-order mark \
            is fine), at most 1 MiB and 100,000 values, without YAML anchors or aliases; at most \
            10,000 seeds and 100,000 runs; labels at most 100 characters, distinct also as \
            run-folder names (`a b` and `a_b` are not). A variant may not set `environment`, \
            `link` or `algorithm` outside its own axis, so that every run is labelled by what it \
            ran. `margin: 0.01` (the default) is the practical difference below which the \
            report calls two medians a tie.
            """
    )

    @Argument(help: ArgumentHelp("A built-in study's name or a study file (.yaml).", valueName: "NAME|FILE"))
    var study: String?

    @Option(help: "Output folder (default: out/NAME).")
    var out: String?

    @Option(help: "Runs at once (default: the study's setting, else one per core).")
    var workers: Int?

    @Option(help: "Seeds 0…N−1 instead of the study's (e.g. 3 for a quick look; 5 for a study from flags); DIR/study.yaml records them.")
    var seeds: Int?

    @Flag(help: "List the built-in studies.")
    var list = false

    @Flag(help: "Print a built-in study's YAML and exit.")
    var show = false

    @Flag(help: "Check the study and print its runs without running them.")
    var dryRun = false

    @Flag(help: "No progress on standard error.")
    var quiet = false

    @OptionGroup(title: "A study from flags (instead of NAME|FILE)")
    var flags: StudyFlags

    @OptionGroup(title: "Past one machine: shards sharing DIR, and Slurm (see Study+Cluster.swift)")
    var cluster: StudyClusterOptions

    func validate() throws {
        if let w = workers, w < 1 { throw ValidationError("--workers must be at least 1 (got \(w))") }
        if let s = seeds, s < 1 { throw ValidationError("--seeds must be at least 1 (got \(s)): an empty seed list runs nothing") }
        if show && study == nil && flags.algorithms == nil {
            throw ValidationError("--show needs a built-in study's name (see --list), or flags (--algorithms …) to print as YAML")
        }
        if let s = CommandLineSettings.malformed(flags.set) {
            throw ValidationError("--set expects KEY=VALUE (e.g. --set evaluators=20 or --set teacher.mistake-rate=0.1), got '\(s)'")
        }
        if !flags.set.isEmpty && study != nil { throw ValidationError("--set applies to a study from flags; in a study file use its 'settings' map") }
        if study != nil && flags.algorithms != nil { throw ValidationError("give either NAME|FILE or --algorithms, not both") }
        if !list && study == nil && flags.algorithms == nil {
            throw ValidationError("name a study (see --list), give a study file, or describe one with --algorithms …")
        }
        // The study itself is checked here, so that its errors print this command's usage.
        if !list { _ = try load() }
    }

    /// The study to run, checked: its YAML as saved into `DIR/study.yaml` (with `--seeds`
    /// applied, so that it describes what runs), the study, and a training study's plan.
    /// Errors of a flags study name the flag; a study file's, the file and line.
    func load() throws -> (text: String, study: Study, plan: StudyPlan?) {
        do {
            if study == nil, let description = flags.description(seeds: seeds) {
                let parsed = try description.study()
                let plan = parsed.kind == .training ? try description.attributing { try StudyPlan(parsed) } : nil
                return (description.yaml, parsed, plan)
            }
            var (text, file) = try source()
            var parsed = try Study.parse(yaml: text, file: file)
            if let s = seeds ?? folderSeeds() {
                parsed.seeds = try Study.seedRange(count: s, key: "--seeds")
                text = try Study.source(text, file: file, seeds: s)
            }
            return (text, parsed, parsed.kind == .training ? try StudyPlan(parsed) : nil)
        } catch let e as StudyError {
            throw ValidationError("\(e)")
        }
    }

    func run() throws {
        if list {
            let width = BuiltInStudies.all.map(\.name.count).max() ?? 0
            for e in BuiltInStudies.all { print(e.name.padding(toLength: width + 2, withPad: " ", startingAt: 0) + e.summary) }
            return
        }
        let (text, parsed, checked) = try load()
        if show { print(text); return }
        let directory = out ?? study.flatMap { Self.studyFile(inFolder: $0) != nil ? $0 : nil } ?? "out/\(parsed.name)"
        var runner = StudyRunner(directory: directory, workers: workers ?? parsed.workers ?? Parallel.coreCount)
        runner.shard = try cluster.parsedShard()
        let start = Date()
        if parsed.kind != .training {
            if dryRun { print("\(parsed.kind.rawValue) study, seeds \(parsed.seeds)"); return }
            if cluster.replacesRun || runner.shard != nil {
                throw ValidationError("--shard, --report, --status and --slurm apply to training studies; a \(parsed.kind.rawValue) study is one computation")
            }
            if !quiet { printError("rlhf study \(parsed.name): \(parsed.kind.rawValue) measurement, \(parsed.seeds.count) seed(s) → \(directory)") }
            let path = try runner.runMeasurement(parsed, source: text)
            if !quiet { printError("done in \(Self.duration(Date().timeIntervalSince(start)))") }
            print(path)
            return
        }
        guard let plan = checked else { return }
        if cluster.replacesRun || (dryRun && runner.shard != nil) { return try runCluster(plan, text: text, directory: directory, runner: runner) }
        if dryRun {
            for c in plan.cells { print(c.id) }
            print("\(plan.cells.count) runs")
            if !quiet { printError("timing probe runs for the estimate…") }
            let e = plan.estimate(workers: runner.workers)
            print("estimated time: about \(Self.duration(e.seconds)) with \(runner.workers) worker\(runner.workers == 1 ? "" : "s") "
                  + "(the runs sum to \(Self.duration(e.runSeconds)), the longest \(Self.duration(e.longestRun)))")
            print("  method: \(StudyPlan.Estimate.method); \(e.probes) probe runs took \(Self.duration(e.probeSeconds))"
                  + (e.unprobed.isEmpty ? "" : "; no probe for \(e.unprobed.joined(separator: ", ")) (estimated from the others)"))
            return
        }
        if !quiet {
            printError("rlhf study \(parsed.name): \(plan.cells.count) runs (\(parsed.algorithms.count) algorithm variants × \(parsed.environments.count) env × \(parsed.links.count) link × \(parsed.feedback.count) feedback × \(parsed.seeds.count) seeds × their budgets), \(runner.workers) at once → \(directory)")
        }
        let quiet = self.quiet
        let interactive = isatty(2) != 0
        runner.onProgress = { p in
            guard !quiet else { return }
            let line = Self.bar(p)
            if interactive {
                FileHandleShim.writeStderr("\r\u{1B}[K" + line)
                if let e = p.event, e.hasPrefix("FAILED") { FileHandleShim.writeStderr("\n" + e + "\n") }
            } else if let e = p.event {
                FileHandleShim.writeStderr(line + "  " + e + "\n")
            }
        }
        StudyRunner.releaseClaimsOnTermination()
        let outcome = try runner.run(plan, source: text)
        if !quiet {
            if interactive { FileHandleShim.writeStderr("\n") }
            let skipped = outcome.skipped.isEmpty ? "" : ", \(outcome.skipped.count) skipped (another process is computing them)"
            let shard = runner.shard.map { "shard \($0): " } ?? ""
            printError("\(shard)\(outcome.computed) run(s) computed, \(outcome.resumed) already finished, \(outcome.failures.count) failed (\(outcome.failures.filter(\.diverged).count) diverged)\(skipped), in \(Self.duration(Date().timeIntervalSince(start)))")
            if outcome.wroteOutputs {
                printError("wrote \(directory)/results.csv, \(directory)/report.md, \(directory)/normalized_vs_queries.svg")
            } else {
                printError("the study has runs left in other shards (\(Self.summary(outcome.folder))); the last shard to finish writes the report, or: rlhf study \(directory) --report")
            }
            let absent = outcome.folder.running.count + outcome.folder.missing.count
            if outcome.wroteOutputs && absent > 0 {
                printError("the report lacks \(absent) run(s) still running in another process or not started; run the study again, or --report later")
            }
        }
        if outcome.wroteOutputs { print(directory + "/report.md") }
        // A run that diverged is a result (listed in the report's notes); any other failure is an error.
        let errors = outcome.failures.filter { !$0.diverged }
        if !errors.isEmpty {
            printError("error: \(errors.count) run(s) failed; each error is in \(directory)/runs/<id>/error.txt")
            throw ExitCode(1)
        }
    }

    /// A built-in study's or a study file's YAML and the name errors should cite.
    func source() throws -> (String, String) {
        if let s = study {
            if let e = BuiltInStudies.named(s) { return (e.yaml, s + ".yaml") }
            if let file = Self.studyFile(inFolder: s) {
                guard let data = FileManager.default.contents(atPath: file) else { throw ValidationError("cannot read \(file)") }
                return (String(decoding: data, as: UTF8.self), file)
            }
            if FileManager.default.fileExists(atPath: s) {
                guard let data = FileManager.default.contents(atPath: s) else { throw ValidationError("cannot read \(s)") }
                return (try StudyValue.text(of: data, file: s), s)
            }
            throw ValidationError("'\(s)' is neither a built-in study (\(BuiltInStudies.all.map(\.name).joined(separator: ", "))) nor a file")
        }
        throw ValidationError("name a study (see --list), give a study file, or describe one with --algorithms …")
    }

    /// `[#######.......] 12/60 runs  1m05s  ETA 2m10s`.
    static func bar(_ p: StudyRunner.Progress) -> String {
        let width = 24
        let filled = p.total == 0 ? width : width * p.finished / p.total
        var s = "[" + String(repeating: "#", count: filled) + String(repeating: ".", count: width - filled) + "]"
        s += " \(p.finished)/\(p.total) runs"
        if p.failed > 0 { s += " (\(p.failed) failed)" }
        s += "  \(duration(p.elapsed))"
        if let r = p.remaining { s += "  ETA \(duration(r))" }
        return s
    }

    static func duration(_ seconds: Double) -> String {
        let s = Int(seconds.rounded())
        if s < 60 { return "\(s)s" }
        if s < 3600 { return "\(s / 60)m\(String(format: "%02d", s % 60))s" }
        return "\(s / 3600)h\(String(format: "%02d", (s % 3600) / 60))m"
    }
}

/// A study described by flags; turned into the same YAML a file would hold.
struct StudyFlags: ParsableArguments {
    @Option(help: ArgumentHelp("Algorithms, comma-separated (zpg, zbcpg, rm-ppo, rm-ppo-offline, dpo, online-dpo, bilevel, ppo-true-reward).", valueName: "A,B,..."))
    var algorithms: String?

    @Option(help: ArgumentHelp("Environments, comma-separated.", valueName: "E,F,..."))
    var envs: String = "classic"

    @Option(help: ArgumentHelp("Links, comma-separated.", valueName: "L,M,..."))
    var links: String = "bradley-terry"

    @Option(help: ArgumentHelp("Query budgets, comma-separated (1e5 and 10^5 work).", valueName: "Q,R,..."))
    var budgets: String = "1e4,1e5"

    @Option(help: "Study name (the default output folder is out/NAME).")
    var name: String = "study"

    @Option(name: .customLong("set"), help: ArgumentHelp(
        "A setting of every run, as in `rlhf train` (repeatable; dots for nested settings): --set evaluators=20 --set teacher.mistake-rate=0.1.",
        valueName: "KEY=VALUE"))
    var set: [String] = []

    @Option(help: "Evaluation points per run (default: the trainer's).")
    var evaluations: Int?

    /// The study these flags describe (nil without --algorithms), with `--seeds` (default 5).
    func description(seeds: Int?) -> StudyFromFlags? {
        guard let algorithms else { return nil }
        var d = StudyFromFlags(algorithms: algorithms)
        d.environments = envs; d.links = links; d.budgets = budgets; d.name = name
        d.settings = set; d.evaluations = evaluations
        if let seeds { d.seeds = seeds }
        return d
    }
}
