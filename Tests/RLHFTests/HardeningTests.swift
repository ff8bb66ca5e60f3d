import Foundation
import Testing
@testable import RLHF
import RLHFTestSupport

/// Issue 12: every bad input a clear error, no silent wrong number. Each case failed (ran with
/// a wrong number, crashed, or printed an internal message) before its fix.
@Suite("Hardening: bad input gets a clear error", .serialized)
struct HardeningCLITests {
    @Test("refused with a message naming the setting and the bound", arguments: [
        // 1: --set goes through the same validation as the option.
        (["train", "--set", "teacher.mistake-rate=2"], "teacher.mistake-rate (--mistake-rate): 2.0 is outside [0.0, 1.0]"),
        (["train", "--set", "teacher.myopic-discount=1.5"], "teacher.myopic-discount (--myopic-discount): 1.5 is outside [0.0, 1.0]"),
        (["train", "--set", "teacher.equal-threshold=-1"], "teacher.equal-threshold (--equal-threshold): -1.0 must not be negative"),
        (["train", "--mistake-rate", "2"], "teacher.mistake-rate (--mistake-rate): 2.0 is outside [0.0, 1.0]"),
        // 3: V* = V(uniform): refused before the run.
        (["train", "--horizon", "3"], "nothing can be learned"),
        (["train", "--slip", "1"], "nothing can be learned"),
        (["train", "--env", "cartpole", "--policy", "mlp", "--horizon", "1"], "nothing can be learned"),
        // 7: huge integers.
        (["train", "--horizon", "1000000000"], "horizon: 1000000000 is above the limit of 100,000"),
        (["train", "--evaluators", "9223372036854775807"], "evaluators (M): 9223372036854775807 is above the limit of 1,000,000"),
        (["train", "--pairs", "9223372036854775807"], "pairs (N): 9223372036854775807 is above the limit of 10,000,000"),
        (["train", "--algorithm", "zbcpg", "--blocks", "9223372036854775807"], "blocks (K): 9223372036854775807 is above the limit of 1,000,000,000"),
        (["train", "--policy", "mlp", "--hidden", "99999999999"], "hidden width: 99999999999 is above the limit of 65,536"),
        (["train", "--policy", "mlp", "--hidden", "9223372036854775807"], "hidden width"),
        (["train", "--policy", "mlp", "--hidden", "65536,65536"], "more than the limit of 50,000,000 parameters"),
        (["train", "--env", "bandit-9223372036854775807x2x2"], "above the limit of"),
        (["train", "--env", "bandit-100000x100000x100000"], "contexts × actions × features = 100,000 × 100,000 × 100,000 is above the limit of 10,000,000"),
        (["train", "--queries", "1e18"], "query budget"),
        (["train", "--algorithm", "zbcpg", "--blocks", "1000", "--evaluators", "1000000", "--pairs", "10000000"], "blocks × pairs × evaluators"),
        // 8: memory: the horizon is bounded, and |S|·|A|·H of the exact model.
        (["train", "--horizon", "10000000"], "above the limit of 100,000"),
        (["env", "open-64", "--horizon", "100000"], "|S| × |A| × H = 4,096 × 4 × 100,000 is above the limit of 50,000,000"),
        // 9: a negative value after a space is a value, not an option.
        (["train", "--alpha", "-0.01"], "alpha (step size): -0.01 must be positive"),
        (["train", "--seed", "-1"], "The value '-1' is invalid for '--seed <seed>'"),
        (["env", "-dash.txt"], "unknown option '-dash.txt'"),
        // 10: the same number forms as study files, and a clear message otherwise.
        (["train", "--queries", "1.5"], "The value '1.5' is invalid for '--queries <queries>'"),
        // 11: a missing map file says so.
        (["train", "--env", "no/such/map.txt"], "no/such/map.txt: no such map file"),
        // 14: no internal messages.
        (["train", "--mu", "nan", "--set", "evaluators=3"], "mu (perturbation radius): nan is not finite"),
        (["train", "--set", "evaluators=1.5"], "'evaluators': '1.5' is not a whole number"),
        (["train", "--set", "mu=abc"], "'mu': 'abc' is not a number"),
        (["train", "--set", "policy=0.5"], "'policy': '0.5' is not one of: tabular, mlp"),
        (["train", "--set", "ppo.truncation=zz"], "'ppo.truncation': 'zz' is not one of: terminal, bootstrap, time-aware"),
        (["train", "--set", "mu=a: b"], "--set: 'mu=a: b': not valid YAML"),
        (["train", "--set", "rm-ppo.reward-model.epochs=0.1"], "'rm-ppo.reward-model.epochs': '0.1' is not a whole number"),
        (["train", "--dpo-lr", "inf"], "DPO learning rate: inf is not finite"),
        (["train", "--set", "ppo.value-hidden=1e309"], "'ppo.value-hidden': '1e309' has a number that is not finite"),
        (["train", "--sigma", "1e309"], "penalty σ₀: inf is not finite"),
        (["train", "--env", "bandit-1x1x1"], "nothing can be learned"),
        (["train", "--algorithm", "ppo-true-reward", "--ppo-steps", "99999999999"], "PPO steps per update: 99999999999 is above the limit of 10,000,000"),
    ])
    func refused(arguments: [String], fragment: String) throws {
        let r = try CLI.run(arguments + (arguments.first == "train" ? ["--quiet"] : []))
        #expect(r.status != 0 && r.status < 128, "status \(r.status)")
        #expect(r.stderr.contains(fragment), "stderr: \(r.stderr)")
        for leak in ["EncodingError", "DecodingError", "not valid JSON", "Usage: rlhf <subcommand>"] {
            #expect(!r.stderr.contains(leak), "stderr: \(r.stderr)")
        }
        #expect(r.stdout.isEmpty || !r.stdout.contains("normalized"), "no result on standard output: \(r.stdout)")
    }

    @Test("1, 3: study files go through the same checks as the options", arguments: [
        ("feedback: [{label: f, teacher: {mistake-rate: 1.5}}]\nenvironments: [classic]", "teacher.mistake-rate (--mistake-rate): 1.5 is outside [0.0, 1.0]"),
        ("settings: {teacher: {myopic-discount: 2}}\nenvironments: [classic]", "teacher.myopic-discount (--myopic-discount): 2.0 is outside [0.0, 1.0]"),
        ("settings: {teacher: {equal-threshold: -1}}\nenvironments: [classic]", "teacher.equal-threshold (--equal-threshold): -1.0 must not be negative"),
        ("environments: [{name: classic, horizon: 3}]", "nothing can be learned"),
        ("environments: [{name: classic, slip: 1}]", "nothing can be learned"),
    ])
    func studyFiles(lines: String, fragment: String) throws {
        let dir = TestFiles.temporaryDirectory("rlhf-cli")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let file = dir + "/s.yaml"
        try "name: s\nseeds: 1\nbudgets: [1000]\nalgorithms: [zpg]\n\(lines)\n".write(toFile: file, atomically: true, encoding: .utf8)
        let r = try CLI.run(["study", file, "--dry-run", "--out", dir + "/out"])
        #expect(r.status != 0 && r.stderr.contains(fragment), "stderr: \(r.stderr)")
        #expect(!FileManager.default.fileExists(atPath: dir + "/out"), "nothing is written")
    }

    @Test("4: labels that differ only in case are refused (their run folders collide on case-insensitive disks)")
    func labelsDifferingInCase() throws {
        let dir = TestFiles.temporaryDirectory("rlhf-cli")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let file = dir + "/s.yaml"
        try """
            name: s
            seeds: 1
            budgets: [1000]
            environments: [classic]
            algorithms: [{label: Fast, algorithm: zpg}, {label: fast, algorithm: zpg, mu: 2}]

            """.write(toFile: file, atomically: true, encoding: .utf8)
        let r = try CLI.run(["study", file, "--dry-run"])
        #expect(r.status != 0 && r.stderr.contains("labels 'Fast'") && r.stderr.contains("ignoring case"), "stderr: \(r.stderr)")
    }

    @Test("accepted as the README writes it", arguments: [
        // 9: negative values after a space; 10: 1e4, 10^4, 1_000, 1.5e4; 12: previous-round.
        (["--step-reward", "-0.05", "--queries", "1e4"], 10_000),
        (["--queries", "10^4"], 10_000),
        (["--queries", "1_000"], 1_000),
        (["--queries", "1.5e4"], 15_000),
        (["--algorithm", "online-dpo", "--dpo-reference", "previous-round", "--queries", "2000"], 2_000),
        (["--algorithm", "online-dpo", "--set", "dpo.reference=previous-round", "--queries", "2000"], 2_000),
    ])
    func accepted(arguments: [String], budget: Int) throws {
        let r = try CLI.run(["train", "--json", "--quiet"] + arguments)
        #expect(r.status == 0, "stderr: \(r.stderr)")
        let o = try #require(try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [String: Any])
        #expect(o["budget"] as? Int == budget)
        let value = try #require(o["normalized_value"] as? Double)
        #expect(value.isFinite)
    }

    @Test("an error in a subcommand's run points at that subcommand's help, not rlhf's usage")
    func subcommandUsage() throws {
        let r = try CLI.run(["train", "--set", "nosuch=1", "--quiet"])
        #expect(r.status == 64)
        #expect(r.stderr.contains("See 'rlhf train --help'"), "stderr: \(r.stderr)")
        #expect(!r.stderr.contains("rlhf <subcommand>"))
    }

    @Test("11: rlhf env describes cartpole and the bandit; --env's help names them")
    func envCartpole() throws {
        let c = try CLI.run(["env", "cartpole", "--json"])
        #expect(c.status == 0, "stderr: \(c.stderr)")
        let o = try #require(try JSONSerialization.jsonObject(with: Data(c.stdout.utf8)) as? [String: Any])
        #expect(o["horizon"] as? Int == 500 && o["actions"] as? Int == 2 && o["optimal_value"] as? Double == 500)
        // The random policy lasts about 22 steps (Gymnasium's CartPole-v1).
        let u = try #require(o["uniform_value"] as? Double), se = try #require(o["uniform_value_se"] as? Double)
        #expect(abs(u - 22.25) < 4 * se + 0.2, "V(uniform) = \(u) ± \(se)")
        let b = try CLI.run(["env", "bandit"])
        #expect(b.status == 0 && b.stdout.contains("linear bandit"), "stderr: \(b.stderr)")
        let help = try CLI.run(["train", "--help"])
        #expect(help.stdout.contains("cartpole") && help.stdout.contains("bandit-CxAxK"))
    }

    @Test("13: a refused --resume names exactly the settings that differ")
    func resumeDifferences() throws {
        let dir = TestFiles.temporaryDirectory("rlhf-cli")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let first = try CLI.run(["train", "--queries", "8000", "--out", dir, "--quiet"])
        #expect(first.status == 0, "\(first.stderr)")
        for _ in 0..<3 {   // the list used to vary from run to run
            let r = try CLI.run(["train", "--queries", "8000", "--seed", "1", "--out", dir, "--resume", "--quiet"])
            #expect(r.status != 0)
            #expect(r.stderr.contains("other settings: seed (0 in the checkpoint, 1 now); rerun"), "stderr: \(r.stderr)")
        }
        let two = try CLI.run(["train", "--queries", "8000", "--seed", "1", "--mistake-rate", "0.1", "--out", dir, "--resume", "--quiet"])
        #expect(two.stderr.contains("seed (0 in the checkpoint, 1 now); teacher.mistake-rate (0 in the checkpoint, 0.1 now); rerun"),
                "stderr: \(two.stderr)")
    }

    @Test("15: --json's configuration has the nested settings of the algorithm that ran", arguments: [
        ("online-dpo", "dpo"), ("dpo", "dpo"), ("ppo-true-reward", "ppo"),
    ])
    func jsonConfiguration(algorithm: String, block: String) throws {
        var args = ["train", "--algorithm", algorithm, "--json", "--quiet"]
        args += algorithm == "ppo-true-reward" ? ["--ppo-updates", "2", "--ppo-steps", "100"] : ["--queries", "2000"]
        let r = try CLI.run(args)
        #expect(r.status == 0, "\(r.stderr)")
        let o = try #require(try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [String: Any])
        let configuration = try #require(o["configuration"] as? [String: Any])
        #expect(configuration[block] is [String: Any], "configuration: \(configuration.keys.sorted())")
    }
}

/// Issue 12, item 5: a checkpoint is checked against its checksum, its own invariants and the
/// run it continues.
@Suite("Hardening: damaged or edited checkpoints are refused by name", .serialized)
struct CheckpointIntegrityTests {
    /// A finished 8,000-query ZPG run's output directory, and its configuration.
    static func savedRun() throws -> (String, TrainConfiguration) {
        let dir = TestFiles.temporaryDirectory("rlhf-cli")
        var c = TrainConfiguration()
        c.budget = 8000
        _ = try Trainer.run(c, checkpoint: { try RunOutput.saveCheckpoint($0, configuration: c, in: dir) })
        return (dir, c)
    }

    /// Edits the checkpoint's JSON and, when `rehash`, recomputes its checksum (a deliberate edit
    /// that only the invariants can catch).
    static func edit(_ dir: String, rehash: Bool, _ change: (inout [String: Any]) -> Void) throws {
        let path = RunOutput.checkpointPath(in: dir)
        var object = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: path))) as? [String: Any])
        var state = try #require(object["state"] as? [String: Any])
        change(&state)
        object["state"] = state
        var data = try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])
        if rehash {
            let c = try JSONDecoder().decode(RunOutput.Checkpoint.self, from: data)
            object["checksum"] = Checksum.fnv1a64(try RunOutput.payloadBytes(configuration: c.configuration, state: c.state))
            data = try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])
        }
        try data.write(to: URL(fileURLWithPath: path))
    }

    @Test("an intact checkpoint loads; the same run resumed gives the same state")
    func intact() throws {
        let (dir, c) = try Self.savedRun()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let state = try RunOutput.loadCheckpoint(in: dir, for: c)
        #expect(state.queriesUsed == 8000 && state.iteration == 100)
    }

    @Test("an edit without a matching checksum is refused as damaged, naming the file")
    func damaged() throws {
        let (dir, c) = try Self.savedRun()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try Self.edit(dir, rehash: false) { $0["iteration"] = ($0["iteration"] as! Int) + 1 }
        #expect {
            _ = try RunOutput.loadCheckpoint(in: dir, for: c)
        } throws: { e in
            "\(e)".contains(RunOutput.checkpointPath(in: dir)) && "\(e)".contains("damaged or was edited")
        }
        // Truncated bytes: not readable, by name.
        let path = RunOutput.checkpointPath(in: dir)
        let bytes = try Data(contentsOf: URL(fileURLWithPath: path))
        try bytes.prefix(bytes.count / 2).write(to: URL(fileURLWithPath: path))
        #expect { _ = try RunOutput.loadCheckpoint(in: dir, for: c) } throws: {
            "\($0)" == "\(path): not a readable checkpoint: not valid JSON"
        }
    }

    @Test("edits with a recomputed checksum are refused by the invariants", arguments: [
        "iteration+1", "iteration=10^12", "iteration=-5", "empty records", "negative queries", "records out of order",
        "queries over budget",
    ])
    func inconsistent(edit: String) throws {
        let (dir, c) = try Self.savedRun()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try Self.edit(dir, rehash: true) { s in
            switch edit {
            case "iteration+1": s["iteration"] = (s["iteration"] as! Int) + 1
            case "iteration=10^12": s["iteration"] = 1_000_000_000_000
            case "iteration=-5": s["iteration"] = -5
            case "empty records": s["records"] = [Any]()
            case "negative queries": s["queriesUsed"] = -80
            case "records out of order": s["records"] = Array((s["records"] as! [Any]).reversed())
            default:   // one more iteration, paid: 8,080 queries of a budget of 8,000
                s["iteration"] = 101
                s["queriesUsed"] = 8080
            }
        }
        #expect {
            _ = try RunOutput.loadCheckpoint(in: dir, for: c)
        } throws: { e in
            "\(e)".hasPrefix(RunOutput.checkpointPath(in: dir) + ": invalid value for checkpoint:")
        }
    }

    @Test("15: writes leave no temporary file behind, and a failed write says why")
    func atomicWrite() throws {
        let dir = TestFiles.temporaryDirectory("rlhf-cli")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try AtomicFile.write(Array("a".utf8), to: dir + "/f")
        try AtomicFile.write(Array("b".utf8), to: dir + "/f")
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir) == ["f"])
        #expect(try String(contentsOfFile: dir + "/f", encoding: .utf8) == "b")
        #expect {
            try AtomicFile.write(Array("c".utf8), to: dir + "/missing/f")
        } throws: { "\($0)".contains("No such file or directory") }
        // A full device reports its reason (ENOSPC) where /dev/full exists.
        if FileManager.default.fileExists(atPath: "/dev/full") {
            #expect(throws: RLHFError.self) { try AtomicFile.write(Array("c".utf8), to: "/dev/full/x") }
        }
    }
}

/// Items 7 and 8 at the library level: sizes are refused before anything is allocated.
@Suite("Hardening: sizes are bounded before allocation")
struct SizeLimitTests {
    @Test("a map above the cell limit is refused by its size, quickly")
    func hugeMap() throws {
        let row = "S" + String(repeating: ".", count: 1999)
        let map = ([row] + Array(repeating: String(repeating: ".", count: 1999) + "G", count: 999)).joined(separator: "\n")
        let start = Date()
        #expect {
            _ = try GridWorld(map: map, options: .init(slip: 0.1, horizon: 20, stepReward: 0), source: "big.map")
        } throws: { "\($0)".contains("1000 × 2000 cells, above the limit of 1,000,000") }
        #expect(Date().timeIntervalSince(start) < 10)
    }

    @Test("sizes are multiplied without overflow")
    func overflow() {
        #expect(throws: RLHFError.self) {
            try Validate.product([Int.max, Int.max, 2], atMost: Limits.budget, "x", "a × b × c")
        }
        #expect(throws: RLHFError.self) {
            try Validate.network(inputs: Int.max - 1, hidden: [Int.max], outputs: 2, "net")
        }
        #expect((try? Validate.network(inputs: 2, hidden: [16], outputs: 4, "net")) != nil)
    }

    @Test("3: V* = V(uniform) is detected; classic is fine")
    func normalization() throws {
        #expect(throws: RLHFError.self) {
            try EnvironmentSpec(name: "classic", horizon: 3).resolve().checkNormalizable(name: "classic")
        }
        try EnvironmentSpec(name: "classic").resolve().checkNormalizable(name: "classic")
    }
}

@Suite("Hardening: files of earlier versions")
struct EarlierFilesTests {
    @Test("DPO settings written before adam-epsilon and learning-rate decay existed read as what ran then")
    func oldDPOSettings() throws {
        var h = DPOHyperparameters()
        let data = try JSONEncoder().encode(h)
        var object = try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
        object["adamEpsilon"] = nil
        object["learningRateDecayRounds"] = nil
        let old = try JSONDecoder().decode(DPOHyperparameters.self, from: JSONSerialization.data(withJSONObject: object))
        #expect(old.adamEpsilon == 1e-8 && old.learningRateDecayRounds == nil)
        // Today's files round-trip exactly.
        h.maxOfflinePairs = 7
        #expect(try JSONDecoder().decode(DPOHyperparameters.self, from: JSONEncoder().encode(h)) == h)
    }
}
