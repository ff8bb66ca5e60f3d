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
            with the line and the key.
            """
    )

    @Argument(help: ArgumentHelp("A built-in study's name or a study file (.yaml).", valueName: "NAME|FILE"))
    var study: String?

    @Option(help: "Output folder (default: out/NAME).")
    var out: String?

    @Option(help: "Runs at once (default: the study's setting, else one per core).")
    var workers: Int?

    @Option(help: "Override the study's seeds with 0…N−1 (e.g. 3 for a quick look).")
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
    }

    func run() throws {
        if list {
            let width = BuiltInStudies.all.map(\.name.count).max() ?? 0
            for e in BuiltInStudies.all { print(e.name.padding(toLength: width + 2, withPad: " ", startingAt: 0) + e.summary) }
            return
        }
        let (text, file) = try source()
        if show { print(text); return }
        var parsed: Study
        do {
            parsed = try Study.parse(yaml: text, file: file)
        } catch let e as StudyError {
            throw ValidationError("\(e)")
        }
        if let s = seeds ?? folderSeeds() { parsed.seeds = (0..<UInt64(s)).map { $0 } }
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
        let plan: StudyPlan
        do {
            plan = try StudyPlan(parsed)
        } catch let e as StudyError {
            throw ValidationError("\(e)")
        }
        if cluster.replacesRun || (dryRun && runner.shard != nil) { return try runCluster(plan, text: text, directory: directory, runner: runner) }
        if dryRun {
            for c in plan.cells { print(c.id) }
            print("\(plan.cells.count) runs")
            return
        }
        if !quiet {
            printError("rlhf study \(parsed.name): \(plan.cells.count) runs (\(parsed.algorithms.count) algorithm variants × \(parsed.environments.count) env × \(parsed.links.count) link × \(parsed.feedback.count) feedback × \(parsed.seeds.count) seeds × \(parsed.budgets.count) budgets), \(runner.workers) at once → \(directory)")
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

    /// The study's YAML and the name errors should cite.
    func source() throws -> (String, String) {
        if let s = study {
            if let e = BuiltInStudies.named(s) { return (e.yaml, s + ".yaml") }
            if let file = Self.studyFile(inFolder: s) {
                guard let data = FileManager.default.contents(atPath: file) else { throw ValidationError("cannot read \(file)") }
                return (String(decoding: data, as: UTF8.self), file)
            }
            if FileManager.default.fileExists(atPath: s) {
                guard let data = FileManager.default.contents(atPath: s) else { throw ValidationError("cannot read \(s)") }
                return (String(decoding: data, as: UTF8.self), s)
            }
            throw ValidationError("'\(s)' is neither a built-in study (\(BuiltInStudies.all.map(\.name).joined(separator: ", "))) nor a file")
        }
        return (flags.yaml(), "<flags>")
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

    /// The YAML these flags describe.
    func yaml() -> String {
        func list(_ s: String) -> String { "[" + s.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.joined(separator: ", ") + "]" }
        return """
            name: \(name)
            question: How do \(Self.phrase(algorithms ?? "")) compare?
            environments: \(list(envs))
            links: \(list(links))
            seeds: 5
            budgets: \(list(budgets))
            algorithms: \(list(algorithms ?? ""))
            """ + (evaluations.map { "\nevaluations: \($0)" } ?? "") + settingsYAML()
    }

    /// "zpg, zbcpg and online-dpo" from "zpg,zbcpg,online-dpo".
    static func phrase(_ list: String) -> String {
        let items = list.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }
        guard items.count > 1 else { return items.first ?? "" }
        return items.dropLast().joined(separator: ", ") + " and " + items.last!
    }

    /// `--set` pairs as a `settings:` block, dotted keys nested (`teacher.mistake-rate=0.1`).
    func settingsYAML() -> String {
        set.isEmpty ? "" : "\nsettings:\n" + CommandLineSettings.yaml(set, indent: "  ")
    }
}
