import Foundation
import Testing
@testable import RLHF

/// Issue 13, item 5: one optional column set per algorithm at every evaluation point.
@Suite("Diagnostics per evaluation point")
struct DiagnosticsTests {
    /// A small run of `algorithm` with evaluation every `every` iterations.
    func run(_ algorithm: AlgorithmName, budget: Int, every: Int? = nil, env: String = "classic",
             configure: (inout TrainConfiguration) -> Void = { _ in }) throws -> TrainResult {
        var c = TrainConfiguration()
        c.algorithm = algorithm
        c.environment = EnvironmentSpec(name: env)
        c.budget = budget
        c.seed = 3
        c.evaluateEvery = every
        configure(&c)
        return try Trainer.run(c)
    }

    func names(_ r: TrainResult) -> [String] { RunOutput.diagnosticNames(r.state.records) }

    func value(_ record: TrainingRecord, _ name: String) -> Double? {
        record.diagnostics?.first { $0.name == name }?.value
    }

    @Test("the accumulator averages each figure over the interval, skipping undefined values")
    func accumulatorMeans() {
        var a = DiagnosticAccumulator()
        a.add("x", 1)
        a.add("y", .nan)
        a.add("x", 4)
        a.add("y", 2)
        a.add("z", .nan)
        a.add("w", .infinity)
        let d = a.take()
        #expect(d.map(\.name) == ["x", "y"], "never-finite figures are left out")
        #expect(d[0].value == 2.5)
        #expect(d[1].value == 2)
        #expect(a.take().isEmpty)
    }

    @Test("each algorithm reports its own column set, after the first point")
    func columnSets() throws {
        let expected: [(AlgorithmName, Int, [String])] = [
            (.zpg, 8_000, ["abs_delta", "mean_delta", "tied_share", "skipped_share", "gradient_norm"]),
            (.zbcpg, 16_000, ["abs_delta", "mean_delta", "tied_share", "skipped_share", "gradient_norm"]),
            (.dpo, 2_000, ["dpo_loss", "reward_margin", "reward_accuracy"]),
            (.onlineDPO, 2_000, ["dpo_loss", "reward_margin", "reward_accuracy"]),
            (.ppoTrueReward, 0, ["approx_kl", "clip_fraction", "policy_loss", "value_loss", "entropy", "explained_variance", "epochs"]),
            (.bilevel, 2_000, ["upper_g", "g_gradient_norm", "penalty_gradient_norm", "critic_td_loss", "lower_critic_td_loss", "sigma", "judged_pairs"]),
        ]
        for (algorithm, budget, columns) in expected {
            let r = try run(algorithm, budget: max(budget, 1)) { c in
                if algorithm == .ppoTrueReward { c.ppoUpdates = 6 }
            }
            #expect(names(r) == columns, "\(algorithm.rawValue)")
            #expect(r.state.records.first?.diagnostics?.isEmpty ?? true, "nothing happened before the first point")
            let last = try #require(r.state.records.last)
            for name in columns {
                let v = try #require(value(last, name), "\(algorithm.rawValue): \(name)")
                #expect(v.isFinite, "\(algorithm.rawValue): \(name) = \(v)")
            }
            let csv = RunOutput.csv(r.state.records)
            #expect(csv.hasPrefix(RunOutput.csvHeader + "," + columns.joined(separator: ",") + "\n"))
        }
    }

    @Test("ZPG's figures: shares in [0, 1], |Δ̂| ≥ |mean Δ̂|, ‖ĝ‖ = (d/μ)|mean Δ̂| per iteration")
    func zerothOrderFigures() throws {
        let r = try run(.zpg, budget: 8_000, every: 1)
        let d = Double(r.summary.parameterCount)
        for record in r.state.records.dropFirst() {
            let tied = try #require(value(record, "tied_share")), skipped = try #require(value(record, "skipped_share"))
            #expect(tied >= 0 && tied <= 1)
            #expect(skipped == 0, "the default teacher skips nothing")
            let abs = try #require(value(record, "abs_delta")), mean = try #require(value(record, "mean_delta"))
            #expect(abs >= Swift.abs(mean) - 1e-12)
            let norm = try #require(value(record, "gradient_norm"))
            #expect(Swift.abs(norm - d / 4 * Swift.abs(mean)) <= 1e-9 * max(1, norm), "μ = 4")
        }
    }

    @Test("a point's figures are the means over the iterations since the previous point")
    func intervalMeans() throws {
        let every1 = try run(.zpg, budget: 8_000, every: 1).state.records
        let every2 = try run(.zpg, budget: 8_000, every: 2).state.records
        for record in every2.dropFirst() where record.iteration % 2 == 0 {
            let a = try #require(every1.first { $0.iteration == record.iteration - 1 })
            let b = try #require(every1.first { $0.iteration == record.iteration })
            for name in ["abs_delta", "gradient_norm"] {
                let expected = (try #require(value(a, name)) + (try #require(value(b, name)))) / 2
                let got = try #require(value(record, name))
                #expect(Swift.abs(got - expected) <= 1e-12 * max(1, Swift.abs(expected)), "\(name) at \(record.iteration)")
            }
        }
    }

    @Test("DPO's reward accuracy is a share and its loss is the mean DPO loss (≥ 0)")
    func dpoFigures() throws {
        let r = try run(.onlineDPO, budget: 4_000)
        for record in r.state.records.dropFirst() {
            let accuracy = try #require(value(record, "reward_accuracy"))
            #expect(accuracy >= 0 && accuracy <= 1)
            #expect(try #require(value(record, "dpo_loss")) >= 0)
        }
    }

    @Test("records with diagnostics survive a checkpoint's JSON, and old records without them still read")
    func recordsRoundTrip() throws {
        let r = try run(.zpg, budget: 4_000)
        let data = try RunOutput.encoder(pretty: false).encode(r.state)
        let back = try RunOutput.decoder().decode(TrainingState.self, from: data)
        #expect(back == r.state)
        let old = #"{"iteration":0,"queries":0,"env_steps":0,"value":1,"normalized_value":0.5,"wall_seconds":0}"#
        let record = try RunOutput.decoder().decode(TrainingRecord.self, from: Data(old.utf8))
        #expect(record.diagnostics == nil)
        #expect(RunOutput.csv([record]) == RunOutput.csvHeader + "\n0,0,0,1.0,,0.5,0.0\n")
    }
}
