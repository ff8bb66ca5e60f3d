import Foundation
import Testing
import RLHF
@testable import RLHFStudy

@Suite struct StudyParsingTests {
    static let minimal = """
        name: t
        question: Which is best?
        environments: [classic]
        seeds: 2
        budgets: [1000, 2000]
        algorithms:
          - zpg
          - {label: zbcpg-k8, algorithm: zbcpg, blocks: 8, block-mode: random, block-size: 5}
        """

    /// The error a study text raises (parse, then plan).
    static func error(_ text: String) -> StudyError? {
        do {
            let s = try Study.parse(yaml: text, file: "s.yaml")
            if s.kind == .training { _ = try StudyPlan(s) }
            return nil
        } catch let e as StudyError {
            return e
        } catch {
            Issue.record("not a StudyError: \(error)")
            return nil
        }
    }

    @Test func minimalStudyExpandsIntoItsGrid() throws {
        let plan = try StudyPlan(Study.parse(yaml: Self.minimal, file: "s.yaml"))
        // 2 algorithm variants × 1 env × 1 link (default) × 1 feedback × 2 seeds × 2 budgets.
        #expect(plan.cells.count == 8)
        let k8 = try #require(plan.cells.first { $0.variant == "zbcpg-k8" })
        #expect(k8.configuration.algorithm == .zbcpg)
        #expect(k8.configuration.blocks == 8)
        #expect(k8.configuration.blockMode == .random)
        #expect(k8.configuration.blockSize == 5)
        #expect(k8.configuration.threads == 1)
        #expect(k8.link == "bradley-terry" && k8.feedback == "default")
        #expect(Set(plan.cells.map(\.id)).count == plan.cells.count)
        #expect(Set(plan.cells.map(\.configuration.seed)) == [0, 1])
    }

    @Test func nestedSettingsMergeIntoTheResolvedDefaults() throws {
        let text = """
            environments: [classic]
            seeds: [3]
            budgets: [1e5]
            feedback:
              - {label: noisy, evaluators: 20, trim: 0, teacher: {mistake-rate: 0.1}}
            algorithms:
              - {label: rm, algorithm: rm-ppo, rm-ppo: {reward-model: {hidden: []}, pairs-per-round: 100}}
              - {label: odpo, algorithm: online-dpo, dpo: {beta: 0.05}}
              - {label: bl, algorithm: bilevel, bilevel: {sigma: 10, critic: {refreshes: 3}}, bilevel-reward-hidden: "32,32"}
            """
        let plan = try StudyPlan(Study.parse(yaml: text, file: "s.yaml"))
        let rm = try #require(plan.cells.first { $0.variant == "rm" }).configuration
        var expected = TrainConfiguration.defaultRMPPO(tabular: true)
        expected.rewardModel.hidden = []
        expected.pairsPerRound = 100
        #expect(rm.rmPPO == expected)
        #expect(rm.evaluators == 20 && rm.trim == 0 && rm.teacher.mistakeRate == 0.1)
        #expect(rm.budget == 100_000 && rm.seed == 3)
        let odpo = try #require(plan.cells.first { $0.variant == "odpo" }).configuration
        var dpo = DPOHyperparameters()
        dpo.beta = 0.05
        #expect(odpo.dpo == dpo)
        let bl = try #require(plan.cells.first { $0.variant == "bl" }).configuration
        #expect(bl.bilevel.sigma == 10 && bl.bilevelRewardHidden == [32, 32])
    }

    @Test func builtInStudiesParseAndPlan() throws {
        for entry in BuiltInStudies.all {
            // A study with Gymnasium environments needs the bridge (RLHFGym, registered by the
            // rlhf command) and a Python with Gymnasium; it is checked by `rlhf study --dry-run`
            // in .ci/run's Gymnasium step instead.
            if entry.yaml.contains("gym:") { continue }
            let s = try Study.parse(yaml: entry.yaml, file: entry.name)
            #expect(s.name == entry.name)
            if s.kind == .training {
                let plan = try StudyPlan(s)
                #expect(!plan.cells.isEmpty, "\(entry.name)")
            }
        }
        let se = try StudyPlan(Study.parse(yaml: BuiltInStudies.named("sample-efficiency")!.yaml, file: "x"))
        // zpg, zbcpg, online-dpo at 3 budgets; rm-ppo, dpo, bilevel at 2; × 2 links × 10 seeds.
        #expect(se.cells.count == (3 * 3 + 3 * 2) * 2 * 10)
        let rm = try #require(se.cells.first { $0.variant == "rm-ppo" })
        #expect(rm.configuration.rmPPO?.rewardModel.hidden == [])
    }

    @Test func unknownTopLevelKeyNamesKeyAndLine() throws {
        let e = try #require(Self.error(Self.minimal + "\nbudgetz: [1]"))
        #expect(e.key == "budgetz")
        #expect(e.location?.line == 9)
        #expect(e.description.contains("s.yaml:9"))
    }

    @Test func unknownAlgorithmNamesKeyAndLine() throws {
        let text = Self.minimal.replacingOccurrences(of: "  - zpg", with: "  - zpgg")
        let e = try #require(Self.error(text))
        #expect(e.key == "algorithms[0]")
        #expect(e.location?.line == 7)
        #expect(e.message.contains("zpgg") && e.message.contains("online-dpo"))
    }

    @Test func unknownSettingNamesKeyAndLine() throws {
        let text = Self.minimal.replacingOccurrences(of: "blocks: 8", with: "blokcs: 8")
        let e = try #require(Self.error(text))
        #expect(e.key == "algorithms[1].blokcs")
        #expect(e.location?.line == 8)
        let nested = try #require(Self.error("""
            environments: [classic]
            seeds: 1
            budgets: [1e5]
            algorithms:
              - {algorithm: online-dpo,
                 dpo: {betta: 0.1}}
            """))
        #expect(nested.key == "algorithms[0].dpo.betta")
        #expect(nested.location?.line == 6)
    }

    @Test func budgetTooSmallFailsBeforeAnyRun() throws {
        // ZPG's iteration costs N·M = 8·10 = 80 queries.
        let text = Self.minimal.replacingOccurrences(of: "budgets: [1000, 2000]", with: "budgets: [50, 2000]")
        let e = try #require(Self.error(text))
        #expect(e.key == "budgets")
        #expect(e.message.contains("50") && e.message.contains("80"))
        #expect(e.location?.line == 7)
    }

    @Test func emptySeedListAndOtherBadValues() throws {
        let empty = try #require(Self.error(Self.minimal.replacingOccurrences(of: "seeds: 2", with: "seeds: []")))
        #expect(empty.key == "seeds" && empty.message.contains("empty seed list") && empty.location?.line == 4)
        let zero = try #require(Self.error(Self.minimal.replacingOccurrences(of: "seeds: 2", with: "seeds: 0")))
        #expect(zero.key == "seeds")
        let type = try #require(Self.error(Self.minimal.replacingOccurrences(of: "blocks: 8", with: "blocks: many")))
        #expect(type.key == "algorithms[1].blocks" && type.message.contains("whole number"))
        let nan = try #require(Self.error(Self.minimal.replacingOccurrences(of: "blocks: 8", with: "mu: .nan")))
        #expect(nan.key == "algorithms[1].mu")
        let env = try #require(Self.error(Self.minimal.replacingOccurrences(of: "[classic]", with: "[clasic]")))
        #expect(env.key == "environments[0]" && env.location?.line == 3)
        let syntax = try #require(Self.error("seeds: [1, 2\nbudgets: 3"))
        #expect(syntax.location != nil && syntax.message.contains("YAML"))
        let duplicateLabel = try #require(Self.error(Self.minimal + "\n  - zpg"))
        #expect(duplicateLabel.key == "algorithms[2]")
        let missing = try #require(Self.error("environments: [classic]\nseeds: 1\nalgorithms: [zpg]"))
        #expect(missing.key == "budgets")
    }

    @Test func keyNamesAreWrittenInKebabCase() {
        #expect(ConfigurationOverrides.kebab("blockMode") == "block-mode")
        #expect(ConfigurationOverrides.kebab("rmPPO") == "rm-ppo")
        #expect(ConfigurationOverrides.kebab("bilevelRewardHidden") == "bilevel-reward-hidden")
        #expect(ConfigurationOverrides.match("rm_ppo", in: ["rmPPO", "ppo"]) == "rmPPO")
    }
}
