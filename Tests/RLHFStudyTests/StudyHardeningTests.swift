import Foundation
import Testing
import RLHF
@testable import RLHFStudy
import RLHFTestSupport

/// Bad study input gets a clear error with file, line and key, before anything large is built
/// (issue 12: items 2, 4, 8, 14, 15 and the parsing side of 18).
@Suite struct StudyHardeningTests {
    static let head = """
        name: t
        environments: [classic]
        seeds: 2
        budgets: [1000]

        """

    static func error(_ text: String) -> StudyError? { StudyParsingTests.error(text) }

    // MARK: - Item 2: a variant may not override another axis

    @Test func variantsMayNotOverrideAnAxis() throws {
        let feedbackLink = try #require(Self.error(Self.head + """
            feedback:
              - {label: slip, link: weibull}
            algorithms: [zpg]
            """))
        #expect(feedbackLink.key == "feedback[0].link" && feedbackLink.location?.line == 6)
        #expect(feedbackLink.message.contains("list it under 'links' instead"), "\(feedbackLink)")

        let algorithmEnv = try #require(Self.error(Self.head + """
            algorithms:
              - {label: z, algorithm: zpg, environment: {name: classic, slip: 0.3}}
            """))
        #expect(algorithmEnv.key == "algorithms[0].environment" && algorithmEnv.location?.line == 6)
        #expect(algorithmEnv.message.contains("'environments'"), "\(algorithmEnv)")

        let feedbackAlgorithm = try #require(Self.error(Self.head + "feedback: [{label: x, algorithm: dpo}]\nalgorithms: [zpg]"))
        #expect(feedbackAlgorithm.key == "feedback[0].algorithm" && feedbackAlgorithm.message.contains("'algorithms'"))

        // `settings` comes first, so an axis would silently override it (links default to bradley-terry).
        let settingsLink = try #require(Self.error(Self.head + "settings: {link: weibull}\nalgorithms: [zpg]"))
        #expect(settingsLink.key == "settings.link" && settingsLink.message.contains("applied after 'settings'"), "\(settingsLink)")

        // A setting of both a feedback and an algorithm variant: the algorithm's would win under the feedback label.
        let both = try #require(Self.error(Self.head + """
            feedback:
              - {label: M=20, evaluators: 20}
            algorithms:
              - {label: z, algorithm: zpg, Evaluators: 5}
            """))
        #expect(both.key == "algorithms[0].Evaluators" && both.location?.line == 8)
        #expect(both.message.contains("also set by the feedback variant feedback[0] (s.yaml:6:19)"), "\(both)")

        // Allowed: an algorithm variant's own settings when no feedback variant sets them, and
        // `settings` that an axis refines.
        let ok = try StudyPlan(Study.parse(yaml: Self.head + """
            settings: {evaluators: 4}
            feedback: [{label: trimmed, trim: 0.1}]
            algorithms: [{label: z, algorithm: zpg, evaluators: 6}]
            """, file: "s.yaml"))
        #expect(ok.cells.allSatisfy { $0.configuration.evaluators == 6 && $0.configuration.trim == 0.1 })
    }

    // MARK: - Item 4: labels that collide as run ids, or make names too long

    @Test func labelsThatCollideAsRunFoldersAreRefusedNamingBoth() throws {
        let spaces = try #require(Self.error(Self.head + "algorithms: [{label: a b, algorithm: zpg}, {label: a_b, algorithm: zpg}]"))
        #expect(spaces.key == "algorithms[1]" && spaces.location?.line == 5)
        #expect(spaces.message.contains("labels 'a b' (s.yaml:5:14) and 'a_b' both become 'a_b'"), "\(spaces)")
        let percent = try #require(Self.error(Self.head + "feedback: [{label: m 20%, evaluators: 20}, {label: 'm 20#', evaluators: 21}]\nalgorithms: [zpg]"))
        #expect(percent.key == "feedback[1]" && percent.message.contains("'m 20%'") && percent.message.contains("'m 20#'"), "\(percent)")
        let envs = try #require(Self.error("seeds: 1\nbudgets: [1000]\nalgorithms: [zpg]\nenvironments: [{name: classic, label: x.y}, {name: classic, label: 'x.y'}]"))
        #expect(envs.key == "environments[1]" && envs.message.contains("used twice"))
        // Labels of two axes joined with '__' can meet too: caught when the plan is built.
        let joined = try #require(Self.error("""
            seeds: 1
            budgets: [1000]
            environments: [{name: classic, label: e2}, {name: classic, label: e1__e2}]
            algorithms: [{label: z__e1, algorithm: zpg}, {label: z, algorithm: zpg}]
            """))
        #expect(joined.message.contains("the same run id 'z__e1__e2__bradley-terry__default__s0__q1000'"), "\(joined)")
    }

    @Test func labelsThatMakeBadFileNamesAreRefusedBeforeAnyRun() throws {
        let long = String(repeating: "x", count: 300)
        let tooLong = try #require(Self.error(Self.head + "algorithms: [{label: \(long), algorithm: zpg}]"))
        #expect(tooLong.key == "algorithms[0]" && tooLong.message.contains("300 characters") && tooLong.message.contains("at most 100"))
        let empty = try #require(Self.error(Self.head + "algorithms: [{label: ' ', algorithm: zpg}]"))
        #expect(empty.message.contains("empty label"))
        let newline = try #require(Self.error(Self.head + "algorithms: [{label: \"a\\nb\", algorithm: zpg}]"))
        #expect(newline.key == "algorithms[0]" && newline.message.contains("a control character"), "\(newline)")
        // Each label within bounds, the run id they make together too long for a folder name.
        let a = String(repeating: "a", count: 100), e = String(repeating: "e", count: 100)
        let id = try #require(Self.error("seeds: 1\nbudgets: [1000]\nenvironments: [{name: classic, label: \(e)}]\nalgorithms: [{label: \(a), algorithm: zpg}]"))
        #expect(id.message.contains("bytes; a run id names its folder and has at most 200"), "\(id)")
    }

    // MARK: - Item 8: sizes bounded before allocation

    @Test func aliasBombIsRefusedQuicklyAndByName() throws {
        let bomb = """
            a: &a ["x","x","x","x","x","x","x","x","x"]
            b: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]
            c: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]
            d: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c]
            e: &e [*d,*d,*d,*d,*d,*d,*d,*d,*d]
            f: &f [*e,*e,*e,*e,*e,*e,*e,*e,*e]
            g: &g [*f,*f,*f,*f,*f,*f,*f,*f,*f]
            """
        let start = Date()
        let e = try #require(Self.error(bomb))
        #expect(Date().timeIntervalSince(start) < 1)
        #expect(e.description == "s.yaml:1:4: an anchor or alias (&a, *a): study files do not use them; write the value out")
        // A harmless alias is refused the same way: study files have no use for them.
        let small = try #require(Self.error(Self.head + "algorithms: &x [zpg]\nnotes: *x"))
        #expect(small.message.contains("anchor or alias (&x"))
    }

    @Test func documentSizeAndValueCountAreBounded() throws {
        let many = "notes: [" + Array(repeating: "a", count: StudyValue.maximumNodes + 1).joined(separator: ",") + "]"
        let nodes = try #require(Self.error(many))
        #expect(nodes.message.contains("more than 100000 values"), "\(nodes)")
        let big = "# " + String(repeating: "x", count: StudyValue.maximumBytes) + "\nseeds: 1"
        let bytes = try #require(Self.error(big))
        #expect(bytes.message.contains("a study file holds at most 1048576 (1 MiB)") && bytes.location?.line == 1, "\(bytes)")
    }

    @Test func seedCountsAndRunCountsAreBoundedBeforeAllocation() throws {
        let huge = try #require(Self.error(Self.head.replacingOccurrences(of: "seeds: 2", with: "seeds: 1e15") + "algorithms: [zpg]"))
        #expect(huge.description == "s.yaml:3:8: 'seeds': 1000000000000000 seeds; a study has at most 10000")
        let large = try #require(Self.error(Self.head.replacingOccurrences(of: "seeds: 2", with: "seeds: 100000") + "algorithms: [zpg]"))
        #expect(large.key == "seeds" && large.message.contains("at most 10000"))
        #expect(throws: StudyError.self) { try Study.seedRange(count: Int.max, key: "--seeds") }
        // 10⁴ seeds × 11 budgets = 110,000 runs: refused by count, before any run is built.
        let text = Self.head.replacingOccurrences(of: "seeds: 2", with: "seeds: 10000")
            .replacingOccurrences(of: "budgets: [1000]", with: "budgets: [1000, 2000, 3000, 4000, 5000, 6000, 7000, 8000, 9000, 10000, 11000]")
            + "algorithms: [zpg]"
        let start = Date()
        let runs = try #require(Self.error(text))
        #expect(Date().timeIntervalSince(start) < 1)
        #expect(runs.message.hasPrefix("110000 runs (1 algorithm variants × 1 environments × 1 links × 1 feedback settings × 10000 seeds × their budgets); a study has at most 100000"), "\(runs)")
    }

    // MARK: - Item 14: malformed files name the file and line

    @Test func duplicateKeysNulBytesAndEncodingsNameFileAndLine() throws {
        let duplicate = try #require(Self.error("environments: [classic]\nseeds: 2\nbudgets: [1000]\nseeds: 3\nalgorithms: [zpg]"))
        #expect(duplicate.key == "seeds" && duplicate.location?.line == 2 && duplicate.message.contains("duplicate key"), "\(duplicate)")
        let nested = try #require(Self.error(Self.head + "algorithms: [{label: z, algorithm: zpg, mu: 1, mu: 2}]"))
        #expect(nested.key == "mu" && nested.location?.line == 5, "\(nested)")
        // Two spellings of one setting are the same key.
        let spelled = try #require(Self.error(Self.head + "algorithms: [{label: z, algorithm: zpg, block-mode: random, block_mode: partition}]"))
        #expect(spelled.description == "s.yaml:5:61: 'algorithms[0].block_mode': duplicate key: the same setting as 'block-mode' (s.yaml:5:41); give it once")
        let nul = try #require(Self.error(Self.head + "algorithms: [zp\u{0}g]"))
        #expect(nul.description == "s.yaml:5:16: a NUL byte: a study file is UTF-8 text (a UTF-16 file must be saved as UTF-8)")

        let yaml = Self.head + "algorithms: [zpg]\n"
        // UTF-16 with a byte-order mark; without one, its NUL bytes name the line.
        let utf16 = try #require(yaml.data(using: .utf16))
        #expect(throws: StudyError("the file is UTF-16 or UTF-32 (it starts with a byte-order mark); save it as UTF-8",
                                   at: StudyLocation(file: "u.yaml", line: 1, column: 1))) { try StudyValue.text(of: utf16, file: "u.yaml") }
        let bare = try #require(yaml.data(using: .utf16LittleEndian))
        let bareError = try #require(Self.parseError(bare))
        #expect(bareError.location == StudyLocation(file: "s.yaml", line: 1, column: 2) && bareError.message.contains("NUL byte"))
        // A UTF-8 byte-order mark is accepted, as map files accept it.
        let bom = Data([0xEF, 0xBB, 0xBF]) + Data(yaml.utf8)
        let study = try Study.parse(yaml: StudyValue.text(of: bom, file: "s.yaml"), file: "s.yaml")
        #expect(study.name == "t" && study.seeds == [0, 1])
        // Bytes that are not UTF-8: the line of the first.
        let latin1 = Data((Self.head + "notes: [caf").utf8) + Data([0xE9]) + Data("]\nalgorithms: [zpg]".utf8)
        let latinError = try #require(Self.parseError(latin1))
        #expect(latinError.location?.line == 5 && latinError.message.contains("not UTF-8"), "\(latinError)")
    }

    static func parseError(_ data: Data) -> StudyError? {
        do {
            _ = try Study.parse(yaml: StudyValue.text(of: data, file: "s.yaml"), file: "s.yaml")
            return nil
        } catch {
            return error as? StudyError
        }
    }

    @Test func flagsStudyErrorsNameTheFlagNotAGeneratedLine() throws {
        func error(_ flags: StudyFromFlags) -> StudyError? {
            do { let s = try flags.study(); _ = try flags.attributing { try StudyPlan(s) }; return nil } catch { return error as? StudyError }
        }
        let unknown = try #require(error(StudyFromFlags(algorithms: "zpg,dpoo")))
        #expect(unknown.description.hasPrefix("'--algorithms': unknown algorithm 'dpoo'; known: zpg"), "\(unknown)")
        var setting = StudyFromFlags(algorithms: "zpg")
        setting.settings = ["evaluators=4", "teacher.mistake-ratte=0.1"]
        let set = try #require(error(setting))
        #expect(set.location == nil && set.key == "--set teacher.mistake-ratte", "\(set)")
        var budgets = StudyFromFlags(algorithms: "zpg")
        budgets.budgets = "10"
        #expect(error(budgets)?.description == "'--budgets': budget 10 is too small for 'zpg': one iteration needs 80 queries")
        var envs = StudyFromFlags(algorithms: "zpg")
        envs.environments = "classic,clasic"
        #expect(error(envs)?.key == "--envs")
        var links = StudyFromFlags(algorithms: "zpg")
        links.links = "weibul"
        #expect(error(links).map { $0.key == "--links" && $0.location == nil } == true)
    }

    // MARK: - Item 15: the saved study says what ran

    @Test func savedStudyTextRecordsTheSeedsThatRan() throws {
        var flags = StudyFromFlags(algorithms: "zpg")
        flags.seeds = 2
        #expect(flags.yaml.contains("seeds: 2\n"))
        #expect(try Study.parse(yaml: flags.yaml, file: "study.yaml").seeds == [0, 1])

        let file = """
            name: t   # a study
            environments: [classic]
            seeds:
              - 7
              - 9

            # the budgets
            budgets: [1000]
            algorithms: [zpg]
            """
        let saved = try Study.source(file, file: "t.yaml", seeds: 3)
        let reparsed = try Study.parse(yaml: saved, file: "study.yaml")
        #expect(reparsed.seeds == [0, 1, 2] && reparsed.budgets == [1000] && reparsed.name == "t")
        #expect(saved.contains("seeds: 3  # rlhf study --seeds 3: seeds 0…2") && saved.contains("\n\n# the budgets\nbudgets: [1000]"), "\(saved)")
        // Inline seeds, and a study written as one inline map.
        #expect(try Study.parse(yaml: Study.source(Self.head + "algorithms: [zpg]", file: "t.yaml", seeds: 1), file: "s").seeds == [0])
        let inline = try Study.source("{environments: [classic], seeds: 4, budgets: [1000], algorithms: [zpg]}", file: "t.yaml", seeds: 1)
        #expect(inline.hasPrefix("# rlhf study --seeds 1"))
    }

    // MARK: - Item 18: budgets of a variant, map-file labels

    @Test func aVariantMayRunBudgetsOutsideTheStudysList() throws {
        let plan = try StudyPlan(Study.parse(yaml: Self.head + """
            algorithms:
              - zpg
              - {label: slow, algorithm: zpg, budgets: [1e3, 3e3]}
            """, file: "s.yaml"))
        #expect(plan.cells.filter { $0.variant == "zpg" }.map(\.configuration.budget).sorted() == [1000, 1000])
        #expect(plan.cells.filter { $0.variant == "slow" }.map(\.configuration.budget).sorted() == [1000, 1000, 3000, 3000])
        let twice = try #require(Self.error(Self.head + "algorithms: [{label: z, algorithm: zpg, budgets: [1e3, 1000]}]"))
        #expect(twice.key == "algorithms[0].budgets" && twice.message.contains("listed twice"))
    }

    @Test func aMapFileIsLabelledByItsFileName() throws {
        let dir = TestFiles.temporaryDirectory("study-map")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try "S..\n.#.\n..G\n".write(toFile: dir + "/small.txt", atomically: true, encoding: .utf8)
        let study = try Study.parse(yaml: "seeds: 1\nbudgets: [1000]\nalgorithms: [zpg]\nenvironments: [\(dir)/small.txt, {name: \(dir)/small.txt, slip: 0}]", file: "s.yaml")
        #expect(study.environments.map(\.label) == ["small.txt", "small.txt slip=0"])
        var c = TrainConfiguration()
        try study.environments[0].apply(&c)
        #expect(c.environment.name == dir + "/small.txt")   // the run still uses the full path
    }

    // MARK: - Item 18: the dry run's time estimate

    @Test func estimateFitsTheProbesAndSumsOverTheRuns() throws {
        let plan = try StudyPlan(Study.parse(yaml: StudyParsingTests.minimal, file: "s.yaml"))
        // A cost model the fit recovers exactly: 0.5 s, plus 10⁻⁴ s per query, plus 0.01 s per
        // evaluation point (at start and end, or after each of the budget/80 iterations).
        let probed = ProbeLog()
        let e = plan.estimate(workers: 2) { c in
            probed.append(c)
            let evaluations = c.evaluateEvery == 1 ? c.budget / 80 + 1 : 2
            return (0.5 + 1e-4 * Double(c.budget) + 0.01 * Double(evaluations), evaluations)
        }
        // Two groups (zpg, zbcpg-k8 on classic): 80 queries (one iteration), 800, then the smallest
        // budget 1000 (the time has not grown by 0.25 s), evaluated at the ends; 1000 again
        // evaluated after every iteration (12 iterations, fewer than 100 points).
        #expect(e.probes == 8 && e.unprobed.isEmpty)
        #expect(probed.configurations.map(\.budget) == [80, 800, 1000, 1000, 80, 800, 1000, 1000])
        #expect(probed.configurations.map { $0.evaluateEvery == 1 } == [false, false, false, true, false, false, false, true])
        #expect(probed.configurations.allSatisfy { $0.seed == 0 })
        // Each run: 0.5 + 10⁻⁴·budget + 0.01·(iterations + 1): 0.73 s at 1000 (12 iterations),
        // 0.96 s at 2000 (25); 2 variants × 2 seeds × 1.69 s = 6.76 s; two workers: 3.38 s.
        #expect(abs(e.runSeconds - 6.76) < 1e-9 && abs(e.seconds - 3.38) < 1e-9 && abs(e.longestRun - 0.96) < 1e-9, "\(e)")
        // A failing group is estimated from the others; a probe slower than `slowProbe` ends its group's probing.
        let slow = plan.estimate(workers: 1, slowProbe: 1) { c in
            if c.algorithm == .zbcpg { throw RLHFError.diverged(iteration: 1, message: "probe failed") }
            return (8e-3 * Double(c.budget), 2)   // 0.64 s at 80 queries, then 6.4 s at 800: no more probes
        }
        #expect(slow.probes == 2 && slow.unprobed == ["zbcpg-k8 on classic"])
        #expect(abs(slow.runSeconds - 4 * (8 + 16)) < 1e-6 && abs(slow.seconds - slow.runSeconds) < 1e-9)
        let once = plan.estimate(workers: 1, slowProbe: 0.05) { c in (1e-3 * Double(c.budget), 2) }
        #expect(once.probes == 2 && abs(once.runSeconds - 4 * (1 + 2)) < 1e-9)
        // A method that spends its budget up front: one slow probe is its runs' time.
        let offline = try StudyPlan(Study.parse(yaml: "environments: [classic]\nseeds: 2\nbudgets: [1000, 2000]\nalgorithms: [dpo]", file: "s.yaml"))
        let fixed = offline.estimate(workers: 1, slowProbe: 1) { _ in (3, 2) }
        #expect(fixed.probes == 1 && abs(fixed.runSeconds - 4 * 3) < 1e-9)
    }
}

/// Configurations a probe saw (probes run one at a time).
final class ProbeLog: @unchecked Sendable {
    private let lock = NSLock()
    private(set) var configurations: [TrainConfiguration] = []
    func append(_ c: TrainConfiguration) { lock.lock(); configurations.append(c); lock.unlock() }
}
