import Foundation
import Testing
import RLHFTestSupport

/// Runs the `rlhf` executable built beside the test bundle.
struct CLI {
    struct Result {
        var status: Int32
        var stdout: String
        var stderr: String
    }

    static var executable: URL {
        // The test bundle lives in the build directory next to the executables it depends on.
        let me = URL(fileURLWithPath: (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0])
        return me.deletingLastPathComponent().appendingPathComponent("rlhf")
    }

    static func run(_ arguments: [String]) throws -> Result {
        let p = Process()
        p.executableURL = executable
        p.arguments = arguments
        let out = Pipe(), err = Pipe()
        p.standardOutput = out
        p.standardError = err
        try p.run()
        // Read both pipes before waiting so a full pipe cannot block the child.
        let o = out.fileHandleForReading.readDataToEndOfFile()
        let e = err.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        return Result(status: p.terminationStatus, stdout: String(decoding: o, as: UTF8.self), stderr: String(decoding: e, as: UTF8.self))
    }
}

@Suite("Command line", .serialized)
struct CLITests {
    @Test("the rlhf executable is built beside the tests")
    func executableExists() {
        #expect(FileManager.default.isExecutableFile(atPath: CLI.executable.path), "\(CLI.executable.path)")
    }

    @Test("train --json prints exactly one JSON object with the summary fields; progress goes to stderr")
    func trainJSON() throws {
        let r = try CLI.run(["train", "--queries", "20000", "--seed", "3", "--json"])
        #expect(r.status == 0, "\(r.stderr)")
        let lines = r.stdout.split(separator: "\n")
        #expect(lines.count == 1)
        let object = try #require(try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [String: Any])
        for key in ["algorithm", "env", "link", "seed", "queries_used", "env_steps", "iterations", "initial_value",
                    "final_value", "optimal_value", "uniform_value", "normalized_value", "wall_seconds"] {
            #expect(object[key] != nil, "missing \(key)")
        }
        #expect(object["queries_used"] as? Int == 20000)
        #expect(object["algorithm"] as? String == "zpg")
        #expect(object["seed"] as? Int == 3)
        #expect(r.stderr.contains("iteration"))
    }

    @Test("train --out writes metrics.csv and summary.json; --resume of a finished run changes nothing")
    func trainOut() throws {
        let dir = TestFiles.temporaryDirectory("rlhf-cli")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let args = ["train", "--algorithm", "zbcpg", "--link", "weibull", "--queries", "32000", "--out", dir, "--json", "--quiet"]
        let r = try CLI.run(args)
        #expect(r.status == 0, "\(r.stderr)")
        let csv = try String(contentsOfFile: dir + "/metrics.csv", encoding: .utf8)
        let rows = csv.split(separator: "\n")
        // The fixed columns, then ZBCPG's diagnostics (README "Diagnostics at every evaluation point").
        #expect(rows.first == "iteration,queries,env_steps,value,value_se,normalized_value,wall_seconds,abs_delta,mean_delta,tied_share,skipped_share,gradient_norm")
        #expect(rows.count > 10)
        #expect(rows.last!.hasPrefix("100,32000,"))
        let summary = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: dir + "/summary.json"))) as? [String: Any])
        #expect(summary["queries_used"] as? Int == 32000)
        let again = try CLI.run(args + ["--resume"])
        #expect(again.status == 0, "\(again.stderr)")
        let a = try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [String: Any]
        let b = try JSONSerialization.jsonObject(with: Data(again.stdout.utf8)) as? [String: Any]
        #expect(a?["final_value"] as? Double == b?["final_value"] as? Double)
        let other = try CLI.run(["train", "--queries", "16000", "--out", dir, "--resume"])
        #expect(other.status != 0 && other.stderr.contains("other settings: ") && other.stderr.contains("budget (32000 in the checkpoint, 16000 now)"))
    }

    @Test("every baseline runs from the command line with the same summary, paying through the ledger", arguments: [
        ["--algorithm", "dpo", "--queries", "4000"],
        ["--algorithm", "online-dpo", "--queries", "4000", "--pairs-per-round", "100"],
        ["--algorithm", "rm-ppo", "--queries", "4000", "--pairs-per-round", "100", "--ppo-updates", "2", "--ppo-steps", "200", "--reward-hidden", ""],
        ["--algorithm", "rm-ppo-offline", "--queries", "4000", "--ppo-updates", "4", "--ppo-steps", "200"],
        ["--algorithm", "ppo-true-reward", "--ppo-updates", "3", "--ppo-steps", "200"],
        ["--algorithm", "bilevel", "--queries", "300"],
        ["--algorithm", "bilevel", "--queries", "300", "--exact", "--sigma", "0.5"],
    ])
    func baselines(arguments: [String]) throws {
        let r = try CLI.run(["train", "--json", "--quiet"] + arguments)
        #expect(r.status == 0, "\(r.stderr)")
        let o = try #require(try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [String: Any])
        let used = try #require(o["queries_used"] as? Int)
        #expect(used <= (o["budget"] as? Int ?? 0))
        if arguments[1] == "ppo-true-reward" { #expect(used == 0) } else { #expect(used > 0) }
        #expect(o["alpha"] == nil)
        #expect(o["exact_values"] as? Bool == true)
        let figures = o["figures"] as? [String: Double]
        if arguments[1] == "bilevel" {
            #expect(figures?["penalty_policy_value"] != nil && figures?["penalty_policy_normalized"] != nil)
        } else {
            #expect(figures == nil)
        }
    }

    @Test("train --set reaches any nested setting, and the summary's configuration shows it")
    func trainSet() throws {
        let r = try CLI.run(["train", "--algorithm", "bilevel", "--queries", "300", "--sigma", "2", "--json",
                             "--set", "bilevel.lower-step-size=0.02", "--set", "bilevel.sigma-decay=0.5",
                             "--set", "bilevel.critic.refreshes=3", "--set", "evaluators=5"])
        #expect(r.status == 0, "\(r.stderr)")
        let object = try #require(try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [String: Any])
        let config = try #require(object["configuration"] as? [String: Any])
        let bilevel = try #require(config["bilevel"] as? [String: Any])
        #expect(bilevel["lower_step_size"] as? Double == 0.02)
        #expect(bilevel["sigma_decay"] as? Double == 0.5)
        #expect(bilevel["sigma"] as? Double == 2, "--set keeps what the options set")
        #expect((bilevel["critic"] as? [String: Any])?["refreshes"] as? Int == 3)
        #expect(config["evaluators"] as? Int == 5)
        #expect(object["queries_used"] as? Int == 300)
    }

    @Test("bilevel reports λ' as the run's policy (λ among the figures); --bilevel-deploy penalty swaps them, the run itself unchanged")
    func bilevelDeploy() throws {
        func run(_ extra: [String]) throws -> [String: Any] {
            let r = try CLI.run(["train", "--algorithm", "bilevel", "--queries", "500", "--seed", "2", "--json"] + extra)
            #expect(r.status == 0, "\(r.stderr)")
            return try #require(try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [String: Any])
        }
        let penalty = try run(["--bilevel-deploy", "penalty"]), lower = try run([])
        let pf = try #require(penalty["figures"] as? [String: Double]), lf = try #require(lower["figures"] as? [String: Double])
        #expect(lower["normalized_value"] as? Double == pf["lower_level_normalized"])
        #expect(lf["penalty_policy_normalized"] == penalty["normalized_value"] as? Double)
        #expect(lf["reward_agreement"] == pf["reward_agreement"])
        #expect(lf["lower_level_value"] == nil)
    }

    @Test("a baseline refuses to resume from parameters alone")
    func baselineResume() throws {
        let dir = TestFiles.temporaryDirectory("rlhf-cli")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let args = ["train", "--algorithm", "online-dpo", "--queries", "2000", "--pairs-per-round", "100", "--out", dir, "--quiet"]
        #expect(try CLI.run(args).status == 0)
        let again = try CLI.run(args + ["--resume"])
        #expect(again.status != 0 && again.stderr.contains("cannot resume"), "\(again.stderr)")
    }

    @Test("env prints the sizes and exact values")
    func env() throws {
        let r = try CLI.run(["env", "classic", "--json"])
        #expect(r.status == 0)
        let o = try #require(try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [String: Any])
        #expect(o["states"] as? Int == 23 && o["actions"] as? Int == 4 && o["d"] as? Int == 92)
        #expect(abs((o["uniform_value"] as? Double ?? 0) - -0.615882) < 1e-6)
        #expect(abs((o["optimal_value"] as? Double ?? 0) - 0.818114) < 1e-6)
        let text = try CLI.run(["env", "open-5", "--horizon", "7"])
        #expect(text.status == 0 && text.stdout.contains("S....") && text.stdout.contains("horizon H         7"))
    }

    @Test("bad input exits non-zero with a message saying what is wrong", arguments: [
        (["train", "--env", "atlantis"], "unknown environment 'atlantis'"),
        (["train", "--algorithm", "sgd"], "sgd"),
        (["train", "--link", "cauchy"], "cauchy"),
        (["train", "--evaluators", "0"], "evaluators (M)"),
        (["train", "--queries", "50"], "query budget 50"),
        (["train", "--mu", "nan"], "not finite"),
        (["train", "--alpha=-1"], "alpha"),
        (["train", "--link-scale", "inf"], "link scale"),
        (["train", "--slip", "1.5"], "slip"),
        (["train", "--resume"], "--resume needs --out"),
        (["env", "--horizon", "0"], "horizon"),
        (["train", "--algorithm", "zbcpg", "--blocks", "500"], "exceed"),
        (["train", "--env", "cartpole", "--policy", "tabular"], "tabular policy needs a tabular environment"),
        (["train", "--policy", "mlp", "--hidden", "16,x"], "--hidden"),
        (["train", "--algorithm", "dpo", "--beta", "nan"], "not finite"),
        (["train", "--algorithm", "bilevel", "--sigma", "-1"], "penalty σ₀: -1.0 must be positive"),
        (["train", "--algorithm", "bilevel", "--env", "cartpole", "--policy", "mlp", "--exact"], "exact"),
        (["train", "--algorithm", "online-dpo", "--queries", "500", "--pairs-per-round", "100"], "query budget 500"),
        (["train", "--algorithm", "bilevel", "--set", "bilevel.betaa=1"], "'bilevel.betaa': unknown setting; known: actor-episodes"),
        (["train", "--algorithm", "bilevel", "--set", "bilevel.lower-step-size=abc"], "'bilevel.lower-step-size': 'abc' is not a number"),
        (["train", "--algorithm", "bilevel", "--set", "bilevel.lower-step-size=-1"], "β'"),
        (["train", "--set", "sigma"], "expected KEY=VALUE"),
    ])
    func badInput(arguments: [String], fragment: String) throws {
        let r = try CLI.run(arguments)
        #expect(r.status != 0)
        #expect(r.stderr.contains(fragment), "stderr: \(r.stderr)")
    }

    @Test("a malformed map file is rejected naming the file, line and column")
    func malformedMapFile() throws {
        let dir = TestFiles.temporaryDirectory("rlhf-cli")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let path = dir + "/bad.map"
        try "S...\n.#.\n...G\n".write(toFile: path, atomically: true, encoding: .utf8)
        let r = try CLI.run(["train", "--env", path])
        #expect(r.status != 0)
        #expect(r.stderr.contains("\(path):2:4: ragged rows"), "stderr: \(r.stderr)")
    }
}
