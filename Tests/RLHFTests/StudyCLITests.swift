#if canImport(Glibc)
import Glibc
#endif
import Foundation
import Testing

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
        let dir = CLI.temporaryDirectory()
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
        let dir = CLI.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let args = ["study", "--algorithms", "zpg", "--budgets", "800,1600", "--seeds", "2", "--out", dir + "/s"]
        let r = try CLI.run(args)
        #expect(r.status == 0, "\(r.stderr)")
        #expect(r.stderr.contains("4 run(s) computed, 0 already finished"), "\(r.stderr)")
        let csv = try String(contentsOfFile: dir + "/s/results.csv", encoding: .utf8)
        #expect(csv.hasPrefix("run,variant,algorithm,env,link,feedback,seed,budget,queries,env_steps,value,value_se,normalized_value,wall_seconds"))
        let again = try CLI.run(args)
        #expect(again.status == 0)
        #expect(again.stderr.contains("0 run(s) computed, 4 already finished"), "\(again.stderr)")
        #expect(try String(contentsOfFile: dir + "/s/results.csv", encoding: .utf8) == csv)
    }

    @Test("a run another live process holds is skipped, not computed twice; the claim goes with its holder")
    func claimedRunIsSkipped() throws {
        let dir = CLI.temporaryDirectory()
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
        let dir = CLI.temporaryDirectory()
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
}
