#if canImport(Glibc)
import Glibc
#endif
import Foundation
import Testing
import RLHFTestSupport

@Suite("Command line: rlhf study", .serialized)
struct StudyCLITests {
    @Test("--list names every built-in study of spec §7")
    func listsBuiltIns() throws {
        let r = try CLI.run(["study", "--list"])
        #expect(r.status == 0, "\(r.stderr)")
        for name in ["sample-efficiency", "block-size", "trimming", "noise", "dimension", "critic", "hypergradient", "sigma", "min-queries", "gradient", "fixed-point", "bilevel"] {
            #expect(r.stdout.contains(name), "\(name)")
        }
    }

    @Test("a bad study file fails before any run, naming the file, line and key")
    func badFilesFailEarly() throws {
        let dir = TestFiles.temporaryDirectory("rlhf-cli")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let cases: [(String, String)] = [
            ("environments: [classic]\nseeds: 2\nbudgets: [1e4]\nalgorithms: [zpg]\nbudgetz: 3\n", "bad.yaml:5:1: 'budgetz': unknown key"),
            ("environments: [classic]\nseeds: 2\nbudgets: [1e4]\nalgorithms: [zpg, dpoo]\n", "bad.yaml:4:19: 'algorithms[1]': unknown algorithm 'dpoo'"),
            ("environments: [classic]\nseeds: 2\nbudgets: [10]\nalgorithms: [zpg]\n", "'budgets': budget 10 is too small for 'zpg'"),
            ("environments: [classic]\nseeds: []\nbudgets: [1e4]\nalgorithms: [zpg]\n", "bad.yaml:2:8: 'seeds': empty seed list"),
        ]
        for (text, expected) in cases {
            let file = dir + "/bad.yaml"
            try text.write(toFile: file, atomically: true, encoding: .utf8)
            let out = dir + "/out"
            let r = try CLI.run(["study", file, "--out", out, "--quiet"])
            #expect(r.status != 0)
            #expect(r.stderr.contains(expected), "\(r.stderr)")
            // Nothing ran: no output folder.
            #expect(!FileManager.default.fileExists(atPath: out))
        }
    }

    @Test("a study from flags runs, and a second run of the same command resumes with nothing to do")
    func flagsStudyRunsAndResumes() throws {
        let dir = TestFiles.temporaryDirectory("rlhf-cli")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let args = ["study", "--algorithms", "zpg", "--budgets", "800,1600", "--seeds", "2", "--out", dir + "/s"]
        let r = try CLI.run(args)
        #expect(r.status == 0, "\(r.stderr)")
        #expect(r.stderr.contains("4 run(s) computed, 0 already finished"), "\(r.stderr)")
        let csv = try String(contentsOfFile: dir + "/s/results.csv", encoding: .utf8)
        #expect(csv.hasPrefix("run,variant,algorithm,env,link,feedback,seed,budget,queries,env_steps,value,value_se,normalized_value,wall_seconds"))
        // The saved study says what ran: --seeds 2, not the flags study's default 5 (issue 12, item 15).
        let saved = try String(contentsOfFile: dir + "/s/study.yaml", encoding: .utf8)
        #expect(saved.contains("\nseeds: 2\n") && !saved.contains("seeds: 5"), "\(saved)")
        let again = try CLI.run(args)
        #expect(again.status == 0)
        #expect(again.stderr.contains("0 run(s) computed, 4 already finished"), "\(again.stderr)")
        #expect(try String(contentsOfFile: dir + "/s/results.csv", encoding: .utf8) == csv)
    }

    @Test("a run another live process holds is skipped, not computed twice; the claim goes with its holder")
    func claimedRunIsSkipped() throws {
        let dir = TestFiles.temporaryDirectory("rlhf-cli")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let run = dir + "/s/runs/zpg__classic__bradley-terry__default__s0__q800"
        try FileManager.default.createDirectory(atPath: run, withIntermediateDirectories: true)
        // Claim the only run as a live process on this host would (this test's own process).
        var host = [CChar](repeating: 0, count: 256)
        gethostname(&host, 255)
        try "host=\(String(cString: host)) pid=\(getpid()) started=0 token=1\n".write(toFile: run + "/claim.1", atomically: true, encoding: .utf8)
        let args = ["study", "--algorithms", "zpg", "--budgets", "800", "--seeds", "1", "--out", dir + "/s"]
        let skipped = try CLI.run(args)
        #expect(skipped.status == 0, "\(skipped.stderr)")
        #expect(skipped.stderr.contains("0 run(s) computed, 0 already finished, 0 failed (0 diverged), 1 skipped (another process is computing them)"), "\(skipped.stderr)")
        #expect(!FileManager.default.fileExists(atPath: run + "/run.json"))
        // The holder ends (here: its claim names a process that has ended): the next study computes the run.
        let ended = Process()
        ended.executableURL = URL(fileURLWithPath: "/bin/true")
        try ended.run()
        ended.waitUntilExit()
        try "host=\(String(cString: host)) pid=\(ended.processIdentifier) started=0 token=1\n".write(toFile: run + "/claim.1", atomically: true, encoding: .utf8)
        let r = try CLI.run(args + ["--quiet"])
        #expect(r.status == 0, "\(r.stderr)")
        #expect(FileManager.default.fileExists(atPath: run + "/run.json"))
        #expect(FileManager.default.fileExists(atPath: dir + "/s/results.csv"))
    }

    @Test("--set and --evaluations reach every run of a flags study; --show prints its YAML")
    func flagsSettings() throws {
        let args = ["study", "--algorithms", "zpg", "--budgets", "800", "--seeds", "1", "--evaluations", "3",
                    "--set", "evaluators=4", "--set", "teacher.mistake-rate=0.25", "--set", "teacher.equal-threshold=0.1"]
        let shown = try CLI.run(args + ["--show"])
        #expect(shown.status == 0, "\(shown.stderr)")
        #expect(shown.stdout.contains("evaluations: 3\nsettings:\n  evaluators: 4\n  teacher:\n    mistake-rate: 0.25\n    equal-threshold: 0.1"), "\(shown.stdout)")
        let dir = TestFiles.temporaryDirectory("rlhf-cli")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let r = try CLI.run(args + ["--out", dir + "/s", "--quiet"])
        #expect(r.status == 0, "\(r.stderr)")
        let run = try String(contentsOfFile: dir + "/s/runs/zpg__classic__bradley-terry__default__s0__q800/run.json", encoding: .utf8)
        #expect(run.contains("\"evaluators\":4"), "\(run.prefix(600))")
        #expect(run.contains("\"mistakeRate\":0.25"), "\(run.prefix(600))")
        let bad = try CLI.run(["study", "--algorithms", "zpg", "--set", "evaluators"])
        #expect(bad.status != 0 && bad.stderr.contains("--set expects KEY=VALUE"), "\(bad.stderr)")
        let unknown = try CLI.run(["study", "--algorithms", "zpg", "--set", "evaluatorz=3", "--dry-run"])
        #expect(unknown.status != 0 && unknown.stderr.contains("evaluatorz"), "\(unknown.stderr)")
    }

    /// Errors of a study (file, flags or --set) print `rlhf study`'s usage, not the top-level one,
    /// and a flags study's errors name the flag, not a line of YAML the user never saw (issue 12, item 14).
    @Test("study errors print the study command's usage and name the flag of a flags study")
    func studyErrorsPrintTheSubcommandsUsage() throws {
        let dir = TestFiles.temporaryDirectory("rlhf-cli")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let file = dir + "/bad.yaml"
        try "environments: [classic]\nseeds: 2\nbudgets: [1e4]\nalgorithms: [zpg]\nbudgetz: 3\n".write(toFile: file, atomically: true, encoding: .utf8)
        let cases: [([String], String)] = [
            (["study", file, "--dry-run"], "Error: \(file):5:1: 'budgetz': unknown key"),
            (["study", "--algorithms", "zpg,dpoo", "--dry-run"], "Error: '--algorithms': unknown algorithm 'dpoo'"),
            (["study", "--algorithms", "zpg", "--set", "evaluatorz=3", "--dry-run"], "Error: '--set evaluatorz': unknown setting"),
            (["study", "--algorithms", "zpg", "--budgets", "10", "--dry-run"], "Error: '--budgets': budget 10 is too small for 'zpg'"),
            (["study", "--algorithms", "zpg", "--seeds", "20000", "--dry-run"], "Error: '--seeds': 20000 seeds; a study has at most 10000"),
        ]
        for (args, expected) in cases {
            let r = try CLI.run(args)
            #expect(r.status != 0)
            #expect(r.stderr.hasPrefix(expected), "\(r.stderr)")
            #expect(r.stderr.contains("Usage: rlhf study [<options>] [<NAME|FILE>]") && r.stderr.contains("See 'rlhf study --help'"), "\(r.stderr)")
            #expect(!r.stderr.contains("<flags>") && !r.stderr.contains("rlhf <subcommand>"), "\(r.stderr)")
        }
    }

    /// A UTF-8 byte-order mark is accepted; UTF-16, NUL bytes and an alias bomb are refused by
    /// file and line, the bomb at once (issue 12, items 8 and 14). A file's --seeds is what
    /// the saved study.yaml says (item 15).
    @Test("study files: BOM accepted, UTF-16 and alias bombs refused by line, --seeds recorded")
    func studyFileEncodingsAndBombs() throws {
        let dir = TestFiles.temporaryDirectory("rlhf-cli")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let yaml = "name: b\nenvironments: [classic]\nseeds: 5\nbudgets: [800]\nalgorithms: [zpg]\n"
        try (Data([0xEF, 0xBB, 0xBF]) + Data(yaml.utf8)).write(to: URL(fileURLWithPath: dir + "/bom.yaml"))
        let bom = try CLI.run(["study", dir + "/bom.yaml", "--seeds", "1", "--out", dir + "/b", "--quiet"])
        #expect(bom.status == 0, "\(bom.stderr)")
        let saved = try String(contentsOfFile: dir + "/b/study.yaml", encoding: .utf8)
        #expect(saved.contains("seeds: 1  # rlhf study --seeds 1: seeds 0…0 (the file had: seeds: 5)"), "\(saved)")
        let rerun = try CLI.run(["study", dir + "/b/study.yaml", "--dry-run", "--quiet"])
        #expect(rerun.status == 0 && rerun.stdout.contains("\n1 runs\n"), "\(rerun.stdout) \(rerun.stderr)")

        try yaml.data(using: .utf16)!.write(to: URL(fileURLWithPath: dir + "/u16.yaml"))
        let u16 = try CLI.run(["study", dir + "/u16.yaml", "--dry-run"])
        #expect(u16.status != 0 && u16.stderr.hasPrefix("Error: \(dir)/u16.yaml:1:1: the file is UTF-16 or UTF-32"), "\(u16.stderr)")

        var bomb = "a: &a [x, x, x, x, x, x, x, x, x]\n"
        for (k, name) in ["b", "c", "d", "e", "f", "g"].enumerated() {
            let previous = ["a", "b", "c", "d", "e", "f"][k]
            bomb += "\(name): &\(name) [" + Array(repeating: "*" + previous, count: 9).joined(separator: ", ") + "]\n"
        }
        try bomb.write(toFile: dir + "/bomb.yaml", atomically: true, encoding: .utf8)
        let start = Date()
        let refused = try CLI.run(["study", dir + "/bomb.yaml", "--dry-run"])
        #expect(Date().timeIntervalSince(start) < 5)
        #expect(refused.status != 0 && refused.stderr.hasPrefix("Error: \(dir)/bomb.yaml:1:4: an anchor or alias (&a, *a)"), "\(refused.stderr)")
    }

    /// `--dry-run` lists the runs and estimates the time from probe runs, saying how (issue 12, item 18).
    @Test("--dry-run estimates the time and states the method")
    func dryRunEstimatesTheTime() throws {
        let r = try CLI.run(["study", "--algorithms", "zpg", "--budgets", "800,1600", "--seeds", "2", "--dry-run", "--workers", "2"])
        #expect(r.status == 0, "\(r.stderr)")
        let lines = r.stdout.split(separator: "\n").map(String.init)
        #expect(lines.count == 7 && lines[4] == "4 runs", "\(r.stdout)")
        #expect(lines[5].hasPrefix("estimated time: about ") && lines[5].contains("with 2 workers (the runs sum to "), "\(r.stdout)")
        #expect(lines[6].hasPrefix("  method: from probe runs per algorithm variant and environment") && lines[6].contains("probe runs took"), "\(r.stdout)")
    }
}
